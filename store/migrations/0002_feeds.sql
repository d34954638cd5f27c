-- Feeds (issue 6): what the first schema's feeds table lacks, and the feed cache.

-- MISP's "default" flag: the feed came from MISP's list of default feeds.
ALTER TABLE feeds ADD COLUMN is_default INTEGER NOT NULL DEFAULT 0;
-- When the cache below was last filled, and with how many hashes.
ALTER TABLE feeds ADD COLUMN cache_timestamp INTEGER NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN cache_count INTEGER NOT NULL DEFAULT 0;

-- The feed cache (MISP keeps it in Redis, misp:feed_cache:<id>): the md5 of every value
-- (each part of a composite value) a feed holds, and the event it is in. Keyed by md5
-- first, so "which feeds hold this value" is one index lookup.
CREATE TABLE feed_hashes (
	md5        TEXT NOT NULL,
	feed_id    INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
	event_uuid TEXT NOT NULL,
	PRIMARY KEY (md5, feed_id, event_uuid)
) STRICT, WITHOUT ROWID;
CREATE INDEX feed_hashes_feed ON feed_hashes(feed_id);
