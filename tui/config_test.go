package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
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

// Pane keys rebind by pane.name the same way: the pane acts on the new key, no more on
// the old one, and its footer names the new one.
func TestConfigRebindsPaneKeys(t *testing.T) {
	path := writeConfig(t, `{"keys": {"servers.add": ["+"], "log.cancel": ["C"], "servers.down": ["J", "down"]}}`)
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t, "Host")
	addPushServer(t, st, "peer-one", "")
	addPushServer(t, st, "peer-two", "")
	m := newModel(t.Context(), st, nil, Options{Config: cfg})
	m.c.Now = func() time.Time { return fixedNow }
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	settle(t, m, m.Init())
	if got := screen(m); !strings.Contains(got, "+ add") || strings.Contains(got, "a add") {
		t.Errorf("the footer does not name the new key:\n%s", got)
	}
	press(t, m, "a")
	if m.topScreen() != nil {
		t.Fatalf("a still opens %T", m.topScreen())
	}
	press(t, m, "J") // the table moves on the new down key
	if sv := m.panes[0].(*serversPane).selected(); sv == nil || sv.Name != "peer-two" {
		t.Errorf("J selects %+v", sv)
	}
	press(t, m, "+")
	if _, ok := m.topScreen().(*serverForm); !ok {
		t.Fatalf("+ opens %T", m.topScreen())
	}
	press(t, m, "esc")
	if lp := m.panes[3].(*logPane); !key.Matches(keyMsg("C"), lp.keys.Cancel) || key.Matches(keyMsg("x"), lp.keys.Cancel) {
		t.Errorf("log.cancel is %v", lp.keys.Cancel.Keys())
	}
}

// A pane key with a bad name, or a key its pane (or a global key) has already, is one
// line naming the file and the key; nothing of the file is used.
func TestConfigBadPaneKey(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"keys": {"servers.ad": ["+"]}}`, "keys.servers.ad: no such key (known: servers.add, "},
		{`{"keys": {"sever.add": ["+"]}}`, "keys.sever.add: no such key (known: events.…, feeds.…, log.…, rules.…, servers.…)"},
		{`{"keys": {"servers.add": ["p"]}}`, `keys.servers.add: "p" is servers.pull's key already`},
		{`{"keys": {"log.cancel": ["q"]}}`, `keys.log.cancel: "q" is quit's key already`},
		{`{"keys": {"quit": ["x"]}}`, `keys.quit: "x" is log.cancel's key already`},
	} {
		path := writeConfig(t, c.body)
		cfg, err := LoadConfig(path)
		if err == nil || !strings.HasPrefix(err.Error(), path+": ") || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err %v, want %q", c.body, err, c.want)
		}
		if cfg.Keys != nil {
			t.Errorf("%s: half a config kept: %+v", c.body, cfg)
		}
	}
}
