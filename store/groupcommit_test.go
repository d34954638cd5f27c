package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"mispdesk/store/misp"
)

// Events written concurrently through a GroupWriter are each acknowledged after their
// commit, and one refused event leaves the others of its group stored.
func TestGroupWriterCommitsEachAndIsolatesFailures(t *testing.T) {
	s := openTest(t)
	initHost(t, s)
	ctx := context.Background()
	events := feedEvents(t, "osint-mixed")[:24] // enough writers for several groups of 4
	bad := *events[0]
	bad.UUID = "00000000-0000-4000-8000-0000000000ba"
	bad.Distribution = misp.Distribution(9) // refused by the writer
	g := s.NewGroupWriter(4)
	var wg sync.WaitGroup
	errs := make([]error, len(events)+1)
	results := make([]UpsertResult, len(events)+1)
	for i := range len(events) + 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := &bad
			if i < len(events) {
				e = events[i]
			}
			results[i], errs[i] = g.UpsertEvent(ctx, e, UpsertOptions{DefaultDistribution: misp.AllCommunities})
		}()
	}
	wg.Wait()
	for i, e := range events {
		if errs[i] != nil || results[i].Outcome != Created || results[i].UUID != e.UUID {
			t.Errorf("event %s: %+v, %v", e.UUID, results[i], errs[i])
			continue
		}
		// Acknowledged means committed: another connection reads it.
		if _, err := s.ResolveEvent(ctx, e.UUID); err != nil {
			t.Errorf("event %s acknowledged but not readable: %v", e.UUID, err)
		}
	}
	if err := errs[len(events)]; !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("the invalid event: %v, want ErrInvalidEvent", err)
	}
	if _, err := s.ResolveEvent(ctx, bad.UUID); !errors.Is(err, ErrNotFound) {
		t.Errorf("the invalid event was stored: %v", err)
	}
	// Sent again, each is not newer: skipped, still one copy.
	res, err := g.UpsertEvent(ctx, events[0], UpsertOptions{})
	if err != nil || res.Outcome != Skipped {
		t.Errorf("again: %+v %v", res, err)
	}
	if _, err := g.UpsertEvent(ctx, events[0], UpsertOptions{}); err != nil {
		t.Error(err)
	}
	// The writer hands what is left to a goroutine when its caller's event is committed;
	// with nothing queued, that goroutine goes idle at once.
	deadline := time.Now().Add(10 * time.Second)
	for {
		g.mu.Lock()
		writing, queued := g.writing, len(g.queue)
		g.mu.Unlock()
		if !writing && queued == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writer left busy: writing %v, %d queued", writing, queued)
		}
		time.Sleep(time.Millisecond)
	}
}

// A caller whose context has ended before its event is written gets the error and nothing
// is stored.
func TestGroupWriterCancelled(t *testing.T) {
	s := openTest(t)
	initHost(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e := feedEvents(t, "osint-mixed")[0]
	if _, err := s.NewGroupWriter(0).UpsertEvent(ctx, e, UpsertOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if _, err := s.ResolveEvent(context.Background(), e.UUID); !errors.Is(err, ErrNotFound) {
		t.Errorf("stored anyway: %v", err)
	}
}
