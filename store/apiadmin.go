package store

// Writes and reads of the REST API's administration and galaxy
// endpoints (syncer/mispapi) that the rest of the store has no need for.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"mispdesk/store/misp"
)

// UpdateOrg changes an organisation's descriptive fields (and its local flag).
func (s *Store) UpdateOrg(ctx context.Context, ref string, o Org) (*Org, error) {
	var out *Org
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := findOrg(ctx, tx, ref)
		if err != nil {
			return err
		}
		if strings.TrimSpace(o.Name) == "" {
			o.Name = old.Name
		}
		_, err = tx.ExecContext(ctx, `UPDATE orgs SET name = ?, description = ?, type = ?, nationality = ?, sector = ?, contacts = ?,
			local = ?, date_modified = ? WHERE id = ?`, strings.TrimSpace(o.Name), o.Description, o.Type, o.Nationality, o.Sector,
			o.Contacts, boolInt(o.Local), s.now().Unix(), old.ID)
		if err != nil {
			if strings.Contains(err.Error(), "UNIQUE") {
				return fmt.Errorf("organisation %q: %w", o.Name, ErrConflict)
			}
			return err
		}
		out, err = findOrg(ctx, tx, strconv.FormatInt(old.ID, 10))
		return err
	})
	return out, err
}

// ErrInUse is returned when a record cannot be removed while others depend on it.
var ErrInUse = errors.New("still in use")

// DeleteOrg removes an organisation that has no users, events, servers or sharing groups
// (MISP refuses to delete an organisation with users or data).
func (s *Store) DeleteOrg(ctx context.Context, ref string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		o, err := findOrg(ctx, tx, ref)
		if err != nil {
			return err
		}
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM users WHERE org_id = ?1) + (SELECT count(*) FROM events WHERE org_id = ?1 OR orgc_id = ?1)
			+ (SELECT count(*) FROM servers WHERE org_id = ?1 OR remote_org_id = ?1) + (SELECT count(*) FROM sharing_groups WHERE org_id = ?1)`, o.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("organisation %q has users, events, servers or sharing groups: %w", o.Name, ErrInUse)
		}
		var host string
		if err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'host_org_id'`).Scan(&host); err == nil && host == strconv.FormatInt(o.ID, 10) {
			return fmt.Errorf("organisation %q is the host organisation: %w", o.Name, ErrInUse)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sharing_group_orgs WHERE org_id = ?`, o.ID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM orgs WHERE id = ?`, o.ID)
		return err
	})
}

// UserChange is what UpdateUser changes; empty fields keep the current value.
type UserChange struct {
	Email    string
	OrgRef   string
	RoleRef  string
	Disabled *bool
}

