package syncer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// stepClock is a clock a test moves by hand.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// front is a peer's address that can be killed (the port closed: connections refused)
// and brought back on the same port. It closes each connection after its answer, so a
// kill never catches a request on a kept-alive connection.
type front struct {
	addr    string
	handler http.Handler
	mu      sync.Mutex
	srv     *http.Server
}

func startFront(t *testing.T, h http.Handler) *front {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &front{addr: ln.Addr().String(), handler: h}
	f.serve(ln)
	t.Cleanup(f.kill)
	return f
}

func (f *front) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		f.handler.ServeHTTP(w, r)
	})}
	f.mu.Lock()
	f.srv = srv
	f.mu.Unlock()
	go srv.Serve(ln)
}

// kill closes the port; requests under way finish.
func (f *front) kill() {
	f.mu.Lock()
	srv := f.srv
	f.mu.Unlock()
	srv.Shutdown(context.Background())
}

func (f *front) revive(t *testing.T) {
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	f.serve(ln)
}

// pointAt moves n's server record for name to url.
func pointAt(t *testing.T, n *node, name, url string) *store.Server {
	t.Helper()
	srv, err := n.st.Server(ctx, n.serverID(name))
	if err != nil {
		t.Fatal(err)
	}
	spec := srv.Spec()
	spec.URL = url
	if srv, err = n.st.UpdateServer(ctx, n.serverID(name), spec); err != nil {
		t.Fatal(err)
	}
	return srv
}

func healthLog(t *testing.T, n *node, after int64) []store.LogEntry {
	t.Helper()
	all, err := n.st.LogSince(ctx, after, 10000, store.LogFilter{Direction: "health"})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func lastLogID(t *testing.T, n *node) int64 {
	t.Helper()
	all, err := n.st.LogSince(ctx, 0, 100000, store.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		return 0
	}
	return all[len(all)-1].ID
}

// A peer killed in the middle of a push: the run stops after a few failures naming the
// state, cause first, in one log line; the outbox tries the dead peer rarely (counted in
// attempts over 15 stepped seconds, not timed); once the peer is back and the wait is
// resumed, everything queued arrives exactly once and the state clears.
func TestPeerKilledMidPushIsDownThenRecovers(t *testing.T) {
	clock := &stepClock{t: time.Now()}
	a := newNodeAt(t, "A", store.InitOptions{OrgName: "OrgA"}, clock.now)
	b := newNode(t, "B")
	connect(t, a, b, store.ServerOptions{Push: true})

	var mu sync.Mutex
	adds := 0 // events/add and events/edit B received
	var kill sync.Once
	var f *front
	f = startFront(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.ServeHTTP(w, r)
		if r.Method != http.MethodPost || !(strings.Contains(r.URL.Path, "/events/add") || strings.Contains(r.URL.Path, "/events/edit")) {
			return
		}
		mu.Lock()
		adds++
		n := adds
		mu.Unlock()
		if n == 5 {
			kill.Do(func() { go f.kill() })
		}
	}))
	srv := pointAt(t, a, "B", "http://"+f.addr)
	for i := range 30 {
		uuid := fmt.Sprintf("00000000-0000-4000-8000-1000000000%02d", i)
		a.importFile(t, smallEvent, func(e *misp.Event) {
			e.UUID, e.Distribution, e.Published = uuid, misp.AllCommunities, true
			for j := range e.Attribute {
				e.Attribute[j].UUID = misp.DerivedUUID(uuid, e.Attribute[j].UUID)
			}
		})
	}

	sum, err := a.eng.Push(ctx, a.serverID("B"), RunOptions{})
	var down *PeerDownError
	if !errors.As(err, &down) || !strings.Contains(err.Error(), "down since") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("push: %v; want it stopped as the server is down", err)
	}
	// Health counts failed requests, retries and concurrent ones included, so the run may
	// stop after fewer failed events than downAfter, but never after many more.
	if sum.Done < 5 || sum.Failed < 1 || sum.Failed > downAfter+a.eng.conc || sum.Finished() >= sum.Candidates {
		t.Errorf("push stopped: %s; want it stopped after 1..%d failed events", sum.Line(), downAfter+a.eng.conc)
	}
	h, err := ReadPeerHealth(ctx, a.st, srv.ID)
	if err != nil || h.State != PeerDown || h.Cause != "connection refused" {
		t.Fatalf("stored health %+v %v", h, err)
	}
	var downLines []store.LogEntry
	for _, e := range healthLog(t, a, 0) {
		if e.Outcome == store.LogOutcome(PeerDown) {
			downLines = append(downLines, e)
		}
	}
	want := "down since " + h.Since.Local().Format("15:04") + ": connection refused"
	if len(downLines) != 1 || downLines[0].Message != want || downLines[0].Level != "error" {
		t.Fatalf("down lines %+v; want one %q", downLines, want)
	}

	// 20 events queued while B is down: attempts back off.
	var queued []string
	for i := range 20 {
		uuid := fmt.Sprintf("00000000-0000-4000-8000-2000000000%02d", i)
		publishedEvent(a, t, uuid)
		if res, err := a.st.Publish(ctx, testsupport.LocalEvent(t, a.st, uuid)); err != nil || res.Queued != 1 {
			t.Fatalf("publish: %+v %v", res, err)
		}
		queued = append(queued, uuid)
	}
	mark := lastLogID(t, a)
	for range 60 { // 15 s in steps of 250 ms
		if _, err := a.eng.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		clock.advance(250 * time.Millisecond)
	}
	all, _ := a.st.LogSince(ctx, mark, 10000, store.LogFilter{Direction: "push"})
	attempts := 0
	for _, e := range all {
		if e.Outcome == "failed" {
			attempts++
		}
	}
	t.Logf("%d delivery attempts in 15 stepped seconds for %d queued events", attempts, 20)
	if attempts < 2 || attempts > 10 {
		t.Errorf("%d delivery attempts in 15 s for 20 queued events; want a few retries, at most 10", attempts)
	}
	if q, _ := outboxQueued(t, a); q != 20 {
		t.Fatalf("%d rows queued, want 20", q)
	}
	if len(healthLog(t, a, mark)) != 0 {
		t.Errorf("the health was logged again while it did not change: %+v", healthLog(t, a, mark))
	}

	// B is back; the operator resumes at once rather than wait for the next retry.
	f.revive(t)
	mu.Lock()
	adds = 0
	mu.Unlock()
	if err := a.eng.ResumeServer(ctx, a.serverID("B")); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 40; round++ {
		ds, err := a.eng.DeliverDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if q, _ := outboxQueued(t, a); q == 0 {
			break
		}
		if len(ds) == 0 {
			clock.advance(time.Second)
		}

	}
	if q, _ := outboxQueued(t, a); q != 0 {
		t.Fatalf("%d rows still queued after the peer came back", q)
	}
	for _, uuid := range queued {
		if b.event(t, uuid) == nil {
			t.Errorf("B lacks %s", uuid)
		}
	}
	mu.Lock()
	if adds != len(queued) {
		t.Errorf("B received %d adds and edits for %d events; want each exactly once", adds, len(queued))
	}
	mu.Unlock()
	if h, _ := ReadPeerHealth(ctx, a.st, srv.ID); h.State != PeerUp {
		t.Errorf("health after recovery: %+v", h)
	}
	lines := healthLog(t, a, mark)
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1].Message, "up again (was down since") {
		t.Errorf("recovery not logged: %+v", lines)
	}
}

