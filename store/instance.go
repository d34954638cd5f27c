package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
)

// Setting keys of the instance.
const (
	settingInstanceUUID = "instance_uuid"
	settingHostOrgID    = "host_org_id"
	settingBaseURL      = "base_url"
)

// ErrNotInitialised is returned when the database has no host organisation yet.
var ErrNotInitialised = errors.New("instance not initialised: run mispdesk init")

// Instance is this MISP instance's identity.
type Instance struct {
	UUID    string
	HostOrg Org
	BaseURL string
}

func (s *Store) setting(ctx context.Context, q queryer, key string) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func setSetting(ctx context.Context, tx *sql.Tx, key, value string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// Instance returns this instance's identity, or ErrNotInitialised.
func (s *Store) Instance(ctx context.Context) (*Instance, error) {
	id, err := s.setting(ctx, s.read, settingHostOrgID)
	if err != nil {
		return nil, fmt.Errorf("read instance: %w", err)
	}
	if id == "" {
		return nil, ErrNotInitialised
	}
	inst := &Instance{}
	if inst.UUID, err = s.setting(ctx, s.read, settingInstanceUUID); err != nil {
		return nil, fmt.Errorf("read instance: %w", err)
	}
	if inst.BaseURL, err = s.setting(ctx, s.read, settingBaseURL); err != nil {
		return nil, fmt.Errorf("read instance: %w", err)
	}
	org, err := findOrg(ctx, s.read, id)
	if err != nil {
		return nil, fmt.Errorf("read instance host organisation: %w", err)
	}
	inst.HostOrg = *org
	return inst, nil
}

// SetBaseURL records the URL peers reach this instance at (MISP.baseurl); sharing groups
// name servers by URL, so it decides which server entry means "this instance".
func (s *Store) SetBaseURL(ctx context.Context, url string) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return setSetting(ctx, tx, settingBaseURL, url) })
}

func (s *Store) hostOrgID(ctx context.Context, q queryer) (OrgID, error) {
	v, err := s.setting(ctx, q, settingHostOrgID)
	if err != nil {
		return 0, err
	}
	if v == "" {
		return 0, ErrNotInitialised
	}
	id, err := strconv.ParseInt(v, 10, 64)
	return OrgID(id), err
}

// setHostOrgID records which organisation is this instance's host organisation.
func setHostOrgID(ctx context.Context, tx *sql.Tx, id OrgID) error {
	return setSetting(ctx, tx, settingHostOrgID, strconv.FormatInt(int64(id), 10))
}

// SetHostOrg makes an existing local organisation this instance's host organisation, as
// MISP's installers do with `cake Admin setSetting MISP.host_org_id`; an unknown or
// external organisation is refused and nothing changes.
func (s *Store) SetHostOrg(ctx context.Context, id OrgID) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		org, err := orgByID(ctx, tx, id)
		if err != nil {
			return fmt.Errorf("set host organisation: %w", err)
		}
		if !org.Local {
			return fmt.Errorf("set host organisation %q: it is an external organisation", org.Name)
		}
		return setHostOrgID(ctx, tx, org.ID)
	})
}
