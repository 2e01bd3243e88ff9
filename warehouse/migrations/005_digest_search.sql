-- The digest and full-text search (issue 7).

-- What each full-text index (warehouse/search.py: `main`, and `recent` for the articles
-- added since `main` was built) was built from. DuckDB's fts index does not follow changes to
-- the articles: the writer rebuilds an index when its articles' fingerprint no longer
-- matches, and a read-only search can tell how many articles are not searchable yet.
CREATE TABLE search_index (
    tier         VARCHAR PRIMARY KEY,        -- main | recent
    built_at     TIMESTAMPTZ NOT NULL,
    articles     BIGINT NOT NULL,
    fingerprint  UBIGINT NOT NULL,           -- bit_xor of hash(id, title, content_hash)
    seconds      DOUBLE NOT NULL             -- what the build cost
);

-- articles_tagged: an article without a date of its own is counted on the day it was fetched
-- (as the digest does), instead of on no day at all; the evidence of each match comes along.
CREATE OR REPLACE VIEW articles_tagged AS
SELECT a.id AS article_id, a.published,
       CAST(coalesce(a.published, a.fetched_at) AS DATE) AS day, a.outlet, a.source,
       a.language, a.title, a.canonical_url, a.story_id, a.duplicate_of,
       m.topic, m.relevance, m.score, m.evidence
FROM articles a
JOIN topic_matches m ON m.article_id = a.id;

-- story_spread: also the first article's URL and language; a tie on the time goes to the
-- smaller article id, so "first" is the same on every run.
CREATE OR REPLACE VIEW story_spread AS
SELECT s.id AS story_id, s.title,
       count(*) AS articles,
       count(DISTINCT a.outlet) AS outlets,
       list(DISTINCT a.language ORDER BY a.language) AS languages,
       arg_min(a.outlet, (coalesce(a.published, a.fetched_at), a.id)) AS first_outlet,
       min(coalesce(a.published, a.fetched_at)) AS first_published,
       max(coalesce(a.published, a.fetched_at)) AS last_published,
       arg_min(a.canonical_url, (coalesce(a.published, a.fetched_at), a.id)) AS first_url,
       arg_min(a.language, (coalesce(a.published, a.fetched_at), a.id)) AS first_language
FROM stories s
JOIN articles a ON a.story_id = s.id
GROUP BY s.id, s.title;
