-- Alerting: rule channels, alert history, per-tenant policy, silences, notification groups
-- (what was sent, Alertmanager's nflog), the notification outbox, Slack threads and escalations.

-- NULL = the channels of the tenant's notification policy.
ALTER TABLE alert_rules ADD COLUMN IF NOT EXISTS channels jsonb;
-- keep_firing_for: when the condition stopped holding while firing.
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS keep_firing_since timestamptz;
CREATE INDEX IF NOT EXISTS idx_alerts_tenant_fingerprint ON alerts (tenant_id, fingerprint, created_at DESC);

-- Every transition and action on an alert, in order.
CREATE TABLE alert_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id uuid NOT NULL,
  alert_id uuid NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
  kind text NOT NULL,
  actor text,
  details jsonb NOT NULL DEFAULT '{}',
  at timestamptz NOT NULL
);
CREATE INDEX idx_alert_events_alert ON alert_events (tenant_id, alert_id, id);

-- The default rules are seeded once per tenant; a default rule an admin deletes stays deleted.
CREATE TABLE alert_rule_seeds (
  tenant_id uuid PRIMARY KEY,
  seeded_at timestamptz NOT NULL
);

CREATE TABLE alert_policies (
  tenant_id uuid PRIMARY KEY,
  policy jsonb NOT NULL,
  updated_by text NOT NULL,
  updated_at timestamptz NOT NULL
);

CREATE TABLE alert_silences (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL,
  matchers jsonb NOT NULL,
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL,
  created_by text NOT NULL,
  comment text NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  CHECK (ends_at > starts_at)
);
CREATE INDEX idx_alert_silences_tenant_ends ON alert_silences (tenant_id, ends_at DESC);

-- One row per notification group: its timers and the fingerprints last notified as firing.
CREATE TABLE alert_groups (
  tenant_id uuid NOT NULL,
  group_key text NOT NULL,
  channels jsonb NOT NULL,
  group_labels jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  next_flush_at timestamptz NOT NULL,
  last_notified_at timestamptz,
  notified_firing text[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (tenant_id, group_key)
);
CREATE INDEX idx_alert_groups_next_flush ON alert_groups (next_flush_at);

-- Every notification, per channel: delivered, retried with backoff, dead-lettered, or not configured.
CREATE TABLE notification_outbox (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- Creation order: a Slack thread's first message is sent before its replies.
  seq bigint GENERATED ALWAYS AS IDENTITY,
  tenant_id uuid NOT NULL,
  channel text NOT NULL CHECK (channel IN ('email','slack','pagerduty','webhook')),
  kind text NOT NULL CHECK (kind IN ('group','escalation','acknowledgement')),
  group_key text,
  alert_id uuid REFERENCES alerts (id) ON DELETE SET NULL,
  severity text NOT NULL CHECK (severity IN ('info','warning','error','critical')),
  payload jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('pending','sending','delivered','dead','not_configured')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  lease_until timestamptz,
  last_error text,
  last_status_code integer,
  response jsonb,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  delivered_at timestamptz
);
CREATE INDEX idx_notification_outbox_due ON notification_outbox (next_attempt_at) WHERE status IN ('pending','sending');
CREATE INDEX idx_notification_outbox_tenant ON notification_outbox (tenant_id, status, created_at DESC);
CREATE INDEX idx_notification_outbox_alert ON notification_outbox (tenant_id, alert_id);

-- Slack: the ts of a group's first message, so later updates go into its thread.
CREATE TABLE notification_threads (
  tenant_id uuid NOT NULL,
  channel text NOT NULL,
  thread_key text NOT NULL,
  external_channel text NOT NULL,
  external_id text NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, channel, thread_key)
);

CREATE TABLE alert_escalations (
  alert_id uuid PRIMARY KEY REFERENCES alerts (id) ON DELETE CASCADE,
  tenant_id uuid NOT NULL,
  severity text NOT NULL,
  step_index integer NOT NULL DEFAULT 0,
  cycle integer NOT NULL DEFAULT 0,
  level integer NOT NULL DEFAULT 0,
  next_at timestamptz NOT NULL,
  status text NOT NULL CHECK (status IN ('active','stopped','completed')),
  stop_reason text,
  started_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX idx_alert_escalations_due ON alert_escalations (tenant_id, next_at) WHERE status = 'active';

SELECT app_enable_tenant_rls(t) FROM unnest(ARRAY[
  'alert_events','alert_rule_seeds','alert_policies','alert_silences','alert_groups',
  'notification_outbox','notification_threads','alert_escalations']) AS t;
