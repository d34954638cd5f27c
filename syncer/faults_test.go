package syncer

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/remote"
)

// faultOn puts a fault in front of a node's real API for requests whose path contains
// match; other requests reach the API untouched.
func faultOn(n *node, match string, fault func(w http.ResponseWriter, r *http.Request, next http.Handler)) {
	n.mu.Lock()
	api := n.handler
	n.mu.Unlock()
	n.setHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, match) {
			fault(w, r, api)
			return
		}
		api.ServeHTTP(w, r)
	}))
}

func publishedEvent(n *node, t *testing.T, uuid string) *misp.Event {
	return n.importFile(t, smallEvent, func(e *misp.Event) {
		e.UUID, e.Distribution, e.Published = uuid, misp.AllCommunities, false
		for i := range e.Attribute {
			e.Attribute[i].UUID = misp.DerivedUUID(uuid, e.Attribute[i].UUID)
		}
	})
}

func outboxQueued(t *testing.T, n *node) (queued, failing int) {
	stats, err := n.st.OutboxStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stats {
		queued += s.Queued
		failing += s.Failing
	}
	return queued, failing
}

// A push at publication survives the peer being down: it stays queued, failing, and is
// delivered exactly once when the peer is back.
func TestOutboxDeliversExactlyOnceAfterPeerOutage(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	connect(t, a, b, store.ServerOptions{Push: true})
	ev := publishedEvent(a, t, "00000000-0000-4000-8000-0000000000b1")

	var down atomic.Bool
	down.Store(true)
	var adds atomic.Int32
	faultOn(b, "/events/", func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if down.Load() {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/events/add") {
			adds.Add(1)
		}
		next.ServeHTTP(w, r)
	})

	res, err := a.st.Publish(ctx, testsupport.LocalEvent(t, a.st, ev.UUID))
	if err != nil || res.Queued != 1 {
		t.Fatalf("publish: %+v %v", res, err)
	}
	if ds, err := a.eng.DeliverDue(ctx); err != nil || len(ds) != 1 {
		t.Fatalf("first delivery: %d items, %v", len(ds), err)
	}
	if q, f := outboxQueued(t, a); q != 1 || f != 1 {
		t.Fatalf("after a failed push: queued %d, failing %d; want the row kept", q, f)
	}
	if b.event(t, ev.UUID) != nil {
		t.Fatal("B has the event while down")
	}
	// The row is not due again before its backoff: a second round sends nothing.
	if ds, _ := a.eng.DeliverDue(ctx); len(ds) != 0 {
		t.Fatalf("a failed row was retried at once (%d items)", len(ds))
	}

	down.Store(false)
	// Publishing again (or the backoff running out) makes the row due now.
	if _, err := a.st.Publish(ctx, testsupport.LocalEvent(t, a.st, ev.UUID)); err != nil {
		t.Fatal(err)
	}
	if ds, err := a.eng.DeliverDue(ctx); err != nil || len(ds) != 1 {
		t.Fatalf("delivery after recovery: %d items, %v", len(ds), err)
	}
	if q, _ := outboxQueued(t, a); q != 0 {
		t.Errorf("%d rows still queued after delivery", q)
	}
	if got := b.event(t, ev.UUID); got == nil {
		t.Fatal("B does not have the event")
	}
	if adds.Load() != 1 {
		t.Errorf("B received %d adds, want exactly 1", adds.Load())
	}
	if ds, _ := a.eng.DeliverDue(ctx); len(ds) != 0 || b.count(t) != 1 {
		t.Errorf("after delivery: %d more items, B holds %d events", len(ds), b.count(t))
	}
}

