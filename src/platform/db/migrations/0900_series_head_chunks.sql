-- The metric store in three parts, as time-series engines on PostgreSQL lay it out:
--   metric_series  each series once per tenant (name, service, labels, metadata) with a compact id
--   metric_head    new samples, narrow (tenant, series id, time, value), partitioned by day, one index
--   metric_chunks  one row per series and closed day: the values as a double precision array and
--                  the timestamps as a step (regular series) or millisecond deltas; TOAST
--                  compresses both, and a query decodes them with unnest, so every reader keeps
--                  plain SQL on PGlite and PostgreSQL alike
-- The compaction job moves each closed day of the head (and of the table before this one,
-- renamed metrics_v1) into chunks, tenant by tenant, and drops the emptied partition.
-- `metrics` becomes a read-only view over the three (metric_samples_in over an open range), for
-- ad-hoc SQL; readers that know their time range call metric_samples_in(from, to), which prunes
-- partitions and chunks.

CREATE TABLE metric_series (
  tenant_id uuid NOT NULL,
  id bigint GENERATED ALWAYS AS IDENTITY,
  series_key text NOT NULL,
  metric_name text NOT NULL,
  service_name text NOT NULL,
  labels jsonb NOT NULL DEFAULT '{}',
  -- Prometheus metadata (counter, gauge, histogram...), filled by the ingest paths that carry it.
  metric_type text,
  help text,
  unit text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, series_key)
);
CREATE INDEX idx_metric_series_tenant_metric ON metric_series (tenant_id, metric_name);
SELECT app_enable_tenant_rls('metric_series');

CREATE TABLE metric_head (
  tenant_id uuid NOT NULL,
  series_id bigint NOT NULL,
  "timestamp" timestamptz NOT NULL,
  value double precision NOT NULL,
  -- Keyset pagination of raw samples orders by (timestamp, id); the ids continue the old table's.
  id bigint NOT NULL DEFAULT nextval('metrics_id_seq')
) PARTITION BY RANGE ("timestamp");
-- The one index reads need: a series' samples in a time range.
CREATE INDEX idx_metric_head_series_time ON metric_head (tenant_id, series_id, "timestamp");
SELECT app_enable_tenant_rls('metric_head');

CREATE SEQUENCE metric_chunks_id_seq;
CREATE TABLE metric_chunks (
  tenant_id uuid NOT NULL,
  series_id bigint NOT NULL,
  id bigint NOT NULL DEFAULT nextval('metric_chunks_id_seq'),
  start_time timestamptz NOT NULL,
  end_time timestamptz NOT NULL,
  samples integer NOT NULL CHECK (samples > 0),
  -- Regular timestamps: the i-th sample (from 0) is at start_time + i * step_ms.
  step_ms integer,
  -- Otherwise each sample's milliseconds after the one before (the first: 0). Deltas of a jittered
  -- series repeat their high bytes, so TOAST compresses them where absolute offsets would not.
  deltas_ms integer[],
  "values" double precision[] NOT NULL,
  CHECK ((step_ms IS NULL) <> (deltas_ms IS NULL))
) PARTITION BY RANGE (start_time);
CREATE INDEX idx_metric_chunks_series_time ON metric_chunks (tenant_id, series_id, start_time);
SELECT app_enable_tenant_rls('metric_chunks');
GRANT USAGE ON SEQUENCE metric_chunks_id_seq TO monitoring_app, monitoring_system;

-- The table before this migration keeps its rows until the compaction job has moved them.
ALTER TABLE metrics RENAME TO metrics_v1;

-- Daily partitions of one of the store's tables, as the owner (the application role owns no table);
-- partitions get deny-all RLS and no grants, so they are reachable only through the parent's policy.
CREATE OR REPLACE FUNCTION ensure_day_partitions(parent text, from_day date, to_day date) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  day date := from_day;
  partition_name text;
  created integer := 0;
