-- Custom galaxies (issue 11): a galaxy has its own owner, creator and distribution, as
-- MISP's newer galaxies table has them. A galaxy of MISP's shared library (misp-galaxy)
-- is a default galaxy, visible to all; galaxies stored before this migration are those.
ALTER TABLE galaxies ADD COLUMN is_default INTEGER NOT NULL DEFAULT 1;
ALTER TABLE galaxies ADD COLUMN distribution INTEGER NOT NULL DEFAULT 3;
ALTER TABLE galaxies ADD COLUMN sharing_group_id INTEGER REFERENCES sharing_groups(id) ON DELETE SET NULL;
-- Local organisations: the owner here (the creator's org, the pushing user's org, or the
-- pulling server's org) and the creator, captured by UUID.
ALTER TABLE galaxies ADD COLUMN org_id INTEGER REFERENCES orgs(id);
ALTER TABLE galaxies ADD COLUMN orgc_id INTEGER REFERENCES orgs(id);
-- A galaxy received from a peer; a sync never changes one made here (locked 0).
ALTER TABLE galaxies ADD COLUMN locked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE galaxies ADD COLUMN created INTEGER NOT NULL DEFAULT 0;
ALTER TABLE galaxies ADD COLUMN modified INTEGER NOT NULL DEFAULT 0;
