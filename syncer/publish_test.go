package syncer

import (
	"testing"

	"mispdesk/store"
	"mispdesk/store/misp"
)

// A sighting added on B to a copy of A's event goes to A through B's outbox as soon as
// it is saved, over a link with push_sightings only (no push), as MISP's
// publishSightings; a sighting of an event A lacks is dropped from the outbox quietly.
func TestSightingsPushedOnAdd(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	ev := a.importFile(t, smallEvent, func(e *misp.Event) { e.Distribution, e.Published = misp.AllCommunities, true })
	connect(t, a, b, store.ServerOptions{Push: true})
	if _, err := a.eng.Push(ctx, "B", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	connect(t, b, a, store.ServerOptions{PushSightings: true})
	own := b.importFile(t, objEvent, func(e *misp.Event) { e.Distribution, e.Published = misp.AllCommunities, false })

	s1 := misp.Sighting{UUID: "00000000-0000-4000-8000-00000000516c", AttributeUUID: ev.Attribute[0].UUID, DateSighting: 1700000000}
	if n, err := b.st.SaveSightings(ctx, ev.UUID, []misp.Sighting{s1}, false, b.host.ID); err != nil || n != 1 {
		t.Fatalf("sighting on B: %d %v", n, err)
	}
	s2 := misp.Sighting{UUID: "00000000-0000-4000-8000-00000000516d", AttributeUUID: own.Attribute[0].UUID, DateSighting: 1700000000}
	if _, err := b.st.SaveSightings(ctx, own.UUID, []misp.Sighting{s2}, false, b.host.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := b.eng.DeliverDue(ctx); err != nil || n != 2 {
		t.Fatalf("outbox: %d rows, %v; want the two push_sightings rows", n, err)
	}
	if findSighting(a.event(t, ev.UUID), s1.UUID) == nil {
		t.Error("A lacks the sighting B added to its event")
	}
	if stats, _ := b.st.OutboxStats(ctx); len(stats) != 0 {
		t.Errorf("outbox not empty: %+v", stats)
	}
	// Sightings that arrived by sync are not published again.
	s3 := misp.Sighting{UUID: "00000000-0000-4000-8000-00000000516e", AttributeUUID: ev.Attribute[0].UUID, DateSighting: 1700000000,
		Organisation: &misp.Org{Name: a.host.Name, UUID: a.host.UUID}}
	if _, err := b.st.SaveSightings(ctx, ev.UUID, []misp.Sighting{s3}, true, 0); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.eng.DeliverDue(ctx); n != 0 {
		t.Errorf("a synced sighting queued %d outbox rows", n)
	}
}

// Incremental push sends only events above the server's lastpushedid and moves it on;
// a full push sends an edited event again, as an edit on the remote.
func TestIncrementalPush(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	first := a.importFile(t, smallEvent, func(e *misp.Event) { e.Distribution, e.Published = misp.AllCommunities, true })
	connect(t, a, b, store.ServerOptions{Push: true})
	sum, err := a.eng.Push(ctx, "B", RunOptions{Technique: "incremental"})
	if err != nil || sum.Done != 1 {
		t.Fatalf("first incremental push: %s %v %v", sum.Line(), err, sum.Errors)
	}
	srv, _ := a.st.Server(ctx, "B")
	firstRow, _ := a.st.EventMetadata(ctx, first.UUID)
	if srv.LastPushedID != int64(firstRow.ID) {
		t.Fatalf("lastpushedid %d, want %d", srv.LastPushedID, firstRow.ID)
	}
	second := a.importFile(t, objEvent, func(e *misp.Event) { e.Distribution, e.Published = misp.AllCommunities, true })
	// The first event changes, but an incremental push looks only above lastpushedid.
	edited := a.event(t, first.UUID)
	edited.Info += " (edited)"
	edited.Timestamp++
	if _, err := a.st.UpsertEvent(ctx, edited, store.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	sum, err = a.eng.Push(ctx, "B", RunOptions{Technique: "incremental"})
	if err != nil || sum.Done != 1 || sum.Created != 1 || b.event(t, second.UUID) == nil {
		t.Fatalf("second incremental push: %s %v %v", sum.Line(), err, sum.Errors)
	}
	if got := b.event(t, first.UUID); got == nil || got.Info == edited.Info {
		t.Fatalf("the incremental push sent the edited older event: %+v", got)
	}
	srv, _ = a.st.Server(ctx, "B")
	secondRow, _ := a.st.EventMetadata(ctx, second.UUID)
	if srv.LastPushedID != int64(secondRow.ID) {
		t.Errorf("lastpushedid %d, want %d", srv.LastPushedID, secondRow.ID)
	}
	sum, err = a.eng.Push(ctx, "B", RunOptions{})
	if err != nil || sum.Done != 1 || sum.Updated != 1 {
		t.Fatalf("full push: %s %v %v", sum.Line(), err, sum.Errors)
	}
	if got := b.event(t, first.UUID); got == nil || got.Info != edited.Info {
		t.Errorf("B's copy after the full push: %+v", got)
	}
}
