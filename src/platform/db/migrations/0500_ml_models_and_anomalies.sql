-- Trained models, versioned per tenant, kind and key (a series for anomaly models, '' for tenant-wide models).
-- Artifacts are TensorFlow.js's own: topology and weight manifest as JSON, weights as raw bytes.
CREATE TABLE ml_models (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('anomaly-autoencoder','fraud','sellout')),
  model_key text NOT NULL DEFAULT '',
  version integer NOT NULL CHECK (version > 0),
  topology jsonb NOT NULL,
  weight_specs jsonb NOT NULL,
  weights bytea NOT NULL,
  params jsonb NOT NULL DEFAULT '{}',
  metrics jsonb NOT NULL DEFAULT '{}',
  trained_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, kind, model_key, version)
);
CREATE INDEX idx_ml_models_latest ON ml_models (tenant_id, kind, model_key, version DESC);
SELECT app_enable_tenant_rls('ml_models');

-- Samples the live detectors found anomalous; one row per series and timestamp.
CREATE TABLE anomalies (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL,
  series_key text NOT NULL,
  metric_name text NOT NULL,
  service_name text NOT NULL,
  labels jsonb NOT NULL DEFAULT '{}',
  "timestamp" timestamptz NOT NULL,
  value double precision NOT NULL,
  score double precision NOT NULL CHECK (score >= 0 AND score <= 1),
  robust_score double precision NOT NULL,
  model_score double precision,
  model_version integer,
  detector text NOT NULL CHECK (detector IN ('robust','autoencoder')),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, series_key, "timestamp")
);
CREATE INDEX idx_anomalies_series ON anomalies (tenant_id, metric_name, service_name, "timestamp" DESC);
CREATE INDEX idx_anomalies_timestamp ON anomalies (tenant_id, "timestamp" DESC);
SELECT app_enable_tenant_rls('anomalies');
