-- Sources an analyst manages (issue 18): paused and removed sources keep their history, and
-- what fetching a source needs, from feeds.yaml, so that page fetches see it too.
-- newswatch: one transaction per statement. DuckDB 1.5 refuses to commit two ALTERs of one
-- table that has rows and an index in one transaction ("another transaction has altered this
-- table"), so every warehouse with sources failed this upgrade; each statement is idempotent
-- (IF NOT EXISTS), so a run cut short between two is finished by the next.

ALTER TABLE sources ADD COLUMN IF NOT EXISTS paused BOOLEAN DEFAULT FALSE;  -- kept, never polled
ALTER TABLE sources ADD COLUMN IF NOT EXISTS removed_at TIMESTAMPTZ;        -- when it left feeds.yaml
ALTER TABLE sources ADD COLUMN IF NOT EXISTS user_agent VARCHAR;            -- NULL: newswatch's own
ALTER TABLE sources ADD COLUMN IF NOT EXISTS ca_bundle VARCHAR;             -- extra CA certificates (PEM path)
ALTER TABLE sources ADD COLUMN IF NOT EXISTS dates VARCHAR DEFAULT 'feed';  -- feed | page
