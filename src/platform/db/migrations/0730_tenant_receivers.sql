-- Notification receivers per tenant (issue 13, point 6): a tenant's notifications go only to the
-- receivers its admin configured; the environment variables configure the platform tenant only.
-- `settings` holds the fields that are not secret (e-mail recipients, Slack channel, webhook URL);
-- the secret fields (Slack token or incoming-webhook URL, PagerDuty routing key, webhook signing
-- secret) are one AES-256-GCM box in `secret_ciphertext` (base64 of IV, tag and ciphertext),
-- sealed under the key named by `secret_key_id`, with the tenant and channel as associated data.
-- `secret_hints` holds at most the last four characters of each secret, for the API to show.
CREATE TABLE tenant_receivers (
  tenant_id uuid NOT NULL,
  channel text NOT NULL CHECK (channel IN ('email','slack','pagerduty','webhook')),
  settings jsonb NOT NULL DEFAULT '{}',
  secret_ciphertext text,
  secret_key_id text,
  secret_hints jsonb NOT NULL DEFAULT '{}',
  updated_by text NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, channel),
  CHECK ((secret_ciphertext IS NULL) = (secret_key_id IS NULL))
);
CREATE INDEX idx_tenant_receivers_key ON tenant_receivers (secret_key_id) WHERE secret_key_id IS NOT NULL;
SELECT app_enable_tenant_rls('tenant_receivers');
