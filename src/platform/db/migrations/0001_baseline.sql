-- Baseline: the audit's eleven tables, tenant isolation, the application role and the job ledger.
-- Runs unchanged on PostgreSQL 15+ and PGlite.

DO $$ BEGIN
  CREATE ROLE monitoring_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

-- The connecting user switches to the application role in every unit of work (SET LOCAL ROLE).
DO $$ BEGIN
  EXECUTE format('GRANT monitoring_app TO %I', current_user);
EXCEPTION WHEN others THEN NULL;
END $$;

GRANT USAGE ON SCHEMA public TO monitoring_app;

-- Isolation policy of the audit, written so an emptied setting reads as "no tenant".
CREATE OR REPLACE FUNCTION app_tenant_visible(row_tenant uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT row_tenant = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid
      OR current_setting('app.is_system_user', true) = 'true'
$$;

CREATE OR REPLACE FUNCTION app_enable_tenant_rls(table_name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', table_name);
  EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', table_name);
  EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I', table_name);
  EXECUTE format(
    'CREATE POLICY tenant_isolation ON %I USING (tenant_id = NULLIF(current_setting(''app.current_tenant_id'', true), '''')::uuid OR current_setting(''app.is_system_user'', true) = ''true'') WITH CHECK (tenant_id = NULLIF(current_setting(''app.current_tenant_id'', true), '''')::uuid OR current_setting(''app.is_system_user'', true) = ''true'')',
    table_name);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO monitoring_app', table_name);
END $$;

-- Tables that belong to no tenant are visible to system work only.
CREATE OR REPLACE FUNCTION app_enable_system_rls(table_name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', table_name);
  EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', table_name);
  EXECUTE format('DROP POLICY IF EXISTS system_only ON %I', table_name);
  EXECUTE format(
    'CREATE POLICY system_only ON %I USING (current_setting(''app.is_system_user'', true) = ''true'') WITH CHECK (current_setting(''app.is_system_user'', true) = ''true'')',
    table_name);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO monitoring_app', table_name);
END $$;

CREATE TABLE alert_rules (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL,
  rule_name text NOT NULL,
  description text,
  metric_name text NOT NULL,
  service_name text,
  label_matchers jsonb NOT NULL DEFAULT '[]',
  aggregation text NOT NULL DEFAULT 'avg' CHECK (aggregation IN ('avg','min','max','last','sum','count','rate')),
  window_seconds integer NOT NULL DEFAULT 300 CHECK (window_seconds > 0),
  condition text NOT NULL CHECK (condition IN ('>','>=','<','<=','==','!=')),
  threshold double precision NOT NULL,
  duration integer NOT NULL DEFAULT 0 CHECK (duration >= 0),
  keep_firing_for integer NOT NULL DEFAULT 0 CHECK (keep_firing_for >= 0),
  severity text NOT NULL CHECK (severity IN ('info','warning','error','critical')),
  labels jsonb NOT NULL DEFAULT '{}',
  annotations jsonb NOT NULL DEFAULT '{}',
  cooldown_seconds integer NOT NULL DEFAULT 0 CHECK (cooldown_seconds >= 0),
  no_data_state text NOT NULL DEFAULT 'ok' CHECK (no_data_state IN ('ok','alerting')),
  enabled boolean NOT NULL DEFAULT true,
  is_default boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, rule_name)
);
CREATE INDEX idx_alert_rules_tenant_id ON alert_rules (tenant_id);
CREATE INDEX idx_alert_rules_enabled ON alert_rules (tenant_id, metric_name) WHERE enabled = true;

CREATE TABLE alerts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL,
  rule_id uuid REFERENCES alert_rules (id) ON DELETE SET NULL,
  fingerprint text NOT NULL,
  name text NOT NULL,
  type text NOT NULL,
  severity text NOT NULL CHECK (severity IN ('info','warning','error','critical')),
  message text NOT NULL,
  source text NOT NULL,
  service_name text,
  labels jsonb NOT NULL DEFAULT '{}',
  annotations jsonb NOT NULL DEFAULT '{}',
  status text NOT NULL DEFAULT 'firing' CHECK (status IN ('pending','firing','resolved')),
  value double precision,
  resolved boolean NOT NULL DEFAULT false,
  starts_at timestamptz NOT NULL DEFAULT now(),
  fired_at timestamptz,
  last_evaluated_at timestamptz,
  acknowledged_at timestamptz,
  acknowledged_by text,
  resolved_at timestamptz,
  resolved_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_alerts_tenant_id ON alerts (tenant_id);
CREATE INDEX idx_alerts_severity ON alerts (severity);
CREATE INDEX idx_alerts_type ON alerts (type);
CREATE INDEX idx_alerts_source ON alerts (source);
CREATE INDEX idx_alerts_resolved ON alerts (tenant_id, status) WHERE resolved = false;
CREATE INDEX idx_alerts_created_at ON alerts (created_at DESC);
CREATE INDEX idx_alerts_tenant_created_at ON alerts (tenant_id, created_at DESC);
-- One open alert per rule and label set: the evaluator and every other raiser rely on it.
CREATE UNIQUE INDEX idx_alerts_open_fingerprint ON alerts (tenant_id, fingerprint) WHERE resolved = false;

CREATE TABLE dashboards (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL,
  name text NOT NULL,
  description text,
  widgets jsonb NOT NULL DEFAULT '[]',
  layout jsonb NOT NULL DEFAULT '{}',
  owner text NOT NULL,
  shared boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_dashboards_tenant_id ON dashboards (tenant_id);

CREATE SEQUENCE metrics_id_seq;
GRANT USAGE ON SEQUENCE metrics_id_seq TO monitoring_app;
-- Range-partitioned by day; retention drops whole partitions.
CREATE TABLE metrics (
  id bigint NOT NULL DEFAULT nextval('metrics_id_seq'),
  tenant_id uuid NOT NULL,
  metric_name text NOT NULL,
  service_name text NOT NULL,
  series_key text NOT NULL,
  value double precision NOT NULL,
  labels jsonb NOT NULL DEFAULT '{}',
  "timestamp" timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, "timestamp")
) PARTITION BY RANGE ("timestamp");
CREATE INDEX idx_metrics_tenant_id ON metrics (tenant_id);
CREATE INDEX idx_metrics_metric_name ON metrics (metric_name);
CREATE INDEX idx_metrics_service_name ON metrics (service_name);
CREATE INDEX idx_metrics_timestamp ON metrics ("timestamp" DESC);
CREATE INDEX idx_metrics_service_metric_timestamp ON metrics (service_name, metric_name, "timestamp" DESC);
-- Tenant-first indexes: with the OR in the policy, PostgreSQL uses these only when the query names the tenant.
CREATE INDEX idx_metrics_tenant_metric_timestamp ON metrics (tenant_id, metric_name, "timestamp" DESC);
CREATE INDEX idx_metrics_tenant_series_timestamp ON metrics (tenant_id, series_key, "timestamp" DESC);

-- Creates the daily partitions covering [from_day, to_day]. Runs as the owner so the
-- application role can trigger it without owning tables; partitions get no grants and
-- deny-all RLS, so they are reachable only through the parent and its policy.
CREATE OR REPLACE FUNCTION ensure_metrics_partitions(from_day date, to_day date) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  day date := from_day;
  partition_name text;
  created integer := 0;
BEGIN
  WHILE day <= to_day LOOP
    partition_name := 'metrics_' || to_char(day, 'YYYYMMDD');
    IF to_regclass(partition_name) IS NULL THEN
      BEGIN
        EXECUTE format('CREATE TABLE %I PARTITION OF metrics FOR VALUES FROM (%L) TO (%L)',
          partition_name, day::timestamptz AT TIME ZONE 'UTC', (day + 1)::timestamptz AT TIME ZONE 'UTC');
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', partition_name);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', partition_name);
        EXECUTE format('REVOKE ALL ON %I FROM monitoring_app', partition_name);
        created := created + 1;
      EXCEPTION WHEN duplicate_table THEN NULL;
      END;
    END IF;
    day := day + 1;
  END LOOP;
  RETURN created;
END $$;
REVOKE ALL ON FUNCTION ensure_metrics_partitions(date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ensure_metrics_partitions(date, date) TO monitoring_app;

CREATE TABLE nft_transfers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL,
  token_address text NOT NULL,
  from_address text NOT NULL,
  to_address text NOT NULL,
  signature text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','confirmed','finalized','failed')),
  slot bigint,
  error text,
  submitted_at timestamptz NOT NULL DEFAULT now(),
  confirmed_at timestamptz,
  confirmation_ms double precision,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, signature)
);
CREATE INDEX idx_nft_transfers_tenant_id ON nft_transfers (tenant_id);
CREATE INDEX idx_nft_transfers_pending ON nft_transfers (tenant_id, submitted_at) WHERE status = 'pending';

