-- MISP's AnalystDataBlocklist: the UUIDs of notes, opinions and relationships deleted here,
-- which no pull, push or event brings back.
CREATE TABLE analyst_data_blocklist (
	id                INTEGER PRIMARY KEY,
	analyst_data_uuid TEXT NOT NULL UNIQUE,
	created           INTEGER NOT NULL,
	analyst_data_info TEXT NOT NULL DEFAULT '',
	analyst_data_orgc TEXT NOT NULL DEFAULT '',
	comment           TEXT NOT NULL DEFAULT ''
) STRICT;
