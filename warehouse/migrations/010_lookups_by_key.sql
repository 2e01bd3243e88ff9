-- Two lookups of a batch's keys that read a whole table without an index of their own
-- (bench/growth.py, at a million stored articles):
-- - a run's new entries are checked against the stored ones by URL (`warehouse.polls`,
--   `_insert_new_entries`): the entries' key is (source, guid), so matching on source and
--   URL read every entry's URL, ~110 ms cold; through this index ~12;
-- - a batch's articles' topics (`warehouse.events`: linking, and deriving the events):
--   the matches' key is (article_id, topic), which a lookup of article ids alone does not use.

CREATE INDEX IF NOT EXISTS entries_canonical_url ON entries (canonical_url);
CREATE INDEX IF NOT EXISTS topic_matches_article ON topic_matches (article_id);
