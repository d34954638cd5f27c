package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// outboxTest opens a database with servers "push" (push on), "push2" (push on) and
// "pull" (push off).
func outboxTest(t *testing.T) (*Store, *testClock, []*Server) {
	t.Helper()
	s, clock := openClocked(t)
	ctx := context.Background()
	if _, err := s.Init(ctx, InitOptions{OrgName: "HOST"}); err != nil {
		t.Fatal(err)
	}
	mustOrg(t, s, "REMOTE")
	var servers []*Server
	for _, c := range []struct {
		name string
		push bool
	}{{"push", true}, {"push2", true}, {"pull", false}} {
		sv, err := s.AddServer(ctx, ServerSpec{Name: c.name, URL: "https://" + c.name + ".example", Authkey: testKey,
			RemoteOrgRef: "REMOTE", ServerOptions: ServerOptions{Push: c.push, Pull: !c.push}})
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, sv)
	}
	return s, clock, servers
}

const evUUID = "0b8e4a2a-2b2f-4c33-9d0a-0c1d2e3f4a5b"

func TestEnqueue(t *testing.T) {
	ctx := context.Background()
	s, clock, servers := outboxTest(t)
	if err := s.Enqueue(ctx, nil, servers[0].ID, "push_everything", evUUID); err == nil {
		t.Error("unknown kind accepted")
	}
	if err := s.Enqueue(ctx, nil, 999, OutboxPushEvent, evUUID); err == nil {
		t.Error("unknown server accepted")
	}
	if err := s.Enqueue(ctx, nil, servers[0].ID, OutboxPushEvent, evUUID); err != nil {
		t.Fatal(err)
	}
	items, err := s.Claim(ctx, "w1", time.Minute, 10)
	if err != nil || len(items) != 1 || items[0].EventUUID != evUUID || items[0].Kind != OutboxPushEvent {
		t.Fatalf("Claim = %+v, %v", items, err)
	}
	if err := s.Fail(ctx, items[0].ID, "w1", "connection refused", time.Hour); err != nil {
		t.Fatal(err)
	}
	// Queued again (published again): due at once, one row, failures remembered.
	clock.advance(time.Second)
	err = s.tx(ctx, func(tx *sql.Tx) error { return s.Enqueue(ctx, tx, servers[0].ID, OutboxPushEvent, evUUID) })
	if err != nil {
		t.Fatal(err)
	}
	items, err = s.Claim(ctx, "w1", time.Minute, 10)
	if err != nil || len(items) != 1 || items[0].Attempts != 1 || items[0].LastError != "connection refused" {
		t.Fatalf("re-queued row = %+v, %v", items, err)
	}
	// A sightings push of the same event is separate work.
	if err := s.Enqueue(ctx, nil, servers[0].ID, OutboxPushSightings, evUUID); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.OutboxStats(ctx); len(st) != 1 || st[0].Queued != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestEnqueuePushes(t *testing.T) {
	ctx := context.Background()
	s, _, servers := outboxTest(t)
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = s.EnqueuePushes(ctx, tx, evUUID)
		return err
	})
	if err != nil || n != 2 {
		t.Fatalf("EnqueuePushes = %d, %v; want the 2 push servers", n, err)
	}
	// Rolled back with its transaction.
	_ = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.EnqueuePushes(ctx, tx, "11111111-2222-4333-8444-555555555555"); err != nil {
			t.Fatal(err)
		}
		return errors.New("publish failed")
	})
	items, err := s.Claim(ctx, "w", time.Minute, 10)
	if err != nil || len(items) != 2 || items[0].ServerID != servers[0].ID || items[1].ServerID != servers[1].ID {
		t.Fatalf("queued = %+v, %v", items, err)
	}
	// Deleting a server drops its queued work.
	if err := s.DeleteServer(ctx, mustResolve(t, s.ResolveServer, "push2")); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.OutboxStats(ctx); len(st) != 1 || st[0].ServerName != "push" || st[0].Leased != 1 {
		t.Errorf("stats after delete = %+v", st)
	}
}

