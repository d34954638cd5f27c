-- The index version (issue 13): a counter bumped in the same transaction as every change
-- that could alter what an events/index answer contains, so the answer's ETag is derived
-- from (version, viewer, filter) without reading the index. The triggers cover every
-- table an index answer or its visibility reads: events (attribute counts, timestamps,
-- publishing, deletion), their tags, organisations, sharing groups and their members,
-- the instance's settings (host organisation, base URL) and the blocklists.
-- generation is renewed each time the store is opened, so that a database restored from
-- a copy never answers an ETag the copy's later changes gave out.
CREATE TABLE index_version (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation TEXT NOT NULL,
    changes    INTEGER NOT NULL
);
INSERT INTO index_version (id, generation, changes) VALUES (1, lower(hex(randomblob(16))), 0);

CREATE TRIGGER events_index_version_insert AFTER INSERT ON events BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER events_index_version_update AFTER UPDATE ON events BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER events_index_version_delete AFTER DELETE ON events BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER event_tags_index_version_insert AFTER INSERT ON event_tags BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER event_tags_index_version_update AFTER UPDATE ON event_tags BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER event_tags_index_version_delete AFTER DELETE ON event_tags BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER tags_index_version_insert AFTER INSERT ON tags BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER tags_index_version_update AFTER UPDATE ON tags BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER tags_index_version_delete AFTER DELETE ON tags BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER orgs_index_version_insert AFTER INSERT ON orgs BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER orgs_index_version_update AFTER UPDATE ON orgs BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER orgs_index_version_delete AFTER DELETE ON orgs BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER sharing_groups_index_version_insert AFTER INSERT ON sharing_groups BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER sharing_groups_index_version_update AFTER UPDATE ON sharing_groups BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER sharing_groups_index_version_delete AFTER DELETE ON sharing_groups BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER sharing_group_orgs_index_version_insert AFTER INSERT ON sharing_group_orgs BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER sharing_group_orgs_index_version_update AFTER UPDATE ON sharing_group_orgs BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER sharing_group_orgs_index_version_delete AFTER DELETE ON sharing_group_orgs BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER sharing_group_servers_index_version_insert AFTER INSERT ON sharing_group_servers BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER sharing_group_servers_index_version_update AFTER UPDATE ON sharing_group_servers BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER sharing_group_servers_index_version_delete AFTER DELETE ON sharing_group_servers BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER event_blocklist_index_version_insert AFTER INSERT ON event_blocklist BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER event_blocklist_index_version_update AFTER UPDATE ON event_blocklist BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER event_blocklist_index_version_delete AFTER DELETE ON event_blocklist BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER org_blocklist_index_version_insert AFTER INSERT ON org_blocklist BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER org_blocklist_index_version_update AFTER UPDATE ON org_blocklist BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER org_blocklist_index_version_delete AFTER DELETE ON org_blocklist BEGIN UPDATE index_version SET changes = changes + 1; END;
-- Of the settings, only those policy reads for an index (the server states kept there
-- change on every pull and say nothing about the index).
CREATE TRIGGER settings_index_version_insert AFTER INSERT ON settings WHEN NEW.key IN ('host_org_id', 'base_url') BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER settings_index_version_update AFTER UPDATE ON settings WHEN NEW.key IN ('host_org_id', 'base_url') OR OLD.key IN ('host_org_id', 'base_url') BEGIN UPDATE index_version SET changes = changes + 1; END;
CREATE TRIGGER settings_index_version_delete AFTER DELETE ON settings WHEN OLD.key IN ('host_org_id', 'base_url') BEGIN UPDATE index_version SET changes = changes + 1; END;
