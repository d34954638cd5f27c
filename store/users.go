package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// Role is a set of MISP permission flags. The six default roles are MISP's: admin (site
// admin), org_admin, user, publisher, sync and read_only.
type Role struct {
	ID                 RoleID `json:"id"`
	Name               string `json:"name"`
	PermSiteAdmin      bool   `json:"perm_site_admin"`
	PermAdmin          bool   `json:"perm_admin"`
	PermSync           bool   `json:"perm_sync"`
	PermAuth           bool   `json:"perm_auth"`
	PermAudit          bool   `json:"perm_audit"`
	PermAdd            bool   `json:"perm_add"`
	PermModify         bool   `json:"perm_modify"`
	PermModifyOrg      bool   `json:"perm_modify_org"`
	PermPublish        bool   `json:"perm_publish"`
	PermDelegate       bool   `json:"perm_delegate"`
	PermTagger         bool   `json:"perm_tagger"`
	PermTagEditor      bool   `json:"perm_tag_editor"`
	PermSharingGroup   bool   `json:"perm_sharing_group"`
	PermSighting       bool   `json:"perm_sighting"`
	PermGalaxyEditor   bool   `json:"perm_galaxy_editor"`
	PermAnalystData    bool   `json:"perm_analyst_data"`
	PermObjectTemplate bool   `json:"perm_object_template"`
	PermTemplate       bool   `json:"perm_template"`
	PermWarninglist    bool   `json:"perm_warninglist"`
	PermDecaying       bool   `json:"perm_decaying"`
	PermRegexpAccess   bool   `json:"perm_regexp_access"`
}

const roleColumns = `id, name, perm_site_admin, perm_admin, perm_sync, perm_auth, perm_audit, perm_add,
	perm_modify, perm_modify_org, perm_publish, perm_delegate, perm_tagger, perm_tag_editor,
	perm_sharing_group, perm_sighting, perm_galaxy_editor, perm_analyst_data,
	perm_object_template, perm_template, perm_warninglist, perm_decaying, perm_regexp_access`

// dest is where a row of roleColumns scans to.
func (r *Role) dest() []any {
	return []any{&r.ID, &r.Name, &r.PermSiteAdmin, &r.PermAdmin, &r.PermSync, &r.PermAuth, &r.PermAudit, &r.PermAdd,
		&r.PermModify, &r.PermModifyOrg, &r.PermPublish, &r.PermDelegate, &r.PermTagger, &r.PermTagEditor,
		&r.PermSharingGroup, &r.PermSighting, &r.PermGalaxyEditor, &r.PermAnalystData,
		&r.PermObjectTemplate, &r.PermTemplate, &r.PermWarninglist, &r.PermDecaying, &r.PermRegexpAccess}
}

// readOnly drops every permission but perm_auth and perm_audit, as MISP does for a
// read-only key (AuthKey::setUserData).
func (r *Role) readOnly() {
	*r = Role{ID: r.ID, Name: r.Name, PermAuth: r.PermAuth, PermAudit: r.PermAudit}
}

