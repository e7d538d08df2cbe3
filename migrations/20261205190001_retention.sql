-- Data retention (`examfee purge`, docs/operations.md "Data retention"). Portable SQL
-- as in the foundation migration.
--
-- A candidate of finished exams whose personal data was removed stays as a row, since
-- orders, refunds and receipts, which finance keeps, refer to it: its login, phone,
-- sealed ID number and blind index are replaced by masked forms and this records
-- when. NULL: a candidate as imported.
ALTER TABLE candidates ADD COLUMN purged_at BIGINT;
