-- The payment-platform sandbox's own store (SQLite). Times are epoch milliseconds,
-- money is fen.

CREATE TABLE trades (
    trade_no TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    out_trade_no TEXT NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    subject TEXT NOT NULL,
    notify_url TEXT NOT NULL,
    return_url TEXT NOT NULL,
    -- What the merchant asked for (NULL: the default), compared on an idempotent retry.
    requested_expires_at BIGINT,
    expires_at BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('waiting', 'success', 'closed', 'refunded')),
    channel TEXT CHECK (channel IN ('wechat', 'alipay', 'unionpay', 'ecny')),
    refunded_fen BIGINT NOT NULL DEFAULT 0 CHECK (refunded_fen >= 0 AND refunded_fen <= amount_fen),
    created_at BIGINT NOT NULL,
    paid_at BIGINT,
    closed_at BIGINT,
    UNIQUE (merchant_id, out_trade_no),
    CHECK ((status IN ('success', 'refunded')) = (paid_at IS NOT NULL)),
    CHECK ((status = 'refunded') = (refunded_fen = amount_fen))
);
CREATE INDEX trades_by_payment_day ON trades (merchant_id, paid_at);
CREATE INDEX trades_by_out_trade_no ON trades (out_trade_no);

CREATE TABLE refunds (
    refund_no TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    out_refund_no TEXT NOT NULL,
    trade_no TEXT NOT NULL REFERENCES trades (trade_no),
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (merchant_id, out_refund_no)
);
CREATE INDEX refunds_by_day ON refunds (merchant_id, created_at);

-- One live QR code per trade: choosing another channel replaces it.
CREATE TABLE qr_codes (
    token TEXT PRIMARY KEY,
    trade_no TEXT NOT NULL REFERENCES trades (trade_no),
    channel TEXT NOT NULL CHECK (channel IN ('wechat', 'alipay', 'unionpay', 'ecny')),
    created_at BIGINT NOT NULL,
    replaced_at BIGINT
);
CREATE UNIQUE INDEX qr_codes_one_live ON qr_codes (trade_no) WHERE replaced_at IS NULL;

-- Nonces of signed requests, kept as long as their timestamp could still be accepted.
CREATE TABLE request_nonces (
    merchant_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, nonce)
);
CREATE INDEX request_nonces_by_expiry ON request_nonces (expires_at);

CREATE TABLE notifications (
    notify_id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    trade_no TEXT NOT NULL REFERENCES trades (trade_no),
    event TEXT NOT NULL CHECK (event IN ('trade.success', 'refund.success')),
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    -- NULL once acknowledged or given up.
    next_attempt_at BIGINT,
    acked_at BIGINT,
    last_error TEXT
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX notifications_by_trade ON notifications (trade_no, created_at);
