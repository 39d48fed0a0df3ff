-- History of every health check (services and dependencies): uptime for SLAs, trends, /health summaries.
CREATE TABLE health_check_results (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id uuid NOT NULL,
  target_kind text NOT NULL CHECK (target_kind IN ('service','dependency')),
  target_name text NOT NULL,
  status text NOT NULL CHECK (status IN ('healthy','degraded','unhealthy')),
  latency_ms double precision,
  status_code integer,
  error_category text CHECK (error_category IN ('refused','timeout','dns','auth','bad_response','unknown')),
  checked_at timestamptz NOT NULL
);
CREATE INDEX idx_health_check_results_target ON health_check_results (tenant_id, target_kind, target_name, checked_at DESC);
CREATE INDEX idx_health_check_results_checked_at ON health_check_results (tenant_id, checked_at DESC);
SELECT app_enable_tenant_rls('health_check_results');
