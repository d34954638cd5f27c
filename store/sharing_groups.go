package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"mispdesk/store/misp"
)

// sgTimeLayout is how MISP writes a sharing group's created and modified.
const sgTimeLayout = "2006-01-02 15:04:05"

// localServerName is what MISP calls server 0, this instance, in a sharing group.
const localServerName = "Local instance"

// NewSharingGroup is a sharing group created on this instance.
type NewSharingGroup struct {
	Name          string
	UUID          string // empty: a random one
	Releasability string
	Description   string
	OrgRef        string // the creating organisation; empty: the host org
	Roaming       bool
}

// AddSharingGroup creates a sharing group (local and active, as MISP's form does) with its
// creating organisation as an extending member and this instance as its one server.
func (s *Store) AddSharingGroup(ctx context.Context, nsg NewSharingGroup) (*misp.SharingGroup, error) {
	name := strings.TrimSpace(nsg.Name)
	if name == "" {
		return nil, errors.New("add sharing group: name is empty")
	}
	sgUUID := strings.ToLower(strings.TrimSpace(nsg.UUID))
	if sgUUID == "" {
		sgUUID = uuid.NewString()
	}
	if !misp.IsUUID(sgUUID) {
		return nil, fmt.Errorf("add sharing group %q: uuid %q is not a UUID", name, nsg.UUID)
	}
	var id SharingGroupID
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var orgID OrgID
		if nsg.OrgRef != "" {
			org, err := findOrg(ctx, tx, nsg.OrgRef)
			if err != nil {
				return fmt.Errorf("add sharing group %q: %w", name, err)
			}
			orgID = org.ID
		} else {
			var err error
			if orgID, err = s.hostOrgID(ctx, tx); err != nil {
				return fmt.Errorf("add sharing group %q: %w", name, err)
			}
		}
		var clash string
		err := tx.QueryRowContext(ctx, `SELECT name FROM sharing_groups WHERE uuid = ? OR name = ? COLLATE NOCASE`, sgUUID, name).Scan(&clash)
		if err == nil {
			return fmt.Errorf("add sharing group %q: %w (sharing group %q has that name or uuid)", name, ErrConflict, clash)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("add sharing group %q: %w", name, err)
		}
		now := s.now().UTC().Format(sgTimeLayout)
		res, err := tx.ExecContext(ctx, `INSERT INTO sharing_groups (uuid, name, releasability, description, org_id, active, local, roaming, created, modified)
			VALUES (?, ?, ?, ?, ?, 1, 1, ?, ?, ?)`,
			sgUUID, name, nsg.Releasability, nsg.Description, orgID, boolInt(nsg.Roaming), now, now)
		if err != nil {
			return fmt.Errorf("add sharing group %q: %w", name, err)
		}
		n, err := res.LastInsertId()
		if err != nil {
			return err
		}
		id = SharingGroupID(n)
		if _, err := tx.ExecContext(ctx, `INSERT INTO sharing_group_orgs (sharing_group_id, org_id, extend) VALUES (?, ?, 1)`, id, orgID); err != nil {
			return fmt.Errorf("add sharing group %q: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sharing_group_servers (sharing_group_id, server_id, all_orgs) VALUES (?, 0, 0)`, id); err != nil {
			return fmt.Errorf("add sharing group %q: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.loadSharingGroup(ctx, s.read, id)
}

// SharingGroups lists every sharing group with its members, by name.
func (s *Store) SharingGroups(ctx context.Context) ([]misp.SharingGroup, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id FROM sharing_groups ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("list sharing groups: %w", err)
	}
	var ids []SharingGroupID
	for rows.Next() {
		var id SharingGroupID
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list sharing groups: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sharing groups: %w", err)
	}
	out := make([]misp.SharingGroup, 0, len(ids))
	for _, id := range ids {
		sg, err := s.loadSharingGroup(ctx, s.read, id)
		if err != nil {
			return nil, fmt.Errorf("list sharing groups: %w", err)
		}
		out = append(out, *sg)
	}
	return out, nil
}

// SharingGroupID is a sharing group's local id.
type SharingGroupID int64

// ResolveSharingGroup finds the sharing group a person or a peer names by id, UUID or name
// (case-insensitive; ErrNotFound when there is none, an error when several share the name).
func (s *Store) ResolveSharingGroup(ctx context.Context, ref string) (SharingGroupID, error) {
	return resolve[SharingGroupID](ctx, s.read, sharingGroupRefs, ref)
}

// SharingGroup reads a sharing group with its members in MISP's shape.
func (s *Store) SharingGroup(ctx context.Context, id SharingGroupID) (*misp.SharingGroup, error) {
	return s.loadSharingGroup(ctx, s.read, id)
}

// querier reads rows; both *sql.DB and *sql.Tx are one.
type querier interface {
	queryer
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// loadSharingGroup reads a sharing group with its creator, member organisations and member
// servers. Server 0 is this instance, named by its base URL.
func (s *Store) loadSharingGroup(ctx context.Context, q querier, id SharingGroupID) (*misp.SharingGroup, error) {
	var (
		sg      misp.SharingGroup
		creator Org
		active  bool
		extra   sql.NullString
	)
	dest := append([]any{&sg.ID, &sg.UUID, &sg.Name, &sg.Releasability, &sg.Description, &sg.OrgID, &sg.SyncUserID,
		&active, &sg.Local, &sg.Roaming, &sg.Created, &sg.Modified, &extra}, creator.dest()...)
	err := q.QueryRowContext(ctx, `SELECT g.id, g.uuid, g.name, g.releasability, g.description, g.org_id, g.sync_user_id,
		g.active, g.local, g.roaming, g.created, g.modified, g.extra, `+qualify("o", orgColumns)+`
		FROM sharing_groups g JOIN orgs o ON o.id = g.org_id WHERE g.id = ?`, id).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sharing group %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sharing group %d: %w", id, err)
	}
	if sg.Extra, err = decodeExtra(extra); err != nil {
		return nil, fmt.Errorf("sharing group %s: %w", sg.UUID, err)
	}
	sg.Active = misp.OptBool{Set: true, Value: active}
	sg.OrganisationUUID = creator.UUID
	sg.Organisation = creator.model()
	sg.SharingGroupOrg = []misp.SharingGroupOrg{}
	sg.SharingGroupServer = []misp.SharingGroupServer{}

	rows, err := q.QueryContext(ctx, `SELECT m.id, m.extend, `+qualify("o", orgColumns)+`
		FROM sharing_group_orgs m JOIN orgs o ON o.id = m.org_id WHERE m.sharing_group_id = ? ORDER BY m.id`, id)
	if err != nil {
		return nil, fmt.Errorf("sharing group %s: orgs: %w", sg.UUID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			m   misp.SharingGroupOrg
			org Org
		)
		if err := rows.Scan(append([]any{&m.ID, &m.Extend}, org.dest()...)...); err != nil {
			return nil, fmt.Errorf("sharing group %s: orgs: %w", sg.UUID, err)
		}
		m.SharingGroupID, m.OrgID, m.Organisation = sg.ID, misp.Int(org.ID), org.model()
		sg.SharingGroupOrg = append(sg.SharingGroupOrg, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sharing group %s: orgs: %w", sg.UUID, err)
	}

	baseURL, err := s.setting(ctx, q, settingBaseURL)
	if err != nil {
		return nil, fmt.Errorf("sharing group %s: %w", sg.UUID, err)
	}
	srows, err := q.QueryContext(ctx, `SELECT m.id, m.server_id, m.all_orgs, ifnull(v.url, ''), ifnull(v.name, '')
		FROM sharing_group_servers m LEFT JOIN servers v ON v.id = m.server_id
		WHERE m.sharing_group_id = ? AND (m.server_id = 0 OR v.id IS NOT NULL) ORDER BY m.id`, id)
	if err != nil {
		return nil, fmt.Errorf("sharing group %s: servers: %w", sg.UUID, err)
	}
	defer srows.Close()
	for srows.Next() {
		var (
			m   misp.SharingGroupServer
			ref misp.ServerRef
		)
		if err := srows.Scan(&m.ID, &m.ServerID, &m.AllOrgs, &ref.URL, &ref.Name); err != nil {
			return nil, fmt.Errorf("sharing group %s: servers: %w", sg.UUID, err)
		}
		if m.ServerID == 0 {
			ref.URL, ref.Name = baseURL, localServerName
		}
		ref.ID = m.ServerID
		m.SharingGroupID, m.Server = sg.ID, &ref
		sg.SharingGroupServer = append(sg.SharingGroupServer, m)
	}
	if err := srows.Err(); err != nil {
		return nil, fmt.Errorf("sharing group %s: servers: %w", sg.UUID, err)
	}
	return &sg, nil
}

// editSharingGroup runs fn inside a transaction, then marks sharing group id modified so
// peers take the change; an unknown group is ErrNotFound and nothing changes.
func (s *Store) editSharingGroup(ctx context.Context, what string, id SharingGroupID, fn func(tx *sql.Tx) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.touchSharingGroup(ctx, tx, id); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := fn(tx); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}

// touchSharingGroup marks a sharing group modified now; ErrNotFound when there is none.
func (s *Store) touchSharingGroup(ctx context.Context, tx *sql.Tx, id SharingGroupID) error {
	res, err := tx.ExecContext(ctx, `UPDATE sharing_groups SET modified = ? WHERE id = ?`, s.now().UTC().Format(sgTimeLayout), id)
	if err != nil {
		return fmt.Errorf("sharing group %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sharing group %d: %w", id, ErrNotFound)
	}
	return nil
}

// AddSharingGroupOrg makes an organisation a member of a sharing group, or changes its
// extend flag (may it edit the group).
func (s *Store) AddSharingGroupOrg(ctx context.Context, sg SharingGroupID, org OrgID, extend bool) error {
	return s.editSharingGroup(ctx, "add organisation to sharing group", sg, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sharing_group_orgs (sharing_group_id, org_id, extend) VALUES (?, ?, ?)
			ON CONFLICT (sharing_group_id, org_id) DO UPDATE SET extend = excluded.extend`, sg, org, boolInt(extend))
		return err
	})
}

// RemoveSharingGroupOrg takes an organisation out of a sharing group.
func (s *Store) RemoveSharingGroupOrg(ctx context.Context, sg SharingGroupID, org OrgID) error {
	return s.editSharingGroup(ctx, "remove organisation from sharing group", sg, func(tx *sql.Tx) error {
		return deleteMember(ctx, tx, `DELETE FROM sharing_group_orgs WHERE sharing_group_id = ? AND org_id = ?`, sg, "organisation", int64(org))
	})
}

// ResolveSharingGroupServer finds the server a person names as a sharing group's member:
// "0" or "local" is this instance (0), else a sync link by id or name.
func (s *Store) ResolveSharingGroupServer(ctx context.Context, ref string) (ServerID, error) {
	if r := strings.TrimSpace(ref); r == "0" || strings.EqualFold(r, "local") {
		return 0, nil
	}
	return s.ResolveServer(ctx, ref)
}

// AddSharingGroupServer adds a server (0 for this instance) to a sharing group, or changes
// its all_orgs flag (every org of that server may see the data).
func (s *Store) AddSharingGroupServer(ctx context.Context, sg SharingGroupID, server ServerID, allOrgs bool) error {
	return s.editSharingGroup(ctx, "add server to sharing group", sg, func(tx *sql.Tx) error {
		if server != 0 {
			if _, err := findServer(ctx, tx, server); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sharing_group_servers (sharing_group_id, server_id, all_orgs) VALUES (?, ?, ?)
			ON CONFLICT (sharing_group_id, server_id) DO UPDATE SET all_orgs = excluded.all_orgs`, sg, server, boolInt(allOrgs))
		return err
	})
}

// RemoveSharingGroupServer takes a server (0 for this instance) out of a sharing group.
func (s *Store) RemoveSharingGroupServer(ctx context.Context, sg SharingGroupID, server ServerID) error {
	return s.editSharingGroup(ctx, "remove server from sharing group", sg, func(tx *sql.Tx) error {
		return deleteMember(ctx, tx, `DELETE FROM sharing_group_servers WHERE sharing_group_id = ? AND server_id = ?`, sg, "server", int64(server))
	})
}

// deleteMember runs query, which deletes member id (a what) of sharing group sg;
// ErrNotFound when it is not a member.
func deleteMember(ctx context.Context, tx *sql.Tx, query string, sg SharingGroupID, what string, id int64) error {
	res, err := tx.ExecContext(ctx, query, sg, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s %d is not a member: %w", what, id, ErrNotFound)
	}
	return nil
}

// captureSharingGroup stores a sharing group that arrived with an event, as MISP's
// SharingGroup::captureSG does (app/Model/SharingGroup.php), and returns its local id:
//   - matched by UUID; a new group is created (not local, as captured groups are not);
//   - an existing group changes only when the incoming `modified` is newer, and never when
//     it was created here (local); otherwise it is used as it is;
//   - member organisations are captured by UUID or name (creating known-remote orgs);
//   - member servers are mapped by exact URL: this instance's base URL is server 0, a local
//     server's URL that server; other URLs are dropped;
//   - the capturing organisation is added when it is not a member.
//
// Whether the sender may create or change the group (perm_sharing_group, membership) is
// the caller's decision.
func (s *Store) captureSharingGroup(ctx context.Context, tx *sql.Tx, in *misp.SharingGroup, capturingOrgID OrgID) (int64, error) {
	sgUUID := strings.ToLower(strings.TrimSpace(in.UUID))
	if !misp.IsUUID(sgUUID) {
		return 0, fmt.Errorf("capture sharing group %q: uuid %q is not a UUID", in.Name, in.UUID)
	}
	var (
		id       int64
		modified string
		local    bool
	)
	err := tx.QueryRowContext(ctx, `SELECT id, modified, local FROM sharing_groups WHERE uuid = ?`, sgUUID).Scan(&id, &modified, &local)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if id, err = s.insertCapturedSG(ctx, tx, in, sgUUID, capturingOrgID); err != nil {
			return 0, err
		}
	case err != nil:
		return 0, fmt.Errorf("capture sharing group %s: %w", sgUUID, err)
	case local || in.Modified <= modified: // MISP's "Y-m-d H:i:s" orders as text
		return id, nil
	default:
		extra, err := encodeExtra(in.Extra)
		if err != nil {
			return 0, fmt.Errorf("capture sharing group %s: %w", sgUUID, err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE sharing_groups SET name = ?, releasability = ?, description = ?, roaming = ?, modified = ?, extra = ?
			WHERE id = ?`, strings.TrimSpace(in.Name), in.Releasability, in.Description, boolInt(bool(in.Roaming)), in.Modified, extra, id)
		if err != nil {
			return 0, fmt.Errorf("capture sharing group %s: %w", sgUUID, err)
		}
	}
	if err := s.captureSGMembers(ctx, tx, in, id, capturingOrgID); err != nil {
		return 0, fmt.Errorf("capture sharing group %s: %w", sgUUID, err)
	}
	return id, nil
}

func (s *Store) insertCapturedSG(ctx context.Context, tx *sql.Tx, in *misp.SharingGroup, sgUUID string, capturingOrgID OrgID) (int64, error) {
	name := strings.TrimSpace(in.Name)
	if name == "" {
		return 0, fmt.Errorf("capture sharing group %s: it has no name", sgUUID)
	}
	orgID := capturingOrgID
	creator := in.Organisation
	if creator == nil && in.OrganisationUUID != "" {
		creator = &misp.Org{UUID: in.OrganisationUUID}
	}
	if creator != nil {
		var err error
		if orgID, err = s.captureOrg(ctx, tx, creator); err != nil {
			return 0, fmt.Errorf("capture sharing group %s: creator: %w", sgUUID, err)
		}
	}
	now := s.now().UTC().Format(sgTimeLayout)
	created, modified := in.Created, in.Modified
	if created == "" {
		created = now
	}
	if modified == "" {
		modified = now
	}
	extra, err := encodeExtra(in.Extra)
	if err != nil {
		return 0, fmt.Errorf("capture sharing group %s: %w", sgUUID, err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO sharing_groups (uuid, name, releasability, description, org_id, active, local, roaming, created, modified, extra)
		VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`,
		sgUUID, name, in.Releasability, in.Description, orgID, boolInt(in.Active.True(true)), boolInt(bool(in.Roaming)), created, modified, extra)
	if err != nil {
		return 0, fmt.Errorf("capture sharing group %s: %w", sgUUID, err)
	}
	return res.LastInsertId()
}

// captureSGMembers writes the incoming member lists of a new or newer sharing group.
func (s *Store) captureSGMembers(ctx context.Context, tx *sql.Tx, in *misp.SharingGroup, id int64, capturingOrgID OrgID) error {
	for _, m := range in.SharingGroupOrg {
		if m.Organisation == nil {
			continue // only an org id, which is the sender's
		}
		orgID, err := s.captureOrg(ctx, tx, m.Organisation)
		if err != nil {
			return fmt.Errorf("member organisation: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sharing_group_orgs (sharing_group_id, org_id, extend) VALUES (?, ?, ?)
			ON CONFLICT (sharing_group_id, org_id) DO UPDATE SET extend = excluded.extend`, id, orgID, boolInt(bool(m.Extend))); err != nil {
			return err
		}
	}
	baseURL, err := s.setting(ctx, tx, settingBaseURL)
	if err != nil {
		return err
	}
	baseURL = strings.TrimRight(baseURL, "/")
	for _, m := range in.SharingGroupServer {
		if m.Server == nil || m.Server.URL == "" {
			continue
		}
		url := strings.TrimRight(strings.TrimSpace(m.Server.URL), "/")
		var serverID int64
		if url != baseURL || baseURL == "" {
			err := tx.QueryRowContext(ctx, `SELECT id FROM servers WHERE url = ? ORDER BY id LIMIT 1`, url).Scan(&serverID)
			if errors.Is(err, sql.ErrNoRows) {
				continue // a server this instance does not know
			}
			if err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sharing_group_servers (sharing_group_id, server_id, all_orgs) VALUES (?, ?, ?)
			ON CONFLICT (sharing_group_id, server_id) DO UPDATE SET all_orgs = excluded.all_orgs`, id, serverID, boolInt(bool(m.AllOrgs))); err != nil {
			return err
		}
	}
	if capturingOrgID != 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sharing_group_orgs (sharing_group_id, org_id, extend) VALUES (?, ?, 0)
			ON CONFLICT (sharing_group_id, org_id) DO NOTHING`, id, capturingOrgID); err != nil {
			return err
		}
	}
	return nil
}

// SharingGroupChange is what UpdateSharingGroup changes; nil fields keep the current value.
type SharingGroupChange struct {
	Name, Releasability, Description *string
	Active, Roaming                  *bool
}

// UpdateSharingGroup changes a sharing group's own fields.
func (s *Store) UpdateSharingGroup(ctx context.Context, id SharingGroupID, ch SharingGroupChange) (*misp.SharingGroup, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.touchSharingGroup(ctx, tx, id); err != nil {
			return err
		}
		set := func(col string, v any) error {
			_, err := tx.ExecContext(ctx, `UPDATE sharing_groups SET `+col+` = ? WHERE id = ?`, v, id)
			return err
		}
		for col, v := range map[string]*string{"name": ch.Name, "releasability": ch.Releasability, "description": ch.Description} {
			if v != nil {
				if col == "name" && strings.TrimSpace(*v) == "" {
					return fmt.Errorf("%w: a sharing group needs a name", ErrInvalidEvent)
				}
				if err := set(col, *v); err != nil {
					return err
				}
			}
		}
		for col, v := range map[string]*bool{"active": ch.Active, "roaming": ch.Roaming} {
			if v != nil {
				if err := set(col, boolInt(*v)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.SharingGroup(ctx, id)
}

// DeleteSharingGroup removes a sharing group no event or element uses (MISP refuses too).
func (s *Store) DeleteSharingGroup(ctx context.Context, id SharingGroupID) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM events WHERE sharing_group_id = ?1) + (SELECT count(*) FROM attributes WHERE sharing_group_id = ?1)
			+ (SELECT count(*) FROM objects WHERE sharing_group_id = ?1) + (SELECT count(*) FROM event_reports WHERE sharing_group_id = ?1)
			+ (SELECT count(*) FROM feeds WHERE sharing_group_id = ?1) + (SELECT count(*) FROM analyst_data WHERE sharing_group_id = ?1)`, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("sharing group %d is used by %d events or elements: %w", id, n, ErrInUse)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM sharing_groups WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("sharing group %d: %w", id, ErrNotFound)
		}
		return nil
	})
}
