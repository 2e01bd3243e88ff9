-- Which watchlist version each article was last tagged with (issue 6), so that
-- `newswatch retag` finds the articles tagged with an older watchlist, including those that
-- matched no topic at all (they have no row in topic_matches to carry the version).
ALTER TABLE articles ADD COLUMN watchlist_version VARCHAR;

UPDATE articles SET watchlist_version = (
    SELECT max(m.watchlist_version) FROM topic_matches m WHERE m.article_id = articles.id
);
