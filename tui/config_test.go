package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	path, err := ConfigPath()
	if err != nil || path != filepath.Join(dir, "mispdesk", "config.json") {
		t.Fatalf("config path %q %v", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A config file rebinds the global keys (the help shows the new ones) and
// sets colours; the footer of a console made with it names the new key.
func TestConfigRebindsAndThemes(t *testing.T) {
	path := writeConfig(t, `{"keys": {"quit": ["Q", "ctrl+q"], "help": ["f1"]}, "colors": {"accent": 33}}`)
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	m := newModel(t.Context(), nil, nil, Options{Config: cfg})
	k := m.c.Keys
	if !key.Matches(keyMsg("Q"), k.Quit) || key.Matches(keyMsg("q"), k.Quit) || k.Quit.Help().Key != "Q/ctrl+q" {
		t.Errorf("quit is %v (%q)", k.Quit.Keys(), k.Quit.Help().Key)
	}
	if !key.Matches(keyMsg("f1"), k.Help) || !key.Matches(keyMsg("esc"), k.Back) {
		t.Errorf("help %v, back %v", k.Help.Keys(), k.Back.Keys())
	}
	if got := m.c.Styles.Title.GetForeground(); got != lipgloss.Color("33") {
		t.Errorf("accent %v", got)
	}
	m.setDark(false) // the theme outlives the terminal's answer
	if got := m.c.Styles.Title.GetForeground(); got != lipgloss.Color("33") {
		t.Errorf("accent after setDark %v", got)
	}
}

// A bad file is one line naming the file and the key, and nothing of it is used.
func TestConfigBadFile(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"keys": {"quitt": ["x"]}}`, "keys.quitt: no such key"},
		{`{"keys": {"quit": []}}`, "keys.quit: no key given"},
		{`{"colors": {"accent": 300}}`, "colors.accent: 300 is not an ANSI-256 colour"},
		{`{"colors": {"pink": 1}}`, "colors.pink: no such colour"},
		{`{"keys": {"quit": ["Q"]}, "theme": 1}`, `unknown field "theme"`},
		{`{"keys": `, "unexpected EOF"},
	} {
		path := writeConfig(t, c.body)
		cfg, err := LoadConfig(path)
		if err == nil || !strings.Contains(err.Error(), path+": ") || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err %v, want %q", c.body, err, c.want)
		}
		if cfg.Keys != nil || cfg.Colors != nil {
			t.Errorf("%s: half a config kept: %+v", c.body, cfg)
		}
	}
	m := newModel(t.Context(), openStore(t, "Host"), nil, Options{ConfigErr: os.ErrPermission})
	settle(t, m, m.Init())
	if !strings.Contains(m.flashText, "Config not used, defaults kept: permission denied") {
		t.Errorf("the config error is not said: %q", m.flashText)
	}
}

func TestConfigMissingIsDefaults(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	path, _ := ConfigPath()
	if cfg, err := LoadConfig(path); err != nil || cfg.Keys != nil {
		t.Errorf("missing file: %+v %v", cfg, err)
	}
}
