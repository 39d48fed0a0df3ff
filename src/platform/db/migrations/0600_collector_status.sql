-- Last outcome of every collector source (per tenant; platform-wide sources under the system tenant),
-- so a missing value always has a visible reason, whichever instance ran the collector.
CREATE TABLE collector_status (
  tenant_id uuid NOT NULL,
  collector text NOT NULL,
  source text NOT NULL,
  status text NOT NULL CHECK (status IN ('ok','error','not_configured')),
  reason text,
  message text,
  values_recorded integer NOT NULL DEFAULT 0,
  consecutive_failures integer NOT NULL DEFAULT 0,
  last_attempt_at timestamptz NOT NULL,
  last_success_at timestamptz,
  PRIMARY KEY (tenant_id, collector, source)
);
SELECT app_enable_tenant_rls('collector_status');
