package tui

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mispdesk/assets"
	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer"
	"mispdesk/syncer/mispapi"
)

// TestEndToEnd drives the console of instance A against a real instance B
// over HTTP: add B through the form, test the connection (both versions on
// screen), publish an event on A and watch the push in the log pane.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("two instances over HTTP")
	}
	ctx := context.Background()
	// Instance B: its own store, engine and API.
	bst, err := store.Open(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bst.Close() })
	bInit, err := bst.Init(ctx, store.InitOptions{OrgName: "Org B"})
	if err != nil {
		t.Fatal(err)
	}
	beng := syncer.New(bst, syncer.Options{Holder: "b"})
	t.Cleanup(beng.Close)
	api := httptest.NewServer(mispapi.New(mispapi.Config{Store: bst, Syncer: syncer.APIRunner{Engine: beng}}))
	t.Cleanup(api.Close)
	if err := bst.SetBaseURL(ctx, api.URL); err != nil {
		t.Fatal(err)
	}

	// Instance A, whose console we drive.
	ast := openStore(t, "")
	aInit, err := ast.Init(ctx, store.InitOptions{OrgName: "Org A"})
	if err != nil {
		t.Fatal(err)
	}
	// The book's steps 1 and 2 on B: A's host org, and a sync user for it.
	if _, err := bst.AddOrg(ctx, store.Org{Name: "Org A", UUID: aInit.Org.UUID, Local: true}); err != nil {
		t.Fatal(err)
	}
	_, key, err := bst.AddUser(ctx, store.NewUser{Email: "sync-a@b.test", OrgRef: aInit.Org.UUID, RoleRef: "sync"})
	if err != nil {
		t.Fatal(err)
	}
	// B's host org known on A, for the remote org picker.
	if _, err := ast.AddOrg(ctx, store.Org{Name: "Org B", UUID: bInit.Org.UUID}); err != nil {
		t.Fatal(err)
	}

	m := newTest(t, ast, 80, 24)
	dctx, stop := context.WithCancel(ctx)
	daemonDone := make(chan struct{})
	go func() { defer close(daemonDone); m.c.Engine.Run(dctx, syncer.DaemonOptions{}) }()
	t.Cleanup(func() { stop(); <-daemonDone })

	// Step 3: add B through the form, key by key.
	press(t, m, "a")
	press(t, m, "type:"+api.URL, "tab", "type:instance-b", "tab", "tab", "tab")
	f := m.topScreen().(*serverForm)
	if org := f.selectedOrg(); org == nil || org.Name != "Org B" {
		t.Fatalf("remote org %+v", org)
	}
	press(t, m, "tab", "type:"+key, "tab", "space") // authkey, then push on
	press(t, m, "ctrl+s")
	if m.topScreen() != nil {
		t.Fatalf("form not saved: %q\n%s", f.err, screen(m))
	}
	sv, err := ast.Server(ctx, testsupport.ServerID(ast, "instance-b"))
	if err != nil || !sv.Push || !sv.Pull {
		t.Fatalf("server %+v, %v", sv, err)
	}

	// Test the connection: both versions on screen.
	press(t, m, "t")
	tc, ok := m.topScreen().(*testConnScreen)
	if !ok {
		t.Fatalf("t opens %T", m.topScreen())
	}
	if !await(t, m, 10*time.Second, func() bool { return !tc.busy }) {
		t.Fatal("no connection test result")
	}
	s := screen(m)
	if tc.err != nil || tc.ct.Status != 1 {
		t.Fatalf("test failed: %v %+v\n%s", tc.err, tc.ct, s)
	}
	for _, want := range []string{"MISP version       " + assets.MISPVersion + "                         " + assets.MISPVersion, "mispdesk version   " + assets.Version, "Local", "Remote", "sync-a@b.test"} {
		if !strings.Contains(s, want) {
			t.Errorf("connection test screen lacks %q:\n%s", want, s)
		}
	}
	press(t, m, "esc", "4")

	// Publish an event on A: the daemon pushes it; the log pane shows it.
	raw := assets.SampleEvents()["57c4445b-c548-4654-af0b-4be3950d210f.json"]
	ev, err := misp.ParseEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	ev.Published = false
	if _, err := ast.UpsertEvent(ctx, ev, store.UpsertOptions{DefaultDistribution: misp.AllCommunities}); err != nil {
		t.Fatal(err)
	}
	if _, err := ast.Publish(ctx, testsupport.LocalEvent(t, ast, ev.UUID)); err != nil {
		t.Fatal(err)
	}
	m.c.Engine.Wake()
	p := m.activePane().(*logPane)
	pushed := func() bool {
		for _, l := range p.entries {
			if l.e.Direction == "push" && l.e.EventUUID == ev.UUID && l.e.Outcome != "failed" && l.e.Level != "error" {
				return true
			}
		}
		return false
	}
	if !await(t, m, 15*time.Second, pushed) {
		t.Fatalf("no push of %s in the log pane:\n%s", ev.UUID, screen(m))
	}
	if !strings.Contains(screen(m), "↑ push instance-b") || !strings.Contains(screen(m), shortUUID(ev.UUID)) {
		t.Errorf("the push is not on screen:\n%s", screen(m))
	}
	if _, err := bst.Event(ctx, testsupport.LocalEvent(t, bst, ev.UUID)); err != nil {
		t.Errorf("B does not have the event: %v", err)
	}
}
