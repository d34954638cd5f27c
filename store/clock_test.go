package store

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// testClock is a settable clock for tests of expiry, backoff and leases.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// openClocked opens a fresh database whose clock starts at a fixed time.
func openClocked(t testing.TB) (*Store, *testClock) {
	t.Helper()
	c := &testClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), WithClock(c.now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

// mustOrg adds a local organisation or fails the test.
func mustOrg(t testing.TB, s *Store, name string) *Org {
	t.Helper()
	o, err := s.AddOrg(context.Background(), Org{Name: name, Local: true})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// mustResolve is the id resolve finds for ref; the test fails when it finds none.
func mustResolve[T ~int64](t testing.TB, resolve func(context.Context, string) (T, error), ref string) T {
	t.Helper()
	id, err := resolve(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
