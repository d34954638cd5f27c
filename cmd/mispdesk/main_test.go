package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mispdesk/assets"
	"mispdesk/store"
	"mispdesk/syncer"
	"mispdesk/tui"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if imported.dir != "" {
		os.RemoveAll(imported.dir)
	}
	os.Exit(code)
}

// runT runs mispdesk with args and returns its exit status, stdout and stderr.
func runT(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// wantOneLine checks that stderr is exactly one line starting with prefix.
func wantOneLine(t *testing.T, stderr, prefix string) {
	t.Helper()
	if !strings.HasPrefix(stderr, prefix) || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("stderr = %q, want one line starting %q", stderr, prefix)
	}
}

func TestUnknownCommand(t *testing.T) {
	code, stdout, stderr := runT(t, "frobnicate", "--x")
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	wantOneLine(t, stderr, `mispdesk: unknown command "frobnicate"`)
	if stdout != "" {
		t.Errorf("stdout = %q", stdout)
	}
}

func TestWrongFlag(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		prefix string
	}{
		{[]string{"--bogus"}, "mispdesk: flag provided but not defined: -bogus"},
		{[]string{"version", "--bogus"}, "mispdesk version: flag provided but not defined: -bogus"},
		{[]string{"version", "extra"}, `mispdesk version: unexpected argument "extra"`},
		{[]string{"help", "--db"}, "mispdesk help: flag needs an argument: -db"},
		{[]string{"help", "nope"}, `mispdesk help: unknown command "nope"`},
		{[]string{"console", "x"}, `mispdesk console: unexpected argument "x"`},
	} {
		code, stdout, stderr := runT(t, tc.args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", tc.args, code)
		}
		wantOneLine(t, stderr, tc.prefix)
		if stdout != "" {
			t.Errorf("%v: stdout = %q", tc.args, stdout)
		}
	}
}

func TestVersion(t *testing.T) {
	want := fmt.Sprintf("mispdesk %s (MISP API 2.5.1)\n", assets.Version)
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}, {"--db", "x.db", "--version"}} {
		code, stdout, stderr := runT(t, args...)
		if code != 0 || stdout != want || stderr != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0, %q", args, code, stdout, stderr, want)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		code, stdout, stderr := runT(t, args...)
		if code != 0 || stderr != "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
		for _, c := range commands {
			if !strings.Contains(stdout, "mispdesk "+c.synopsis) {
				t.Errorf("%v: usage lacks %q:\n%s", args, c.synopsis, stdout)
			}
		}
	}
	for _, args := range [][]string{{"help", "version"}, {"version", "-h"}, {"help", "help"}} {
		code, stdout, stderr := runT(t, args...)
		if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "usage: mispdesk ") || !strings.Contains(stdout, "-db PATH") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
}

// Every command answers -h; a new table entry is checked here for free.
func TestEveryCommandHasUsage(t *testing.T) {
	var names []string
	for _, c := range commands {
		if c.name == "" || c.synopsis == "" || c.summary == "" || c.run == nil {
			t.Errorf("incomplete table entry %+v", c)
		}
		if slices.Contains(names, c.name) {
			t.Errorf("command %q registered twice", c.name)
		}
		names = append(names, c.name)
		code, stdout, _ := runT(t, c.name, "-h")
		if code != 0 || !strings.HasPrefix(stdout, "usage: mispdesk "+c.synopsis+"\n") {
			t.Errorf("%s -h: exit %d, stdout %q", c.name, code, stdout)
		}
	}
}

