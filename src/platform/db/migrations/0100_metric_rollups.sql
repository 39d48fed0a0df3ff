-- Rollups of raw samples at 5m, 1h and 1d per series, and the marks that tell the
-- aggregation job which buckets changed. Runs on PostgreSQL 15+ and PGlite.

CREATE TABLE metric_rollups (
  tenant_id uuid NOT NULL,
  resolution text NOT NULL CHECK (resolution IN ('5m', '1h', '1d')),
  bucket_start timestamptz NOT NULL,
  series_key text NOT NULL,
  metric_name text NOT NULL,
  service_name text NOT NULL,
  labels jsonb NOT NULL DEFAULT '{}',
  count bigint NOT NULL,
  sum double precision NOT NULL,
  min double precision NOT NULL,
  max double precision NOT NULL,
  avg double precision NOT NULL,
  p95 double precision NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, resolution, series_key, bucket_start)
);
CREATE INDEX idx_metric_rollups_tenant_metric ON metric_rollups (tenant_id, resolution, metric_name, bucket_start DESC);
CREATE INDEX idx_metric_rollups_bucket ON metric_rollups (resolution, bucket_start);
SELECT app_enable_tenant_rls('metric_rollups');

-- Written by ingest in the same transaction as the samples: one insert-only row per batch and
-- 5-minute bucket, so concurrent writers never wait on each other. The job consumes them.
CREATE TABLE metric_rollup_marks (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id uuid NOT NULL,
  bucket_start timestamptz NOT NULL
);
SELECT app_enable_tenant_rls('metric_rollup_marks');

-- Days whose 1d rollup must be (re)computed: a dirty open day at most hourly, a closed day once.
CREATE TABLE metric_rollup_pending_days (
  tenant_id uuid NOT NULL,
  day timestamptz NOT NULL,
  dirty boolean NOT NULL DEFAULT true,
  computed_at timestamptz,
  PRIMARY KEY (tenant_id, day)
);
SELECT app_enable_tenant_rls('metric_rollup_pending_days');

-- Retention of raw samples (by dropping whole daily partitions) and of rollups. SECURITY
-- DEFINER so the application role may call it without owning the partitions; the SET clause
-- makes the deletes see every tenant's rows only for the duration of the call.
CREATE OR REPLACE FUNCTION cleanup_old_metrics(retention_days integer DEFAULT 90, rollup_retention_days integer DEFAULT 365, as_of timestamptz DEFAULT now())
RETURNS TABLE (dropped_partitions integer, deleted_rollups bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public SET app.is_system_user = 'true' AS $$
DECLARE
  cutoff date := ((as_of AT TIME ZONE 'UTC') - make_interval(days => retention_days))::date;
  part record;
  part_day date;
BEGIN
  dropped_partitions := 0;
  FOR part IN
    SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'metrics'::regclass AND c.relname ~ '^metrics_[0-9]{8}$'
  LOOP
    part_day := to_date(substr(part.relname, 9), 'YYYYMMDD');
    -- A partition holds [day, day + 1): drop it once its last instant is older than the cutoff.
    IF part_day + 1 <= cutoff THEN
      EXECUTE format('DROP TABLE %I', part.relname);
      dropped_partitions := dropped_partitions + 1;
    END IF;
  END LOOP;
  DELETE FROM metric_rollups WHERE bucket_start < as_of - make_interval(days => rollup_retention_days);
  GET DIAGNOSTICS deleted_rollups = ROW_COUNT;
  RETURN NEXT;
END $$;
REVOKE ALL ON FUNCTION cleanup_old_metrics(integer, integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cleanup_old_metrics(integer, integer, timestamptz) TO monitoring_app;

-- Investigated fraud events are kept for a year; uninvestigated ones are never deleted.
CREATE OR REPLACE FUNCTION cleanup_old_fraud_events(retention_days integer DEFAULT 365, as_of timestamptz DEFAULT now())
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public SET app.is_system_user = 'true' AS $$
DECLARE
  deleted bigint;
BEGIN
  DELETE FROM fraud_events WHERE investigated = true AND "timestamp" < as_of - make_interval(days => retention_days);
  GET DIAGNOSTICS deleted = ROW_COUNT;
  RETURN deleted;
END $$;
REVOKE ALL ON FUNCTION cleanup_old_fraud_events(integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cleanup_old_fraud_events(integer, timestamptz) TO monitoring_app;
