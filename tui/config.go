package tui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"
)

// Config is the console's optional file, $XDG_CONFIG_HOME/mispdesk/config.json
// (~/.config/mispdesk/config.json without XDG_CONFIG_HOME): the global keys
// rebound by name and the colours by role, as ANSI-256 indices.
//
//	{"keys": {"quit": ["q", "ctrl+q"], "help": ["?", "f1"]},
//	 "colors": {"accent": 33, "warn": 214}}
type Config struct {
	Keys   map[string][]string `json:"keys"`
	Colors map[string]int      `json:"colors"`
}

// configLimit bounds the file read: a config is a few hundred bytes.
const configLimit = 64 << 10

// ConfigPath is where the console looks for its Config.
func ConfigPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("config directory: %w", err)
	}
	return filepath.Join(dir, "mispdesk", "config.json"), nil
}

// LoadConfig reads path; a missing file is the empty Config. A bad file is an
// error naming the file and the key at fault, with the empty Config: the
// defaults stay whole, never half a file applied.
func LoadConfig(path string) (Config, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, nil
	}
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(raw) > configLimit {
		return Config{}, fmt.Errorf("%s: larger than %d bytes", path, configLimit)
	}
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.check(newGlobalKeys()); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// themeRoles are the colours a Config may set.
var themeRoles = []string{"accent", "dim", "warn", "error", "ok"}

func (c Config) check(k *GlobalKeys) error {
	named := k.named()
	for _, name := range sortedKeys(c.Keys) {
		if _, ok := named[name]; !ok {
			return fmt.Errorf("keys.%s: no such key (known: %s)", name, strings.Join(sortedKeys(named), ", "))
		}
		if len(c.Keys[name]) == 0 {
			return fmt.Errorf("keys.%s: no key given", name)
		}
		for _, s := range c.Keys[name] {
			if strings.TrimSpace(s) == "" || len(s) > 20 {
				return fmt.Errorf("keys.%s: %q is not a key", name, s)
			}
		}
	}
	for _, role := range sortedKeys(c.Colors) {
		if !slices.Contains(themeRoles, role) {
			return fmt.Errorf("colors.%s: no such colour (known: %s)", role, strings.Join(themeRoles, ", "))
		}
		if n := c.Colors[role]; n < 0 || n > 255 {
			return fmt.Errorf("colors.%s: %d is not an ANSI-256 colour (0–255)", role, n)
		}
	}
	return nil
}

// rebind gives the global keys the Config's keys (a checked Config).
func (c Config) rebind(k *GlobalKeys) {
	named := k.named()
	for name, keys := range c.Keys {
		if b := named[name]; b != nil {
			b.SetKeys(keys...)
			b.SetHelp(strings.Join(keys, "/"), b.Help().Desc)
		}
	}
}

// theme sets the Config's colours on s.
func (c Config) theme(s *Styles) *Styles {
	for role, n := range c.Colors {
		col := lipgloss.Color(fmt.Sprint(n))
		switch role {
		case "accent":
			s.Title, s.Info = s.Title.Foreground(col), s.Info.Foreground(col)
			s.Box = s.Box.BorderForeground(col)
		case "dim":
			s.Dim, s.Tab, s.Label = s.Dim.Foreground(col), s.Tab.Foreground(col), s.Label.Foreground(col)
		case "warn":
			s.Warn = s.Warn.Foreground(col)
		case "error":
			s.Error, s.Invalid = s.Error.Foreground(col), s.Invalid.Foreground(col)
		case "ok":
			s.OK = s.OK.Foreground(col)
		}
	}
	return s
}

// named are the global keys by their names in a Config.
func (k *GlobalKeys) named() map[string]*key.Binding {
	return map[string]*key.Binding{
		"servers": &k.Pane1, "events": &k.Pane2, "rules": &k.Pane3, "log": &k.Pane4,
		"next": &k.Next, "prev": &k.Prev, "command": &k.Command, "help": &k.Help,
		"messages": &k.Messages, "back": &k.Back, "quit": &k.Quit,
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
