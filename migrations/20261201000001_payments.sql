-- Orders, receipts, refunds and the platform's notifications. Portable SQL as in the
-- foundation migration.

CREATE TABLE orders (
    order_no           TEXT PRIMARY KEY,
    candidate_id       TEXT NOT NULL REFERENCES candidates (id),
    status             TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'closed')),
    amount_fen         BIGINT NOT NULL CHECK (amount_fen > 0),
    -- The order's fee item codes, sorted and `;`-joined: finds the open order for the
    -- same fees.
    fee_key            TEXT NOT NULL,
    idempotency_key    TEXT,
    platform_trade_no  TEXT,
    cashier_url        TEXT,
    pay_channel        TEXT,
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    paid_at            BIGINT,
    closed_at          BIGINT,
    synced_at          BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE UNIQUE INDEX orders_idempotency ON orders (candidate_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX orders_candidate ON orders (candidate_id);
CREATE INDEX orders_pending_expiry ON orders (expires_at) WHERE status = 'pending';

CREATE TABLE order_items (
    order_no       TEXT NOT NULL REFERENCES orders (order_no),
    fee_item_code  TEXT NOT NULL REFERENCES fee_items (code),
    candidate_id   TEXT NOT NULL,
    amount_fen     BIGINT NOT NULL CHECK (amount_fen > 0),
    -- 1 while the order is pending.
    open           BIGINT NOT NULL CHECK (open IN (0, 1)),
    PRIMARY KEY (order_no, fee_item_code)
);
-- A fee is in at most one pending order at a time.
CREATE UNIQUE INDEX order_items_one_open ON order_items (candidate_id, fee_item_code)
    WHERE open = 1;
CREATE INDEX order_items_candidate ON order_items (candidate_id);

-- One counter a year: receipt numbers have neither gaps nor repeats, because the
-- number is taken in the transaction that records the payment.
CREATE TABLE receipt_counters (
    year  BIGINT PRIMARY KEY,
    last  BIGINT NOT NULL
);

CREATE TABLE receipts (
    receipt_no   TEXT PRIMARY KEY,
    order_no     TEXT NOT NULL UNIQUE REFERENCES orders (order_no),
    check_code   TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('issued', 'reversed')),
    payer_name   TEXT NOT NULL,
    amount_fen   BIGINT NOT NULL,
    issued_at    BIGINT NOT NULL,
    reversed_at  BIGINT
);

CREATE TABLE refunds (
    refund_no     TEXT PRIMARY KEY,
    order_no      TEXT NOT NULL REFERENCES orders (order_no),
    status        TEXT NOT NULL CHECK (status IN
                    ('requested', 'approved', 'processing', 'succeeded', 'failed', 'rejected')),
    amount_fen    BIGINT NOT NULL CHECK (amount_fen > 0),
    reason        TEXT NOT NULL,
    -- 1: a duplicate payment, refunded without review.
    automatic     BIGINT NOT NULL CHECK (automatic IN (0, 1)),
    review_note   TEXT,
    reviewed_by   TEXT,
    failure       TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
-- One refund an order, unless an earlier one failed at the platform.
CREATE UNIQUE INDEX refunds_one_per_order ON refunds (order_no) WHERE status <> 'failed';
CREATE INDEX refunds_status ON refunds (status);

-- Each platform notification is applied once, whatever the retries and duplicates.
CREATE TABLE platform_notifications (
    notify_id    TEXT PRIMARY KEY,
    event        TEXT NOT NULL,
    order_no     TEXT NOT NULL,
    received_at  BIGINT NOT NULL
);
