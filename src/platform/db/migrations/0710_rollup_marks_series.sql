-- Marks name the series as well as the 5-minute bucket, and count the batch's samples in that
-- (bucket, series), so the aggregation job can cut its work into short transactions of a bounded
-- number of samples (issue 12). Ingest still writes them in the statement that stores the
-- samples: one insert-only row per batch and distinct (bucket, series). Runs on PostgreSQL 15+
-- and PGlite.
ALTER TABLE metric_rollup_marks
  ADD COLUMN series_key text,
  ADD COLUMN samples integer NOT NULL DEFAULT 0 CHECK (samples >= 0);

-- Marks written before this migration name a bucket only: each becomes one mark per series with
-- samples in that bucket. (The migrator sees every tenant: superuser on PGlite, system setting on
-- PostgreSQL.)
INSERT INTO metric_rollup_marks (tenant_id, bucket_start, series_key, samples)
SELECT m.tenant_id, b.bucket_start, m.series_key, count(*)::integer
FROM (SELECT DISTINCT tenant_id, bucket_start FROM metric_rollup_marks WHERE series_key IS NULL) AS b
JOIN metrics m ON m.tenant_id = b.tenant_id AND m."timestamp" >= b.bucket_start AND m."timestamp" < b.bucket_start + interval '5 minutes'
GROUP BY m.tenant_id, b.bucket_start, m.series_key;
DELETE FROM metric_rollup_marks WHERE series_key IS NULL;

ALTER TABLE metric_rollup_marks ALTER COLUMN series_key SET NOT NULL;
-- A unit of the job deletes the marks of its (bucket, series), later duplicates included.
CREATE INDEX idx_metric_rollup_marks_series ON metric_rollup_marks (tenant_id, series_key, bucket_start);
