-- The members of an event, found by its id (`warehouse.events._refresh`): `event_links` holds
-- one row per linked article and is never updated, so an index on its event_id costs nothing
-- but the index. Deriving a batch's events read the whole of `articles.event_id` before:
-- ~80 ms a batch at a million articles, 16 through this index (bench/growth.py).

CREATE INDEX IF NOT EXISTS event_links_event ON event_links (event_id);
