-- What happened to an incident, in order: status changes, notes, linked alert firing and resolving.
CREATE TABLE incident_timeline (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- Entries written in one transaction share created_at; seq keeps their order.
  seq bigint GENERATED ALWAYS AS IDENTITY,
  tenant_id uuid NOT NULL,
  incident_id uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('created','status_changed','updated','note','alert_firing','alert_resolved','resolved','reopened')),
  message text NOT NULL,
  author text NOT NULL,
  data jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL
);
CREATE INDEX idx_incident_timeline_incident ON incident_timeline (tenant_id, incident_id, created_at, seq);
SELECT app_enable_tenant_rls('incident_timeline');

ALTER TABLE incidents ADD COLUMN resolution text;
-- At most one incident per alert: the auto-open job may run on several instances or overlap.
CREATE UNIQUE INDEX idx_incidents_alert ON incidents (tenant_id, alert_id) WHERE alert_id IS NOT NULL;
