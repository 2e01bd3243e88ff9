-- Events whose `events` row waits to be derived again (issue 17): linking a batch stores its
-- links in up to three transactions (the stale and no-topic articles, the copies, the embedded
-- ones); the first two name here the events they touched, in the same transaction, and the
-- last derives them all at once (one refresh a batch instead of three: ~20 MB less at the
-- peak of a 10,000-page ingest, bench/README.md, Pipeline, session 12). A run killed between
-- leaves them here, and the next link step derives them.

CREATE TABLE IF NOT EXISTS events_pending (event_id VARCHAR NOT NULL);
