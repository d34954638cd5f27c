-- Collaboration (issue 14): event comments and discussions as MISP models them (threads
-- of posts; an event's comments are the thread whose event_id is that event), the mail
-- the daemon sends (queued in the transaction that causes it), the alerts waiting to be
-- turned into mail, and the users' mail settings (MISP's autoalert, contactalert, gpgkey).
-- None of it is ever sent to another server.

CREATE TABLE threads (
	id               INTEGER PRIMARY KEY,
	date_created     INTEGER NOT NULL,
	date_modified    INTEGER NOT NULL,
	user_id          INTEGER NOT NULL, -- who started it; kept when the user is deleted
	org_id           INTEGER NOT NULL,
	event_id         INTEGER UNIQUE REFERENCES events(id) ON DELETE CASCADE, -- NULL: a discussion
	title            TEXT NOT NULL,
	distribution     INTEGER NOT NULL DEFAULT 1,
	sharing_group_id INTEGER NOT NULL DEFAULT 0,
	post_count       INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX threads_modified ON threads(date_modified);

CREATE TABLE posts (
	id            INTEGER PRIMARY KEY,
	thread_id     INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
	user_id       INTEGER NOT NULL,
	post_id       INTEGER NOT NULL DEFAULT 0, -- the post this one answers
	contents      TEXT NOT NULL,
	date_created  INTEGER NOT NULL,
	date_modified INTEGER NOT NULL
) STRICT;
CREATE INDEX posts_thread ON posts(thread_id, id);

-- Mail to send. message_id stays the same across attempts, so a receiver sees one
-- message even when a relay took it and the answer was lost.
CREATE TABLE mail_queue (
	id           INTEGER PRIMARY KEY,
	message_id   TEXT NOT NULL UNIQUE,
	kind         TEXT NOT NULL, -- 'alert', 'digest', 'contact', 'post'
	user_id      INTEGER NOT NULL DEFAULT 0, -- the recipient's account (0: none)
	recipient    TEXT NOT NULL,
	reply_to     TEXT NOT NULL DEFAULT '',
	subject      TEXT NOT NULL,
	body         TEXT NOT NULL,
	event_uuid   TEXT NOT NULL DEFAULT '',
	created      INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER NOT NULL,
	lease_owner  TEXT NOT NULL DEFAULT '',
	lease_until  INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX mail_queue_due ON mail_queue(next_attempt);

-- Events whose alert is still to be written as mail, one row per event and cause.
CREATE TABLE mail_alerts (
	id             INTEGER PRIMARY KEY,
	event_uuid     TEXT NOT NULL,
	source         TEXT NOT NULL CHECK (source IN ('publish', 'sync', 'rest')), -- a local publish, an event pulled or pushed in, an event posted published
	sender_user_id INTEGER NOT NULL DEFAULT 0, -- who published (not alerted about it)
	server_id      INTEGER NOT NULL DEFAULT 0, -- the sync link it came by (0: none)
	created        INTEGER NOT NULL,
	UNIQUE (event_uuid, source)
) STRICT;

ALTER TABLE users ADD COLUMN autoalert INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN contactalert INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN gpgkey TEXT NOT NULL DEFAULT '';
