-- Results of the ml-analysis job: one row per subject and run (payment provider failure rate,
-- service p95 latency, event sellout prediction), anomalous or not, so a run's view is complete.
CREATE TABLE ml_analysis_results (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL,
  run_at timestamptz NOT NULL,
  kind text NOT NULL CHECK (kind IN ('payment_failure_rate', 'latency_p95', 'sellout')),
  subject text NOT NULL,
  bucket_start timestamptz,
  value double precision,
  score double precision,
  anomalous boolean NOT NULL DEFAULT false,
  details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX idx_ml_analysis_results_tenant_run ON ml_analysis_results (tenant_id, run_at DESC);
CREATE INDEX idx_ml_analysis_results_run ON ml_analysis_results (run_at);
SELECT app_enable_tenant_rls('ml_analysis_results');
