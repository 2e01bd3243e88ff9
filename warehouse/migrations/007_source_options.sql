-- Sources an analyst manages (issue 18): paused and removed sources keep their history, and
-- what fetching a source needs, from feeds.yaml, so that page fetches see it too.

ALTER TABLE sources ADD COLUMN paused BOOLEAN DEFAULT FALSE;  -- kept, never polled
ALTER TABLE sources ADD COLUMN removed_at TIMESTAMPTZ;        -- when it left feeds.yaml
ALTER TABLE sources ADD COLUMN user_agent VARCHAR;            -- NULL: newswatch's own
ALTER TABLE sources ADD COLUMN ca_bundle VARCHAR;             -- extra CA certificates (PEM path)
ALTER TABLE sources ADD COLUMN dates VARCHAR DEFAULT 'feed';  -- feed | page
