-- Webhook endpoints receive masked ID numbers unless registered as trusted.
ALTER TABLE webhook_endpoints ADD COLUMN trusted BIGINT NOT NULL DEFAULT 0 CHECK (trusted IN (0, 1));

-- Deliveries are now sent endpoint by endpoint (each on its own task), so the worker
-- finds one endpoint's due deliveries without reading the others'.
CREATE INDEX webhook_deliveries_endpoint_due ON webhook_deliveries (endpoint_id, next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
