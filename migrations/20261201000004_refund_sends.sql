-- How many times a refund was sent to the platform: one the platform never confirms
-- ends `failed` after a bounded number of sends instead of staying `processing`.
ALTER TABLE refunds ADD COLUMN sends BIGINT NOT NULL DEFAULT 0;