CREATE TABLE fraud_events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL,
  user_id text NOT NULL,
  pattern text NOT NULL,
  risk_level text NOT NULL CHECK (risk_level IN ('low','medium','high','critical')),
  risk_score double precision NOT NULL DEFAULT 0,
  data jsonb NOT NULL DEFAULT '{}',
  investigated boolean NOT NULL DEFAULT false,
  investigation_outcome text CHECK (investigation_outcome IN ('confirmed','false_positive')),
  investigated_by text,
  investigated_at timestamptz,
  "timestamp" timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_fraud_events_tenant_id ON fraud_events (tenant_id);
CREATE INDEX idx_fraud_events_user ON fraud_events (user_id);
CREATE INDEX idx_fraud_events_pattern ON fraud_events (pattern);
CREATE INDEX idx_fraud_events_risk_level ON fraud_events (risk_level);
CREATE INDEX idx_fraud_events_timestamp ON fraud_events ("timestamp" DESC);
CREATE INDEX idx_fraud_events_investigated ON fraud_events (tenant_id) WHERE investigated = false;
CREATE UNIQUE INDEX idx_fraud_events_unique ON fraud_events (tenant_id, user_id, pattern, "timestamp");

CREATE TABLE incidents (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL,
  title text NOT NULL,
  description text,
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open','investigating','identified','monitoring','resolved')),
  severity text NOT NULL CHECK (severity IN ('info','warning','error','critical')),
  service_name text,
  alert_id uuid REFERENCES alerts (id) ON DELETE SET NULL,
  created_by text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  resolved_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_incidents_tenant_id ON incidents (tenant_id);
CREATE INDEX idx_incidents_open ON incidents (tenant_id, started_at DESC) WHERE status <> 'resolved';

CREATE TABLE sla_metrics (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL,
  service_name text NOT NULL,
  period_start timestamptz NOT NULL,
  period_end timestamptz NOT NULL,
  uptime_percentage double precision,
  response_time_p95 double precision,
  target_uptime_percentage double precision NOT NULL,
  target_response_time_ms double precision NOT NULL,
  checks_total integer NOT NULL DEFAULT 0,
  violations jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, service_name, period_start, period_end)
);
CREATE INDEX idx_sla_metrics_tenant_id ON sla_metrics (tenant_id);

