package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// initTest opens a database initialised with host org HOST and a known remote org REMOTE.
func initTest(t *testing.T) (*Store, *InitResult) {
	t.Helper()
	s := openTest(t)
	res, err := s.Init(context.Background(), InitOptions{OrgName: "HOST"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddOrg(context.Background(), Org{Name: "REMOTE"}); err != nil {
		t.Fatal(err)
	}
	return s, res
}

var testKey = strings.Repeat("aB3", 13) + "x"

func TestAddServer(t *testing.T) {
	ctx := context.Background()
	s, _ := initTest(t)
	a, err := s.AddServer(ctx, ServerSpec{Name: "Server A", URL: " https://misp-a.example.org:8443/ ", Authkey: testKey,
		RemoteOrgRef: "REMOTE", ServerOptions: ServerOptions{Push: true, PushSightings: true, SelfSigned: true, CertFile: "PEM"}})
	if err != nil {
		t.Fatal(err)
	}
	if a.URL != "https://misp-a.example.org:8443" || a.Organisation.Name != "HOST" || a.RemoteOrg.Name != "REMOTE" ||
		!a.Push || a.Pull || !a.PushSightings || !a.SelfSigned || a.CertFile != "PEM" || a.Priority != 1 || a.Authkey != testKey {
		t.Errorf("server = %+v", a)
	}
	if a.PushRules != DefaultPushRules || a.PullRules != DefaultPullRules {
		t.Errorf("rules = %s / %s, want MISP's defaults", a.PushRules, a.PullRules)
	}
	b, err := s.AddServer(ctx, ServerSpec{Name: "B", URL: "http://10.0.0.2", Authkey: testKey, OrgRef: "HOST", RemoteOrgRef: "HOST",
		ServerOptions: ServerOptions{Pull: true, Internal: true, PullRules: `{"tags":{"OR":["tlp:green"],"NOT":[]}}`}})
	if err != nil {
		t.Fatal(err)
	}
	if b.Priority != 2 || !b.Internal || !strings.Contains(b.PullRules, "tlp:green") {
		t.Errorf("second server = %+v", b)
	}

	js, _ := json.Marshal(a)
	for _, want := range []string{`"url":"https://misp-a.example.org:8443"`, `"push_sightings":true`, `"remote_org_id":`, `"lastpushedid":0`, `"RemoteOrg":{`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("server JSON lacks %s: %s", want, js)
		}
	}
	if strings.Contains(string(js), testKey) || strings.Contains(string(js), "authkey") {
		t.Errorf("server JSON shows the authkey: %s", js)
	}

	list, err := s.Servers(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "Server A" || list[1].Name != "B" {
		t.Fatalf("Servers = %+v, %v", list, err)
	}
	for _, ref := range []string{"server a", " 1 "} {
		if id, err := s.ResolveServer(ctx, ref); err != nil || id != a.ID {
			t.Errorf("ResolveServer(%q) = %v, %v", ref, id, err)
		}
	}
	if got, err := s.Server(ctx, a.ID); err != nil || got.Name != "Server A" {
		t.Errorf("Server(%d) = %v, %v", a.ID, got, err)
	}
	if key, err := s.ServerAuthKey(ctx, mustResolve(t, s.ResolveServer, "B")); err != nil || key != testKey {
		t.Errorf("ServerAuthKey = %q, %v", key, err)
	}
	if _, err := s.ResolveServer(ctx, "C"); !errors.Is(err, ErrNotFound) || err.Error() != `server "C": not found` {
		t.Errorf("unknown server: %v", err)
	}
	if _, err := s.Server(ctx, 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown server: %v", err)
	}
	if _, err := s.ServerAuthKey(ctx, 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("key of unknown server: %v", err)
	}
}

func TestAddServerRefusals(t *testing.T) {
	ctx := context.Background()
	s, _ := initTest(t)
	good := ServerSpec{Name: "A", URL: "https://a.example", Authkey: testKey, RemoteOrgRef: "REMOTE"}
	if _, err := s.AddServer(ctx, good); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		edit func(*ServerSpec)
		want string
	}{
		{"duplicate name", func(sp *ServerSpec) { sp.Name = "a" }, "already exists"},
		{"empty name", func(sp *ServerSpec) { sp.Name = " " }, "name is empty"},
		{"ftp url", func(sp *ServerSpec) { sp.URL = "ftp://a.example" }, "http"},
		{"no host", func(sp *ServerSpec) { sp.URL = "https://" }, "host"},
		{"relative url", func(sp *ServerSpec) { sp.URL = "a.example" }, "http"},
		{"short key", func(sp *ServerSpec) { sp.Authkey = testKey[:39] }, "40-character"},
		{"no key", func(sp *ServerSpec) { sp.Authkey = "" }, "40-character"},
		{"unknown org", func(sp *ServerSpec) { sp.OrgRef = "NOBODY" }, `"NOBODY"`},
		{"unknown remote org", func(sp *ServerSpec) { sp.RemoteOrgRef = "NOBODY" }, `"NOBODY"`},
		{"no remote org", func(sp *ServerSpec) { sp.RemoteOrgRef = "" }, "remote org"},
		{"internal to another org", func(sp *ServerSpec) { sp.Internal = true }, "internal"},
		{"rules not JSON", func(sp *ServerSpec) { sp.PushRules = "{tags" }, "push_rules"},
		{"rules an array", func(sp *ServerSpec) { sp.PullRules = "[]" }, "pull_rules"},
	} {
		sp := good
		sp.Name = "B"
		c.edit(&sp)
		_, err := s.AddServer(ctx, sp)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one mentioning %s", c.what, err, c.want)
		}
	}
	if list, _ := s.Servers(ctx); len(list) != 1 {
		t.Errorf("refused servers were stored: %d servers", len(list))
	}
}

