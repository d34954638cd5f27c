package syncer

import (
	"fmt"
	"strings"
	"testing"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// proposalBed is A's event on B, where a user of B proposes a change to two attributes
// and B's push brings both proposals to A (events/pushProposals); A accepts the first and
// discards the second, then publishes. It returns the event and the two attributes.
func proposalBed(t *testing.T, a, b *node) (ev *misp.Event, accepted, discarded string) {
	t.Helper()
	ev = a.importFile(t, smallEvent, func(e *misp.Event) { e.Distribution, e.Published = misp.AllCommunities, true })
	connect(t, a, b, store.ServerOptions{Push: true})
	connect(t, b, a, store.ServerOptions{Push: true, Pull: true})
	if _, err := a.eng.Push(ctx, a.serverID("B"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	accepted, discarded = ev.Attribute[0].UUID, ev.Attribute[2].UUID
	bUser := userKey(t, b, "analyst@b.test", b.host.UUID, "user")
	rest(t, b, bUser, "POST", "/shadow_attributes/edit/"+accepted, map[string]any{"comment": "proposed by B"})
	rest(t, b, bUser, "POST", "/shadow_attributes/edit/"+discarded, map[string]any{"comment": "to be discarded"})

	// B's push: A holds the event as its own (so it is not sent), the proposals go.
	if _, err := b.eng.Push(ctx, b.serverID("A"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	onA := a.event(t, ev.UUID)
	for _, attr := range []string{accepted, discarded} {
		ps := attributeProposals(onA, attr)
		if len(ps) != 1 || ps[0].Org == nil || ps[0].Org.UUID != b.host.UUID {
			t.Fatalf("A holds %d proposals on attribute %s after B's push (want 1 by B's organisation): %+v", len(ps), attr, ps)
		}
	}
	if len(onA.ShadowAttribute) != 0 {
		t.Errorf("a proposal to change an attribute became a proposed new attribute on A: %+v", onA.ShadowAttribute)
	}

	aAdmin := userKey(t, a, "admin2@a.test", a.host.UUID, "admin")
	ids := map[string]string{}
	for _, p := range attributeProposals(onA, accepted) {
		ids["accept"] = fmt.Sprint(p.ID)
	}
	for _, p := range attributeProposals(onA, discarded) {
		ids["discard"] = fmt.Sprint(p.ID)
	}
	rest(t, a, aAdmin, "POST", "/shadow_attributes/accept/"+ids["accept"], nil)
	rest(t, a, aAdmin, "POST", "/shadow_attributes/discard/"+ids["discard"], nil)
	rest(t, a, aAdmin, "POST", "/events/publish/"+ev.UUID, nil)
	onA = a.event(t, ev.UUID)
	if a0 := attribute(onA, accepted); a0 == nil || a0.Comment != "proposed by B" || len(onA.ShadowAttribute)+len(a0.ShadowAttribute) != 0 {
		t.Fatalf("A after accepting: %+v", a0)
	}
	return ev, accepted, discarded
}

// After the owner accepts one proposal and discards another, its push converges B: the
// accepted change is B's attribute, and neither proposal is left on B.
func TestProposalsConvergeByPush(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	ev, accepted, discarded := proposalBed(t, a, b)
	if _, err := a.eng.Push(ctx, a.serverID("B"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	checkConverged(t, b, ev.UUID, accepted, discarded)
}

// The same by B's pull from A: the edited event, then the retired proposals
// (shadow_attributes/index with deleted ones, captured by MISP's key).
func TestProposalsConvergeByPull(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	ev, accepted, discarded := proposalBed(t, a, b)
	if _, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	checkConverged(t, b, ev.UUID, accepted, discarded)
	rows, err := b.st.Proposals(ctx, 0, true, testsupport.LocalEvent(t, b.st, ev.UUID))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Errorf("B keeps %d proposal rows, want the 2 retired ones (no copies): %+v", len(rows), rows)
	}
	for _, r := range rows {
		if !bool(r.Proposal.Deleted) {
			t.Errorf("proposal %s is live on B after the owner retired it", r.Proposal.UUID)
		}
	}
}

func checkConverged(t *testing.T, n *node, eventUUID, accepted, discarded string) {
	t.Helper()
	ev := n.event(t, eventUUID)
	if a := attribute(ev, accepted); a == nil || a.Comment != "proposed by B" {
		t.Errorf("%s lacks the accepted change: %+v", n.name, a)
	}
	if a := attribute(ev, discarded); a == nil || a.Comment == "to be discarded" {
		t.Errorf("%s took the discarded change: %+v", n.name, a)
	}
	for _, attr := range []string{accepted, discarded} {
		if ps := attributeProposals(ev, attr); len(ps) != 0 {
			t.Errorf("%s still shows a proposal on %s: %+v", n.name, attr, ps)
		}
	}
}

// events/pushProposals takes a proposal only on an attribute the pushing sync user may
// see: C's organisation is in no sharing of A's org-only attribute, so a proposal naming
// it is dropped, while one on a community attribute of the same event is stored.
func TestPushProposalsGate(t *testing.T) {
	a, c := newNode(t, "A"), newNode(t, "C")
	ev := a.importFile(t, smallEvent, func(e *misp.Event) {
		e.Distribution, e.Published = misp.AllCommunities, true
		e.Attribute[1].Distribution = misp.OrgOnly
	})
	srv := connect(t, c, a, store.ServerOptions{Push: true})
	hidden, shown := ev.Attribute[1], ev.Attribute[0]
	body := []map[string]any{
		{"event_uuid": ev.UUID, "uuid": hidden.UUID, "old_id": "1", "type": hidden.Type, "category": hidden.Category,
			"value": hidden.Value, "comment": "guessing a hidden attribute", "timestamp": "1767312001"},
		{"event_uuid": ev.UUID, "uuid": shown.UUID, "old_id": "1", "type": shown.Type, "category": shown.Category,
			"value": shown.Value, "comment": "a visible one", "timestamp": "1767312001"},
	}
	out := rest(t, a, srv.Authkey, "POST", "/events/pushProposals/"+ev.UUID, body)
	if out["success"] != true || fmt.Sprint(out["counter"]) != "1" {
		t.Errorf("pushProposals answered %v, want success with counter 1", out)
	}
	rows, err := a.st.Proposals(ctx, 0, true, testsupport.LocalEvent(t, a.st, ev.UUID))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if strings.Contains(r.Proposal.Comment, "hidden") {
			t.Errorf("a proposal on an attribute C may not see was stored: %+v", r.Proposal)
		}
	}
	if len(rows) != 1 || rows[0].AttributeUUID() != shown.UUID || rows[0].Proposal.Org == nil || rows[0].Proposal.Org.UUID != c.host.UUID {
		t.Errorf("want the one proposal on %s by C's organisation, got %+v", shown.UUID, rows)
	}
	out = rest(t, a, srv.Authkey, "POST", "/events/pushProposals/00000000-0000-4000-8000-00000000dead", body)
	if out["success"] != false || out["message"] != "Event not found." {
		t.Errorf("pushProposals on an unknown event answered %v", out)
	}
}

func attribute(ev *misp.Event, uuid string) *misp.Attribute {
	if ev == nil {
		return nil
	}
	for i := range ev.Attribute {
		if ev.Attribute[i].UUID == uuid {
			return &ev.Attribute[i]
		}
	}
	return nil
}

func attributeProposals(ev *misp.Event, uuid string) []misp.ShadowAttribute {
	if a := attribute(ev, uuid); a != nil {
		return a.ShadowAttribute
	}
	return nil
}
