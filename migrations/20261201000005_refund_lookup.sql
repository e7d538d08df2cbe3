-- The fee list asks for each order's newest refund: by order, newest first.
CREATE INDEX refunds_order_created ON refunds (order_no, created_at);
