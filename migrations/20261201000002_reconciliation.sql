-- Reconciliation runs against the platform's daily statement, and the indexes the
-- operator views page through. Portable SQL as in the foundation migration.

-- One row a run; `report` is the whole report as JSON, as it was shown when run.
CREATE TABLE reconciliations (
    id              TEXT PRIMARY KEY,
    -- The Beijing-time day compared, `YYYY-MM-DD`.
    statement_date  TEXT NOT NULL,
    actor           TEXT NOT NULL,
    ran_at          BIGINT NOT NULL,
    fixed           BIGINT NOT NULL CHECK (fixed >= 0),
    open            BIGINT NOT NULL CHECK (open >= 0),
    report          TEXT NOT NULL
);
CREATE INDEX reconciliations_ran_at ON reconciliations (ran_at, id);

-- Keyset pages, newest first: (time, id) is unique and ordered.
CREATE INDEX audit_log_page ON audit_log (at, id);
CREATE INDEX orders_page ON orders (created_at, order_no);
-- Reconciliation reads a day's payments and finished refunds.
CREATE INDEX orders_paid_at ON orders (paid_at) WHERE status = 'paid';
CREATE INDEX refunds_succeeded ON refunds (updated_at) WHERE status = 'succeeded';
