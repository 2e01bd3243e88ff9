-- Events (issue 17): one happening, every outlet and language that covered it. A story is one
-- text and its copies; an event groups the stories of one happening across outlets and
-- languages. `articles.event_id` is set once, when the article is linked, and never renumbered.

ALTER TABLE articles ADD COLUMN event_id VARCHAR;

-- One row per event: what `warehouse.events.refresh_events` derives from its articles (kept
-- as a table so the digest and analysts read it without re-aggregating; refreshed whenever
-- an event gains articles, and after retag/reprocess).
CREATE TABLE events (
    id              VARCHAR PRIMARY KEY,     -- 'ev-' + sha256(first article id)[:16]
    first_seen      TIMESTAMPTZ NOT NULL,    -- earliest article (published, else fetched)
    last_seen       TIMESTAMPTZ NOT NULL,
    title           VARCHAR,                 -- first title in the language most outlets used
    title_language  VARCHAR,
    topics          VARCHAR[] NOT NULL,      -- watchlist topics its articles are about
    articles        INTEGER NOT NULL,
    outlets         INTEGER NOT NULL,
    languages       INTEGER NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

-- What linking needs of an article already linked, so the next ingest links new articles to
-- the events of the last days without embedding them again.
CREATE TABLE event_links (
    article_id  VARCHAR PRIMARY KEY,
    event_id    VARCHAR NOT NULL,
    reason      VARCHAR NOT NULL,            -- new | copy | link
    score       DOUBLE,                      -- the link's probability (reason = link)
    embedder    VARCHAR NOT NULL,            -- the model that made `vector`
    vector      FLOAT[] NOT NULL,            -- unit embedding of title and lead
    entities    VARCHAR[] NOT NULL,          -- country:VE, topic:venezuela, name:madur, ...
    numbers     VARCHAR[] NOT NULL,
    linked_at   TIMESTAMPTZ NOT NULL
);

-- One row per article of an event, with its outlet's country and tags and its relevance per
-- topic (a map topic -> about | mention; empty for an article that matched no topic).
CREATE VIEW event_articles AS
SELECT a.event_id, a.id AS article_id, a.story_id, a.outlet, a.source, s.country,
       coalesce(s.tags, []::VARCHAR[]) AS tags, a.language, a.title AS headline,
       coalesce(a.published, a.fetched_at) AS published, a.canonical_url,
       coalesce((SELECT map(list(m.topic ORDER BY m.topic), list(m.relevance ORDER BY m.topic))
                 FROM topic_matches m WHERE m.article_id = a.id),
                map([]::VARCHAR[], []::VARCHAR[])) AS relevance
FROM articles a
LEFT JOIN sources s ON s.name = a.source
WHERE a.event_id IS NOT NULL;

-- One row per event: how far it spread and who had it first (a tie on the time goes to the
-- smaller article id, so "first" is the same on every run).
CREATE VIEW event_spread AS
SELECT e.id AS event_id, e.title, e.topics,
       count(*) AS articles,
       count(DISTINCT ea.outlet) AS outlets,
       list(DISTINCT ea.language ORDER BY ea.language) FILTER (WHERE ea.language IS NOT NULL)
           AS languages,
       list(DISTINCT ea.country ORDER BY ea.country) FILTER (WHERE ea.country IS NOT NULL)
           AS countries,
       arg_min(ea.outlet, (ea.published, ea.article_id)) AS first_outlet,
       arg_min(ea.source, (ea.published, ea.article_id)) AS first_source,
       arg_min(ea.headline, (ea.published, ea.article_id)) AS first_headline,
       min(ea.published) AS first_published,
       max(ea.published) AS last_published,
       round(epoch(max(ea.published) - min(ea.published)) / 3600.0, 2) AS hours
FROM events e
JOIN event_articles ea ON ea.event_id = e.id
GROUP BY e.id, e.title, e.topics;
