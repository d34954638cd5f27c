package syncer

import (
	"strings"
	"testing"

	"mispdesk/store"
)

// The connection test compares organisations by UUID: a sync user in an organisation
// that only shares our name fails it, naming both UUIDs.
func TestConnectionTestComparesOrgUUIDs(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	// On B, an impostor organisation named as A's host organisation, with its sync user.
	if _, err := b.st.AddOrg(ctx, store.Org{Name: a.host.Name, UUID: "11111111-2222-4333-8444-555555555555", Local: true}); err != nil {
		t.Fatal(err)
	}
	_, key, err := b.st.AddUser(ctx, store.NewUser{Email: "sync@b.test", OrgRef: "11111111-2222-4333-8444-555555555555", RoleRef: "sync"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.st.AddOrg(ctx, store.Org{Name: b.host.Name, UUID: b.host.UUID}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.st.AddServer(ctx, store.ServerSpec{Name: "B", URL: b.http.URL, Authkey: key, RemoteOrgRef: b.host.UUID, ServerOptions: store.ServerOptions{Push: true}}); err != nil {
		t.Fatal(err)
	}
	ct, err := a.eng.TestConnection(ctx, a.serverID("B"))
	if err != nil {
		t.Fatal(err)
	}
	if ct.Status == 1 || !strings.HasPrefix(ct.Verdict, "FAIL") || !strings.Contains(ct.Verdict, "11111111-2222-4333-8444-555555555555") || !strings.Contains(ct.Verdict, a.host.UUID) {
		t.Errorf("status %d verdict %q", ct.Status, ct.Verdict)
	}

	// The right organisation passes; a link whose remote organisation is our own warns.
	c := newNode(t, "C")
	connect(t, a, c, store.ServerOptions{Push: true})
	if ct, err := a.eng.TestConnection(ctx, a.serverID("C")); err != nil || ct.Status != 1 || !strings.HasPrefix(ct.Verdict, "OK") {
		t.Fatalf("a proper link: %v %+v", err, ct)
	}
	srv, err := a.st.Server(ctx, a.serverID("C"))
	if err != nil {
		t.Fatal(err)
	}
	spec := srv.Spec()
	spec.RemoteOrgRef = a.host.UUID
	if _, err := a.st.UpdateServer(ctx, a.serverID("C"), spec); err != nil {
		t.Fatal(err)
	}
	ct, err = a.eng.TestConnection(ctx, a.serverID("C"))
	if err != nil || ct.Status != 1 || !strings.HasPrefix(ct.Verdict, "WARN") || len(ct.Warnings) != 1 || !strings.Contains(ct.Warnings[0], "this instance's own") {
		t.Errorf("remote host org ours: %v status %d verdict %q", err, ct.Status, ct.Verdict)
	}
}