func TestClaimLeaseFailComplete(t *testing.T) {
	ctx := context.Background()
	s, clock, servers := outboxTest(t)
	for i := range 3 {
		if err := s.Enqueue(ctx, nil, servers[0].ID, OutboxPushEvent, fmt.Sprintf("%08d-2b2f-4c33-9d0a-0c1d2e3f4a5b", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Claim(ctx, "", time.Minute, 1); err == nil {
		t.Error("claim without owner accepted")
	}
	a, err := s.Claim(ctx, "A", 30*time.Second, 2)
	if err != nil || len(a) != 2 || a[0].LeaseOwner != "A" {
		t.Fatalf("A claims %+v, %v", a, err)
	}
	b, err := s.Claim(ctx, "B", 30*time.Second, 10)
	if err != nil || len(b) != 1 || b[0].ID == a[0].ID || b[0].ID == a[1].ID {
		t.Fatalf("B claims %+v, %v; want only the third row", b, err)
	}
	if err := s.Complete(ctx, a[0].ID, "B"); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("complete by a non-owner: %v", err)
	}
	if err := s.Complete(ctx, a[0].ID, "A"); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, a[0].ID, "A"); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("complete twice: %v", err)
	}
	// Fail keeps the row with its error and backs off.
	if err := s.Fail(ctx, a[1].ID, "A", "HTTP 500", 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	st, _ := s.OutboxStats(ctx)
	if len(st) != 1 || st[0].Queued != 2 || st[0].Failing != 1 || st[0].Leased != 1 || st[0].LastError != "HTTP 500" {
		t.Errorf("stats = %+v", st)
	}
	clock.advance(4 * time.Minute)
	// B's lease ran out: A may take that row, B may no longer finish it.
	got, _ := s.Claim(ctx, "A", time.Minute, 10)
	if len(got) != 1 || got[0].ID != b[0].ID {
		t.Fatalf("after B's lease: A claims %+v", got)
	}
	if err := s.Fail(ctx, b[0].ID, "B", "late", time.Second); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("fail after lease lost: %v", err)
	}
	clock.advance(time.Minute)
	got, _ = s.Claim(ctx, "B", time.Minute, 10)
	if len(got) != 2 || got[0].ID != a[1].ID || got[0].Attempts != 1 {
		t.Fatalf("after backoff: B claims %+v", got)
	}
	// Published again while B pushes the old version: the row survives B's Complete.
	if err := s.Enqueue(ctx, nil, servers[0].ID, OutboxPushEvent, got[0].EventUUID); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, got[0].ID, "B"); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, got[1].ID, "B"); err != nil {
		t.Fatal(err)
	}
	again, _ := s.Claim(ctx, "C", time.Minute, 10)
	if len(again) != 1 || again[0].ID != got[0].ID || again[0].Attempts != 0 {
		t.Fatalf("re-queued during push: C claims %+v", again)
	}
}

func TestClaimTwoProcessesNeverShare(t *testing.T) {
	ctx := context.Background()
	s1, clock, servers := outboxTest(t)
	s2, err := Open(ctx, s1.Path(), WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	const rows = 60
	err = s1.tx(ctx, func(tx *sql.Tx) error {
		for i := range rows {
			if err := s1.Enqueue(ctx, tx, servers[i%2].ID, OutboxPushEvent, fmt.Sprintf("%08d-2b2f-4c33-9d0a-0c1d2e3f4a5b", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen = map[int64]string{}
		wg   sync.WaitGroup
	)
	for w, st := range []*Store{s1, s2, s1, s2} {
		owner := fmt.Sprintf("worker%d", w)
		wg.Go(func() {
			for {
				items, err := st.Claim(ctx, owner, time.Minute, 4)
				if err != nil {
					t.Error(err)
					return
				}
				if len(items) == 0 {
					return
				}
				mu.Lock()
				for _, it := range items {
					if prev, dup := seen[it.ID]; dup {
						t.Errorf("row %d claimed by %s and %s", it.ID, prev, owner)
					}
					seen[it.ID] = owner
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != rows {
		t.Errorf("%d rows claimed, want %d", len(seen), rows)
	}
}
