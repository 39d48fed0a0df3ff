-- The service's own record of sales, pushed by the platform (POST /api/v1/analytics/sales/track);
-- never read from another service's tables. One row per sale id and tenant (retries are no-ops).
CREATE TABLE sales (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL,
  sale_id text NOT NULL,
  event_id text NOT NULL,
  tickets integer NOT NULL CHECK (tickets > 0),
  amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  channel text NOT NULL,
  sold_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, sale_id)
);
CREATE INDEX idx_sales_event_time ON sales (tenant_id, event_id, sold_at DESC);
CREATE INDEX idx_sales_sold_at ON sales (sold_at DESC);
SELECT app_enable_tenant_rls('sales');
