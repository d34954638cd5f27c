package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"mispdesk/store"
)

// The instance's settings (mail, sightings), by MISP's names: the same definitions and
// the same store calls as servers/serverSettingsEdit over REST.

const (
	settingsSynopsis     = "settings list|get|set ..."
	settingsListSynopsis = "settings list [--json]"
	settingsGetSynopsis  = "settings get NAME [--json]"
	settingsSetSynopsis  = "settings set NAME VALUE [--json]"
)

var settingsCommands = []*command{
	{"list", settingsListSynopsis, "list every setting with its value (a redacted one shows as *****)", runSettingsList},
	{"get", settingsGetSynopsis, "print one setting's value", runSettingsGet},
	{"set", settingsSetSynopsis, "check and store one setting's value", runSettingsSet},
}

func runSettings(ctx context.Context, env *Env, args []string) error {
	return group("settings", settingsSynopsis, settingsCommands)(ctx, env, args)
}

// settingJSON is one setting as settings prints it with --json.
type settingJSON struct {
	Name        string   `json:"name"`
	Value       any      `json:"value"`
	Type        string   `json:"type"`
	Default     string   `json:"default"`
	Description string   `json:"description"`
	Options     []string `json:"options,omitempty"`
	Redacted    bool     `json:"redacted,omitempty"`
}

func newSettingJSON(d *store.SettingDef, value string) settingJSON {
	return settingJSON{Name: d.Name, Value: d.Shown(value), Type: d.Type, Default: d.Default, Description: d.Description,
		Options: d.Options, Redacted: d.Redacted}
}

// settingDef is the definition NAME names, or a usage error listing where to look.
func settingDef(name string) (*store.SettingDef, error) {
	d := store.InstanceSettingDef(name)
	if d == nil {
		return nil, usagef("unknown setting %q; 'mispdesk settings list' names them", name)
	}
	return d, nil
}

func runSettingsList(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("settings list", settingsListSynopsis)
	jsonOut := fs.Bool("json", false, "print a JSON array of settings")
	s, _, err := openNoArgs(ctx, env, fs, args)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	values, err := s.InstanceSettingValues(ctx)
	if err != nil {
		return err
	}
	defs := store.InstanceSettings()
	if *jsonOut {
		out := make([]settingJSON, 0, len(defs))
		for i := range defs {
			out = append(out, newSettingJSON(&defs[i], values[defs[i].Name]))
		}
		return printJSON(env, out)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVALUE\tDESCRIPTION")
	for i := range defs {
		d := &defs[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Name, safe(fmt.Sprint(d.Shown(values[d.Name]))), d.Description)
	}
	return tw.Flush()
}

func runSettingsGet(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("settings get", settingsGetSynopsis)
	jsonOut := fs.Bool("json", false, "print the setting as JSON")
	pos, err := fs.Parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("settings get takes one NAME; run 'mispdesk settings get -h' for usage")
	}
	d, err := settingDef(pos[0])
	if err != nil {
		return err
	}
	s, _, err := openInitialised(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	return printSetting(ctx, env, s, d, *jsonOut)
}

func printSetting(ctx context.Context, env *Env, s *store.Store, d *store.SettingDef, jsonOut bool) error {
	values, err := s.InstanceSettingValues(ctx)
	if err != nil {
		return err
	}
	if jsonOut {
		return printJSON(env, newSettingJSON(d, values[d.Name]))
	}
	fmt.Fprintln(env.Stdout, safe(fmt.Sprint(d.Shown(values[d.Name]))))
	return nil
}

func runSettingsSet(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("settings set", settingsSetSynopsis)
	jsonOut := fs.Bool("json", false, "print the stored setting as JSON")
	pos, err := fs.Parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("settings set takes NAME and VALUE; run 'mispdesk settings set -h' for usage")
	}
	d, err := settingDef(pos[0])
	if err != nil {
		return err
	}
	s, _, err := openInitialised(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	if err := s.SetInstanceSetting(ctx, d.Name, pos[1]); err != nil {
		if errors.Is(err, store.ErrInvalidSetting) || errors.Is(err, store.ErrNotFound) {
			return inputErr(err)
		}
		return err
	}
	if *jsonOut {
		return printSetting(ctx, env, s, d, true)
	}
	values, err := s.InstanceSettingValues(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s = %s\n", d.Name, safe(strings.TrimSpace(fmt.Sprint(d.Shown(values[d.Name])))))
	return nil
}
