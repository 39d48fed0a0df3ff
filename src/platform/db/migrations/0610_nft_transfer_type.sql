-- What a tracked transaction is (mint or transfer kind) and its collection, for
-- nft_minted_total{collection,status} and nft_transferred_total{type}.
ALTER TABLE nft_transfers ADD COLUMN transfer_type text NOT NULL DEFAULT 'transfer' CHECK (transfer_type ~ '^[a-z][a-z0-9_]{0,31}$');
ALTER TABLE nft_transfers ADD COLUMN collection text;
ALTER TABLE nft_transfers ADD COLUMN last_checked_at timestamptz;
CREATE INDEX idx_nft_transfers_submitted ON nft_transfers (tenant_id, submitted_at DESC);