// The console's "retry now" reaches the outbox of another process: an engine over a
// second handle of the database resumes the server, and the running engine (serve)
// tries it at once rather than at the end of its backoff.
func TestResumeReachesAnotherProcess(t *testing.T) {
	clock := &stepClock{t: time.Now()}
	a := newNodeAt(t, "A", store.InitOptions{OrgName: "OrgA"}, clock.now)
	b := newNode(t, "B")
	connect(t, a, b, store.ServerOptions{Push: true})
	f := startFront(t, b)
	f.kill()
	srv := pointAt(t, a, "B", "http://"+f.addr)
	const uuid = "00000000-0000-4000-8000-300000000001"
	publishedEvent(a, t, uuid)
	if res, err := a.st.Publish(ctx, testsupport.LocalEvent(t, a.st, uuid)); err != nil || res.Queued != 1 {
		t.Fatalf("publish: %+v %v", res, err)
	}
	// serve's outbox fails until B is down, then waits for its retry (seconds away)
	for i := 0; ; i++ {
		if _, err := a.eng.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		if _, down := a.eng.peerBlocked(srv.ID); down {
			break
		}
		if i == 200 {
			t.Fatal("B is never down")
		}
		clock.advance(250 * time.Millisecond)
	}
	f.revive(t)
	deliver := func() []Delivery {
		ds, err := a.eng.DeliverDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	deliver() // the row waits for B's retry
	if b.event(t, uuid) != nil {
		t.Fatal("pushed before the retry was due or asked for")
	}

	// the console: its own store handle and engine, on the same file
	st2, err := store.Open(ctx, a.st.Path(), store.WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st2.Close() })
	console := New(st2, Options{ClientConfig: fastClient, Holder: "console", Now: clock.now})
	t.Cleanup(console.Close)
	clock.advance(time.Second)
	if err := console.ResumeServer(ctx, srv.ID); err != nil {
		t.Fatal(err)
	}
	for range 3 { // no time passes: only the resume makes the row due
		deliver()
	}
	if b.event(t, uuid) == nil {
		t.Fatal("B lacks the event after retry now in another process")
	}
	if h, _ := a.eng.peerBlocked(srv.ID); h.State != "" {
		t.Errorf("B still %+v after it answered", h)
	}
}
