-- Indexes for the operator console's reads (the dashboard, candidate search, refund
-- queue, webhook deliveries). Portable SQL as in the foundation migration. Each serves
-- one query that would otherwise scan a whole table of an exam with 50,000 candidates.

-- An exam's dashboard walks its fees item by item: the primary key starts with the
-- candidate, so it cannot.
CREATE INDEX candidate_fees_item ON candidate_fees (fee_item_code, candidate_id);

-- The orders that include a fee item: the dashboard's payments, refunds and fee
-- states, and whether a fee item's amount may still change.
CREATE INDEX order_items_fee ON order_items (fee_item_code, order_no);

-- One candidate's orders of one fee, looked up for each fee of the dashboard
-- (`order_items_candidate` alone leaves every fee of the candidate to filter); with
-- the order number, so the lookup needs no row of the table.
CREATE INDEX order_items_candidate_fee ON order_items (candidate_id, fee_item_code, order_no);

-- The candidate search by name (exact or prefix).
CREATE INDEX candidates_name ON candidates (name, id);

-- The refund review queue: one state, oldest request first, paged by (created_at, refund_no).
CREATE INDEX refunds_queue ON refunds (status, created_at, refund_no);

-- One endpoint's deliveries (the existing index holds only those still due).
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, event_id);

-- Candidates page newest first, filtered or not.
CREATE INDEX candidates_page ON candidates (created_at, id);