func TestAddServerWithoutHostOrg(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	mustOrg(t, s, "L")
	mustOrg(t, s, "R")
	spec := ServerSpec{Name: "A", URL: "https://a.example", Authkey: testKey, RemoteOrgRef: "R"}
	if _, err := s.AddServer(ctx, spec); err == nil || !strings.Contains(err.Error(), "host organisation") {
		t.Errorf("no org and no host org: err = %v", err)
	}
	spec.OrgRef = "L"
	spec.Internal = true
	if _, err := s.AddServer(ctx, spec); err == nil || !strings.Contains(err.Error(), "internal") {
		t.Errorf("internal with no host org: err = %v", err)
	}
	spec.Internal = false
	if _, err := s.AddServer(ctx, spec); err != nil {
		t.Errorf("explicit org with no host org: %v", err)
	}
}

func TestUpdateAndDeleteServer(t *testing.T) {
	ctx := context.Background()
	s, _ := initTest(t)
	a, err := s.AddServer(ctx, ServerSpec{Name: "A", URL: "https://a.example", Authkey: testKey, RemoteOrgRef: "REMOTE"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddServer(ctx, ServerSpec{Name: "B", URL: "https://b.example", Authkey: testKey, RemoteOrgRef: "REMOTE"}); err != nil {
		t.Fatal(err)
	}
	spec := a.Spec()
	spec.Authkey = "" // keep
	spec.Name = "A renamed"
	spec.Pull = true
	spec.PushRules = `{"tags":{"OR":[],"NOT":["3"]}}`
	spec.RemoteOrgRef = "HOST"
	spec.Internal = true
	got, err := s.UpdateServer(ctx, mustResolve(t, s.ResolveServer, "A"), spec)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != a.ID || got.Name != "A renamed" || !got.Pull || got.Authkey != testKey || !got.Internal ||
		got.RemoteOrg.Name != "HOST" || got.Priority != a.Priority || got.PushRules != spec.PushRules {
		t.Errorf("updated = %+v", got)
	}
	spec = got.Spec()
	spec.Name = "b"
	if _, err := s.UpdateServer(ctx, got.ID, spec); !errors.Is(err, ErrConflict) {
		t.Errorf("rename onto B: %v", err)
	}
	spec = got.Spec()
	spec.RemoteOrgRef = "REMOTE"
	if _, err := s.UpdateServer(ctx, got.ID, spec); err == nil || !strings.Contains(err.Error(), "internal") {
		t.Errorf("internal kept with a foreign remote org: %v", err)
	}
	if _, err := s.UpdateServer(ctx, 99, spec); !errors.Is(err, ErrNotFound) {
		t.Errorf("edit unknown server: %v", err)
	}

	if err := s.DeleteServer(ctx, got.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResolveServer(ctx, "A renamed"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted server still found: %v", err)
	}
	if err := s.DeleteServer(ctx, got.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	c, err := s.AddServer(ctx, ServerSpec{Name: "C", URL: "https://c.example", Authkey: testKey, RemoteOrgRef: "REMOTE"})
	if err != nil || c.Priority != 3 {
		t.Errorf("priority after a delete = %d, %v; want max+1 = 3", c.Priority, err)
	}
}

func TestSetLastPushedID(t *testing.T) {
	s, _ := initTest(t)
	ctx := context.Background()
	srv, err := s.AddServer(ctx, ServerSpec{Name: "peer", URL: "https://peer.example", Authkey: strings.Repeat("k", 40), RemoteOrgRef: "REMOTE"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetLastPushedID(ctx, srv.ID, 42); err != nil {
		t.Fatal(err)
	}
	got, err := s.Server(ctx, srv.ID)
	if err != nil || got.LastPushedID != 42 || got.Modified != srv.Modified {
		t.Fatalf("server after SetLastPushedID: %+v %v", got, err)
	}
	if err := s.SetLastPushedID(ctx, srv.ID+100, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown server: %v", err)
	}
}

// A deleted server's sync state goes with it: a server added later under the same id does
// not inherit its index ETag.
func TestDeleteServerForgetsItsSyncState(t *testing.T) {
	s := openTest(t)
	initHost(t, s)
	ctx := context.Background()
	remote, err := s.AddOrg(ctx, Org{Name: "REMOTE"})
	if err != nil {
		t.Fatal(err)
	}
	spec := ServerSpec{Name: "peer", URL: "https://peer.example", Authkey: strings.Repeat("a", 40), RemoteOrgRef: remote.UUID}
	sv, err := s.AddServer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetServerState(ctx, sv.ID, "index_etag", `"abc"`); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteServer(ctx, sv.ID); err != nil {
		t.Fatal(err)
	}
	again, err := s.AddServer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != sv.ID {
		t.Skipf("the new server got id %d, not %d: nothing to inherit", again.ID, sv.ID)
	}
	if v, err := s.ServerState(ctx, again.ID, "index_etag"); err != nil || v != "" {
		t.Errorf("the new server inherits %q (%v)", v, err)
	}
}

// Deleting an event here, or taking an entry off a blocklist, forgets every server's
// "nothing changed" (the next pull reads the index again and can bring the event back);
// editing a server forgets its own.
func TestLocalChangesForgetSyncState(t *testing.T) {
	s := openTest(t)
	initHost(t, s)
	ctx := context.Background()
	remote, err := s.AddOrg(ctx, Org{Name: "REMOTE"})
	if err != nil {
		t.Fatal(err)
	}
	sv, err := s.AddServer(ctx, ServerSpec{Name: "peer", URL: "https://peer.example", Authkey: strings.Repeat("a", 40), RemoteOrgRef: remote.UUID})
	if err != nil {
		t.Fatal(err)
	}
	ev := loadEvent(t, "../testdata/feeds/osint-mixed/5a0a9aa9-23a4-4607-b6df-41a9950d210f.json")
	if _, err := s.UpsertEvent(ctx, ev, UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	remembered := func() string {
		v, err := s.ServerState(ctx, sv.ID, "index_etag")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		name   string
		change func() error
	}{
		{"event deleted", func() error { return s.DeleteEvent(ctx, mustResolve(t, s.ResolveEvent, ev.UUID), true, "") }},
		{"blocklist entry removed", func() error { return s.DeleteEventBlock(ctx, ev.UUID) }},
		{"server edited", func() error { _, err := s.UpdateServer(ctx, sv.ID, sv.Spec()); return err }},
	} {
		if err := s.SetServerState(ctx, sv.ID, "index_etag", `"etag"`); err != nil {
			t.Fatal(err)
		}
		if err := c.change(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if v := remembered(); v != "" {
			t.Errorf("%s: the index ETag %q is still remembered", c.name, v)
		}
	}
}
