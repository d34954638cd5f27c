package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mispdesk/store"
)

// openT opens the database at path for a test's checks.
func openT(t *testing.T, path string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// lastLine is the last line of out, which must end in a newline.
func lastLine(t *testing.T, out string) string {
	t.Helper()
	if !strings.HasSuffix(out, "\n") {
		t.Fatalf("output does not end in a newline: %q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	return lines[len(lines)-1]
}

// initT initialises a new database in a temporary directory and returns its
// path and the admin's key.
func initT(t *testing.T, extra ...string) (string, string) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "m.db")
	code, stdout, stderr := runT(t, append([]string{"init", "--db", db, "--org", "Host Org"}, extra...)...)
	if code != 0 || stderr != "" {
		t.Fatalf("init: exit %d, stderr %q", code, stderr)
	}
	return db, lastLine(t, stdout)
}

func TestInitPrintsKeyOnLastLine(t *testing.T) {
	db, key := initT(t)
	if !store.IsAuthKey(key) {
		t.Fatalf("last line %q is not a 40-character key", key)
	}
	p, err := openT(t, db).Authenticate(context.Background(), key, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if p.User.Email != store.DefaultAdminEmail || !p.User.Role.PermSiteAdmin || p.User.Org.Name != "Host Org" || !p.User.Org.Local {
		t.Errorf("key authenticates %+v", p.User)
	}
}

func TestInitJSONContract(t *testing.T) {
	db := filepath.Join(t.TempDir(), "m.db")
	const orgUUID = "5f6e7d8c-1a2b-4c3d-9e8f-0a1b2c3d4e5f"
	code, stdout, stderr := runT(t, "init", "--json", "--org", "ACME <CERT>", "--org-uuid", strings.ToUpper(orgUUID), "--admin", "root@acme.example", "--db", db)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if strings.Count(stdout, "\n") != 1 {
		t.Errorf("want one line of JSON, got %q", stdout)
	}
	// Exactly these members, with these JSON types.
	var got map[string]map[string]any
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(stdout), &top); err != nil {
		t.Fatal(err)
	}
	if len(top) != 3 || top["org"] == nil || top["admin"] == nil || top["authkey"] == nil {
		t.Fatalf("top-level members: %s", stdout)
	}
	var key string
	if err := json.Unmarshal(top["authkey"], &key); err != nil || !store.IsAuthKey(key) {
		t.Errorf("authkey %s: %v", top["authkey"], err)
	}
	delete(top, "authkey")
	b, _ := json.Marshal(top)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]any{
		"org":   {"id": float64(1), "uuid": orgUUID, "name": "ACME <CERT>"},
		"admin": {"id": float64(1), "email": "root@acme.example"},
	}
	for obj, members := range want {
		if len(got[obj]) != len(members) {
			t.Errorf("%s has members %v, want exactly %v", obj, got[obj], members)
		}
		for k, v := range members {
			if got[obj][k] != v {
				t.Errorf("%s.%s = %#v, want %#v", obj, k, got[obj][k], v)
			}
		}
	}
	if !strings.Contains(stdout, `"name":"ACME <CERT>"`) {
		t.Errorf("HTML characters escaped: %s", stdout)
	}
	p, err := openT(t, db).Authenticate(context.Background(), key, "127.0.0.1")
	if err != nil || p.User.Email != "root@acme.example" {
		t.Errorf("authkey: %v", err)
	}
}

func TestInitTwiceChangesNothing(t *testing.T) {
	db, key := initT(t)
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"init", "--db", db, "--org", "Other"},
		{"init", "--db", db, "--org", "Host Org", "--json"},
	} {
		code, stdout, stderr := runT(t, args...)
		if code != 2 || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q", args, code, stdout)
		}
		wantOneLine(t, stderr, "mispdesk init: database "+db+` is already initialised (host organisation "Host Org"); nothing changed`)
	}
	s := openT(t, db)
	ctx := context.Background()
	orgs, err := s.Orgs(ctx)
	if err != nil || len(orgs) != 1 {
		t.Errorf("orgs %v, %v; want only the host", orgs, err)
	}
	users, err := s.Users(ctx)
	if err != nil || len(users) != 1 {
		t.Errorf("users %v, %v; want only the admin", users, err)
	}
	if _, err := s.Authenticate(ctx, key, "127.0.0.1"); err != nil {
		t.Errorf("the first key no longer works: %v", err)
	}
	s.Close()
	after, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) < len(before) {
		t.Errorf("database shrank from %d to %d bytes", len(before), len(after))
	}
}

func TestInitBadUsage(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "m.db")
	for _, tc := range []struct {
		args   []string
		prefix string
	}{
		{[]string{"init", "--db", db}, "mispdesk init: --org NAME is required"},
		{[]string{"init", "--db", db, "--org", "  "}, "mispdesk init: --org NAME is required"},
		{[]string{"init", "--db", db, "--org", "A", "--org-uuid", "not-a-uuid"}, `mispdesk init: --org-uuid "not-a-uuid" is not a UUID`},
		{[]string{"init", "--db", db, "--org", "A", "--admin", "Root <root@a.example>"}, `mispdesk init: --admin "Root <root@a.example>": not an e-mail address`},
		{[]string{"init", "--db", db, "--org", "A", "--bogus"}, "mispdesk init: flag provided but not defined: -bogus"},
		{[]string{"init", "--db", db, "--org", "A", "extra"}, `mispdesk init: unexpected argument "extra"`},
		{[]string{"init", "--db", db, "--org"}, "mispdesk init: flag needs an argument: -org"},
	} {
		code, stdout, stderr := runT(t, tc.args...)
		if code != 2 || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q", tc.args, code, stdout)
		}
		wantOneLine(t, stderr, tc.prefix)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("a refused init left a database behind: %v", err)
	}
}

func TestInitHumanOutputIsSafe(t *testing.T) {
	db := filepath.Join(t.TempDir(), "m.db")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"init", "--db", db, "--org", "Evil\x1b]0;pwned\x07Org"}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if strings.ContainsAny(stdout.String(), "\x1b\x07") {
		t.Errorf("control characters reach the terminal: %q", stdout.String())
	}
}
