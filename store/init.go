package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// ErrAlreadyInitialised is returned by Init on a database that already has a host
// organisation.
var ErrAlreadyInitialised = errors.New("instance already initialised")

// DefaultAdminEmail is the site admin's e-mail when Init is given none (MISP's default).
const DefaultAdminEmail = "admin@admin.test"

// roleSiteAdmin is the role MISP gives its first user.
const roleSiteAdmin = "1"

// InitOptions names the new instance's host organisation and site admin.
type InitOptions struct {
	OrgName    string
	OrgUUID    string // empty: a random one
	AdminEmail string // empty: DefaultAdminEmail
}

// InitResult is what Init created. AuthKey is the admin's key in clear, shown this once.
type InitResult struct {
	Org     Org
	Admin   User
	AuthKey string
}

// Init makes a new instance in one transaction: its host organisation (local), its
// instance UUID, a site-admin user and that user's first auth key. A database that already
// has a host organisation is refused with ErrAlreadyInitialised and left unchanged.
func (s *Store) Init(ctx context.Context, opts InitOptions) (*InitResult, error) {
	org := Org{Name: opts.OrgName, UUID: opts.OrgUUID, Local: true}
	if err := org.normalise(); err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	email := strings.TrimSpace(opts.AdminEmail)
	if email == "" {
		email = DefaultAdminEmail
	}
	res := &InitResult{}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if id, err := s.hostOrgID(ctx, tx); err == nil {
			host, err := orgByID(ctx, tx, OrgID(id))
			if err != nil {
				return fmt.Errorf("init: %w: host %w", ErrAlreadyInitialised, err)
			}
			return fmt.Errorf("init: %w (host organisation %q); nothing changed", ErrAlreadyInitialised, host.Name)
		} else if !errors.Is(err, ErrNotInitialised) {
			return fmt.Errorf("init: %w", err)
		}
		if err := s.insertOrg(ctx, tx, &org); err != nil {
			return fmt.Errorf("init: %w", err)
		}
		if err := setHostOrgID(ctx, tx, org.ID); err != nil {
			return fmt.Errorf("init: %w", err)
		}
		if err := setSetting(ctx, tx, settingInstanceUUID, uuid.NewString()); err != nil {
			return fmt.Errorf("init: %w", err)
		}
		role, err := findRole(ctx, tx, roleSiteAdmin)
		if err != nil {
			return fmt.Errorf("init: %w", err)
		}
		admin, key, err := s.insertUser(ctx, tx, email, &org, role)
		if err != nil {
			return fmt.Errorf("init: %w", err)
		}
		res.Org, res.Admin, res.AuthKey = org, *admin, key
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
