-- Machine credentials (issue 17, point 2): per-tenant API keys with scopes, for scrapers, remote
-- writers and data sources. Only the SHA-256 of a key is kept (keys are 192 random bits, so a
-- fast hash is enough, as for GitHub's tokens); `key_prefix` is the first characters, shown in
-- lists so a key can be told apart. A key is looked up by its hash before its tenant is known:
-- that lookup is system work.
CREATE TABLE api_keys (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL,
  name text NOT NULL,
  key_prefix text NOT NULL,
  key_hash text NOT NULL UNIQUE,
  scopes text[] NOT NULL CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['ingest','read','alerts']),
  created_by text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz
);
CREATE INDEX idx_api_keys_tenant ON api_keys (tenant_id, created_at DESC);
SELECT app_enable_tenant_rls('api_keys');
