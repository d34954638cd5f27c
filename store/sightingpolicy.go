package store

// The sightings policy settings, under MISP's names (Plugin.Sightings_policy,
// Plugin.Sightings_anonymise, Plugin.Sightings_anonymise_as), kept with the instance's
// other settings and set as MISP sets them (servers/serverSettingsEdit/<name>).

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The sightings settings.
const (
	SettingSightingsPolicy      = "Plugin.Sightings_policy"
	SettingSightingsAnonymise   = "Plugin.Sightings_anonymise"
	SettingSightingsAnonymiseAs = "Plugin.Sightings_anonymise_as"
)

// SightingSettings are the sightings settings, in MISP's order.
var SightingSettings = []SettingDef{
	{Name: SettingSightingsPolicy, Type: "numeric", Default: "0", Options: []string{"0", "1", "2", "3"},
		Description: "Whose sightings a user sees on events of other organisations: 0 the user's organisation's only (event owner policy), 1 every sighting once the user's organisation has sighted the event (sighting reporter), 2 everyone's, 3 the user's organisation's and the host organisation's."},
	{Name: SettingSightingsAnonymise, Type: "boolean", Default: "false",
		Description: "Hide the organisation of every sighting but the user's own organisation's."},
	{Name: SettingSightingsAnonymiseAs, Type: "numeric", Default: "0",
		Description: "With Sightings_anonymise, the id of the organisation that other organisations' sightings are given to sync accounts as (0: none)."},
}

// InstanceSettings are every setting this instance keeps under MISP's names: the mail
// settings, the sightings policy, correlation and the galaxy library.
func InstanceSettings() []SettingDef {
	return slices.Concat(MailSettings, SightingSettings, CorrelationSettings, GalaxySettings)
}

// InstanceSettingDef finds an instance setting by name; nil when there is none.
func InstanceSettingDef(name string) *SettingDef {
	if d := MailSettingDef(name); d != nil {
		return d
	}
	for _, list := range [][]SettingDef{SightingSettings, CorrelationSettings, GalaxySettings} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// SetInstanceSetting stores an instance setting after checking its value; an unknown
// name is ErrNotFound. Sightings_anonymise_as must name an existing organisation (or be
// 0).
func (s *Store) SetInstanceSetting(ctx context.Context, name, value string) error {
	if MailSettingDef(name) != nil {
		return s.SetMailSetting(ctx, name, value)
	}
	d := InstanceSettingDef(name)
	if d == nil {
		return fmt.Errorf("setting %s: %w", name, ErrNotFound)
	}
	v := strings.TrimSpace(value)
	switch d.Name {
	case SettingSightingsPolicy:
		if _, err := strconv.Atoi(v); err != nil || !slices.Contains(d.Options, v) {
			return invalidSetting("setting %s: %q is not one of %s", d.Name, value, strings.Join(d.Options, ", "))
		}
	case SettingSightingsAnonymiseAs:
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 0 {
			return invalidSetting("setting %s: %q is not an organisation id", d.Name, value)
		}
		v = strconv.FormatInt(id, 10)
	case SettingCorrelationLimit, SettingMaxCorrelationsPerEvent:
		var err error
		if v, err = correlationSettingValue(d, v); err != nil {
			return err
		}
	case SettingGalaxyLibraryDir:
		var err error
		if v, err = galaxyLibraryDirValue(d, v); err != nil {
			return err
		}
	default:
		var err error
		if v, err = d.normalise(v); err != nil {
			return err
		}
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if d.Name == SettingSightingsAnonymiseAs && v != "0" {
			if _, err := findOrg(ctx, tx, v); err != nil {
				return fmt.Errorf("setting %s: organisation %s: %w", d.Name, v, err)
			}
		}
		if err := setSetting(ctx, tx, d.Name, v); err != nil {
			return fmt.Errorf("save setting %s: %w", d.Name, err)
		}
		return nil
	})
}

// InstanceSettingValues returns every instance setting's value (its default when unset).
func (s *Store) InstanceSettingValues(ctx context.Context) (map[string]string, error) {
	out, err := s.MailSettingValues(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range slices.Concat(SightingSettings, CorrelationSettings, GalaxySettings) {
		v, err := s.setting(ctx, s.read, d.Name)
		if err != nil {
			return nil, fmt.Errorf("read setting %s: %w", d.Name, err)
		}
		if v == "" {
			v = d.Default
		}
		out[d.Name] = v
	}
	return out, nil
}

// SightingsConfig is the sightings policy, typed: Policy is MISP's number (0–3), and
// AnonymiseAs the organisation named by Sightings_anonymise_as (nil when unset or gone).
type SightingsConfig struct {
	Policy      int
	Anonymise   bool
	AnonymiseAs *Org
}

// SightingsConfig reads the sightings policy settings.
func (s *Store) SightingsConfig(ctx context.Context) (SightingsConfig, error) {
	var c SightingsConfig
	rows, err := s.read.QueryContext(ctx, `SELECT key, value FROM settings WHERE key IN (?, ?, ?)`,
		SettingSightingsPolicy, SettingSightingsAnonymise, SettingSightingsAnonymiseAs)
	if err != nil {
		return c, fmt.Errorf("read sightings settings: %w", err)
	}
	defer rows.Close()
	anonAs := ""
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return c, fmt.Errorf("read sightings settings: %w", err)
		}
		switch k {
		case SettingSightingsPolicy:
			c.Policy, _ = strconv.Atoi(v)
		case SettingSightingsAnonymise:
			c.Anonymise = v == "true"
		case SettingSightingsAnonymiseAs:
			anonAs = v
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("read sightings settings: %w", err)
	}
	rows.Close()
	if anonAs != "" && anonAs != "0" {
		if o, err := findOrg(ctx, s.read, anonAs); err == nil {
			c.AnonymiseAs = o
		}
	}
	return c, nil
}
