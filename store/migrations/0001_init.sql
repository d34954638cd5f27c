-- mispdesk schema, version 1: MISP's data model for one instance.
-- Every table whose rows come from MISP JSON keeps the members mispdesk does not model in
-- `extra` (a JSON object, or NULL), so data passing through is written back out whole.
-- Times are unix seconds unless the column says otherwise.

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

-- Organisations: the local pool (local = 1) and the known remote pool (local = 0).
CREATE TABLE orgs (
	id            INTEGER PRIMARY KEY,
	uuid          TEXT NOT NULL UNIQUE,
	name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
	description   TEXT NOT NULL DEFAULT '',
	type          TEXT NOT NULL DEFAULT '',
	nationality   TEXT NOT NULL DEFAULT '',
	sector        TEXT NOT NULL DEFAULT '',
	contacts      TEXT NOT NULL DEFAULT '',
	local         INTEGER NOT NULL DEFAULT 0,
	date_created  INTEGER NOT NULL,
	date_modified INTEGER NOT NULL,
	extra         TEXT
) STRICT;

-- Roles with MISP's permission flags. Rows 1-6 are MISP's default roles.
CREATE TABLE roles (
	id                   INTEGER PRIMARY KEY,
	name                 TEXT NOT NULL UNIQUE,
	perm_site_admin      INTEGER NOT NULL DEFAULT 0,
	perm_admin           INTEGER NOT NULL DEFAULT 0, -- org admin
	perm_sync            INTEGER NOT NULL DEFAULT 0,
	perm_auth            INTEGER NOT NULL DEFAULT 0,
	perm_audit           INTEGER NOT NULL DEFAULT 0,
	perm_add             INTEGER NOT NULL DEFAULT 0,
	perm_modify          INTEGER NOT NULL DEFAULT 0,
	perm_modify_org      INTEGER NOT NULL DEFAULT 0,
	perm_publish         INTEGER NOT NULL DEFAULT 0,
	perm_delegate        INTEGER NOT NULL DEFAULT 0,
	perm_tagger          INTEGER NOT NULL DEFAULT 0,
	perm_tag_editor      INTEGER NOT NULL DEFAULT 0,
	perm_sharing_group   INTEGER NOT NULL DEFAULT 0,
	perm_sighting        INTEGER NOT NULL DEFAULT 0,
	perm_galaxy_editor   INTEGER NOT NULL DEFAULT 0,
	perm_analyst_data    INTEGER NOT NULL DEFAULT 0,
	perm_object_template INTEGER NOT NULL DEFAULT 0,
	perm_template        INTEGER NOT NULL DEFAULT 0,
	perm_warninglist     INTEGER NOT NULL DEFAULT 0,
	perm_decaying        INTEGER NOT NULL DEFAULT 0,
	perm_regexp_access   INTEGER NOT NULL DEFAULT 0
) STRICT;

-- name, site_admin, admin, sync, auth, audit, add, modify, modify_org, publish, delegate,
-- tagger, tag_editor, sharing_group, sighting, galaxy_editor, analyst_data, object_template,
-- template, warninglist, decaying, regexp_access
INSERT INTO roles VALUES
	(1, 'admin',     1,1,1,1,1, 1,1,1,1,1, 1,1,1,1,1, 1,1,1,1,1, 1),
	(2, 'org_admin', 0,1,0,1,1, 1,1,1,1,1, 1,1,1,1,1, 1,0,1,0,1, 0),
	(3, 'user',      0,0,0,1,0, 1,1,0,0,0, 1,0,0,1,0, 1,0,0,0,1, 0),
	(4, 'publisher', 0,0,0,1,1, 1,1,1,1,1, 1,0,0,1,0, 1,0,0,0,1, 0),
	(5, 'sync',      0,0,1,1,1, 1,1,1,1,1, 1,1,1,1,1, 1,0,0,0,1, 0),
	(6, 'read_only', 0,0,0,1,0, 0,0,0,0,0, 0,0,0,0,0, 0,0,0,0,0, 0);