CREATE TABLE performance_metrics (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id uuid NOT NULL,
  service_name text NOT NULL,
  endpoint text NOT NULL,
  method text NOT NULL DEFAULT 'GET',
  response_time_ms double precision NOT NULL,
  status_code integer NOT NULL,
  "timestamp" timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_performance_metrics_tenant_id ON performance_metrics (tenant_id);
CREATE INDEX idx_performance_metrics_service_endpoint_timestamp ON performance_metrics (tenant_id, service_name, endpoint, "timestamp" DESC);
CREATE INDEX idx_performance_metrics_timestamp ON performance_metrics (tenant_id, "timestamp" DESC);

CREATE TABLE reports (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL,
  user_id text NOT NULL,
  name text NOT NULL,
  query jsonb NOT NULL,
  format text NOT NULL CHECK (format IN ('csv','json','pdf')),
  schedule text,
  recipients jsonb NOT NULL DEFAULT '[]',
  enabled boolean NOT NULL DEFAULT true,
  next_run_at timestamptz,
  last_run_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_reports_tenant_id ON reports (tenant_id);
CREATE INDEX idx_reports_due ON reports (next_run_at) WHERE enabled = true;

CREATE TABLE report_history (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL,
  report_id uuid NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
  generated_at timestamptz NOT NULL DEFAULT now(),
  status text NOT NULL CHECK (status IN ('running','succeeded','failed')),
  file_url text,
  error text,
  row_count integer,
  byte_size integer,
  scheduled_for timestamptz,
  UNIQUE (report_id, scheduled_for)
);
CREATE INDEX idx_report_history_tenant_report ON report_history (tenant_id, report_id, generated_at DESC);

-- Periodic jobs claim a cycle here so each cycle runs once in a cluster.
CREATE TABLE job_runs (
  job_name text PRIMARY KEY,
  cycle bigint NOT NULL,
  lease_until timestamptz NOT NULL,
  last_started_at timestamptz NOT NULL,
  last_finished_at timestamptz,
  last_status text,
  last_error text
);

SELECT app_enable_tenant_rls(t) FROM unnest(ARRAY[
  'alert_rules','alerts','dashboards','metrics','nft_transfers','fraud_events','incidents',
  'sla_metrics','performance_metrics','reports','report_history']) AS t;
SELECT app_enable_system_rls('job_runs');
