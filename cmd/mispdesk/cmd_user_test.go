package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"mispdesk/store"
)

func TestUserAddJSONKeyAuthenticates(t *testing.T) {
	db, _ := initT(t)
	if code, _, stderr := runT(t, "org", "add", "--db", db, "--name", "Peer CERT", "--external"); code != 0 {
		t.Fatal(stderr)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		email, org, role string
		check            func(store.Role) bool
	}{
		{"sync@peer.example", "Peer CERT", "sync", func(r store.Role) bool { return r.PermSync && r.PermAuth && !r.PermSiteAdmin && !r.PermAdmin }},
		{"pub@host.example", "1", "publisher", func(r store.Role) bool { return r.PermPublish && r.PermAdd && !r.PermSync && !r.PermSiteAdmin }},
		{"ro@host.example", "host org", "read_only", func(r store.Role) bool { return r.PermAuth && !r.PermAdd && !r.PermPublish }},
	} {
		code, stdout, stderr := runT(t, "user", "add", "--db", db, "--email", tc.email, "--org", tc.org, "--role", tc.role, "--json")
		if code != 0 || stderr != "" {
			t.Fatalf("%s: exit %d, stderr %q", tc.email, code, stderr)
		}
		var got struct {
			ID      store.UserID `json:"id"`
			Email   string       `json:"email"`
			OrgID   store.OrgID  `json:"org_id"`
			AuthKey string       `json:"authkey"`
			Org     struct {
				Name string `json:"name"`
				UUID string `json:"uuid"`
			} `json:"Organisation"`
			Role struct {
				Name string `json:"name"`
			} `json:"Role"`
		}
		if err := json.Unmarshal([]byte(stdout), &got); err != nil || strings.Count(stdout, "\n") != 1 {
			t.Fatalf("%s: %q: %v", tc.email, stdout, err)
		}
		if got.ID == 0 || got.Email != tc.email || got.Role.Name != tc.role || got.Org.UUID == "" || !store.IsAuthKey(got.AuthKey) {
			t.Errorf("%s: printed %s", tc.email, stdout)
		}
		p, err := openT(t, db).Authenticate(ctx, got.AuthKey, "127.0.0.1")
		if err != nil {
			t.Fatalf("%s: key does not authenticate: %v", tc.email, err)
		}
		if p.User.ID != got.ID || p.User.OrgID != got.OrgID || p.User.Role.Name != tc.role || !tc.check(p.User.Role) {
			t.Errorf("%s: key authenticates %+v with role %+v", tc.email, p.User, p.User.Role)
		}
	}

	// Human output: the key alone on the last line.
	code, stdout, stderr := runT(t, "user", "add", "--db", db, "--email", "ana@host.example", "--org", "Host Org", "--role", "org_admin")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	key := lastLine(t, stdout)
	if !strings.HasPrefix(stdout, `Added user "ana@host.example" (id 5) of "Host Org" with role org_admin;`) || !store.IsAuthKey(key) {
		t.Errorf("user add printed %q", stdout)
	}
	if p, err := openT(t, db).Authenticate(ctx, key, "::1"); err != nil || !p.User.Role.PermAdmin || p.User.Role.PermSiteAdmin {
		t.Errorf("org admin key: %v", err)
	}

	// user list never shows a key.
	code, stdout, stderr = runT(t, "user", "list", "--db", db, "--json")
	if code != 0 || stderr != "" {
		t.Fatalf("user list --json: exit %d, stderr %q", code, stderr)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(stdout), &list); err != nil || len(list) != 5 {
		t.Fatalf("user list --json: %v, %s", err, stdout)
	}
	for _, u := range list {
		if u["email"] == nil || u["id"] == nil || u["Organisation"] == nil || u["Role"] == nil {
			t.Errorf("user list --json entry %v", u)
		}
	}
	if strings.Contains(stdout, key) || strings.Contains(stdout, "authkey") {
		t.Errorf("user list --json shows a key: %s", stdout)
	}
	code, stdout, stderr = runT(t, "user", "list", "--db", db)
	if code != 0 || stderr != "" || strings.Contains(stdout, key) {
		t.Fatalf("user list: exit %d, stderr %q, stdout %q", code, stderr, stdout)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 6 || strings.Join(strings.Fields(lines[0]), " ") != "ID EMAIL ORG ROLE STATUS" ||
		!strings.Contains(stdout, "sync@peer.example  Peer CERT") || !strings.Contains(stdout, "admin@admin.test   Host Org   admin") {
		t.Errorf("user list:\n%s", stdout)
	}
}

func TestUserAddRefused(t *testing.T) {
	db, _ := initT(t)
	if code, _, stderr := runT(t, "user", "add", "--db", db, "--email", "a@host.example", "--org", "Host Org", "--role", "user"); code != 0 {
		t.Fatal(stderr)
	}
	for _, tc := range []struct {
		args   []string
		prefix string
	}{
		{[]string{"--email", "b@host.example", "--org", "Host Org", "--role", "superuser"},
			`mispdesk user: unknown role "superuser": want admin, org_admin, user, publisher, sync or read_only`},
		{[]string{"--email", "b@host.example", "--org", "Nobody", "--role", "user"}, `mispdesk user: unknown organisation "Nobody"`},
		{[]string{"--email", "A@host.example", "--org", "Host Org", "--role", "user"}, `mispdesk user: add user "A@host.example": already exists (user "a@host.example")`},
		{[]string{"--email", "not an address", "--org", "Host Org", "--role", "user"}, `mispdesk user: --email "not an address": not an e-mail address`},
		{[]string{"--org", "Host Org", "--role", "user"}, "mispdesk user: --email EMAIL is required"},
		{[]string{"--email", "b@host.example", "--role", "user"}, "mispdesk user: --org NAME|UUID|ID is required"},
		{[]string{"--email", "b@host.example", "--org", "Host Org"}, "mispdesk user: --role ROLE is required"},
		{[]string{"--email", "b@host.example", "--org", "Host Org", "--role", "user", "--key", "x"}, "mispdesk user: flag provided but not defined: -key"},
	} {
		code, stdout, stderr := runT(t, append([]string{"user", "add", "--db", db}, tc.args...)...)
		if code != 2 || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q", tc.args, code, stdout)
		}
		wantOneLine(t, stderr, tc.prefix)
	}
	users, err := openT(t, db).Users(context.Background())
	if err != nil || len(users) != 2 {
		t.Errorf("users after refusals: %d, %v", len(users), err)
	}
}
