-- Correlation (issue 15): attribute values linked across events, as MISP's default
-- correlation engine keeps them (app/Model/Behavior/DefaultCorrelationBehavior.php), its
-- exclusion list (correlation_exclusions) and the values that correlate too often to be
-- useful (over_correlating_values). Rows are computed here as events are written; none of
-- it is ever sent to another server.

-- One row per correlating pair and shared value, stored once (attribute_id <
-- attribute_id_1) and read from both sides. Who may see a row is decided when it is read
-- (syncer/gate), from the attributes, objects and events as they are then, so no sharing
-- data is copied here. Deleting an attribute (or its event) deletes its rows.
CREATE TABLE correlations (
	value          TEXT NOT NULL, -- the value the two attributes share (for a CIDR match: the other side's)
	attribute_id   INTEGER NOT NULL REFERENCES attributes(id) ON DELETE CASCADE,
	event_id       INTEGER NOT NULL,
	attribute_id_1 INTEGER NOT NULL REFERENCES attributes(id) ON DELETE CASCADE,
	event_id_1     INTEGER NOT NULL,
	PRIMARY KEY (attribute_id, attribute_id_1, value),
	CHECK (attribute_id < attribute_id_1)
) STRICT, WITHOUT ROWID;
CREATE INDEX correlations_attribute_1 ON correlations(attribute_id_1);
CREATE INDEX correlations_event ON correlations(event_id);
CREATE INDEX correlations_event_1 ON correlations(event_id_1);
CREATE INDEX correlations_value ON correlations(value);

-- MISP's correlation exclusion list: a value, or a pattern with % at either end.
CREATE TABLE correlation_exclusions (
	id        INTEGER PRIMARY KEY,
	value     TEXT NOT NULL UNIQUE,
	from_json INTEGER NOT NULL DEFAULT 0,
	comment   TEXT NOT NULL DEFAULT ''
) STRICT;

-- Values that matched more attributes than MISP.correlation_limit: stored lower case and
-- cut to 191 characters as MISP does; they add no rows and hide the rows they have.
CREATE TABLE over_correlating_values (
	value      TEXT PRIMARY KEY,
	occurrence INTEGER NOT NULL DEFAULT 0
) STRICT;

-- The CIDR blocks advanced correlation matches IP addresses against.
CREATE INDEX attributes_cidr ON attributes(value1) WHERE type IN ('ip-src', 'ip-dst') AND instr(value1, '/') > 0;
