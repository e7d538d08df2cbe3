-- Outgoing webhooks for third-party systems (e.g. the registration system): events are
-- written in the transaction of the change they announce (an outbox), then delivered
-- and retried by a worker until the receiver answers 2xx.

CREATE TABLE webhook_endpoints (
    id          TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,
    active      BIGINT NOT NULL CHECK (active IN (0, 1)),
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE webhook_events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL CHECK (type IN ('fee.paid', 'fee.refunded')),
    payload     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX webhook_events_created ON webhook_events (created_at);

-- One row an (event, endpoint). next_attempt_at NULL: delivered, or given up.
CREATE TABLE webhook_deliveries (
    event_id         TEXT NOT NULL REFERENCES webhook_events (id),
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id),
    attempts         BIGINT NOT NULL,
    next_attempt_at  BIGINT,
    delivered_at     BIGINT,
    last_error       TEXT,
    PRIMARY KEY (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