// The outbox pushes within a second of a publish while the daemon runs.
func TestDaemonPushesOnPublish(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	connect(t, a, b, store.ServerOptions{Push: true})
	ev := publishedEvent(a, t, "00000000-0000-4000-8000-0000000000b2")
	entries, stop := a.eng.Bus().Subscribe(64)
	defer stop()
	runCtx, cancel := contextWithCancel()
	done := make(chan error, 1)
	go func() { done <- a.eng.Run(runCtx, DaemonOptions{}) }()
	defer func() { cancel(); <-done }()

	// The daemon takes the leader lease at once; publish and nudge it as the console does.
	if _, err := a.st.Publish(ctx, testsupport.LocalEvent(t, a.st, ev.UUID)); err != nil {
		t.Fatal(err)
	}
	a.eng.Wake()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-entries:
			if e.Outcome == "pushed" && e.EventUUID == ev.UUID {
				if b.event(t, ev.UUID) == nil {
					t.Fatal("logged as pushed, but B does not have it")
				}
				return
			}
		case <-deadline:
			t.Fatal("no push logged")
		}
	}
}

func TestPullFaults(t *testing.T) {
	cases := []struct {
		name  string
		path  string
		fault func(w http.ResponseWriter, r *http.Request, next http.Handler)
		want  string
	}{
		{"server error", "/events/view/", func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			w.WriteHeader(http.StatusInternalServerError)
		}, "HTTP 500"},
		{"malformed JSON", "/events/view/", func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"Event":{"uuid":"00000000-0000-4000-8000-0000000000c1","info":"x","timestamp":"soon"}}`))
		}, "/Event/timestamp"},
		{"connection cut mid-body", "/events/view/", func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "100000")
			w.Write([]byte(`{"Event":{"uuid":"00000000-0000-4000-8000-0000000000c1","info":"trunc`))
			hj, _ := w.(http.Hijacker)
			conn, _, err := hj.Hijack()
			if err == nil {
				conn.Close()
			}
		}, "event 00000000-0000-4000-8000-0000000000c1"},
		{"slow body", "/events/view/", func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"Event":`))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(20 * time.Second):
			}
		}, "event 00000000-0000-4000-8000-0000000000c1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newNode(t, "A"), newNode(t, "B")
			b.eng.tuneCl = func(c *remote.Config) { c.Timeout = 500 * time.Millisecond; c.Retries = 1 }
			a.importFile(t, smallEvent, func(e *misp.Event) {
				e.UUID, e.Distribution, e.Published = "00000000-0000-4000-8000-0000000000c1", misp.AllCommunities, true
			})
			connect(t, b, a, store.ServerOptions{Pull: true})
			faultOn(a, tc.path, tc.fault)
			sum, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{})
			if err != nil {
				t.Fatalf("the run itself failed: %v", err)
			}
			if sum.Failed != 1 || len(sum.Errors) != 1 || !strings.Contains(sum.Errors[0], tc.want) {
				t.Fatalf("%s %q; want one failure mentioning %q", sum.Line(), sum.Errors, tc.want)
			}
			if b.count(t) != 0 {
				t.Error("something was stored")
			}
			logged, _ := b.st.LogSince(ctx, 0, 100, store.LogFilter{Level: "error"})
			if len(logged) == 0 || logged[0].ServerName != "A" || logged[0].Direction != "pull" {
				t.Errorf("the failure was not logged: %+v", logged)
			}
			// Nothing new was recorded as complete: the next pull tries again.
			if etag, _ := b.st.ServerState(ctx, b.serverID(sum.Server), stateIndexETag); etag != "" {
				t.Error("a failed pull recorded the index ETag")
			}
		})
	}
}

func TestWrongAuthkeyNamesTheServer(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	srv := connect(t, b, a, store.ServerOptions{Pull: true})
	spec := srv.Spec()
	spec.Authkey = strings.Repeat("x", 40)
	if _, err := b.st.UpdateServer(ctx, b.serverID("A"), spec); err != nil {
		t.Fatal(err)
	}
	_, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{})
	if err == nil || !errors.Is(err, remote.ErrAuth) || !strings.Contains(err.Error(), `"A"`) || strings.Contains(err.Error(), strings.Repeat("x", 40)) {
		t.Fatalf("err = %v; want an authentication error naming server A, without the key", err)
	}
	tc, err := b.eng.TestConnection(ctx, b.serverID("A"))
	if err != nil || tc.Status != remote.StatusAuthFailed {
		t.Fatalf("test connection: %+v, %v; want status 4", tc, err)
	}
}

func TestConnectionTestShowsBothSides(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	connect(t, b, a, store.ServerOptions{Pull: true})
	tc, err := b.eng.TestConnection(ctx, b.serverID("A"))
	if err != nil {
		t.Fatal(err)
	}
	if tc.Status != remote.StatusOK || tc.Remote == nil || tc.Local.MISPVersion == "" || tc.Remote.Version != tc.Local.MISPVersion || tc.Post != remote.PostOK || tc.Compatibility != "Compatible" {
		t.Fatalf("%+v", tc)
	}
	if tc.User == nil || tc.User.Org.UUID != b.host.UUID || !tc.User.PermSync {
		t.Errorf("remote user %+v; want B's sync user of B's organisation", tc.User)
	}
}

// A run can be cancelled: a pull stuck on a slow peer returns as soon as its context ends,
// with nothing half-stored.
func TestPullCanBeCancelled(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	a.importFile(t, smallEvent, func(e *misp.Event) { e.Distribution, e.Published = misp.AllCommunities, true })
	connect(t, b, a, store.ServerOptions{Pull: true})
	started := make(chan struct{}, 1)
	faultOn(a, "/events/view/", func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		started <- struct{}{}
		<-r.Context().Done()
	})
	runCtx, cancel := contextWithCancel()
	go func() { <-started; cancel() }()
	_, err := b.eng.Pull(runCtx, b.serverID("A"), RunOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if b.count(t) != 0 {
		t.Error("a cancelled pull stored an event")
	}
}

// A push at publication asks the remote first: an event the remote holds as its own (it
// created it) is not sent, and the outbox row is done rather than retried for ever.
func TestOutboxSkipsWhatTheRemoteHoldsAsItsOwn(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	ev := a.importFile(t, smallEvent, func(e *misp.Event) { e.Distribution, e.Published, e.Locked = misp.AllCommunities, true, false })
	connect(t, b, a, store.ServerOptions{Pull: true, Push: true})
	if _, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.Publish(ctx, testsupport.LocalEvent(t, b.st, ev.UUID)); err != nil {
		t.Fatal(err)
	}
	if ds, err := b.eng.DeliverDue(ctx); err != nil || len(ds) != 1 {
		t.Fatalf("delivered %d, %v", len(ds), err)
	}
	if q, _ := outboxQueued(t, b); q != 0 {
		t.Errorf("%d rows still queued", q)
	}
	logged, _ := b.st.LogSince(ctx, 0, 200, store.LogFilter{Direction: "push"})
	found := false
	for _, e := range logged {
		found = found || (e.EventUUID == ev.UUID && e.Outcome == "skipped" && strings.Contains(e.Message, "as its own"))
		if e.Outcome == "failed" {
			t.Errorf("a push failed: %s", e.Message)
		}
	}
	if !found {
		t.Errorf("the skip is not logged: %+v", logged)
	}
}

// A refusal no retry can change (here the remote's event blocklist) ends the outbox row,
// logged as refused, instead of retrying it with backoff for ever.
func TestOutboxDoesNotRetryAFinalRefusal(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	connect(t, a, b, store.ServerOptions{Push: true})
	ev := publishedEvent(a, t, "00000000-0000-4000-8000-0000000000b3")
	if _, err := b.st.AddEventBlock(ctx, store.EventBlock{EventUUID: ev.UUID, Comment: "not wanted here"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.st.Publish(ctx, testsupport.LocalEvent(t, a.st, ev.UUID)); err != nil {
		t.Fatal(err)
	}
	if ds, err := a.eng.DeliverDue(ctx); err != nil || len(ds) != 1 {
		t.Fatalf("delivered %d, %v", len(ds), err)
	}
	if q, _ := outboxQueued(t, a); q != 0 {
		t.Fatalf("%d rows still queued after a final refusal", q)
	}
	logged, _ := a.st.LogSince(ctx, 0, 200, store.LogFilter{Level: "error"})
	if len(logged) == 0 || logged[len(logged)-1].Outcome != "refused" || !strings.Contains(logged[len(logged)-1].Message, "blocklist") {
		t.Errorf("log %+v; want the refusal with the remote's reason", logged)
	}
}
