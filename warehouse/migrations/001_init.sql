-- The warehouse schema (DESIGN.md, "Warehouse"). Applied files are never edited: add 002_*.sql.
-- Timestamps are TIMESTAMPTZ in UTC. Ids of articles and stories are derived from canonical
-- URLs, so loading the same batch twice changes nothing.

CREATE TABLE sources (
    name        VARCHAR PRIMARY KEY,
    kind        VARCHAR NOT NULL,            -- rss | atom | jsonfeed | telegram | substack | sitemap
    url         VARCHAR NOT NULL,
    outlet      VARCHAR NOT NULL,
    language    VARCHAR,
    country     VARCHAR,
    tags        VARCHAR[],
    in_config   BOOLEAN NOT NULL DEFAULT TRUE, -- false once removed from feeds.yaml (rows are kept)
    added_at    TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE feed_state (
    source                VARCHAR PRIMARY KEY,
    etag                  VARCHAR,
    last_modified         VARCHAR,
    final_url             VARCHAR,           -- after permanent redirects
    last_poll_at          TIMESTAMPTZ,
    next_poll_at          TIMESTAMPTZ,
    last_success_at       TIMESTAMPTZ,
    last_status           INTEGER,           -- HTTP status of the last poll
    last_result           VARCHAR,           -- ok | not_modified | partial | failed
    last_error_kind       VARCHAR,
    last_error            VARCHAR,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    last_entries          INTEGER,           -- entries in the feed at the last poll
    last_new_entries      INTEGER,
    disabled_reason       VARCHAR
);

CREATE SEQUENCE fetches_id_seq;
CREATE TABLE fetches (
    id            BIGINT PRIMARY KEY DEFAULT nextval('fetches_id_seq'),
    run_id        VARCHAR,
    source        VARCHAR,
    purpose       VARCHAR NOT NULL,          -- feed | page
    url           VARCHAR NOT NULL,
    final_url     VARCHAR,
    status        INTEGER,
    bytes         BIGINT,
    elapsed_ms    DOUBLE,
    content_type  VARCHAR,
    not_modified  BOOLEAN NOT NULL DEFAULT FALSE,
    error_kind    VARCHAR,
    error         VARCHAR,
    fetched_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE entries (
    source         VARCHAR NOT NULL,
    guid           VARCHAR NOT NULL,
    url            VARCHAR,
    canonical_url  VARCHAR,
    title          VARCHAR,
    summary        VARCHAR,
    published      TIMESTAMPTZ,
    author         VARCHAR,
    content        VARCHAR,                  -- the whole text, when the feed carries it (Telegram)
    views          BIGINT,
    first_seen_at  TIMESTAMPTZ NOT NULL,
    status         VARCHAR NOT NULL,         -- pending | stored | duplicate | failed
    article_id     VARCHAR,
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error_kind VARCHAR,
    last_error     VARCHAR,
    PRIMARY KEY (source, guid)
);

CREATE TABLE stories (
    id                VARCHAR PRIMARY KEY,   -- the id of its first article
    title             VARCHAR,
    first_article_id  VARCHAR NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL
);

CREATE TABLE articles (
    id                 VARCHAR PRIMARY KEY,  -- sha1(canonical_url), 16 hex chars
    canonical_url      VARCHAR NOT NULL UNIQUE,
    url                VARCHAR NOT NULL,
    source             VARCHAR NOT NULL,
    outlet             VARCHAR NOT NULL,
    title              VARCHAR,
    authors            VARCHAR[],
    published          TIMESTAMPTZ,          -- from the page, else the feed
    language           VARCHAR,
    site_name          VARCHAR,
    description        VARCHAR,
    text               VARCHAR NOT NULL,
    content_hash       VARCHAR NOT NULL,
    near_dup_signature BLOB,                 -- MinHash, once near-duplicate folding lands
    story_id           VARCHAR NOT NULL,
    duplicate_of       VARCHAR,              -- the article this one copies, if any
    extractor_version  VARCHAR NOT NULL,
    archive_path       VARCHAR,              -- raw body in the WARC archive, once it lands
    archive_offset     BIGINT,
    views              BIGINT,               -- Telegram posts
    fetched_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX articles_content_hash ON articles (content_hash);
CREATE INDEX articles_published ON articles (published);

CREATE TABLE topic_matches (
    article_id         VARCHAR NOT NULL,
    topic              VARCHAR NOT NULL,
    relevance          VARCHAR NOT NULL,     -- about | mention
    score              DOUBLE NOT NULL,
    evidence           JSON NOT NULL,        -- [{field, start, end, matched, alias, snippet}]
    watchlist_version  VARCHAR NOT NULL,
    tagged_at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (article_id, topic)
);

CREATE TABLE runs (
    id           VARCHAR PRIMARY KEY,
    flow         VARCHAR NOT NULL,           -- ingest | digest
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    status       VARCHAR NOT NULL,           -- running | completed | partial | failed
    counts       JSON,                       -- what the run did, by name
    error        VARCHAR
);

-- Views for analysts -------------------------------------------------------------------------

-- One row per article and topic it matched, with the article's outlet and day.
CREATE VIEW articles_tagged AS
SELECT a.id AS article_id, a.published, CAST(a.published AS DATE) AS day, a.outlet, a.source,
       a.language, a.title, a.canonical_url, a.story_id, a.duplicate_of,
       m.topic, m.relevance, m.score
FROM articles a
JOIN topic_matches m ON m.article_id = a.id;

-- Articles per day, topic and language (`about` and `mention` counted apart).
CREATE VIEW daily_topic_counts AS
SELECT day, topic, language,
       count(*) FILTER (WHERE relevance = 'about') AS about,
       count(*) FILTER (WHERE relevance = 'mention') AS mentions,
       count(DISTINCT outlet) AS outlets
FROM articles_tagged
GROUP BY ALL;

-- How far each story spread: articles, outlets, languages, and who had it first.
CREATE VIEW story_spread AS
SELECT s.id AS story_id, s.title,
       count(*) AS articles,
       count(DISTINCT a.outlet) AS outlets,
       list(DISTINCT a.language ORDER BY a.language) AS languages,
       arg_min(a.outlet, coalesce(a.published, a.fetched_at)) AS first_outlet,
       min(coalesce(a.published, a.fetched_at)) AS first_published,
       max(coalesce(a.published, a.fetched_at)) AS last_published
FROM stories s
JOIN articles a ON a.story_id = s.id
GROUP BY s.id, s.title;
