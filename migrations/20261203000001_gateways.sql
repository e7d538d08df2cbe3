-- Real channels beside the platform: an order may be opened on several gateways (the
-- candidate switches channel at ExamFee's cashier), each carrying its own trade of the
-- order under the same out_trade_no. Portable SQL as in the foundation migration.

CREATE TABLE order_trades (
    order_no    TEXT NOT NULL REFERENCES orders (order_no),
    gateway     TEXT NOT NULL CHECK (gateway IN ('platform', 'wechatpay', 'alipay')),
    -- open: asked for at the gateway (stored before the call, so a crash in between
    -- still leaves the row to close at expiry); paid once, whatever the retries.
    status      TEXT NOT NULL CHECK (status IN ('open', 'paid', 'closed')),
    -- Where the payer pays: the platform's cashier or the channel's QR code content;
    -- NULL until the gateway answered.
    pay_url     TEXT,
    trade_no    TEXT,
    paid_at     BIGINT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (order_no, gateway)
);

-- Every trade the platform already has.
INSERT INTO order_trades (order_no, gateway, status, pay_url, trade_no, paid_at, created_at, updated_at)
SELECT order_no, 'platform',
       CASE status WHEN 'paid' THEN 'paid' WHEN 'closed' THEN 'closed' ELSE 'open' END,
       cashier_url, platform_trade_no, paid_at, created_at, updated_at
FROM orders WHERE platform_trade_no IS NOT NULL OR status = 'paid';

-- The gateway whose trade paid the order: refunds of the order go back there.
ALTER TABLE orders ADD COLUMN gateway TEXT;
UPDATE orders SET gateway = 'platform' WHERE status = 'paid';

-- A refund goes back on the gateway that took the money.
ALTER TABLE refunds ADD COLUMN gateway TEXT NOT NULL DEFAULT 'platform';
-- One refund a trade, unless an earlier one failed: a payment on a second channel of
-- a paid order is refunded beside the candidate's own refund of the first.
DROP INDEX refunds_one_per_order;
CREATE UNIQUE INDEX refunds_one_per_trade ON refunds (order_no, gateway) WHERE status <> 'failed';
