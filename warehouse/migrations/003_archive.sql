-- Every fetched body is kept in the WARC archive (issue 5): where, for each fetch.
ALTER TABLE fetches ADD COLUMN archive_path VARCHAR;
ALTER TABLE fetches ADD COLUMN archive_offset BIGINT;