BEGIN
  IF parent NOT IN ('metric_head', 'metric_chunks') THEN
    RAISE EXCEPTION 'ensure_day_partitions: % is not partitioned by day', parent;
  END IF;
  WHILE day <= to_day LOOP
    partition_name := parent || '_' || to_char(day, 'YYYYMMDD');
    IF to_regclass(partition_name) IS NULL THEN
      BEGIN
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
          partition_name, parent, day::timestamptz AT TIME ZONE 'UTC', (day + 1)::timestamptz AT TIME ZONE 'UTC');
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', partition_name);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', partition_name);
        EXECUTE format('REVOKE ALL ON %I FROM monitoring_app, monitoring_system', partition_name);
        created := created + 1;
      EXCEPTION WHEN duplicate_table THEN NULL;
      END;
    END IF;
    day := day + 1;
  END LOOP;
  RETURN created;
END $$;
REVOKE ALL ON FUNCTION ensure_day_partitions(text, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ensure_day_partitions(text, date, date) TO monitoring_app, monitoring_system;

-- Ingest and the cleanup job keep calling this name: it now creates the head's partitions.
CREATE OR REPLACE FUNCTION ensure_metrics_partitions(from_day date, to_day date) RETURNS integer
LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
  SELECT ensure_day_partitions('metric_head', from_day, to_day)
$$;

-- Drops a day's partition of the head or of the old table once compaction has emptied it.
CREATE OR REPLACE FUNCTION drop_compacted_partition(partition_name text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  still_there boolean;
BEGIN
  IF partition_name !~ '^(metric_head|metrics)_[0-9]{8}$' OR to_regclass(partition_name) IS NULL THEN
    RETURN false;
  END IF;
  -- The lock waits for inserts in flight, so the check below sees them: nothing is dropped unread.
  EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', partition_name);
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', partition_name) INTO still_there;
  IF still_there THEN
    RETURN false;
  END IF;
  EXECUTE format('DROP TABLE %I', partition_name);
  RETURN true;
END $$;
REVOKE ALL ON FUNCTION drop_compacted_partition(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION drop_compacted_partition(text) TO monitoring_system;

-- Day partitions of the head and of the old table, oldest first, for the compaction job.
CREATE OR REPLACE FUNCTION metric_day_partitions() RETURNS TABLE (source text, partition_name text, day date)
LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
  SELECT CASE WHEN p.relname = 'metric_head' THEN 'head' ELSE 'v1' END, c.relname::text,
    to_date(right(c.relname, 8), 'YYYYMMDD')
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
  WHERE p.relname IN ('metric_head', 'metrics_v1') AND c.relname ~ '_[0-9]{8}$'
  ORDER BY 3, 1
$$;
REVOKE ALL ON FUNCTION metric_day_partitions() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metric_day_partitions() TO monitoring_system;

-- Retention drops whole day partitions of the head, the old table and the chunks.
CREATE OR REPLACE FUNCTION cleanup_old_metrics(retention_days integer DEFAULT 90, rollup_retention_days integer DEFAULT 365, as_of timestamptz DEFAULT now())
RETURNS TABLE (dropped_partitions integer, deleted_rollups bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  cutoff date := ((as_of AT TIME ZONE 'UTC') - make_interval(days => retention_days))::date;
  part record;
BEGIN
  dropped_partitions := 0;
  FOR part IN
    SELECT c.relname, to_date(right(c.relname, 8), 'YYYYMMDD') AS day
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
    WHERE p.relname IN ('metric_head', 'metrics_v1', 'metric_chunks') AND c.relname ~ '_[0-9]{8}$'
  LOOP
    -- A partition holds [day, day + 1): drop it once its last instant is older than the cutoff.
    IF part.day + 1 <= cutoff THEN
      EXECUTE format('DROP TABLE %I', part.relname);
      dropped_partitions := dropped_partitions + 1;
    END IF;
  END LOOP;
  DELETE FROM metric_rollups WHERE bucket_start < as_of - make_interval(days => rollup_retention_days);
  GET DIAGNOSTICS deleted_rollups = ROW_COUNT;
  RETURN NEXT;
END $$;
REVOKE ALL ON FUNCTION cleanup_old_metrics(integer, integer, timestamptz) FROM PUBLIC, monitoring_app;
GRANT EXECUTE ON FUNCTION cleanup_old_metrics(integer, integer, timestamptz) TO monitoring_system;


-- The samples with from_time <= timestamp <= to_time. An SQL function the planner inlines: the
-- caller's conditions on tenant, name, service, series and labels reach every part, and only the
-- partitions and chunks that overlap the range are read and decoded.
CREATE OR REPLACE FUNCTION metric_samples_in(from_time timestamptz, to_time timestamptz)
RETURNS TABLE (id bigint, tenant_id uuid, metric_name text, service_name text, series_key text, value double precision, labels jsonb, "timestamp" timestamptz)
LANGUAGE sql STABLE AS $$
  SELECT h.id, h.tenant_id, s.metric_name, s.service_name, s.series_key, h.value, s.labels, h."timestamp"
  FROM metric_head h JOIN metric_series s ON s.tenant_id = h.tenant_id AND s.id = h.series_id
  WHERE h."timestamp" >= from_time AND h."timestamp" <= to_time
  UNION ALL
  SELECT o.id, o.tenant_id, o.metric_name, o.service_name, o.series_key, o.value, o.labels, o."timestamp"
  FROM metrics_v1 o
  WHERE o."timestamp" >= from_time AND o."timestamp" <= to_time
  UNION ALL
  SELECT 4503599627370496 + c.id * 1048576 + d.position - 1, c.tenant_id, s.metric_name, s.service_name, s.series_key, d.value, s.labels, d."timestamp"
  FROM metric_chunks c JOIN metric_series s ON s.tenant_id = c.tenant_id AND s.id = c.series_id
  CROSS JOIN LATERAL (
    -- A regular chunk: only the positions inside the range are decoded (one slice, no filter).
    SELECT r.first + v.n - 1 AS position, v.value, r.first_time + (v.n - 1) * r.step AS "timestamp"
    FROM (
      SELECT p.first, p.last, c.start_time + (p.first - 1) * c.step_ms * interval '1 millisecond' AS first_time, c.step_ms * interval '1 millisecond' AS step
      FROM (
        -- Open ranges (+/-infinity) never reach the subtraction: the chunk lies inside them.
        SELECT CASE WHEN c.step_ms = 0 OR from_time <= c.start_time THEN 1 ELSE ceil(extract(epoch FROM from_time - c.start_time) * 1000 / c.step_ms)::integer + 1 END AS first,
               CASE WHEN c.step_ms = 0 OR to_time >= c.end_time THEN c.samples ELSE floor(extract(epoch FROM to_time - c.start_time) * 1000 / c.step_ms)::integer + 1 END AS last
      ) p
      -- Computed once per chunk, not once per sample.
      OFFSET 0
    ) r
    CROSS JOIN LATERAL unnest(c."values"[r.first:r.last]) WITH ORDINALITY AS v(value, n)
    WHERE c.step_ms IS NOT NULL
    UNION ALL
    SELECT v.n, v.value, c.start_time + v.offset_ms * interval '1 millisecond'
    FROM (
      SELECT u.n, u.value, sum(u.delta_ms) OVER (ORDER BY u.n) AS offset_ms
      FROM unnest(c."values", c.deltas_ms) WITH ORDINALITY AS u(value, delta_ms, n)
    ) v
    WHERE c.step_ms IS NULL
      AND c.start_time + v.offset_ms * interval '1 millisecond' >= from_time
      AND c.start_time + v.offset_ms * interval '1 millisecond' <= to_time
    -- A fence: the caller's own conditions on "timestamp" are then tested on the decoded column,
    -- instead of being pushed into the unnest with the whole position arithmetic expanded in them.
    OFFSET 0
  ) d
  -- A chunk starts and ends within one UTC day (the last condition lets the index bound the scan).
  WHERE c.start_time <= to_time AND c.end_time >= from_time AND c.start_time > from_time - interval '1 day'
$$;
GRANT EXECUTE ON FUNCTION metric_samples_in(timestamptz, timestamptz) TO monitoring_app, monitoring_system;

-- Every stored sample, whichever part holds it, for ad-hoc SQL: the function over an open range.
-- Runs as the caller (RLS applies to each part).
CREATE VIEW metrics WITH (security_invoker = true) AS
  SELECT * FROM metric_samples_in('-infinity', 'infinity');
GRANT SELECT ON metrics TO monitoring_app, monitoring_system;

-- Series of the samples already stored, so names and labels are answered from the series table.
INSERT INTO metric_series (tenant_id, series_key, metric_name, service_name, labels)
SELECT DISTINCT ON (tenant_id, series_key) tenant_id, series_key, metric_name, service_name, labels
FROM metrics_v1 ORDER BY tenant_id, series_key, "timestamp" DESC
ON CONFLICT DO NOTHING;
