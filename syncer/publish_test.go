package syncer

import (
	"net/http"
	"testing"
	"time"

	"mispdesk/internal/testsupport"
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
	if _, err := a.eng.Push(ctx, a.serverID("B"), RunOptions{}); err != nil {
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
	if ds, err := b.eng.DeliverDue(ctx); err != nil || len(ds) != 2 {
		t.Fatalf("outbox: %d rows, %v; want the two push_sightings rows", len(ds), err)
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
	if ds, _ := b.eng.DeliverDue(ctx); len(ds) != 0 {
		t.Errorf("a synced sighting queued %d outbox rows", len(ds))
	}
}

// Incremental push sends only events above the server's lastpushedid and moves it on;
// a full push sends an edited event again, as an edit on the remote.
func TestIncrementalPush(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	first := a.importFile(t, smallEvent, func(e *misp.Event) { e.Distribution, e.Published = misp.AllCommunities, true })
	connect(t, a, b, store.ServerOptions{Push: true})
	sum, err := a.eng.Push(ctx, a.serverID("B"), RunOptions{Technique: "incremental"})
	if err != nil || sum.Done != 1 {
		t.Fatalf("first incremental push: %s %v %v", sum.Line(), err, sum.Errors)
	}
	srv, _ := a.st.Server(ctx, a.serverID("B"))
	firstRow, _ := a.st.EventMetadata(ctx, testsupport.LocalEvent(t, a.st, first.UUID))
	if srv.LastPushedID != store.EventID(firstRow.ID) {
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
	sum, err = a.eng.Push(ctx, a.serverID("B"), RunOptions{Technique: "incremental"})
	if err != nil || sum.Done != 1 || sum.Created != 1 || b.event(t, second.UUID) == nil {
		t.Fatalf("second incremental push: %s %v %v", sum.Line(), err, sum.Errors)
	}
	if got := b.event(t, first.UUID); got == nil || got.Info == edited.Info {
		t.Fatalf("the incremental push sent the edited older event: %+v", got)
	}
	srv, _ = a.st.Server(ctx, a.serverID("B"))
	secondRow, _ := a.st.EventMetadata(ctx, testsupport.LocalEvent(t, a.st, second.UUID))
	if srv.LastPushedID != store.EventID(secondRow.ID) {
		t.Errorf("lastpushedid %d, want %d", srv.LastPushedID, secondRow.ID)
	}
	sum, err = a.eng.Push(ctx, a.serverID("B"), RunOptions{})
	if err != nil || sum.Done != 1 || sum.Updated != 1 {
		t.Fatalf("full push: %s %v %v", sum.Line(), err, sum.Errors)
	}
	if got := b.event(t, first.UUID); got == nil || got.Info != edited.Info {
		t.Errorf("B's copy after the full push: %+v", got)
	}
}

// A publish over the REST API wakes the outbox worker: with the worker's poll an hour
// away, each event published over REST is still pushed (logged as pushed, on B, the
// outbox empty). The first publish also covers the worker's start; the second can only
// be delivered by the wake.
func TestRESTPublishWakesOutbox(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	connect(t, a, b, store.ServerOptions{Push: true})
	_, key, err := a.st.AddUser(ctx, store.NewUser{Email: "admin@a.test", OrgRef: a.host.UUID, RoleRef: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	entries, stop := a.eng.Bus().Subscribe(64)
	defer stop()
	runCtx, cancel := contextWithCancel()
	done := make(chan error, 1)
	go func() { done <- a.eng.Run(runCtx, DaemonOptions{OutboxPoll: time.Hour}) }()
	defer func() { cancel(); <-done }()

	for _, uuid := range []string{"00000000-0000-4000-8000-0000000000d1", "00000000-0000-4000-8000-0000000000d2"} {
		publishedEvent(a, t, uuid)
		req, _ := http.NewRequest(http.MethodPost, a.http.URL+"/events/publish/"+uuid, nil)
		req.Header.Set("Authorization", key)
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("REST publish of %s: HTTP %d", uuid, resp.StatusCode)
		}
		waitPushed(t, entries, uuid)
		if b.event(t, uuid) == nil {
			t.Fatalf("%s logged as pushed, but B does not have it", uuid)
		}
		if queued, _ := outboxQueued(t, a); queued != 0 {
			t.Fatalf("after the push of %s, %d rows still queued", uuid, queued)
		}
	}
}

// waitPushed reads the sync log until uuid is logged as pushed. The deadline only stops a
// failing test: the push comes from a wake, never from the hour-long poll.
func waitPushed(t *testing.T, entries <-chan store.LogEntry, uuid string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case e := <-entries:
			if e.Outcome == "pushed" && e.EventUUID == uuid {
				return
			}
		case <-deadline:
			t.Fatalf("%s was not pushed: the REST publish did not wake the outbox worker", uuid)
		}
	}
}
