package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"mispdesk/store/misp"
)

// Org is an organisation known to this instance. Local orgs have users here; the others
// are known remote organisations (creators of synced events, remote hosts of servers).
type Org struct {
	ID          OrgID  `json:"id"`
	UUID        string `json:"uuid"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Type        string `json:"type"`
	Nationality string `json:"nationality"`
	Sector      string `json:"sector"`
	Contacts    string `json:"contacts"`
	Local       bool   `json:"local"`
	Created     int64  `json:"date_created"`
	Modified    int64  `json:"date_modified"`
}

// MISP returns this org shape inside events.
func (o *Org) model() *misp.Org {
	return &misp.Org{ID: misp.Int(o.ID), Name: o.Name, UUID: o.UUID, Local: misp.OptBool{Set: true, Value: o.Local}}
}

// ErrConflict is returned when a new record would clash with an existing one.
var ErrConflict = errors.New("already exists")

// AddOrg creates an organisation. An empty UUID gets a random one.
func (s *Store) AddOrg(ctx context.Context, o Org) (*Org, error) {
	if err := o.normalise(); err != nil {
		return nil, err
	}
	if err := s.tx(ctx, func(tx *sql.Tx) error { return s.insertOrg(ctx, tx, &o) }); err != nil {
		return nil, err
	}
	return &o, nil
}

// normalise trims the name and gives a missing UUID a random one, refusing what cannot be
// stored.
func (o *Org) normalise() error {
	o.Name = strings.TrimSpace(o.Name)
	if o.Name == "" {
		return errors.New("add organisation: name is empty")
	}
	if o.UUID == "" {
		o.UUID = uuid.NewString()
	}
	o.UUID = strings.ToLower(o.UUID)
	if !misp.IsUUID(o.UUID) {
		return fmt.Errorf("add organisation %q: uuid %q is not a UUID", o.Name, o.UUID)
	}
	return nil
}

// insertOrg adds o (name and UUID already checked) inside tx, setting its id and dates.
func (s *Store) insertOrg(ctx context.Context, tx *sql.Tx, o *Org) error {
	var clash string
	err := tx.QueryRowContext(ctx, `SELECT name FROM orgs WHERE uuid = ? OR name = ?`, o.UUID, o.Name).Scan(&clash)
	if err == nil {
		return fmt.Errorf("add organisation %q: %w (organisation %q has that name or uuid)", o.Name, ErrConflict, clash)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("add organisation %q: %w", o.Name, err)
	}
	o.Created = s.now().Unix()
	o.Modified = o.Created
	res, err := tx.ExecContext(ctx, `INSERT INTO orgs (uuid, name, description, type, nationality, sector, contacts, local, date_created, date_modified)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.UUID, o.Name, o.Description, o.Type, o.Nationality, o.Sector, o.Contacts, boolInt(o.Local), o.Created, o.Modified)
	if err != nil {
		return fmt.Errorf("add organisation %q: %w", o.Name, err)
	}
	id, err := res.LastInsertId()
	o.ID = OrgID(id)
	return err
}

const orgColumns = `id, uuid, name, description, type, nationality, sector, contacts, local, date_created, date_modified`

// dest is where a row of orgColumns scans to.
func (o *Org) dest() []any {
	return []any{&o.ID, &o.UUID, &o.Name, &o.Description, &o.Type, &o.Nationality, &o.Sector, &o.Contacts, &o.Local, &o.Created, &o.Modified}
}

func scanOrg(row interface{ Scan(...any) error }) (*Org, error) {
	var o Org
	err := row.Scan(o.dest()...)
	return &o, err
}

