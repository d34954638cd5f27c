package store

import (
	"context"
	"testing"
	"time"
)

func TestLeaseBetweenTwoProcesses(t *testing.T) {
	ctx := context.Background()
	a, clock := openClocked(t)
	b, err := Open(ctx, a.Path(), WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	try := func(s *Store, holder string, want bool) {
		t.Helper()
		got, err := s.AcquireLease(ctx, "leader", holder, 10*time.Second)
		if err != nil || got != want {
			t.Fatalf("%s acquires: %v, %v; want %v", holder, got, err, want)
		}
	}
	try(a, "daemon", true)
	try(b, "console", false)
	clock.advance(9 * time.Second)
	try(a, "daemon", true) // renew: now valid 10s from here
	clock.advance(9 * time.Second)
	try(b, "console", false)
	clock.advance(time.Second) // the renewal ran out
	try(b, "console", true)
	try(a, "daemon", false)
	// Releasing someone else's lease does nothing; releasing one's own frees it at once.
	if err := a.ReleaseLease(ctx, "leader", "daemon"); err != nil {
		t.Fatal(err)
	}
	try(a, "daemon", false)
	if err := b.ReleaseLease(ctx, "leader", "console"); err != nil {
		t.Fatal(err)
	}
	try(a, "daemon", true)
	// Leases are independent by name.
	if got, err := b.AcquireLease(ctx, "feeds", "console", time.Second); err != nil || !got {
		t.Errorf("another lease: %v, %v", got, err)
	}
	for _, bad := range []struct {
		name, holder string
		ttl          time.Duration
	}{{"", "x", time.Second}, {"x", "", time.Second}, {"x", "y", 0}} {
		if _, err := a.AcquireLease(ctx, bad.name, bad.holder, bad.ttl); err == nil {
			t.Errorf("AcquireLease(%q, %q, %v) accepted", bad.name, bad.holder, bad.ttl)
		}
	}
}
