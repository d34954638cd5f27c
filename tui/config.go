package tui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"

	"mispdesk/store"
)

// Config is the console's optional file, $XDG_CONFIG_HOME/mispdesk/config.json
// (~/.config/mispdesk/config.json without XDG_CONFIG_HOME): keys rebound by name
// (the global ones by theirs, a pane's as pane.key) and the colours by role, as
// ANSI-256 indices.
//
//	{"keys": {"quit": ["q", "ctrl+q"], "help": ["?", "f1"], "servers.add": ["+"]},
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
	if err := c.check(newGlobalKeys(), defaultPanes()); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// themeRoles are the colours a Config may set.
var themeRoles = []string{"accent", "dim", "warn", "error", "ok"}

// check finds the first fault of the file: a key name no binding has, a key that is
// not one, a key a pane shares with another of its own or that a global key takes
// first, a colour that is not one.
func (c Config) check(k *GlobalKeys, panes []Pane) error {
	named := bindings(k, panes)
	for _, name := range sortedKeys(c.Keys) {
		if _, ok := named[name]; !ok {
			return fmt.Errorf("keys.%s: no such key (%s)", name, knownKeys(named, name))
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
	final := func(name string) []string { // a binding's keys once the file is applied
		if keys, ok := c.Keys[name]; ok {
			return keys
		}
		return named[name].Keys()
	}
	for _, name := range sortedKeys(c.Keys) {
		pane, _, ok := strings.Cut(name, ".")
		for _, other := range sortedKeys(named) {
			otherPane, _, otherOK := strings.Cut(other, ".")
			switch {
			case other == name,
				ok && otherOK && otherPane != pane, // another pane's key
				ok && !otherOK && !shadows(other),  // a global key the pane sees first
				!ok && otherOK && !shadows(name):   // likewise
				continue
			}
			for _, s := range c.Keys[name] {
				if slices.Contains(final(other), s) {
					return fmt.Errorf("keys.%s: %q is %s's key already", name, s, other)
				}
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

// rebind gives the global keys and the panes' the Config's keys (a checked Config).
func (c Config) rebind(k *GlobalKeys, panes []Pane) {
	named := bindings(k, panes)
	for name, keys := range c.Keys {
		if b := named[name]; b != nil {
			b.SetKeys(keys...)
			b.SetHelp(strings.Join(keys, "/"), b.Help().Desc)
		}
	}
	for _, p := range panes {
		if r, ok := p.(interface{ rebound() }); ok {
			r.rebound()
		}
	}
}

// keyMapper is a pane whose keys a Config rebinds: its key structs (pointers to structs
// of key.Binding), by the name their keys go by in the file: "servers" for servers.add.
type keyMapper interface{ keyMaps() map[string]any }

// bindings are the global keys by name and the panes' keys by pane.field, lower case:
// "quit", "servers.add", "log.cancel".
func bindings(k *GlobalKeys, panes []Pane) map[string]*key.Binding {
	out := k.named()
	bindingType := reflect.TypeFor[key.Binding]()
	for _, p := range panes {
		km, ok := p.(keyMapper)
		if !ok {
			continue
		}
		for prefix, keys := range km.keyMaps() {
			v := reflect.ValueOf(keys).Elem()
			for i := range v.NumField() {
				if f := v.Field(i); f.Type() == bindingType {
					out[prefix+"."+strings.ToLower(v.Type().Field(i).Name)] = f.Addr().Interface().(*key.Binding)
				}
			}
		}
	}
	return out
}

// knownKeys lists the names a misspelt one may have meant: the keys of its pane, or the
// global keys and the panes' names.
func knownKeys(named map[string]*key.Binding, name string) string {
	pane, _, ok := strings.Cut(name, ".")
	var known []string
	panes := map[string]bool{}
	for _, n := range sortedKeys(named) {
		p, _, isPane := strings.Cut(n, ".")
		switch {
		case ok && isPane && p == pane, !ok && !isPane:
			known = append(known, n)
		case isPane && !panes[p]:
			panes[p] = true
		}
	}
	if len(known) == 0 || !ok {
		for _, p := range sortedKeys(panes) {
			known = append(known, p+".…")
		}
	}
	return "known: " + strings.Join(known, ", ")
}

// shadows reports a global key the root matches before the focused pane sees a key.
func shadows(name string) bool { return name != "back" }

// defaultPanes are the panes as built, to name their keys: no store, no engine.
func defaultPanes() []Pane {
	c := &Context{Ctx: context.Background(), Styles: NewStyles(true), Keys: newGlobalKeys(), Now: time.Now,
		Stats: map[store.ServerID]store.OutboxStat{}}
	var out []Pane
	for _, mk := range panes {
		out = append(out, mk(c))
	}
	return out
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
