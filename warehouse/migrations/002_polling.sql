-- Polling by due time, graded failures and change detection (issue 4).

-- Per-source bounds of the adaptive interval (NULL: the settings' defaults).
ALTER TABLE sources ADD COLUMN min_interval_s INTEGER;
ALTER TABLE sources ADD COLUMN max_interval_s INTEGER;

ALTER TABLE feed_state ADD COLUMN poll_interval_s INTEGER;       -- the interval last planned
ALTER TABLE feed_state ADD COLUMN failure_score DOUBLE DEFAULT 0; -- graded sum of consecutive failures
ALTER TABLE feed_state ADD COLUMN slow_retry BOOLEAN DEFAULT FALSE; -- keeps failing: polled once a day
ALTER TABLE feed_state ADD COLUMN body_hash VARCHAR;             -- sha256 of the last feed body parsed
ALTER TABLE feed_state ADD COLUMN disabled_at TIMESTAMPTZ;
ALTER TABLE feed_state ADD COLUMN schedule_note VARCHAR;         -- why the next poll is when it is
