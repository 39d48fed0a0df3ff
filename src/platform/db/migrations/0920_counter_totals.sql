-- Pushed counters (issue 17, point 1). The push API sends a counter's increments; Prometheus,
-- remote write and OTLP carry running totals. Every sample is stored as Prometheus stores it, a
-- running total, so rate(), increase(), alert rules, exports, Grafana and reports read one model.
-- This table holds each pushed counter series' total: ingest adds a batch's increments here and
-- stores the totals they reach, under the row lock, so concurrent batches (of any instance) add up.
CREATE TABLE metric_counter_totals (
  tenant_id uuid NOT NULL,
  series_id bigint NOT NULL,
  total double precision NOT NULL,
  PRIMARY KEY (tenant_id, series_id)
);
SELECT app_enable_tenant_rls('metric_counter_totals');

-- A series' last value before a time, for increases over a period (the dashboard's counters):
-- the newest timestamp before it is found from each part's index (head, the old table, the latest
-- chunk starting before it), then only that stretch is read through metric_samples_in.
CREATE OR REPLACE FUNCTION metric_value_before(p_tenant uuid, p_series_key text, p_at timestamptz)
RETURNS double precision
LANGUAGE sql STABLE AS $$
  WITH series AS (
    SELECT id FROM metric_series WHERE tenant_id = p_tenant AND series_key = p_series_key
  ), newest AS (
    SELECT greatest(
      (SELECT h."timestamp" FROM metric_head h, series s WHERE h.tenant_id = p_tenant AND h.series_id = s.id AND h."timestamp" < p_at ORDER BY h."timestamp" DESC LIMIT 1),
      (SELECT o."timestamp" FROM metrics_v1 o WHERE o.tenant_id = p_tenant AND o.series_key = p_series_key AND o."timestamp" < p_at ORDER BY o."timestamp" DESC LIMIT 1),
      (SELECT c.start_time FROM metric_chunks c, series s WHERE c.tenant_id = p_tenant AND c.series_id = s.id AND c.start_time < p_at ORDER BY c.start_time DESC LIMIT 1)
    ) AS since
  )
  SELECT m.value FROM newest, metric_samples_in(newest.since, p_at) m
  WHERE newest.since IS NOT NULL AND m.tenant_id = p_tenant AND m.series_key = p_series_key AND m."timestamp" < p_at
  ORDER BY m."timestamp" DESC, m.id DESC LIMIT 1
$$;
