package store

import (
	"context"
	"testing"

	"mispdesk/store/misp"
)

// An edit of a published event writes the new content and unpublishes it in one
// transaction: when the unpublish step fails, nothing of the edit is left — the old
// content stays, still published, its pushes still queued.
func TestEditEventIsOneTransaction(t *testing.T) {
	ctx := context.Background()
	s, _, _ := outboxTest(t)
	ev := loadEvent(t, "../testdata/feeds/osint-mixed/5a0a9aa9-23a4-4607-b6df-41a9950d210f.json")
	oldInfo := ev.Info
	if _, err := s.UpsertEvent(ctx, ev, UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	pub, err := s.Publish(ctx, mustResolve(t, s.ResolveEvent, ev.UUID))
	if err != nil || pub.Queued != 2 {
		t.Fatalf("publish: %+v, %v", pub, err)
	}
	before := count(t, s, `SELECT timestamp FROM events`)
	edit := func(ev *misp.Event, now misp.Int) error {
		ev.Info = "edited"
		return nil
	}

	// The unpublish step (dropping the queued pushes) fails.
	if _, err := s.write.ExecContext(ctx, `CREATE TRIGGER fail_unpublish BEFORE DELETE ON outbox
		BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.EditEvent(ctx, mustResolve(t, s.ResolveEvent, ev.UUID), 0, edit); err == nil {
		t.Fatal("EditEvent succeeded though its unpublish step failed")
	}
	got, err := s.Event(ctx, mustResolve(t, s.ResolveEvent, ev.UUID))
	if err != nil {
		t.Fatal(err)
	}
	if got.Info != oldInfo || !bool(got.Published) || int(got.Timestamp) != before {
		t.Fatalf("after a failed edit: info %q published %v timestamp %d; want %q true %d", got.Info, got.Published, got.Timestamp, oldInfo, before)
	}
	if n := count(t, s, `SELECT count(*) FROM outbox`); n != 2 {
		t.Fatalf("after a failed edit %d pushes queued, want the 2 of the publish", n)
	}

	// Without the fault the same edit commits whole.
	if _, err := s.write.ExecContext(ctx, `DROP TRIGGER fail_unpublish`); err != nil {
		t.Fatal(err)
	}
	saved, res, err := s.EditEvent(ctx, mustResolve(t, s.ResolveEvent, ev.UUID), 0, edit)
	if err != nil || res.Outcome == Skipped {
		t.Fatalf("EditEvent: %v, %+v", err, res)
	}
	if saved.Info != "edited" || bool(saved.Published) {
		t.Fatalf("after the edit: info %q published %v", saved.Info, saved.Published)
	}
	if n := count(t, s, `SELECT count(*) FROM outbox`); n != 0 {
		t.Fatalf("after the edit %d pushes of the old version still queued", n)
	}
}