// UpdateUser changes a user's e-mail, organisation, role or disabled flag.
func (s *Store) UpdateUser(ctx context.Context, ref string, ch UserChange) (*User, error) {
	var out *User
	err := s.tx(ctx, func(tx *sql.Tx) error {
		u, err := findUser(ctx, tx, ref)
		if err != nil {
			return err
		}
		email, orgID, roleID, disabled := u.Email, u.OrgID, u.RoleID, u.Disabled
		if ch.Email != "" {
			if err := checkEmail(ch.Email); err != nil {
				return err
			}
			email = strings.TrimSpace(ch.Email)
		}
		if ch.OrgRef != "" {
			o, err := findOrg(ctx, tx, ch.OrgRef)
			if err != nil {
				return err
			}
			orgID = o.ID
		}
		if ch.RoleRef != "" {
			r, err := findRole(ctx, tx, ch.RoleRef)
			if err != nil {
				return err
			}
			roleID = r.ID
		}
		if ch.Disabled != nil {
			disabled = *ch.Disabled
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET email = ?, org_id = ?, role_id = ?, disabled = ? WHERE id = ?`,
			email, orgID, roleID, boolInt(disabled), u.ID); err != nil {
			if strings.Contains(err.Error(), "UNIQUE") {
				return fmt.Errorf("user %q: %w", email, ErrConflict)
			}
			return err
		}
		out, err = findUser(ctx, tx, strconv.FormatInt(u.ID, 10))
		return err
	})
	return out, err
}

// DeleteUser removes a user and its keys.
func (s *Store) DeleteUser(ctx context.Context, ref string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		u, err := findUser(ctx, tx, ref)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, u.ID)
		return err
	})
}

// SharingGroupChange is what UpdateSharingGroup changes; nil fields keep the current value.
type SharingGroupChange struct {
	Name, Releasability, Description *string
	Active, Roaming                  *bool
}

// UpdateSharingGroup changes a sharing group's own fields.
func (s *Store) UpdateSharingGroup(ctx context.Context, ref string, ch SharingGroupChange) (*misp.SharingGroup, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if id, err = findSharingGroupID(ctx, tx, ref); err != nil {
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
		return set("modified", s.now().UTC().Format(sgTimeLayout))
	})
	if err != nil {
		return nil, err
	}
	return s.SharingGroup(ctx, strconv.FormatInt(id, 10))
}

// DeleteSharingGroup removes a sharing group no event or element uses (MISP refuses too).
func (s *Store) DeleteSharingGroup(ctx context.Context, ref string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		id, err := findSharingGroupID(ctx, tx, ref)
		if err != nil {
			return err
		}
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM events WHERE sharing_group_id = ?1) + (SELECT count(*) FROM attributes WHERE sharing_group_id = ?1)
			+ (SELECT count(*) FROM objects WHERE sharing_group_id = ?1) + (SELECT count(*) FROM event_reports WHERE sharing_group_id = ?1)
			+ (SELECT count(*) FROM feeds WHERE sharing_group_id = ?1) + (SELECT count(*) FROM analyst_data WHERE sharing_group_id = ?1)`, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("sharing group %s is used by %d events or elements: %w", ref, n, ErrInUse)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sharing_groups WHERE id = ?`, id)
		return err
	})
}

// ClusterQuery selects galaxy clusters; zero fields do not filter.
type ClusterQuery struct {
	GalaxyID int64
	Value    string // substring of value, tag name or description (case-insensitive)
	UUIDs    []string
	Limit    int
}

// GalaxyClusterRefs lists the ids of the clusters matching q, by value.
func (s *Store) GalaxyClusterRefs(ctx context.Context, q ClusterQuery) ([]int64, error) {
	var conds []string
	var args []any
	if q.GalaxyID != 0 {
		conds = append(conds, `galaxy_id = ?`)
		args = append(args, q.GalaxyID)
	}
	if v := strings.Trim(q.Value, "%"); v != "" {
		p := "%" + likeEscape(v) + "%"
		conds = append(conds, `(value LIKE ? ESCAPE '\' OR tag_name LIKE ? ESCAPE '\' OR description LIKE ? ESCAPE '\')`)
		args = append(args, p, p, p)
	}
	if len(q.UUIDs) > 0 {
		a := make([]any, len(q.UUIDs))
		for i, u := range q.UUIDs {
			a[i] = strings.ToLower(u)
		}
		conds = append(conds, `uuid IN (`+placeholders(len(a))+`)`)
		args = append(args, a...)
	}
	query := `SELECT id FROM galaxy_clusters`
	if len(conds) > 0 {
		query += ` WHERE ` + strings.Join(conds, " AND ")
	}
	query += ` ORDER BY value, id`
	if q.Limit > 0 {
		query += ` LIMIT ` + strconv.Itoa(q.Limit)
	}
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("galaxy clusters: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// DeleteGalaxyCluster removes a cluster and its attachments to events. The tag naming it
// stays on the events that carry it, as in MISP.
func (s *Store) DeleteGalaxyCluster(ctx context.Context, ref string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		ref = strings.ToLower(strings.TrimSpace(ref))
		where, arg := `uuid = ?`, any(ref)
		if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
			where, arg = `id = ?`, id
		}
		r, err := tx.ExecContext(ctx, `DELETE FROM galaxy_clusters WHERE `+where, arg)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("galaxy cluster %q: %w", ref, ErrNotFound)
		}
		return nil
	})
}
