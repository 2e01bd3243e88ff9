-- `articles_published` (001) served no query: every reader of articles by time reads
-- coalesce(published, fetched_at), which an index on `published` cannot answer, and an
-- analyst's range on `published` alone is pruned by DuckDB's zone maps (rows arrive in time
-- order). It cost every stored batch its upkeep: at a million stored articles a block of 200
-- pages spent ~25 ms more on its inserts and ~25 ms more on the closing checkpoint
-- (bench/README.md, Growth, session 33).

DROP INDEX IF EXISTS articles_published;
