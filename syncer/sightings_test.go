package syncer

import (
	"testing"

	"mispdesk/store"
	"mispdesk/store/misp"
)

// Sightings and proposals made on a copy flow back to the event's owner: A pushes its
// event to B, where B's analysts sight an attribute and propose a change; A's pull brings
// both; and B's push with push_sightings sends the sighting too.
func TestSightingsAndProposalsFlowToTheOwner(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	ev := a.importFile(t, smallEvent, func(e *misp.Event) { e.Distribution, e.Published = misp.AllCommunities, true })
	connect(t, a, b, store.ServerOptions{Push: true, Pull: true})
	if _, err := a.eng.Push(ctx, a.serverID("B"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	attr := ev.Attribute[0]
	sighting := misp.Sighting{UUID: "00000000-0000-4000-8000-00000000516a", AttributeUUID: attr.UUID, EventUUID: ev.UUID, DateSighting: 1700000000}
	if n, err := b.st.SaveSightings(ctx, ev.UUID, []misp.Sighting{sighting}, false, b.host.ID); err != nil || n != 1 {
		t.Fatalf("sighting on B: %d, %v", n, err)
	}
	proposal := misp.ShadowAttribute{UUID: "00000000-0000-4000-8000-0000000050a1", EventUUID: ev.UUID, Type: "domain",
		Category: "Network activity", Value: "proposed.example", Timestamp: misp.Int(a.eng.now().Unix()), Org: &misp.Org{Name: b.host.Name, UUID: b.host.UUID}}
	if n, err := b.st.SaveProposals(ctx, []misp.ShadowAttribute{proposal}, nil); err != nil || n != 1 {
		t.Fatalf("proposal on B: %d, %v", n, err)
	}

	if _, err := a.eng.Pull(ctx, a.serverID("B"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	got := a.event(t, ev.UUID)
	if s := findSighting(got, sighting.UUID); s == nil || s.Organisation == nil || s.Organisation.UUID != b.host.UUID {
		t.Errorf("A lacks B's sighting (or its organisation): %+v", s)
	}
	found := false
	for _, p := range got.ShadowAttribute {
		found = found || (p.UUID == proposal.UUID && p.Value == "proposed.example")
	}
	if !found {
		t.Errorf("A lacks B's proposal: %+v", got.ShadowAttribute)
	}

	// The other way: a second sighting on B, pushed by B with push_sightings.
	second := misp.Sighting{UUID: "00000000-0000-4000-8000-00000000516b", AttributeUUID: attr.UUID, EventUUID: ev.UUID, DateSighting: 1700000100}
	if _, err := b.st.SaveSightings(ctx, ev.UUID, []misp.Sighting{second}, false, b.host.ID); err != nil {
		t.Fatal(err)
	}
	connect(t, b, a, store.ServerOptions{Push: true, PushSightings: true})
	if _, err := b.eng.Push(ctx, b.serverID("A"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if findSighting(a.event(t, ev.UUID), second.UUID) == nil {
		t.Error("B's push with push_sightings did not bring the second sighting to A, the owner")
	}
}

func findSighting(e *misp.Event, uuid string) *misp.Sighting {
	if e == nil {
		return nil
	}
	for _, a := range e.Attribute {
		for i := range a.Sighting {
			if a.Sighting[i].UUID == uuid {
				return &a.Sighting[i]
			}
		}
	}
	return nil
}
