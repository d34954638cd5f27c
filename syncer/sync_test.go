package syncer

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"mispdesk/store"
	"mispdesk/store/misp"
)

var ctx = context.Background()

func TestPullThenPushAcrossThreeInstances(t *testing.T) {
	a, b, c := newNode(t, "A"), newNode(t, "B"), newNode(t, "C")
	small := a.importFile(t, smallEvent, func(e *misp.Event) { e.Distribution = misp.AllCommunities; e.Published = true })
	objs := a.importFile(t, objEvent, func(e *misp.Event) { e.Distribution = misp.AllCommunities; e.Published = true })
	connect(t, b, a, store.ServerOptions{Pull: true})
	connect(t, b, c, store.ServerOptions{Push: true})

	sum, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Done != 2 || sum.Created != 2 || sum.Failed != 0 {
		t.Fatalf("pull: %s %v", sum.Line(), sum.Errors)
	}
	got := b.event(t, small.UUID)
	if got == nil || !got.Locked || got.Distribution != misp.AllCommunities || got.Orgc.UUID != small.Orgc.UUID || got.Org.UUID != b.host.UUID {
		t.Fatalf("pulled copy: %+v", got)
	}
	if n := countAttributes(b.event(t, objs.UUID)); n != countAttributes(objs) {
		t.Errorf("pulled %d attributes of the object event, source has %d", n, countAttributes(objs))
	}

	again, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{})
	if err != nil || again.Done != 0 || !again.NotModified {
		t.Errorf("second pull: %s, %v; want nothing fetched, the index unchanged", again.Line(), err)
	}

	pushed, err := b.eng.Push(ctx, b.serverID("C"), RunOptions{})
	if err != nil || pushed.Done != 2 {
		t.Fatalf("push: %v %v %v", pushed.Line(), err, pushed.Errors)
	}
	onC := c.event(t, objs.UUID)
	if onC == nil || countAttributes(onC) != countAttributes(objs) || onC.Orgc.UUID != objs.Orgc.UUID {
		t.Fatalf("pushed copy on C: %v", onC)
	}
	twice, err := b.eng.Push(ctx, b.serverID("C"), RunOptions{})
	if err != nil || twice.Done != 0 || c.count(t) != 2 {
		t.Errorf("second push: %s %v; C holds %d events", twice.Line(), err, c.count(t))
	}
}