// Orgs lists organisations by name.
func (s *Store) Orgs(ctx context.Context) ([]Org, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+orgColumns+` FROM orgs ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list organisations: %w", err)
	}
	defer rows.Close()
	var out []Org
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, fmt.Errorf("list organisations: %w", err)
		}
		out = append(out, *o)
	}
	return out, rows.Err()
}

// OrgID is an organisation's local id.
type OrgID int64

// ResolveOrg finds the organisation a person or a peer names by id, UUID or name
// (ErrNotFound when there is none).
func (s *Store) ResolveOrg(ctx context.Context, ref string) (OrgID, error) {
	return resolve[OrgID](ctx, s.read, orgRefs, ref)
}

// Org reads an organisation.
func (s *Store) Org(ctx context.Context, id OrgID) (*Org, error) {
	return orgByID(ctx, s.read, id)
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// OrgByUUID reads the organisation with that UUID (ErrNotFound when there is none).
func (s *Store) OrgByUUID(ctx context.Context, uuid string) (*Org, error) {
	return orgWhere(ctx, s.read, "uuid", strings.ToLower(strings.TrimSpace(uuid)))
}

func orgByID(ctx context.Context, q queryer, id OrgID) (*Org, error) {
	return orgWhere(ctx, q, "id", id)
}

// orgWhere reads the organisation whose column col is key.
func orgWhere(ctx context.Context, q queryer, col string, key any) (*Org, error) {
	return readRow(ctx, q, "organisation", key, `SELECT `+orgColumns+` FROM orgs WHERE `+col+` = ?`, scanOrg)
}

// findOrg reads the organisation ref names (id, UUID or name).
func findOrg(ctx context.Context, q queryer, ref string) (*Org, error) {
	id, err := resolve[OrgID](ctx, q, orgRefs, ref)
	if err != nil {
		return nil, err
	}
	return orgByID(ctx, q, id)
}

// captureOrg finds the organisation an incoming element names (by UUID, else by name) and
// creates it in the known-remote pool when it is new, as MISP's Organisation::captureOrg
// does. A new org whose name is taken by another UUID gets a suffixed name.
func (s *Store) captureOrg(ctx context.Context, tx *sql.Tx, in *misp.Org) (OrgID, error) {
	if in == nil || (in.UUID == "" && in.Name == "") {
		return 0, errors.New("organisation has neither uuid nor name")
	}
	var id OrgID
	if in.UUID != "" {
		err := tx.QueryRowContext(ctx, `SELECT id FROM orgs WHERE uuid = ?`, in.UUID).Scan(&id)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
		if !misp.IsUUID(in.UUID) {
			return 0, fmt.Errorf("organisation %q: uuid %q is not a UUID", in.Name, in.UUID)
		}
	} else {
		err := tx.QueryRowContext(ctx, `SELECT id FROM orgs WHERE name = ?`, in.Name).Scan(&id)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = "Unknown organisation " + in.UUID[:8]
	}
	orgUUID := in.UUID
	if orgUUID == "" {
		orgUUID = uuid.NewString()
	}
	now := s.now().Unix()
	for i := 0; ; i++ {
		try := name
		if i > 0 {
			try = fmt.Sprintf("%s_%d", name, i)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO orgs (uuid, name, local, date_created, date_modified) VALUES (?, ?, 0, ?, ?)
			ON CONFLICT (name) DO NOTHING`, orgUUID, try, now, now)
		if err != nil {
			return 0, fmt.Errorf("capture organisation %q: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			id, err := res.LastInsertId()
			return OrgID(id), err
		}
	}
}

// OrgNames lists the names of every organisation known here, sorted.
func (s *Store) OrgNames(ctx context.Context) ([]string, error) {
	return s.names(ctx, `SELECT name FROM orgs ORDER BY name COLLATE NOCASE`)
}

// UpdateOrg changes an organisation's descriptive fields (and its local flag).
func (s *Store) UpdateOrg(ctx context.Context, id OrgID, o Org) (*Org, error) {
	var out *Org
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := orgByID(ctx, tx, id)
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
		out, err = orgByID(ctx, tx, OrgID(old.ID))
		return err
	})
	return out, err
}

// DeleteOrg removes an organisation that has no users, events, servers or sharing groups
// (MISP refuses to delete an organisation with users or data).
func (s *Store) DeleteOrg(ctx context.Context, id OrgID) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		o, err := orgByID(ctx, tx, id)
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
		if err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'host_org_id'`).Scan(&host); err == nil && host == strconv.FormatInt(int64(o.ID), 10) {
			return fmt.Errorf("organisation %q is the host organisation: %w", o.Name, ErrInUse)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sharing_group_orgs WHERE org_id = ?`, o.ID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM orgs WHERE id = ?`, o.ID)
		return err
	})
}
