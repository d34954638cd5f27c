package syncer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// analystFixture stores on A one note per distribution about an event of A, the group
// note shared with a roaming group of A's and B's organisations. It returns the note UUIDs
// by distribution.
func analystFixture(t *testing.T, a, b *node) map[int]string {
	t.Helper()
	ctx := context.Background()
	ev := a.importFile(t, smallEvent, nil)
	if _, err := a.st.AddOrg(ctx, store.Org{Name: b.host.Name, UUID: b.host.UUID}); err != nil {
		t.Fatal(err)
	}
	sg, err := a.st.AddSharingGroup(ctx, store.NewSharingGroup{Name: "A and B", Roaming: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.st.AddSharingGroupOrg(ctx, testsupport.SharingGroupID(a.st, sg.UUID), testsupport.OrgID(a.st, b.host.UUID), false); err != nil {
		t.Fatal(err)
	}
	notes := map[int]string{}
	for dist := 0; dist <= 5; dist++ {
		d := store.AnalystData{UUID: fmt.Sprintf("00000000-0000-4000-8000-00000000a0%02d", dist), Kind: "Note",
			ObjectUUID: ev.UUID, ObjectType: "Event", OrgcUUID: a.host.UUID, OrgUUID: a.host.UUID, Distribution: int64(dist),
			Body: []byte(fmt.Sprintf(`{"note":"distribution %d","language":"en"}`, dist))}
		if dist == 4 {
			d.SharingGroupID = store.SharingGroupID(sg.ID)
		}
		if _, err := a.st.AddAnalystData(ctx, d); err != nil {
			t.Fatal(err)
		}
		notes[dist] = d.UUID
	}
	return notes
}

// held is what n stores of the notes: UUID → distribution.
func held(t *testing.T, n *node) map[string]int64 {
	t.Helper()
	list, err := n.st.AnalystDataList(context.Background(), "Note", "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, d := range list {
		out[d.UUID] = d.Distribution
		if !d.Locked {
			t.Errorf("%s: synced note %s not locked", n.name, d.UUID)
		}
	}
	return out
}

// wantHeld compares what n holds with want (UUID → distribution).
func wantHeld(t *testing.T, n *node, want map[string]int64) {
	t.Helper()
	got := held(t, n)
	for u, d := range want {
		if g, ok := got[u]; !ok {
			t.Errorf("%s: note %s missing", n.name, u)
		} else if g != d {
			t.Errorf("%s: note %s has distribution %d, want %d", n.name, u, g, d)
		}
	}
	for u, d := range got {
		if _, ok := want[u]; !ok {
			t.Errorf("%s: holds note %s (distribution %d), which it must not", n.name, u, d)
		}
	}
}

// A full push sends A's standalone analyst data as MISP's AnalystData::push: only with
// push_analyst_data; 0 and 5 never, 1 never to a non-internal server, 2 as 1, 3 as 3, the
// group's note only to the member organisation's server (B), its group captured there; a
// second push sends nothing new.
func TestAnalystDataPush(t *testing.T) {
	a, b, c, d := newNode(t, "A"), newNode(t, "B"), newNode(t, "C"), newNode(t, "D")
	notes := analystFixture(t, a, b)
	for _, to := range []*node{b, c} {
		connect(t, a, to, store.ServerOptions{Push: true, PushAnalystData: true})
	}
	connect(t, a, d, store.ServerOptions{Push: true})
	for _, name := range []string{"B", "C", "D"} {
		if _, err := a.eng.Push(ctx, a.serverID(name), RunOptions{}); err != nil {
			t.Fatalf("push to %s: %v", name, err)
		}
	}
	wantHeld(t, b, map[string]int64{notes[2]: 1, notes[3]: 3, notes[4]: 4})
	wantHeld(t, c, map[string]int64{notes[2]: 1, notes[3]: 3})
	wantHeld(t, d, map[string]int64{})

	// B's copies: owned by A's organisation (the pushing sync account's), created by A's,
	// the group's note in the captured group, which C never joined.
	got, err := store.ReadByRef(ctx, b.st.ResolveAnalystData, b.st.AnalystData, notes[4])
	if err != nil {
		t.Fatal(err)
	}
	if got.OrgUUID != a.host.UUID || got.OrgcUUID != a.host.UUID {
		t.Errorf("B's group note: org %s orgc %s, want A's %s", got.OrgUUID, got.OrgcUUID, a.host.UUID)
	}
	sg, err := b.st.SharingGroup(ctx, store.SharingGroupID(got.SharingGroupID))
	if err != nil || sg.Name != "A and B" {
		t.Fatalf("B's group note's sharing group: %v %v", sg, err)
	}

	// Nothing changed on A: the remote wants nothing, and B's copies stay as they are.
	if _, err := a.eng.Push(ctx, a.serverID("B"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	wantHeld(t, b, map[string]int64{notes[2]: 1, notes[3]: 3, notes[4]: 4})
}

// A full pull fetches the remote's analyst data as MISP's AnalystData::pull: only with
// pull_analyst_data; what the pulling sync account may see there (never 0, the group's
// note only for the member organisation), downgraded 1→0 and 2→1.
func TestAnalystDataPull(t *testing.T) {
	a, b, c, d := newNode(t, "A"), newNode(t, "B"), newNode(t, "C"), newNode(t, "D")
	notes := analystFixture(t, a, b)
	for _, from := range []*node{b, c} {
		connect(t, from, a, store.ServerOptions{Pull: true, PullAnalystData: true})
	}
	connect(t, d, a, store.ServerOptions{Pull: true})
	for _, n := range []*node{b, c, d} {
		if _, err := n.eng.Pull(ctx, n.serverID("A"), RunOptions{}); err != nil {
			t.Fatalf("%s pulls: %v", n.name, err)
		}
	}
	// The note with distribution 5 is its organisation's alone on A (MISP's
	// AnalystData::buildConditions names 1–4 only): another organisation's sync account
	// never sees it, so it is never pulled.
	wantHeld(t, b, map[string]int64{notes[1]: 0, notes[2]: 1, notes[3]: 3, notes[4]: 4})
	wantHeld(t, c, map[string]int64{notes[1]: 0, notes[2]: 1, notes[3]: 3})
	wantHeld(t, d, map[string]int64{})
	got, err := store.ReadByRef(ctx, b.st.ResolveAnalystData, b.st.AnalystData, notes[3])
	if err != nil {
		t.Fatal(err)
	}
	if got.OrgUUID != b.host.UUID || got.OrgcUUID != a.host.UUID {
		t.Errorf("B's pulled note: org %s orgc %s, want the link's %s and A's %s", got.OrgUUID, got.OrgcUUID, b.host.UUID, a.host.UUID)
	}
}

// Analyst data embedded in an event goes with a full push only when the link pushes
// analyst data, each item by its own distribution (0 never, 2 as 1, the group's item
// only standalone), and is kept by a pull only when the link pulls analyst data.
func TestAnalystDataEmbedded(t *testing.T) {
	a, b, c := newNode(t, "A"), newNode(t, "B"), newNode(t, "C")
	ev := a.importFile(t, smallEvent, func(e *misp.Event) {
		e.Published = true
		x := map[int]string{0: "00000000-0000-4000-8000-0000000eb000", 2: "00000000-0000-4000-8000-0000000eb002", 3: "00000000-0000-4000-8000-0000000eb003"}
		if err := misp.PutAnalystSet(&e.Extra, misp.AnalystSet{Note: []misp.AnalystData{
			{UUID: x[0], Distribution: 0}, {UUID: x[2], Distribution: 2}, {UUID: x[3], Distribution: 3},
		}}); err != nil {
			t.Fatal(err)
		}
	})
	connect(t, a, b, store.ServerOptions{Push: true, PushAnalystData: true})
	connect(t, a, c, store.ServerOptions{Push: true})
	for _, name := range []string{"B", "C"} {
		if _, err := a.eng.Push(ctx, a.serverID(name), RunOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	embedded := func(n *node) map[string]misp.Distribution {
		t.Helper()
		e := n.event(t, ev.UUID)
		if e == nil {
			t.Fatalf("%s lacks the event", n.name)
		}
		s, err := misp.TakeAnalystSet(e.Extra)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]misp.Distribution{}
		for _, d := range s.Note {
			out[d.UUID] = d.Distribution
		}
		return out
	}
	if got := embedded(b); len(got) != 2 || got["00000000-0000-4000-8000-0000000eb002"] != 1 || got["00000000-0000-4000-8000-0000000eb003"] != 3 {
		t.Errorf("B's embedded notes: %v, want eb002 as 1 and eb003 as 3", got)
	}
	if got := embedded(c); len(got) != 0 {
		t.Errorf("C (no push_analyst_data) got embedded notes %v", got)
	}

	// Pull: D pulls with the flag and keeps them (3 stays 3), E without and keeps none.
	d, e := newNode(t, "D"), newNode(t, "E")
	connect(t, d, a, store.ServerOptions{Pull: true, PullAnalystData: true})
	connect(t, e, a, store.ServerOptions{Pull: true})
	for _, n := range []*node{d, e} {
		if _, err := n.eng.Pull(ctx, n.serverID("A"), RunOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := embedded(d); got["00000000-0000-4000-8000-0000000eb003"] != 3 || got["00000000-0000-4000-8000-0000000eb002"] != 1 {
		t.Errorf("D's embedded notes: %v, want eb002 as 1 and eb003 as 3", got)
	}
	if got := embedded(e); len(got) != 0 {
		t.Errorf("E (no pull_analyst_data) kept embedded notes %v", got)
	}
}

// A note edited on A over the REST API (analyst_data/edit, as PyMISP's update_note)
// replaces the copies its peers hold: B's next pull and A's next push to C take it,
// because the edit moved its modified on.
func TestAnalystDataEditReachesPeers(t *testing.T) {
	clock := &stepClock{t: time.Now()}
	a, b, c := newNodeAt(t, "A", store.InitOptions{OrgName: "OrgA"}, clock.now), newNode(t, "B"), newNode(t, "C")
	notes := analystFixture(t, a, b)
	connect(t, b, a, store.ServerOptions{Pull: true, PullAnalystData: true})
	connect(t, a, c, store.ServerOptions{Push: true, PushAnalystData: true})
	exchange := func() {
		t.Helper()
		if _, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{}); err != nil {
			t.Fatalf("B pulls: %v", err)
		}
		if _, err := a.eng.Push(ctx, a.serverID("C"), RunOptions{}); err != nil {
			t.Fatalf("A pushes: %v", err)
		}
	}
	exchange()
	_, key, err := a.st.AddUser(ctx, store.NewUser{Email: "analyst@a.test", OrgRef: a.host.UUID, RoleRef: "user"})
	if err != nil {
		t.Fatal(err)
	}
	clock.advance(2 * time.Second)
	rest(t, a, key, "POST", "/analyst_data/edit/Note/"+notes[3], map[string]any{"Note": map[string]any{"note": "revised on A"}})
	exchange()
	for _, n := range []*node{b, c} {
		got, err := store.ReadByRef(ctx, n.st.ResolveAnalystData, n.st.AnalystData, notes[3])
		if err != nil {
			t.Fatalf("%s: %v", n.name, err)
		}
		if !strings.Contains(string(got.Body), "revised on A") {
			t.Errorf("%s holds %s, not the edit", n.name, got.Body)
		}
	}
}

// A note deleted on A is put on A's analyst data blocklist (MISP's AnalystDataBlocklist):
// B, which still holds it standalone and embedded in an event of its own, brings it back
// neither by A's pull nor by its push to A; another note of that event still arrives.
func TestAnalystDataDeletedStaysGone(t *testing.T) {
	a, b := newNodeWith(t, "A", store.InitOptions{OrgName: "OrgA"}), newNode(t, "B")
	notes := analystFixture(t, a, b)
	gone := notes[3]
	connect(t, a, b, store.ServerOptions{Push: true, PushAnalystData: true, Pull: true, PullAnalystData: true})
	connect(t, b, a, store.ServerOptions{Push: true, PushAnalystData: true})
	if _, err := a.eng.Push(ctx, a.serverID("B"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := held(t, b)[gone]; !ok {
		t.Fatalf("B does not hold the note to delete: %v", held(t, b))
	}
	const kept = "00000000-0000-4000-8000-0000000eb0b0"
	now := time.Now().Unix()
	bev := &misp.Event{UUID: "00000000-0000-4000-8000-0000000eb0e0", Info: "B's event with notes", Date: "2026-01-02",
		Distribution: misp.AllCommunities, Published: true, Timestamp: misp.Int(now), ThreatLevelID: 2, Analysis: 1,
		Orgc: &misp.Org{Name: b.host.Name, UUID: b.host.UUID},
		Attribute: []misp.Attribute{{Type: "ip-dst", Category: "Network activity", Value: "198.51.100.77",
			UUID: "00000000-0000-4000-8000-0000000eb0a1", Distribution: misp.InheritEvent, Timestamp: misp.Int(now), ToIDs: true}}}
	if err := misp.PutAnalystSet(&bev.Extra, misp.AnalystSet{Note: []misp.AnalystData{{UUID: gone, Distribution: 3}, {UUID: kept, Distribution: 3}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.UpsertEvent(ctx, bev, store.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}

	key := userKey(t, a, "analyst@a.test", a.host.UUID, "user")
	rest(t, a, key, "POST", "/analyst_data/delete/Note/"+gone, nil)
	admin := userKey(t, a, "admin@a.test", a.host.UUID, "admin")
	status, raw := restStatus(t, a, admin, "GET", "/analystDataBlocklists/index", nil)
	if status != 200 || !strings.Contains(string(raw), `"analyst_data_uuid":"`+gone+`"`) || !strings.Contains(string(raw), `"analyst_data_info":"distribution 3"`) {
		t.Fatalf("A's analyst data blocklist after the delete: %d %s", status, raw)
	}

	stillGone := func(after string) {
		t.Helper()
		if d, err := store.ReadByRef(ctx, a.st.ResolveAnalystData, a.st.AnalystData, gone); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after %s, A holds the deleted note %s again: %v %v", after, gone, d, err)
		}
		e := a.event(t, bev.UUID)
		if e == nil {
			t.Fatalf("after %s, A lacks B's event", after)
		}
		s, err := misp.TakeAnalystSet(e.Extra)
		if err != nil {
			t.Fatal(err)
		}
		embedded := map[string]bool{}
		for _, n := range s.Note {
			embedded[n.UUID] = true
		}
		if embedded[gone] || !embedded[kept] {
			t.Errorf("after %s, A's copy of B's event carries notes %v, want %s only", after, embedded, kept)
		}
	}
	if _, err := a.eng.Pull(ctx, a.serverID("B"), RunOptions{}); err != nil {
		t.Fatalf("A pulls: %v", err)
	}
	stillGone("A's pull")
	bev.Timestamp = misp.Int(now + 1) // a newer version of B's event, which B's push carries to A
	if _, err := b.st.UpsertEvent(ctx, bev, store.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.eng.Push(ctx, b.serverID("A"), RunOptions{}); err != nil {
		t.Fatalf("B pushes: %v", err)
	}
	stillGone("B's push")
}
