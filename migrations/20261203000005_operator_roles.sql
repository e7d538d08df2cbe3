-- What each operator may do. Operators from before roles keep doing everything.
ALTER TABLE operators ADD COLUMN operator_role TEXT NOT NULL DEFAULT 'admin'
    CHECK (operator_role IN ('admin', 'finance', 'clerk', 'auditor'));
