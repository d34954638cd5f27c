package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestRoles(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	roles, err := s.Roles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range roles {
		names = append(names, r.Name)
	}
	if got := strings.Join(names, " "); got != "admin org_admin user publisher sync read_only" {
		t.Fatalf("roles = %s", got)
	}
	sync, err := ReadByRef(ctx, s.ResolveRole, s.Role, "sync")
	if err != nil {
		t.Fatal(err)
	}
	if !sync.PermSync || !sync.PermAuth || sync.PermSiteAdmin || !sync.PermSharingGroup || !sync.PermGalaxyEditor {
		t.Errorf("sync role perms wrong: %+v", sync)
	}
	if byID, err := ReadByRef(ctx, s.ResolveRole, s.Role, "5"); err != nil || byID.Name != "sync" {
		t.Errorf("Role(5) = %v, %v", byID, err)
	}
	if r, err := ReadByRef(ctx, s.ResolveRole, s.Role, "Read_Only"); err != nil || r.PermAdd || !r.PermAuth {
		t.Errorf("Role(Read_Only) = %+v, %v", r, err)
	}
	b, _ := json.Marshal(sync)
	if !strings.Contains(string(b), `"perm_sync":true`) || !strings.Contains(string(b), `"perm_site_admin":false`) {
		t.Errorf("role JSON lacks MISP's names: %s", b)
	}
	for _, ref := range []string{"superuser", "99", ""} {
		if _, err := ReadByRef(ctx, s.ResolveRole, s.Role, ref); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), ref) {
			t.Errorf("Role(%q) err = %v, want ErrNotFound naming it", ref, err)
		}
	}
}

func TestAddUser(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	org := mustOrg(t, s, "ORGA")
	u, key, err := s.AddUser(ctx, NewUser{Email: "sync@orga.test", OrgRef: org.UUID, RoleRef: "sync"})
	if err != nil {
		t.Fatal(err)
	}
	if !IsAuthKey(key) {
		t.Errorf("clear key %q is not a MISP key", key)
	}
	if u.Org.Name != "ORGA" || u.Role.Name != "sync" || !u.Role.PermSync || u.ID == 0 {
		t.Errorf("user = %+v", u)
	}
	p, err := s.Authenticate(ctx, key, "127.0.0.1")
	if err != nil || p.User.ID != u.ID {
		t.Fatalf("the first key does not authenticate: %v", err)
	}
	for _, ref := range []string{"sync@orga.test", "SYNC@ORGA.TEST", "1"} {
		got, err := findUser(ctx, s.read, ref)
		if err != nil || got.Email != "sync@orga.test" || got.Org.UUID != org.UUID || !got.Role.PermSync {
			t.Errorf("User(%q) = %+v, %v", ref, got, err)
		}
	}
	if _, _, err := s.AddUser(ctx, NewUser{Email: "Sync@orga.test", OrgRef: "ORGA", RoleRef: "user"}); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate email: err = %v, want ErrConflict", err)
	}
	if _, _, err := s.AddUser(ctx, NewUser{Email: "a@orga.test", OrgRef: "NOPE", RoleRef: "user"}); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"NOPE"`) {
		t.Errorf("unknown org: err = %v", err)
	}
	if _, _, err := s.AddUser(ctx, NewUser{Email: "a@orga.test", OrgRef: "ORGA", RoleRef: "boss"}); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"boss"`) {
		t.Errorf("unknown role: err = %v", err)
	}
	for _, bad := range []string{"", "nobody", "a b@c.test", "Name <a@b.test>", "a@localhost", "@x.test"} {
		if _, _, err := s.AddUser(ctx, NewUser{Email: bad, OrgRef: "ORGA", RoleRef: "user"}); err == nil {
			t.Errorf("email %q accepted", bad)
		}
	}
	users, err := s.Users(ctx)
	if err != nil || len(users) != 1 {
		t.Fatalf("Users = %v, %v; want the one user", users, err)
	}
	if _, err := findUser(ctx, s.read, "ghost@x.test"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: err = %v", err)
	}
	disabled := true
	if _, err := s.UpdateUser(ctx, mustResolve(t, s.ResolveUser, "sync@orga.test"), UserChange{Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	if got, _ := findUser(ctx, s.read, "sync@orga.test"); !got.Disabled {
		t.Error("user not disabled")
	}
	if _, err := s.UpdateUser(ctx, 999, UserChange{Disabled: &disabled}); !errors.Is(err, ErrNotFound) {
		t.Errorf("disable unknown user: err = %v", err)
	}
}
