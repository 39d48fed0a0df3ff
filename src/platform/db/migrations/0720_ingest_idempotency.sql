-- Idempotency keys of metric pushes (HTTP `Idempotency-Key`, bus header `idempotency-key`): a key
-- is written in the same transaction as its samples, so a retried batch is stored once. `accepted`
-- is the first answer, replayed to retries; `request_hash` (hex SHA-256 of the canonical samples)
-- tells a retry from a different batch sent under the same key. The cleanup job forgets keys older
-- than IDEMPOTENCY_WINDOW_HOURS.
CREATE TABLE ingest_idempotency (
  tenant_id uuid NOT NULL,
  idempotency_key text NOT NULL CHECK (idempotency_key ~ '^[ -~]{1,255}$'),
  accepted integer NOT NULL CHECK (accepted >= 0),
  request_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, idempotency_key)
);
CREATE INDEX idx_ingest_idempotency_created_at ON ingest_idempotency (created_at);
SELECT app_enable_tenant_rls('ingest_idempotency');