// The book's four scenario tables, over real HTTP between full instances, at event,
// object and attribute level.
func TestScenarioTablesOverTheWire(t *testing.T) {
	levels := []misp.Distribution{misp.OrgOnly, misp.CommunityOnly, misp.ConnectedCommunity, misp.AllCommunities}
	const gone = misp.Distribution(-2)
	cases := []struct {
		name     string
		push     bool
		internal bool
		want     [4]misp.Distribution // per source level; gone: not synced
	}{
		{"push, usual", true, false, [4]misp.Distribution{gone, gone, misp.CommunityOnly, misp.AllCommunities}},
		{"pull, usual", false, false, [4]misp.Distribution{gone, misp.OrgOnly, misp.CommunityOnly, misp.AllCommunities}},
		{"push, internal", true, true, [4]misp.Distribution{gone, misp.CommunityOnly, misp.ConnectedCommunity, misp.AllCommunities}},
		// Internal: one host organisation, so the sync user is of the owner organisation
		// and sees (and pulls) organisation-only data; it stays organisation only.
		{"pull, internal", false, true, [4]misp.Distribution{misp.OrgOnly, misp.OrgOnly, misp.CommunityOnly, misp.AllCommunities}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := newNode(t, "S"), newNode(t, "D")
			if tc.internal {
				// An internal link joins two instances of one host organisation.
				dst = newNodeWith(t, "D", store.InitOptions{OrgName: src.host.Name, OrgUUID: src.host.UUID})
			}
			var uuids [4]string
			for i, d := range levels {
				// The event-level row, and the same level on an attribute and an object of an
				// event shared with all communities.
				ev := src.importFile(t, objEvent, func(e *misp.Event) {
					e.UUID = fmt.Sprintf("00000000-0000-4000-8000-00000000000%d", i)
					e.Distribution, e.Published = d, true
					e.Attribute = e.Attribute[:1]
					e.Object = e.Object[:1]
					for j := range e.Object[0].Attribute {
						e.Object[0].Attribute[j].UUID = fmt.Sprintf("00000000-0000-4000-8000-0000000001%d%d", i, j)
					}
					e.Attribute[0].UUID = fmt.Sprintf("00000000-0000-4000-8000-00000000020%d", i)
					e.Object[0].UUID = fmt.Sprintf("00000000-0000-4000-8000-00000000030%d", i)
					e.Object[0].ObjectReference = nil
				})
				uuids[i] = ev.UUID
				src.importFile(t, objEvent, func(e *misp.Event) {
					e.UUID = fmt.Sprintf("00000000-0000-4000-8000-00000000100%d", i)
					e.Distribution, e.Published = misp.AllCommunities, true
					anchor := misp.Attribute{Type: "domain", Category: "Network activity", Value: "anchor.example",
						Distribution: misp.AllCommunities, Timestamp: e.Timestamp, UUID: fmt.Sprintf("00000000-0000-4000-8000-00000000120%d", i)}
					e.Attribute = append(e.Attribute[:1], anchor)
					e.Attribute[0].Distribution = d
					e.Attribute[0].UUID = fmt.Sprintf("00000000-0000-4000-8000-00000000110%d", i)
					e.Object = e.Object[:1]
					e.Object[0].Distribution = d
					e.Object[0].UUID = fmt.Sprintf("00000000-0000-4000-8000-00000000130%d", i)
					e.Object[0].ObjectReference = nil
					for j := range e.Object[0].Attribute {
						e.Object[0].Attribute[j].UUID = fmt.Sprintf("00000000-0000-4000-8000-0000000014%d%d", i, j)
					}
				})
			}
			opts := store.ServerOptions{Push: tc.push, Pull: !tc.push, Internal: tc.internal}
			var err error
			var sum *RunSummary
			if tc.push {
				connect(t, src, dst, opts)
				sum, err = src.eng.Push(ctx, src.serverID("D"), RunOptions{})
			} else {
				connect(t, dst, src, opts)
				sum, err = dst.eng.Pull(ctx, dst.serverID("S"), RunOptions{})
			}
			if err != nil || sum.Failed != 0 {
				t.Fatalf("%v %s %v", err, sum.Line(), sum.Errors)
			}
			for i, d := range levels {
				want := tc.want[i]
				got := dst.event(t, uuids[i])
				switch {
				case want == gone && got != nil:
					t.Errorf("event '%s': synced, want not", d)
				case want != gone && got == nil:
					t.Errorf("event '%s': not synced, want '%s'", d, want)
				case want != gone && got.Distribution != want:
					t.Errorf("event '%s': '%s' on the other side, want '%s'", d, got.Distribution, want)
				}
				holder := dst.event(t, fmt.Sprintf("00000000-0000-4000-8000-00000000100%d", i))
				if holder == nil {
					t.Fatalf("the all-communities event holding level '%s' children did not sync", d)
				}
				attr, obj := findAttribute(holder, fmt.Sprintf("00000000-0000-4000-8000-00000000110%d", i)), findObject(holder, fmt.Sprintf("00000000-0000-4000-8000-00000000130%d", i))
				for what, gotDist := range map[string]*misp.Distribution{"attribute": attr, "object": obj} {
					switch {
					case want == gone && gotDist != nil:
						t.Errorf("%s '%s': synced, want not", what, d)
					case want != gone && gotDist == nil:
						t.Errorf("%s '%s': not synced, want '%s'", what, d, want)
					case want != gone && *gotDist != want:
						t.Errorf("%s '%s': '%s' on the other side, want '%s'", what, d, *gotDist, want)
					}
				}
			}
		})
	}
}

func findAttribute(e *misp.Event, uuid string) *misp.Distribution {
	for i := range e.Attribute {
		if e.Attribute[i].UUID == uuid {
			return &e.Attribute[i].Distribution
		}
	}
	return nil
}

