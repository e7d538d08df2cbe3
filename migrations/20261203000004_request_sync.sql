-- When 重新查询 last asked the gateways about the order: pressing it asks at most once
-- a second per order, apart from the looks that keep `synced_at`.
ALTER TABLE orders ADD COLUMN request_synced_at BIGINT NOT NULL DEFAULT 0;