func TestConsoleNeedsTerminal(t *testing.T) {
	for _, args := range [][]string{nil, {"--db", filepath.Join(t.TempDir(), "x.db")}, {"console"}} {
		code, _, stderr := runT(t, args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		wantOneLine(t, stderr, "mispdesk console: the console needs a terminal")
	}
}

func TestDefaultDBPath(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/xdg/data")
	if got := defaultDBPath(); got != "/xdg/data/mispdesk/mispdesk.db" {
		t.Errorf("with XDG_DATA_HOME: %q", got)
	}
	t.Setenv("HOME", "/home/ana")
	for _, xdg := range []string{"", "relative/dir"} {
		t.Setenv("XDG_DATA_HOME", xdg)
		if got := defaultDBPath(); got != "/home/ana/.local/share/mispdesk/mispdesk.db" {
			t.Errorf("XDG_DATA_HOME=%q: %q", xdg, got)
		}
	}
}

func TestDBPathCreatesDirectory(t *testing.T) {
	data := t.TempDir()
	t.Setenv("XDG_DATA_HOME", data)
	env := newEnv(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	p, err := env.DBPath()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(data, "mispdesk", "mispdesk.db"); p != want {
		t.Errorf("DBPath() = %q, want %q", p, want)
	}
	fi, err := os.Stat(filepath.Dir(p))
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want drwx------", fi.Mode())
	}
	env.DB = ""
	if _, err := env.DBPath(); exitCode(err) != 2 {
		t.Errorf("no database path: %v", err)
	}
}

// withCommand registers c for the duration of the test.
func withCommand(t *testing.T, c *command) {
	saved := commands
	commands = append(slices.Clip(commands), c)
	t.Cleanup(func() { commands = saved })
}

func TestDBFlagBeforeAndAfterCommand(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/xdg")
	var got string
	withCommand(t, &command{"probe", "probe", "test", func(_ context.Context, env *Env, args []string) error {
		fs := env.Flags("probe", "probe")
		if _, err := fs.Parse(args); err != nil {
			return err
		}
		got = env.DB
		return nil
	}})
	for _, tc := range []struct {
		args []string
		db   string
	}{
		{[]string{"probe"}, "/xdg/mispdesk/mispdesk.db"},
		{[]string{"--db", "a.db", "probe"}, "a.db"},
		{[]string{"probe", "--db", "a.db"}, "a.db"},
		{[]string{"--db", "b.db", "probe", "--db", "a.db"}, "a.db"},
	} {
		got = ""
		if code, _, stderr := runT(t, tc.args...); code != 0 || got != tc.db {
			t.Errorf("%v: exit %d (%s), DB %q, want %q", tc.args, code, stderr, got, tc.db)
		}
	}
}

func TestHandlerErrors(t *testing.T) {
	var fail error
	withCommand(t, &command{"probe", "probe", "test", func(context.Context, *Env, []string) error { return fail }})
	for _, tc := range []struct {
		err  error
		code int
		line string
	}{
		{nil, 0, ""},
		{errors.New("push to misp-b failed: 503 Service Unavailable"), 1, "mispdesk probe: push to misp-b failed: 503 Service Unavailable\n"},
		{inputf("a.json: Event.uuid: not a UUID"), 2, "mispdesk probe: a.json: Event.uuid: not a UUID\n"},
	} {
		fail = tc.err
		if code, _, stderr := runT(t, "probe"); code != tc.code || stderr != tc.line {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", tc.err, code, stderr, tc.code, tc.line)
		}
	}
}

func TestParseInterspersed(t *testing.T) {
	env := newEnv(nil, &bytes.Buffer{}, &bytes.Buffer{})
	fs := env.Flags("import", "import PATH...")
	jsonOut := fs.Bool("json", false, "")
	pos, err := fs.Parse([]string{"a.json", "--json", "b", "--db", "x.db", "--", "--c", "-d"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pos, []string{"a.json", "b", "--c", "-d"}) || !*jsonOut || env.DB != "x.db" {
		t.Errorf("positional %q, json %v, db %q", pos, *jsonOut, env.DB)
	}
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
	}{
		{nil, 0},
		{errHelpShown, 0},
		{usagef("bad"), 2},
		{inputf("event.json: offset 12: invalid character"), 2},
		{fmt.Errorf("import: %w", inputErr(errors.New("x"))), 2},
		{errors.New("remote refused: 403"), 1},
		{context.Canceled, 1},
	} {
		if got := exitCode(tc.err); got != tc.code {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.code)
		}
	}
	if inputErr(nil) != nil {
		t.Error("inputErr(nil) != nil")
	}
}

func TestReportIsOneSafeLine(t *testing.T) {
	var stderr bytes.Buffer
	code := report(&stderr, "import", inputf("evil.json: info %q\nsecond line\x1b]0;title\x07", "x"))
	if code != 2 {
		t.Errorf("exit %d", code)
	}
	want := `mispdesk import: evil.json: info "x"; second line\x1b]0;title\a` + "\n"
	if stderr.String() != want {
		t.Errorf("got  %q\nwant %q", stderr.String(), want)
	}
}

func TestConsoleCreatesDatabase(t *testing.T) {
	savedTerm, savedTUI := onTerminal, runTUI
	t.Cleanup(func() { onTerminal, runTUI = savedTerm, savedTUI })
	onTerminal = func(*Env) bool { return true }
	var shown string
	runTUI = func(_ context.Context, st *store.Store, eng *syncer.Engine, opts tui.Options) error {
		if _, err := os.Stat(opts.DBPath); err != nil {
			t.Errorf("the console started before the database existed: %v", err)
		}
		if st == nil || eng == nil || !opts.Daemon {
			t.Errorf("the console got store %v, engine %v, daemon %v", st, eng, opts.Daemon)
		}
		shown = opts.DBPath
		return nil
	}
	data := t.TempDir()
	t.Setenv("XDG_DATA_HOME", data)
	want := filepath.Join(data, "mispdesk", "mispdesk.db")
	if code, _, stderr := runT(t); code != 0 || stderr != "" || shown != want {
		t.Fatalf("exit %d, stderr %q, console on %q; want %q", code, stderr, shown, want)
	}
	// The schema is there; init can follow on the same file.
	if code, _, stderr := runT(t, "init", "--org", "Host Org"); code != 0 {
		t.Errorf("init after the console: exit %d, %s", code, stderr)
	}
	if code, _, _ := runT(t, "--db", filepath.Join(t.TempDir(), "b.db"), "console"); code != 0 {
		t.Errorf("console --db: exit %d", code)
	}
}
