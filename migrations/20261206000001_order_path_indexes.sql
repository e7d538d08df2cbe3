-- Indexes every order wrote and no query needs: each is the first column of a wider
-- index kept beside it, which serves the same lookups. Each index an insert touches
-- is one more page that its commit writes (issue 20, the CPU of an order).
-- (candidate_id) is the start of order_items_candidate_fee.
DROP INDEX order_items_candidate;
-- (at) is the start of audit_log_page (at, id).
DROP INDEX audit_log_at;