// qualify prefixes each column of a comma-separated list with a table alias.
func qualify(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// Roles lists the roles by id.
func (s *Store) Roles(ctx context.Context) ([]Role, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+roleColumns+` FROM roles ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	defer rows.Close()
	var out []Role
	for rows.Next() {
		var r Role
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, fmt.Errorf("list roles: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RoleID is a role's local id.
type RoleID int64

// ResolveRole finds the role a person names by id or name (admin, org_admin, user,
// publisher, sync, read_only; case-insensitive; ErrNotFound when there is none).
func (s *Store) ResolveRole(ctx context.Context, ref string) (RoleID, error) {
	return resolve[RoleID](ctx, s.read, roleRefs, ref)
}

// Role reads a role.
func (s *Store) Role(ctx context.Context, id RoleID) (*Role, error) {
	return roleByID(ctx, s.read, id)
}

// findRole reads the role ref names (id or name).
func findRole(ctx context.Context, q queryer, ref string) (*Role, error) {
	id, err := resolve[RoleID](ctx, q, roleRefs, ref)
	if err != nil {
		return nil, err
	}
	return roleByID(ctx, q, id)
}

func roleByID(ctx context.Context, q queryer, id RoleID) (*Role, error) {
	return readRow(ctx, q, "role", id, `SELECT `+roleColumns+` FROM roles WHERE id = ?`, scanDest[Role])
}

// User is an account on this instance, with its organisation and role.
type User struct {
	ID        UserID   `json:"id"`
	Email     string   `json:"email"`
	OrgID     OrgID    `json:"org_id"`
	RoleID    RoleID   `json:"role_id"`
	ServerID  ServerID `json:"server_id"`
	Disabled  bool     `json:"disabled"`
	Created   int64    `json:"date_created"`
	LastLogin int64    `json:"last_login"`
	// Autoalert, Contactalert and GPGKey are MISP's mail settings of the user (see mail.go).
	Autoalert    bool   `json:"autoalert"`
	Contactalert bool   `json:"contactalert"`
	GPGKey       string `json:"gpgkey"`
	Org          Org    `json:"Organisation"`
	Role         Role   `json:"Role"`
}

var userSelect = `SELECT u.id, u.email, u.org_id, u.role_id, u.server_id, u.disabled, u.created, u.last_login, u.autoalert, u.contactalert, u.gpgkey, ` +
	qualify("o", orgColumns) + `, ` + qualify("r", roleColumns) + `
	FROM users u JOIN orgs o ON o.id = u.org_id JOIN roles r ON r.id = u.role_id`

// dest is where a row of userSelect scans to.
func (u *User) dest() []any {
	d := []any{&u.ID, &u.Email, &u.OrgID, &u.RoleID, &u.ServerID, &u.Disabled, &u.Created, &u.LastLogin, &u.Autoalert, &u.Contactalert, &u.GPGKey}
	d = append(d, u.Org.dest()...)
	return append(d, u.Role.dest()...)
}

// NewUser is what AddUser needs: the organisation and role may be given by id or name
// (the organisation also by UUID).
type NewUser struct {
	Email   string
	OrgRef  string
	RoleRef string
}

// AddUser creates a user and its first auth key, returning the key in clear: the only time
// it exists.
func (s *Store) AddUser(ctx context.Context, nu NewUser) (*User, string, error) {
	var (
		u   *User
		key string
	)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		org, err := findOrg(ctx, tx, nu.OrgRef)
		if err != nil {
			return fmt.Errorf("add user %q: %w", nu.Email, err)
		}
		role, err := findRole(ctx, tx, nu.RoleRef)
		if err != nil {
			return fmt.Errorf("add user %q: %w", nu.Email, err)
		}
		u, key, err = s.insertUser(ctx, tx, nu.Email, org, role)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return u, key, nil
}

// insertUser adds a user of org with role, and its first key, inside tx.
func (s *Store) insertUser(ctx context.Context, tx *sql.Tx, email string, org *Org, role *Role) (*User, string, error) {
	email = strings.TrimSpace(email)
	if err := checkEmail(email); err != nil {
		return nil, "", fmt.Errorf("add user %q: %w", email, err)
	}
	var clash string
	err := tx.QueryRowContext(ctx, `SELECT email FROM users WHERE email = ?`, email).Scan(&clash)
	if err == nil {
		return nil, "", fmt.Errorf("add user %q: %w (user %q)", email, ErrConflict, clash)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, "", fmt.Errorf("add user %q: %w", email, err)
	}
	u := &User{Email: email, OrgID: org.ID, RoleID: role.ID, Created: s.now().Unix(), Org: *org, Role: *role}
	res, err := tx.ExecContext(ctx, `INSERT INTO users (email, org_id, role_id, created) VALUES (?, ?, ?, ?)`,
		u.Email, u.OrgID, u.RoleID, u.Created)
	if err != nil {
		return nil, "", fmt.Errorf("add user %q: %w", email, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, "", fmt.Errorf("add user %q: %w", email, err)
	}
	u.ID = UserID(id)
	_, key, err := s.insertAuthKey(ctx, tx, u.ID, AuthKeyOptions{Comment: "first key"})
	if err != nil {
		return nil, "", fmt.Errorf("add user %q: %w", email, err)
	}
	return u, key, nil
}

// checkEmail accepts a bare address (local@domain), as MISP's user form does.
func checkEmail(email string) error {
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email || !strings.Contains(email[strings.LastIndex(email, "@"):], ".") {
		return errors.New("not an e-mail address (want name@domain.tld)")
	}
	return nil
}

// Users lists the users by email.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.read.QueryContext(ctx, userSelect+` ORDER BY u.email`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		if err := rows.Scan(u.dest()...); err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UserID is a user's local id.
type UserID int64

// ResolveUser finds the user a person names by id or e-mail (ErrNotFound when there is
// none).
func (s *Store) ResolveUser(ctx context.Context, ref string) (UserID, error) {
	return resolve[UserID](ctx, s.read, userRefs, ref)
}

// User reads a user.
func (s *Store) User(ctx context.Context, id UserID) (*User, error) {
	return userByID(ctx, s.read, id)
}

// findUser reads the user ref names (id or e-mail).
func findUser(ctx context.Context, q queryer, ref string) (*User, error) {
	id, err := resolve[UserID](ctx, q, userRefs, ref)
	if err != nil {
		return nil, err
	}
	return userByID(ctx, q, id)
}

func userByID(ctx context.Context, q queryer, id UserID) (*User, error) {
	return readRow(ctx, q, "user", id, userSelect+` WHERE u.id = ?`, scanDest[User])
}

// UserChange is what UpdateUser changes; empty fields (0 ids) keep the current value.
type UserChange struct {
	Email    string
	Org      OrgID
	Role     RoleID
	Disabled *bool
}

// UpdateUser changes a user's e-mail, organisation, role or disabled flag.
func (s *Store) UpdateUser(ctx context.Context, id UserID, ch UserChange) (*User, error) {
	var out *User
	err := s.tx(ctx, func(tx *sql.Tx) error {
		u, err := userByID(ctx, tx, id)
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
		if ch.Org != 0 {
			o, err := orgByID(ctx, tx, ch.Org)
			if err != nil {
				return err
			}
			orgID = o.ID
		}
		if ch.Role != 0 {
			r, err := roleByID(ctx, tx, ch.Role)
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
		out, err = userByID(ctx, tx, id)
		return err
	})
	return out, err
}

// DeleteUser removes a user and its keys.
func (s *Store) DeleteUser(ctx context.Context, id UserID) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		u, err := userByID(ctx, tx, id)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, u.ID)
		return err
	})
}