func findObject(e *misp.Event, uuid string) *misp.Distribution {
	for i := range e.Object {
		if e.Object[i].UUID == uuid {
			return &e.Object[i].Distribution
		}
	}
	return nil
}

// The pull table's first row: an organisation-only event is pulled only when the sync user
// is of the organisation owning it on the remote, and stays organisation only.
func TestPullOrgOnlyEventOfTheSyncUsersOrg(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	connect(t, b, a, store.ServerOptions{Pull: true})
	bOnA, err := a.st.OrgByUUID(ctx, b.host.UUID)
	if err != nil {
		t.Fatal(err)
	}
	mine, err := misp.ParseEvent([]byte(`{"Event":{"uuid":"00000000-0000-4000-8000-0000000000d1","info":"B's own","published":true,
		"distribution":0,"timestamp":1700000000,"Attribute":[{"type":"domain","value":"b.example"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.st.UpsertEvent(ctx, mine, store.UpsertOptions{OwnerOrgID: bOnA.ID}); err != nil {
		t.Fatal(err)
	}
	others := a.importFile(t, smallEvent, func(e *misp.Event) { e.Distribution, e.Published = misp.OrgOnly, true })
	if _, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	got := b.event(t, mine.UUID)
	if got == nil || got.Distribution != misp.OrgOnly {
		t.Fatalf("B's org-only event on A: %v", got)
	}
	if b.event(t, others.UUID) != nil {
		t.Error("A's org-only event reached B")
	}
}

// A → B → C: a community event stops at B; a connected-communities event reaches C as
// community only, and stops there.
func TestPropagationChain(t *testing.T) {
	a, b, c, d := newNode(t, "A"), newNode(t, "B"), newNode(t, "C"), newNode(t, "D")
	community := a.importFile(t, smallEvent, func(e *misp.Event) {
		e.UUID, e.Distribution, e.Published = "00000000-0000-4000-8000-0000000000e1", misp.CommunityOnly, true
	})
	connected := a.importFile(t, smallEvent, func(e *misp.Event) {
		e.UUID, e.Distribution, e.Published = "00000000-0000-4000-8000-0000000000e2", misp.ConnectedCommunity, true
		for i := range e.Attribute {
			e.Attribute[i].UUID = misp.DerivedUUID("chain", e.Attribute[i].UUID)
		}
	})
	connect(t, a, b, store.ServerOptions{Push: true})
	connect(t, b, c, store.ServerOptions{Push: true})
	connect(t, c, d, store.ServerOptions{Push: true})
	for _, hop := range []struct {
		from *node
		to   string
	}{{a, "B"}, {b, "C"}, {c, "D"}} {
		if _, err := hop.from.eng.Push(ctx, hop.from.serverID(hop.to), RunOptions{}); err != nil {
			t.Fatalf("%s → %s: %v", hop.from.name, hop.to, err)
		}
	}
	if b.event(t, community.UUID) != nil {
		t.Error("a community event was pushed to B (the book: not pushed)")
	}
	onB, onC := b.event(t, connected.UUID), c.event(t, connected.UUID)
	if onB == nil || onB.Distribution != misp.CommunityOnly {
		t.Fatalf("connected event on B: %v", onB)
	}
	if onC != nil {
		t.Errorf("the connected event went on from B to C as '%s'; B holds it as community only", onC.Distribution)
	}
	if d.count(t) != 0 {
		t.Error("data reached D")
	}
}

// Unpublished events never leave, by push or pull.
func TestUnpublishedNeverLeaves(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	ev := a.importFile(t, smallEvent, func(e *misp.Event) { e.Distribution, e.Published = misp.AllCommunities, false })
	connect(t, a, b, store.ServerOptions{Push: true})
	connect(t, b, a, store.ServerOptions{Pull: true})
	if _, err := a.eng.Push(ctx, a.serverID("B"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if b.event(t, ev.UUID) != nil {
		t.Fatal("an unpublished event reached B")
	}
}

// Push rules in MISP's JSON: tlp:red and one organisation stay home.
func TestPushRulesBlockTagAndOrg(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	red := a.importFile(t, smallEvent, func(e *misp.Event) {
		e.UUID, e.Distribution, e.Published = "00000000-0000-4000-8000-0000000000f1", misp.AllCommunities, true
		e.Tag = append(e.Tag, misp.Tag{Name: "tlp:red"})
		for i := range e.Attribute {
			e.Attribute[i].UUID = misp.DerivedUUID("red", e.Attribute[i].UUID)
		}
	})
	setec := a.importFile(t, smallEvent, func(e *misp.Event) {
		e.UUID, e.Distribution, e.Published = "00000000-0000-4000-8000-0000000000f2", misp.AllCommunities, true
		e.Orgc = &misp.Org{Name: "Setec Astronomy", UUID: "00000000-0000-4000-8000-00000000a5ec"}
		for i := range e.Attribute {
			e.Attribute[i].UUID = misp.DerivedUUID("setec", e.Attribute[i].UUID)
		}
	})
	fine := a.importFile(t, smallEvent, func(e *misp.Event) { e.Distribution, e.Published = misp.AllCommunities, true })
	connect(t, a, b, store.ServerOptions{Push: true,
		PushRules: `{"tags":{"OR":[],"NOT":["tlp:red"]},"orgs":{"OR":[],"NOT":["Setec Astronomy"]},"url_params":""}`})
	sum, err := a.eng.Push(ctx, a.serverID("B"), RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b.event(t, red.UUID) != nil || b.event(t, setec.UUID) != nil || b.event(t, fine.UUID) == nil {
		t.Fatalf("B holds red=%v setec=%v fine=%v", b.event(t, red.UUID) != nil, b.event(t, setec.UUID) != nil, b.event(t, fine.UUID) != nil)
	}
	reasons := strings.Join(sum.TopSkipReasons(5), "\n")
	if !strings.Contains(reasons, "tlp:red") || !strings.Contains(reasons, "Setec Astronomy") {
		t.Errorf("skip reasons do not name the rules:\n%s", reasons)
	}
}

// A published event that reaches B from A is queued to B's push servers: pulled, to all
// but the link it was pulled over (MISP's passAlong); pushed in, to all of them, as MISP's
// EventsController::add passes no passAlong, and A then wants nothing of its own event.
func TestReceivedEventPassedAlong(t *testing.T) {
	a, b, c := newNode(t, "A"), newNode(t, "B"), newNode(t, "C")
	pushed := a.importFile(t, smallEvent, func(e *misp.Event) { e.Distribution, e.Published = misp.AllCommunities, true })
	connect(t, a, b, store.ServerOptions{Push: true})
	toA := connect(t, b, a, store.ServerOptions{Push: true, Pull: true})
	toC := connect(t, b, c, store.ServerOptions{Push: true})
	queued := func() map[store.ServerID][]string {
		t.Helper()
		items, err := b.st.Claim(ctx, "test", time.Hour, 100)
		if err != nil {
			t.Fatal(err)
		}
		out := map[store.ServerID][]string{}
		for _, it := range items {
			out[it.ServerID] = append(out[it.ServerID], it.EventUUID)
		}
		return out
	}

	if sum, err := a.eng.Push(ctx, a.serverID("B"), RunOptions{}); err != nil || sum.Done != 1 {
		t.Fatalf("A pushes to B: %v %v", sum, err)
	}
	if got := queued(); len(got) != 2 || len(got[toA.ID]) != 1 || len(got[toC.ID]) != 1 || got[toC.ID][0] != pushed.UUID {
		t.Fatalf("after A's push B queued %v; want %s to A (server %d) and C (server %d)", got, pushed.UUID, toA.ID, toC.ID)
	}

	pulled := a.importFile(t, objEvent, func(e *misp.Event) { e.Distribution, e.Published = misp.AllCommunities, true })
	if sum, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{}); err != nil || sum.Created != 1 {
		t.Fatalf("B pulls from A: %v %v", sum, err)
	}
	if got := queued(); len(got) != 1 || len(got[toC.ID]) != 1 || got[toC.ID][0] != pulled.UUID {
		t.Fatalf("after B's pull B queued %v; want %s to C (server %d) only", got, pulled.UUID, toC.ID)
	}
}
