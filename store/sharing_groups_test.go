package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"mispdesk/store/misp"
)

// sgOrgs is "name:extend" of each member organisation.
func sgOrgs(sg *misp.SharingGroup) string {
	var out []string
	for _, m := range sg.SharingGroupOrg {
		e := "0"
		if m.Extend {
			e = "1"
		}
		out = append(out, m.Organisation.Name+":"+e)
	}
	return strings.Join(out, " ")
}

// sgServers is "id:url:all_orgs" of each member server.
func sgServers(sg *misp.SharingGroup) string {
	var out []string
	for _, m := range sg.SharingGroupServer {
		a := "0"
		if m.AllOrgs {
			a = "1"
		}
		out = append(out, strings.Join([]string{string(rune('0' + m.ServerID)), m.Server.URL, a}, ":"))
	}
	return strings.Join(out, " ")
}

func TestAddSharingGroup(t *testing.T) {
	ctx := context.Background()
	s, _ := openClocked(t)
	if _, err := s.AddSharingGroup(ctx, NewSharingGroup{Name: "SG"}); !errors.Is(err, ErrNotInitialised) {
		t.Errorf("no host org: err = %v", err)
	}
	if _, err := s.Init(ctx, InitOptions{OrgName: "HOST"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetBaseURL(ctx, "https://me.example"); err != nil {
		t.Fatal(err)
	}
	mustOrg(t, s, "PARTNER")
	sg, err := s.AddSharingGroup(ctx, NewSharingGroup{Name: " Trusted ", Releasability: "TLP:AMBER partners", Description: "d"})
	if err != nil {
		t.Fatal(err)
	}
	if sg.Name != "Trusted" || !misp.IsUUID(sg.UUID) || sg.Organisation.Name != "HOST" || sg.OrganisationUUID != sg.Organisation.UUID ||
		!bool(sg.Local) || !sg.Active.True(false) || bool(sg.Roaming) || sg.Created != "2025-03-01 12:00:00" || sg.Releasability != "TLP:AMBER partners" {
		t.Errorf("sharing group = %+v", sg)
	}
	if got := sgOrgs(sg); got != "HOST:1" {
		t.Errorf("orgs = %s", got)
	}
	if got := sgServers(sg); got != "0:https://me.example:0" || sg.SharingGroupServer[0].Server.Name != "Local instance" {
		t.Errorf("servers = %s", got)
	}
	for _, ref := range []string{"trusted", sg.UUID, strings.ToUpper(sg.UUID), "1"} {
		if got, err := sharingGroupByRef(ctx, s, ref); err != nil || got.UUID != sg.UUID {
			t.Errorf("SharingGroup(%q) = %v, %v", ref, got, err)
		}
	}
	if _, err := sharingGroupByRef(ctx, s, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
	if _, err := s.AddSharingGroup(ctx, NewSharingGroup{Name: "TRUSTED"}); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate name: %v", err)
	}
	if _, err := s.AddSharingGroup(ctx, NewSharingGroup{Name: "Other", UUID: sg.UUID}); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate uuid: %v", err)
	}
	if _, err := s.AddSharingGroup(ctx, NewSharingGroup{Name: "Other", OrgRef: "NOBODY"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown org: %v", err)
	}
	for _, bad := range []NewSharingGroup{{Name: ""}, {Name: "X", UUID: "123"}} {
		if _, err := s.AddSharingGroup(ctx, bad); err == nil {
			t.Errorf("AddSharingGroup(%+v) succeeded", bad)
		}
	}
	p, err := s.AddSharingGroup(ctx, NewSharingGroup{Name: "Partner's", OrgRef: "PARTNER", Roaming: true})
	if err != nil || p.Organisation.Name != "PARTNER" || !bool(p.Roaming) || sgOrgs(p) != "PARTNER:1" {
		t.Fatalf("sharing group of PARTNER = %+v, %v", p, err)
	}
	list, err := s.SharingGroups(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "Partner's" || list[1].Name != "Trusted" {
		t.Fatalf("SharingGroups = %+v, %v", list, err)
	}
	b, err := json.Marshal(list[1])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"SharingGroupOrg":[{`, `"Organisation":{`, `"SharingGroupServer":[{`, `"server_id":"0"`, `"url":"https://me.example"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("sharing group JSON lacks %s: %s", want, b)
		}
	}
}

func TestSharingGroupMembers(t *testing.T) {
	ctx := context.Background()
	s, clock := openClocked(t)
	if _, err := s.Init(ctx, InitOptions{OrgName: "HOST"}); err != nil {
		t.Fatal(err)
	}
	partner := mustOrg(t, s, "PARTNER").ID
	sg, err := s.AddSharingGroup(ctx, NewSharingGroup{Name: "SG"})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := s.AddServer(ctx, ServerSpec{Name: "peer", URL: "https://peer.example", Authkey: testKey, RemoteOrgRef: "PARTNER"})
	if err != nil {
		t.Fatal(err)
	}
	clock.advance(61 * time.Second)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	id := SharingGroupID(sg.ID)
	server := func(ref string) ServerID {
		t.Helper()
		id, err := s.ResolveSharingGroupServer(ctx, ref)
		must(err)
		return id
	}
	must(s.AddSharingGroupOrg(ctx, id, OrgID(partner), false))
	must(s.AddSharingGroupOrg(ctx, id, OrgID(partner), true)) // changes extend
	must(s.AddSharingGroupServer(ctx, id, server("peer"), true))
	must(s.AddSharingGroupServer(ctx, id, server("local"), true))
	got, err := sharingGroupByRef(ctx, s, "SG")
	must(err)
	if o, v := sgOrgs(got), sgServers(got); o != "HOST:1 PARTNER:1" || v != "0::1 1:https://peer.example:1" {
		t.Errorf("members = %s / %s", o, v)
	}
	if got.Modified != "2025-03-01 12:01:01" || got.Modified == sg.Modified {
		t.Errorf("modified = %s, want bumped", got.Modified)
	}
	if got.SharingGroupServer[1].Server.Name != "peer" || ServerID(got.SharingGroupServer[1].ServerID) != srv.ID {
		t.Errorf("server entry = %+v", got.SharingGroupServer[1].Server)
	}

	_, unknownServer := s.ResolveSharingGroupServer(ctx, "NOPE")
	for what, err := range map[string]error{
		"unknown group":      s.AddSharingGroupOrg(ctx, id+100, OrgID(partner), false),
		"unknown server":     unknownServer,
		"add unknown server": s.AddSharingGroupServer(ctx, id, srv.ID+100, false),
		"remove non-member":  s.RemoveSharingGroupOrg(ctx, id, OrgID(mustOrg(t, s, "OTHER").ID)),
		"remove from none":   s.RemoveSharingGroupServer(ctx, id+100, 0),
		"remove unknown srv": s.RemoveSharingGroupServer(ctx, id, srv.ID+100),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", what, err)
		}
	}
	must(s.RemoveSharingGroupOrg(ctx, id, OrgID(partner)))
	must(s.RemoveSharingGroupServer(ctx, id, server("0")))
	if err := s.RemoveSharingGroupServer(ctx, id, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove twice: %v", err)
	}
	// Deleting the server takes it out of the group.
	must(s.DeleteServer(ctx, srv.ID))
	got, err = sharingGroupByRef(ctx, s, "SG")
	must(err)
	if o, v := sgOrgs(got), sgServers(got); o != "HOST:1" || v != "" {
		t.Errorf("members after removals = %q / %q", o, v)
	}
}

// capture runs captureSharingGroup in a transaction of its own.
func capture(t *testing.T, s *Store, in *misp.SharingGroup, orgID OrgID) (int64, error) {
	t.Helper()
	var id int64
	err := s.tx(context.Background(), func(tx *sql.Tx) error {
		var err error
		id, err = s.captureSharingGroup(context.Background(), tx, in, orgID)
		return err
	})
	return id, err
}

func decodeSG(t *testing.T, js string) *misp.SharingGroup {
	t.Helper()
	var sg misp.SharingGroup
	if err := json.Unmarshal([]byte(js), &sg); err != nil {
		t.Fatal(err)
	}
	return &sg
}

func TestCaptureSharingGroup(t *testing.T) {
	ctx := context.Background()
	s, _ := initTest(t)
	host, _ := findOrg(ctx, s.read, "HOST")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.SetBaseURL(ctx, "https://me.example"))
	peer, err := s.AddServer(ctx, ServerSpec{Name: "peer", URL: "https://peer.example", Authkey: testKey, RemoteOrgRef: "REMOTE"})
	must(err)
	const sgUUID = "11111111-2222-4333-8444-555555555555"
	in := decodeSG(t, `{"id":"7","uuid":"`+sgUUID+`","name":"Remote SG","releasability":"r1","description":"d1",
		"organisation_uuid":"aaaaaaaa-0000-4000-8000-000000000001","active":true,"local":false,"roaming":false,
		"created":"2024-01-01 10:00:00","modified":"2024-01-01 10:00:00","sync_user_id":"3","org_count":"2",
		"Organisation":{"id":"9","name":"Creator","uuid":"aaaaaaaa-0000-4000-8000-000000000001"},
		"SharingGroupOrg":[
			{"id":"1","sharing_group_id":"7","org_id":"9","extend":true,"Organisation":{"id":"9","name":"Creator","uuid":"aaaaaaaa-0000-4000-8000-000000000001"}},
			{"id":"2","sharing_group_id":"7","org_id":"12","extend":false,"Organisation":{"id":"12","name":"REMOTE","uuid":"bbbbbbbb-0000-4000-8000-000000000002"}},
			{"id":"3","sharing_group_id":"7","org_id":"13"}],
		"SharingGroupServer":[
			{"server_id":"0","all_orgs":false,"Server":{"id":"0","url":"https://peer.example","name":"Local instance"}},
			{"server_id":"4","all_orgs":true,"Server":{"id":"4","url":"https://me.example/","name":"them to us"}},
			{"server_id":"5","all_orgs":true,"Server":{"id":"5","url":"https://stranger.example","name":"x"}}]}`)
	id, err := capture(t, s, in, host.ID)
	must(err)
	got, err := sharingGroupByRef(ctx, s, sgUUID)
	must(err)
	if int64(got.ID) != id || got.Name != "Remote SG" || bool(got.Local) || got.Organisation.Name != "Creator" || got.Created != "2024-01-01 10:00:00" {
		t.Errorf("captured = %+v", got)
	}
	// REMOTE is known by name but arrives with another UUID: MISP captures by UUID and
	// suffixes the clashing name.
	if o := sgOrgs(got); o != "Creator:1 REMOTE_1:0 HOST:0" {
		t.Errorf("orgs = %s", o)
	}
	if v := sgServers(got); v != "1:https://peer.example:0 0:https://me.example:1" || ServerID(got.SharingGroupServer[0].ServerID) != peer.ID {
		t.Errorf("servers = %s", v)
	}
	if _, ok := got.Extra["org_count"]; !ok {
		t.Errorf("unknown members lost: %v", got.Extra)
	}

	// Same or older modified: nothing changes.
	older := decodeSG(t, `{"uuid":"`+sgUUID+`","name":"Renamed","modified":"2024-01-01 10:00:00",
		"SharingGroupOrg":[{"extend":true,"Organisation":{"name":"New","uuid":"cccccccc-0000-4000-8000-000000000003"}}]}`)
	if id2, err := capture(t, s, older, host.ID); err != nil || id2 != id {
		t.Fatalf("older capture = %d, %v", id2, err)
	}
	got, _ = sharingGroupByRef(ctx, s, sgUUID)
	if got.Name != "Remote SG" || sgOrgs(got) != "Creator:1 REMOTE_1:0 HOST:0" {
		t.Errorf("an older copy changed the group: %s, %s", got.Name, sgOrgs(got))
	}
	// Newer: fields and members update.
	newer := decodeSG(t, `{"uuid":"`+sgUUID+`","name":"Renamed","releasability":"r2","description":"d2","roaming":true,
		"modified":"2024-02-01 10:00:00","SharingGroupOrg":[{"extend":true,"Organisation":{"name":"REMOTE_1","uuid":"bbbbbbbb-0000-4000-8000-000000000002"}}],
		"SharingGroupServer":[]}`)
	if _, err := capture(t, s, newer, host.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = sharingGroupByRef(ctx, s, sgUUID)
	if got.Name != "Renamed" || got.Releasability != "r2" || got.Description != "d2" || !bool(got.Roaming) || got.Modified != "2024-02-01 10:00:00" ||
		sgOrgs(got) != "Creator:1 REMOTE_1:1 HOST:0" {
		t.Errorf("newer capture: %+v orgs %s", got, sgOrgs(got))
	}

	// A group created here is never changed by a capture.
	mine, err := s.AddSharingGroup(ctx, NewSharingGroup{Name: "Mine"})
	must(err)
	hijack := decodeSG(t, `{"uuid":"`+mine.UUID+`","name":"Hijacked","modified":"2999-01-01 00:00:00",
		"SharingGroupOrg":[{"extend":true,"Organisation":{"name":"Evil","uuid":"dddddddd-0000-4000-8000-000000000004"}}]}`)
	if id, err := capture(t, s, hijack, host.ID); err != nil || id != int64(mine.ID) {
		t.Fatalf("capture of a local group = %d, %v", id, err)
	}
	got, _ = sharingGroupByRef(ctx, s, mine.UUID)
	if got.Name != "Mine" || sgOrgs(got) != "HOST:1" {
		t.Errorf("a capture changed a local group: %s %s", got.Name, sgOrgs(got))
	}

	// A second group of the same name makes the name ambiguous, not wrong.
	if _, err := capture(t, s, decodeSG(t, `{"uuid":"99999999-2222-4333-8444-555555555555","name":"Renamed"}`), host.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := sharingGroupByRef(ctx, s, "Renamed"); err == nil || !strings.Contains(err.Error(), "2 sharing groups") {
		t.Errorf("ambiguous name: %v", err)
	}

	for _, bad := range []string{`{"uuid":"nope","name":"x"}`, `{"uuid":"12345678-2222-4333-8444-555555555555","name":" "}`} {
		if _, err := capture(t, s, decodeSG(t, bad), host.ID); err == nil {
			t.Errorf("captured %s", bad)
		}
	}
}

// sharingGroupByRef reads the sharing group ref names (id, UUID or name).
func sharingGroupByRef(ctx context.Context, s *Store, ref string) (*misp.SharingGroup, error) {
	id, err := s.ResolveSharingGroup(ctx, ref)
	if err != nil {
		return nil, err
	}
	return s.SharingGroup(ctx, id)
}
