package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// orgJSON is what org add --json and org list --json print, at least.
type orgJSON struct {
	ID          *int64  `json:"id"`
	UUID        *string `json:"uuid"`
	Name        *string `json:"name"`
	Local       *bool   `json:"local"`
	Description string  `json:"description"`
}

func (o orgJSON) complete() bool {
	return o.ID != nil && o.UUID != nil && o.Name != nil && o.Local != nil
}

func TestOrgAddAndList(t *testing.T) {
	db, _ := initT(t)
	const extUUID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	code, stdout, stderr := runT(t, "org", "add", "--db", db, "--name", "CIRCL", "--uuid", extUUID, "--external", "--description", "Luxembourg CERT", "--json")
	if code != 0 || stderr != "" {
		t.Fatalf("org add --external: exit %d, stderr %q", code, stderr)
	}
	var added orgJSON
	if err := json.Unmarshal([]byte(stdout), &added); err != nil || !added.complete() {
		t.Fatalf("org add --json printed %q (%v)", stdout, err)
	}
	if *added.ID != 2 || *added.UUID != extUUID || *added.Name != "CIRCL" || *added.Local || added.Description != "Luxembourg CERT" {
		t.Errorf("added %s", stdout)
	}

	// Flags before the sub-command; local is the default.
	code, stdout, stderr = runT(t, "org", "--db", db, "add", "--name", "Team B")
	if code != 0 || stderr != "" {
		t.Fatalf("org add: exit %d, stderr %q", code, stderr)
	}
	if !strings.HasPrefix(stdout, `Added local organisation "Team B" (id 3, uuid `) || strings.Count(stdout, "\n") != 1 {
		t.Errorf("org add printed %q", stdout)
	}

	code, stdout, stderr = runT(t, "--db", db, "org", "list", "--json")
	if code != 0 || stderr != "" {
		t.Fatalf("org list --json: exit %d, stderr %q", code, stderr)
	}
	var list []orgJSON
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, o := range list {
		if !o.complete() {
			t.Errorf("incomplete org in %s", stdout)
			continue
		}
		got[*o.Name] = *o.Local
	}
	if len(got) != 3 || !got["Host Org"] || got["CIRCL"] || !got["Team B"] {
		t.Errorf("org list --json: %s", stdout)
	}

	code, stdout, stderr = runT(t, "org", "list", "--db", db)
	if code != 0 || stderr != "" {
		t.Fatalf("org list: exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "ID UUID NAME POOL" ||
		!strings.Contains(stdout, extUUID+"  CIRCL") || !strings.HasSuffix(lines[1], "external") {
		t.Errorf("org list:\n%s", stdout)
	}
	if !strings.Contains(stdout, "local (host)") {
		t.Errorf("org list does not mark the host:\n%s", stdout)
	}
}

func TestOrgAddRefused(t *testing.T) {
	db, _ := initT(t)
	if code, _, stderr := runT(t, "org", "add", "--db", db, "--name", "Team B"); code != 0 {
		t.Fatal(stderr)
	}
	for _, tc := range []struct {
		args   []string
		prefix string
	}{
		{[]string{"--name", "Team B"}, `mispdesk org: add organisation "Team B": already exists (organisation "Team B" has that name or uuid)`},
		{[]string{"--name", "  "}, "mispdesk org: --name NAME is required"},
		{[]string{"--name", "X", "--uuid", "42"}, `mispdesk org: --uuid "42" is not a UUID`},
		{[]string{"--name", "X", "--local", "--external"}, "mispdesk org: --local and --external exclude each other"},
		{[]string{"--name", "X", "--bogus"}, "mispdesk org: flag provided but not defined: -bogus"},
		{[]string{"--name", "X", "extra"}, `mispdesk org: unexpected argument "extra"`},
	} {
		code, stdout, stderr := runT(t, append([]string{"org", "add", "--db", db}, tc.args...)...)
		if code != 2 || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q", tc.args, code, stdout)
		}
		wantOneLine(t, stderr, tc.prefix)
	}
	// A clash by UUID names the organisation that has it.
	code, stdout, _ := runT(t, "org", "list", "--db", db, "--json")
	var list []orgJSON
	if err := json.Unmarshal([]byte(stdout), &list); code != 0 || err != nil {
		t.Fatal(stdout, err)
	}
	code, _, stderr := runT(t, "org", "add", "--db", db, "--name", "Other", "--uuid", *list[0].UUID)
	if code != 2 {
		t.Errorf("uuid clash: exit %d", code)
	}
	wantOneLine(t, stderr, `mispdesk org: add organisation "Other": already exists (organisation "`+*list[0].Name+`"`)
}

func TestOrgSubcommands(t *testing.T) {
	db, _ := initT(t)
	for _, tc := range []struct {
		args   []string
		prefix string
	}{
		{[]string{"org"}, "mispdesk org: which one: org add|list"},
		{[]string{"org", "--db", db}, "mispdesk org: which one: org add|list"},
		{[]string{"org", "rm", "x"}, `mispdesk org: unknown command "rm": want add or list`},
	} {
		code, stdout, stderr := runT(t, tc.args...)
		if code != 2 || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q", tc.args, code, stdout)
		}
		wantOneLine(t, stderr, tc.prefix)
	}
	for _, args := range [][]string{{"org", "-h"}, {"help", "org"}, {"org", "--db", db, "--help"}} {
		code, stdout, stderr := runT(t, args...)
		if code != 0 || stderr != "" || !strings.Contains(stdout, "mispdesk "+orgAddSynopsis) || !strings.Contains(stdout, "mispdesk "+orgListSynopsis) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	for _, c := range orgCommands {
		code, stdout, _ := runT(t, "org", c.name, "-h")
		if code != 0 || !strings.HasPrefix(stdout, "usage: mispdesk "+c.synopsis+"\n") || !strings.Contains(stdout, "-db PATH") {
			t.Errorf("org %s -h: exit %d, stdout %q", c.name, code, stdout)
		}
	}
}

// Every command but init refuses a database that init has not set up, and does
// not create one.
func TestCommandsNeedAnInitialisedDatabase(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	empty := filepath.Join(dir, "empty.db")
	s := openT(t, empty) // created, schema applied, no instance
	s.Close()
	cmds := [][]string{
		{"org", "list"}, {"org", "list", "--json"}, {"org", "add", "--name", "X"},
		{"user", "list"}, {"user", "add", "--email", "a@b.example", "--org", "X", "--role", "user"},
		{"import", "x.json"}, {"export", "--out", "x"}, {"event", "list"}, {"event", "show", "1"},
		{"server", "list"}, {"server", "show", "x"}, {"server", "rm", "x", "--yes"},
	}
	for _, db := range []string{missing, empty} {
		for _, args := range cmds {
			code, stdout, stderr := runT(t, append(args, "--db", db)...)
			if code != 2 || stdout != "" {
				t.Errorf("%v on %s: exit %d, stdout %q", args, filepath.Base(db), code, stdout)
			}
			if !strings.Contains(stderr, "run mispdesk init --org NAME --db "+db) {
				t.Errorf("%v on %s: stderr %q", args, filepath.Base(db), stderr)
			}
			wantOneLine(t, stderr, "mispdesk "+args[0]+": ")
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("a command created %s: %v", missing, err)
	}
}