CREATE TABLE users (
	id         INTEGER PRIMARY KEY,
	email      TEXT NOT NULL UNIQUE COLLATE NOCASE,
	org_id     INTEGER NOT NULL REFERENCES orgs(id),
	role_id    INTEGER NOT NULL REFERENCES roles(id),
	server_id  INTEGER NOT NULL DEFAULT 0,
	disabled   INTEGER NOT NULL DEFAULT 0,
	created    INTEGER NOT NULL,
	last_login INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX users_org ON users(org_id);

-- API keys. Only a SHA-256 hash of the 40-character key is kept, with its first and last
-- four characters for people to recognise it.
CREATE TABLE auth_keys (
	id            INTEGER PRIMARY KEY,
	uuid          TEXT NOT NULL UNIQUE,
	user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	key_hash      BLOB NOT NULL UNIQUE,
	authkey_start TEXT NOT NULL,
	authkey_end   TEXT NOT NULL,
	created       INTEGER NOT NULL,
	expiration    INTEGER NOT NULL DEFAULT 0, -- 0: never
	read_only     INTEGER NOT NULL DEFAULT 0,
	comment       TEXT NOT NULL DEFAULT '',
	allowed_ips   TEXT NOT NULL DEFAULT '[]', -- JSON list of CIDRs
	last_used     INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX auth_keys_user ON auth_keys(user_id);

CREATE TABLE sharing_groups (
	id            INTEGER PRIMARY KEY,
	uuid          TEXT NOT NULL UNIQUE,
	name          TEXT NOT NULL,
	releasability TEXT NOT NULL DEFAULT '',
	description   TEXT NOT NULL DEFAULT '',
	org_id        INTEGER NOT NULL REFERENCES orgs(id),
	sync_user_id  INTEGER NOT NULL DEFAULT 0,
	active        INTEGER NOT NULL DEFAULT 1,
	local         INTEGER NOT NULL DEFAULT 0,
	roaming       INTEGER NOT NULL DEFAULT 0,
	created       TEXT NOT NULL DEFAULT '',
	modified      TEXT NOT NULL DEFAULT '',
	extra         TEXT
) STRICT;

CREATE TABLE sharing_group_orgs (
	id               INTEGER PRIMARY KEY,
	sharing_group_id INTEGER NOT NULL REFERENCES sharing_groups(id) ON DELETE CASCADE,
	org_id           INTEGER NOT NULL REFERENCES orgs(id),
	extend           INTEGER NOT NULL DEFAULT 0,
	UNIQUE (sharing_group_id, org_id)
) STRICT;

-- server_id 0 is this instance.
CREATE TABLE sharing_group_servers (
	id               INTEGER PRIMARY KEY,
	sharing_group_id INTEGER NOT NULL REFERENCES sharing_groups(id) ON DELETE CASCADE,
	server_id        INTEGER NOT NULL,
	all_orgs         INTEGER NOT NULL DEFAULT 0,
	UNIQUE (sharing_group_id, server_id)
) STRICT;

CREATE TABLE tags (
	id               INTEGER PRIMARY KEY,
	name             TEXT NOT NULL UNIQUE COLLATE NOCASE,
	colour           TEXT NOT NULL DEFAULT '',
	exportable       INTEGER NOT NULL DEFAULT 1,
	hide_tag         INTEGER NOT NULL DEFAULT 0,
	numerical_value  TEXT,
	is_galaxy        INTEGER NOT NULL DEFAULT 0,
	is_custom_galaxy INTEGER NOT NULL DEFAULT 0,
	local_only       INTEGER NOT NULL DEFAULT 0,
	org_id           INTEGER NOT NULL DEFAULT 0,
	user_id          INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE events (
	id                  INTEGER PRIMARY KEY,
	uuid                TEXT NOT NULL UNIQUE,
	org_id              INTEGER NOT NULL REFERENCES orgs(id), -- owner on this instance
	orgc_id             INTEGER NOT NULL REFERENCES orgs(id), -- creator
	user_id             INTEGER NOT NULL DEFAULT 0,
	date                TEXT NOT NULL,
	threat_level_id     INTEGER NOT NULL DEFAULT 4,
	info                TEXT NOT NULL,
	published           INTEGER NOT NULL DEFAULT 0,
	analysis            INTEGER NOT NULL DEFAULT 0,
	attribute_count     INTEGER NOT NULL DEFAULT 0,
	timestamp           INTEGER NOT NULL,
	distribution        INTEGER NOT NULL CHECK (distribution BETWEEN 0 AND 4),
	sharing_group_id    INTEGER REFERENCES sharing_groups(id),
	proposal_email_lock INTEGER NOT NULL DEFAULT 0,
	locked              INTEGER NOT NULL DEFAULT 0,
	publish_timestamp   INTEGER NOT NULL DEFAULT 0,
	sighting_timestamp  INTEGER NOT NULL DEFAULT 0,
	disable_correlation INTEGER NOT NULL DEFAULT 0,
	extends_uuid        TEXT NOT NULL DEFAULT '',
	protected           INTEGER, -- NULL: not set
	event_creator_email TEXT NOT NULL DEFAULT '',
	extra               TEXT
) STRICT;
CREATE INDEX events_timestamp ON events(timestamp);
CREATE INDEX events_date ON events(date);
CREATE INDEX events_orgc ON events(orgc_id, timestamp);
CREATE INDEX events_org ON events(org_id);
CREATE INDEX events_published ON events(published, timestamp);
CREATE INDEX events_distribution ON events(distribution, timestamp);
CREATE INDEX events_sharing_group ON events(sharing_group_id) WHERE sharing_group_id IS NOT NULL;

-- Substring search on info (the console's text filter) without scanning every row.
CREATE VIRTUAL TABLE events_fts USING fts5(info, content='events', content_rowid='id', tokenize='trigram');
CREATE TRIGGER events_fts_ai AFTER INSERT ON events BEGIN
	INSERT INTO events_fts(rowid, info) VALUES (new.id, new.info);
END;
CREATE TRIGGER events_fts_ad AFTER DELETE ON events BEGIN
	INSERT INTO events_fts(events_fts, rowid, info) VALUES ('delete', old.id, old.info);
END;
CREATE TRIGGER events_fts_au AFTER UPDATE OF info ON events BEGIN
	INSERT INTO events_fts(events_fts, rowid, info) VALUES ('delete', old.id, old.info);
	INSERT INTO events_fts(rowid, info) VALUES (new.id, new.info);
END;

CREATE TABLE event_tags (
	id                INTEGER PRIMARY KEY,
	event_id          INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
	tag_id            INTEGER NOT NULL REFERENCES tags(id),
	local             INTEGER NOT NULL DEFAULT 0,
	relationship_type TEXT NOT NULL DEFAULT '',
	UNIQUE (event_id, tag_id)
) STRICT;
CREATE INDEX event_tags_tag ON event_tags(tag_id);

CREATE TABLE objects (
	id               INTEGER PRIMARY KEY,
	uuid             TEXT NOT NULL UNIQUE,
	event_id         INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
	name             TEXT NOT NULL,
	meta_category    TEXT NOT NULL DEFAULT '',
	description      TEXT NOT NULL DEFAULT '',
	template_uuid    TEXT NOT NULL DEFAULT '',
	template_version INTEGER NOT NULL DEFAULT 0,
	timestamp        INTEGER NOT NULL,
	distribution     INTEGER NOT NULL CHECK (distribution BETWEEN 0 AND 5),
	sharing_group_id INTEGER REFERENCES sharing_groups(id),
	comment          TEXT NOT NULL DEFAULT '',
	deleted          INTEGER NOT NULL DEFAULT 0,
	first_seen       TEXT,
	last_seen        TEXT,
	extra            TEXT
) STRICT;
CREATE INDEX objects_event ON objects(event_id);

CREATE TABLE object_references (
	id                INTEGER PRIMARY KEY,
	uuid              TEXT NOT NULL UNIQUE,
	event_id          INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
	object_id         INTEGER NOT NULL REFERENCES objects(id) ON DELETE CASCADE,
	referenced_uuid   TEXT NOT NULL,
	referenced_type   INTEGER NOT NULL DEFAULT 0, -- 0 attribute, 1 object
	relationship_type TEXT NOT NULL DEFAULT '',
	comment           TEXT NOT NULL DEFAULT '',
	timestamp         INTEGER NOT NULL,
	deleted           INTEGER NOT NULL DEFAULT 0,
	extra             TEXT
) STRICT;
CREATE INDEX object_references_object ON object_references(object_id);

CREATE TABLE attributes (
	id                  INTEGER PRIMARY KEY,
	uuid                TEXT NOT NULL UNIQUE,
	event_id            INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
	object_id           INTEGER REFERENCES objects(id) ON DELETE CASCADE,
	object_relation     TEXT,
	type                TEXT NOT NULL,
	category            TEXT NOT NULL DEFAULT '',
	value1              TEXT NOT NULL, -- a composite value "a|b" is split as MISP does
	value2              TEXT NOT NULL DEFAULT '',
	to_ids              INTEGER NOT NULL DEFAULT 0,
	timestamp           INTEGER NOT NULL,
	distribution        INTEGER NOT NULL CHECK (distribution BETWEEN 0 AND 5),
	sharing_group_id    INTEGER REFERENCES sharing_groups(id),
	comment             TEXT NOT NULL DEFAULT '',
	deleted             INTEGER NOT NULL DEFAULT 0,
	disable_correlation INTEGER NOT NULL DEFAULT 0,
	first_seen          TEXT,
	last_seen           TEXT,
	data                TEXT, -- base64 attachment
	extra               TEXT
) STRICT;
CREATE INDEX attributes_event ON attributes(event_id, deleted); -- covers attribute_count
CREATE INDEX attributes_value1 ON attributes(value1);
CREATE INDEX attributes_value2 ON attributes(value2) WHERE value2 <> '';

CREATE TABLE attribute_tags (
	id                INTEGER PRIMARY KEY,
	attribute_id      INTEGER NOT NULL REFERENCES attributes(id) ON DELETE CASCADE,
	event_id          INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
	tag_id            INTEGER NOT NULL REFERENCES tags(id),
	local             INTEGER NOT NULL DEFAULT 0,
	relationship_type TEXT NOT NULL DEFAULT '',
	UNIQUE (attribute_id, tag_id)
) STRICT;
CREATE INDEX attribute_tags_tag ON attribute_tags(tag_id);
CREATE INDEX attribute_tags_event ON attribute_tags(event_id);

CREATE TABLE sightings (
	id            INTEGER PRIMARY KEY,
	uuid          TEXT NOT NULL UNIQUE,
	attribute_id  INTEGER NOT NULL REFERENCES attributes(id) ON DELETE CASCADE,
	event_id      INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
	org_id        INTEGER NOT NULL DEFAULT 0, -- 0: anonymous
	date_sighting INTEGER NOT NULL,
	source        TEXT NOT NULL DEFAULT '',
	type          INTEGER NOT NULL DEFAULT 0, -- 0 sighting, 1 false positive, 2 expiration
	extra         TEXT
) STRICT;
CREATE INDEX sightings_attribute ON sightings(attribute_id);
CREATE INDEX sightings_event ON sightings(event_id);

CREATE TABLE galaxies (
	id          INTEGER PRIMARY KEY,
	uuid        TEXT NOT NULL UNIQUE,
	name        TEXT NOT NULL,
	type        TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	version     TEXT NOT NULL DEFAULT '',
	icon        TEXT NOT NULL DEFAULT '',
	namespace   TEXT NOT NULL DEFAULT '',
	extra       TEXT
) STRICT;

-- A cluster's metadata and relations are kept whole in `extra`. Events name clusters by
-- tag (misp-galaxy:type="value"), so the tag name identifies a cluster here; old MISP data
-- has clusters without a UUID, and clusters sharing one.
CREATE TABLE galaxy_clusters (
	id          INTEGER PRIMARY KEY,
	uuid        TEXT NOT NULL,
	galaxy_id   INTEGER NOT NULL REFERENCES galaxies(id) ON DELETE CASCADE,
	type        TEXT NOT NULL,
	value       TEXT NOT NULL,
	tag_name    TEXT NOT NULL UNIQUE,
	description TEXT NOT NULL DEFAULT '',
	version     INTEGER NOT NULL DEFAULT 0,
	extra       TEXT
) STRICT;
CREATE INDEX galaxy_clusters_uuid ON galaxy_clusters(uuid);

-- Clusters attached to an event (attribute_id NULL) or to one of its attributes. `extra`
-- holds what belongs to the attachment rather than the cluster (local, relationship_type).
CREATE TABLE event_galaxy_clusters (
	id           INTEGER PRIMARY KEY,
	event_id     INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
	attribute_id INTEGER REFERENCES attributes(id) ON DELETE CASCADE,
	cluster_id   INTEGER NOT NULL REFERENCES galaxy_clusters(id) ON DELETE CASCADE,
	extra        TEXT
) STRICT;
CREATE UNIQUE INDEX event_galaxy_clusters_link ON event_galaxy_clusters(event_id, ifnull(attribute_id, 0), cluster_id);

CREATE TABLE event_reports (
	id               INTEGER PRIMARY KEY,
	uuid             TEXT NOT NULL UNIQUE,
	event_id         INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
	name             TEXT NOT NULL,
	content          TEXT NOT NULL DEFAULT '',
	distribution     INTEGER NOT NULL CHECK (distribution BETWEEN 0 AND 5),
	sharing_group_id INTEGER REFERENCES sharing_groups(id),
	timestamp        INTEGER NOT NULL,
	deleted          INTEGER NOT NULL DEFAULT 0,
	extra            TEXT
) STRICT;
CREATE INDEX event_reports_event ON event_reports(event_id);

-- Proposals. attribute_uuid is empty for a proposed new attribute.
CREATE TABLE shadow_attributes (
	id                  INTEGER PRIMARY KEY,
	uuid                TEXT NOT NULL UNIQUE,
	event_id            INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
	attribute_uuid      TEXT NOT NULL DEFAULT '',
	org_id              INTEGER NOT NULL DEFAULT 0,
	type                TEXT NOT NULL,
	category            TEXT NOT NULL DEFAULT '',
	value               TEXT NOT NULL,
	to_ids              INTEGER NOT NULL DEFAULT 0,
	comment             TEXT NOT NULL DEFAULT '',
	deleted             INTEGER NOT NULL DEFAULT 0,
	proposal_to_delete  INTEGER NOT NULL DEFAULT 0,
	timestamp           INTEGER NOT NULL DEFAULT 0,
	disable_correlation INTEGER NOT NULL DEFAULT 0,
	first_seen          TEXT,
	last_seen           TEXT,
	data                TEXT,
	extra               TEXT
) STRICT;
CREATE INDEX shadow_attributes_event ON shadow_attributes(event_id);

-- Analyst data (MISP 2.5): notes, opinions and relationships about any element by UUID.
CREATE TABLE analyst_data (
	id               INTEGER PRIMARY KEY,
	uuid             TEXT NOT NULL UNIQUE,
	kind             TEXT NOT NULL CHECK (kind IN ('Note', 'Opinion', 'Relationship')),
	object_uuid      TEXT NOT NULL,
	object_type      TEXT NOT NULL,
	orgc_uuid        TEXT NOT NULL DEFAULT '',
	org_uuid         TEXT NOT NULL DEFAULT '',
	distribution     INTEGER NOT NULL DEFAULT 5,
	sharing_group_id INTEGER REFERENCES sharing_groups(id),
	created          TEXT NOT NULL DEFAULT '',
	modified         TEXT NOT NULL DEFAULT '',
	locked           INTEGER NOT NULL DEFAULT 0,
	body             TEXT NOT NULL -- the element's JSON, whole
) STRICT;
CREATE INDEX analyst_data_object ON analyst_data(object_uuid);

CREATE TABLE event_blocklist (
	id         INTEGER PRIMARY KEY,
	event_uuid TEXT NOT NULL UNIQUE,
	created    INTEGER NOT NULL,
	event_info TEXT NOT NULL DEFAULT '',
	event_orgc TEXT NOT NULL DEFAULT '',
	comment    TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE org_blocklist (
	id       INTEGER PRIMARY KEY,
	org_uuid TEXT NOT NULL UNIQUE,
	created  INTEGER NOT NULL,
	org_name TEXT NOT NULL DEFAULT '',
	comment  TEXT NOT NULL DEFAULT ''
) STRICT;

-- Sync links, with every field of MISP's Add Server form. authkey is the remote's key,
-- which mispdesk must send, so it is kept as given; the database file is private (0600).
CREATE TABLE servers (
	id                    INTEGER PRIMARY KEY,
	name                  TEXT NOT NULL UNIQUE,
	url                   TEXT NOT NULL,
	authkey               TEXT NOT NULL,
	org_id                INTEGER NOT NULL REFERENCES orgs(id), -- local org owning the link
	remote_org_id         INTEGER NOT NULL REFERENCES orgs(id), -- the remote's host org
	push                  INTEGER NOT NULL DEFAULT 0,
	pull                  INTEGER NOT NULL DEFAULT 0,
	push_sightings        INTEGER NOT NULL DEFAULT 0,
	push_galaxy_clusters  INTEGER NOT NULL DEFAULT 0,
	pull_galaxy_clusters  INTEGER NOT NULL DEFAULT 0,
	push_analyst_data     INTEGER NOT NULL DEFAULT 0,
	pull_analyst_data     INTEGER NOT NULL DEFAULT 0,
	caching_enabled       INTEGER NOT NULL DEFAULT 0,
	unpublish_event       INTEGER NOT NULL DEFAULT 0,
	publish_without_email INTEGER NOT NULL DEFAULT 0,
	self_signed           INTEGER NOT NULL DEFAULT 0,
	skip_proxy            INTEGER NOT NULL DEFAULT 0,
	internal              INTEGER NOT NULL DEFAULT 0,
	remove_missing_tags   INTEGER NOT NULL DEFAULT 0,
	cert_file             TEXT NOT NULL DEFAULT '', -- PEM of a CA to trust
	client_cert_file      TEXT NOT NULL DEFAULT '', -- PEM of a client certificate and key
	push_rules            TEXT NOT NULL DEFAULT '{"tags":{"OR":[],"NOT":[]},"orgs":{"OR":[],"NOT":[]}}',
	pull_rules            TEXT NOT NULL DEFAULT '{"tags":{"OR":[],"NOT":[]},"orgs":{"OR":[],"NOT":[]},"type_attributes":{"NOT":[]},"type_objects":{"NOT":[]},"url_params":""}',
	priority              INTEGER NOT NULL DEFAULT 0,
	lastpushedid          INTEGER NOT NULL DEFAULT 0,
	lastpulledid          INTEGER NOT NULL DEFAULT 0,
	created               INTEGER NOT NULL,
	modified              INTEGER NOT NULL
) STRICT;

CREATE TABLE feeds (
	id               INTEGER PRIMARY KEY,
	name             TEXT NOT NULL UNIQUE,
	provider         TEXT NOT NULL DEFAULT '',
	url              TEXT NOT NULL,
	input_source     TEXT NOT NULL DEFAULT 'network' CHECK (input_source IN ('network', 'local')),
	source_format    TEXT NOT NULL DEFAULT 'misp',
	enabled          INTEGER NOT NULL DEFAULT 0,
	caching_enabled  INTEGER NOT NULL DEFAULT 0,
	distribution     INTEGER NOT NULL DEFAULT 0 CHECK (distribution BETWEEN 0 AND 5),
	sharing_group_id INTEGER REFERENCES sharing_groups(id),
	tag_id           INTEGER REFERENCES tags(id),
	rules            TEXT NOT NULL DEFAULT '',
	headers          TEXT NOT NULL DEFAULT '',
	settings         TEXT NOT NULL DEFAULT '',
	schedule_seconds INTEGER NOT NULL DEFAULT 0, -- 0: by hand only
	last_fetched     INTEGER NOT NULL DEFAULT 0,
	last_result      TEXT NOT NULL DEFAULT '',
	etag             TEXT NOT NULL DEFAULT '',
	created          INTEGER NOT NULL,
	modified         INTEGER NOT NULL
) STRICT;

-- Sync work waiting to be done: one row per (server, kind, event). A worker claims a row
-- with a lease; a failure sets next_attempt after a backoff and keeps the row.
CREATE TABLE outbox (
	id           INTEGER PRIMARY KEY,
	server_id    INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
	kind         TEXT NOT NULL, -- 'push_event', 'push_sightings'
	event_uuid   TEXT NOT NULL,
	created      INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER NOT NULL,
	lease_owner  TEXT NOT NULL DEFAULT '',
	lease_until  INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT '',
	UNIQUE (server_id, kind, event_uuid)
) STRICT;
CREATE INDEX outbox_due ON outbox(next_attempt);

-- What sync did, step by step. Rows are only ever appended.
CREATE TABLE sync_log (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	ts_ms       INTEGER NOT NULL,
	run_id      TEXT NOT NULL DEFAULT '',
	server_id   INTEGER NOT NULL DEFAULT 0,
	server_name TEXT NOT NULL DEFAULT '',
	direction   TEXT NOT NULL, -- 'pull', 'push', 'feed', 'test', 'import'
	level       TEXT NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
	event_uuid  TEXT NOT NULL DEFAULT '',
	outcome     TEXT NOT NULL DEFAULT '', -- 'pulled', 'pushed', 'skipped', 'failed', …
	message     TEXT NOT NULL DEFAULT '',
	http_status INTEGER NOT NULL DEFAULT 0,
	duration_ms INTEGER NOT NULL DEFAULT 0,
	done        INTEGER NOT NULL DEFAULT 0, -- progress: n of total
	total       INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX sync_log_server ON sync_log(server_id, id);
CREATE TRIGGER sync_log_append_only BEFORE UPDATE ON sync_log BEGIN
	SELECT RAISE(ABORT, 'sync_log is append-only');
END;

-- Leader election between processes sharing this file: the holder renews before expiry.
CREATE TABLE leases (
	name    TEXT PRIMARY KEY,
	holder  TEXT NOT NULL,
	expires INTEGER NOT NULL -- unix milliseconds
) STRICT;
