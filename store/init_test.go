package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"mispdesk/store/misp"
)

// dumpAll is every row of the tables Init writes, for "nothing changed" checks.
func dumpAll(t *testing.T, s *Store) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT key || '=' || value FROM settings ORDER BY key`,
		`SELECT id || ' ' || uuid || ' ' || name || ' ' || local FROM orgs ORDER BY id`,
		`SELECT id || ' ' || email || ' ' || org_id || ' ' || role_id FROM users ORDER BY id`,
		`SELECT id || ' ' || hex(key_hash) FROM auth_keys ORDER BY id`,
	} {
		rows, err := s.read.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			rows.Scan(&line)
			b.WriteString(line + "\n")
		}
		rows.Close()
	}
	return b.String()
}

func TestInit(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if _, err := s.Instance(ctx); !errors.Is(err, ErrNotInitialised) {
		t.Fatalf("fresh database: Instance err = %v", err)
	}
	const orgUUID = "5d9a4d1e-8b1c-4a55-9a7e-6c1f1b2b3c4d"
	res, err := s.Init(ctx, InitOptions{OrgName: " ORGA ", OrgUUID: strings.ToUpper(orgUUID)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Org.Name != "ORGA" || res.Org.UUID != orgUUID || !res.Org.Local || res.Org.ID == 0 {
		t.Errorf("org = %+v", res.Org)
	}
	if res.Admin.Email != DefaultAdminEmail || !res.Admin.Role.PermSiteAdmin || res.Admin.OrgID != res.Org.ID {
		t.Errorf("admin = %+v", res.Admin)
	}
	inst, err := s.Instance(ctx)
	if err != nil || inst.HostOrg.ID != res.Org.ID || !misp.IsUUID(inst.UUID) {
		t.Fatalf("Instance = %+v, %v", inst, err)
	}
	p, err := s.Authenticate(ctx, res.AuthKey, "127.0.0.1")
	if err != nil || p.User.ID != res.Admin.ID || !p.User.Role.PermSiteAdmin {
		t.Fatalf("admin key: %+v, %v", p, err)
	}

	before := dumpAll(t, s)
	_, err = s.Init(ctx, InitOptions{OrgName: "ORGB", AdminEmail: "root@orgb.test"})
	if !errors.Is(err, ErrAlreadyInitialised) || !strings.Contains(err.Error(), `"ORGA"`) {
		t.Fatalf("second Init: err = %v, want ErrAlreadyInitialised naming ORGA", err)
	}
	if after := dumpAll(t, s); after != before {
		t.Errorf("second Init changed the database:\n%s\nthen:\n%s", before, after)
	}
}

func TestInitRefusesBadInputAtomically(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	for _, opts := range []InitOptions{
		{OrgName: ""},
		{OrgName: "ORGA", OrgUUID: "not-a-uuid"},
		{OrgName: "ORGA", AdminEmail: "root"},
	} {
		if _, err := s.Init(ctx, opts); err == nil {
			t.Errorf("Init(%+v) succeeded", opts)
		}
	}
	// The failed admin e-mail must not leave the org behind.
	if orgs, _ := s.Orgs(ctx); len(orgs) != 0 {
		t.Errorf("a failed Init left organisations: %+v", orgs)
	}
	if _, err := s.Instance(ctx); !errors.Is(err, ErrNotInitialised) {
		t.Errorf("a failed Init left an instance: %v", err)
	}
	res, err := s.Init(ctx, InitOptions{OrgName: "ORGA", AdminEmail: "root@orga.test"})
	if err != nil || res.Admin.Email != "root@orga.test" {
		t.Fatalf("Init after failures: %+v, %v", res, err)
	}
}
