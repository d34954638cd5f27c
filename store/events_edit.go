package store

// An edit of a local event as MISP makes one: newer timestamps, unpublished, in one
// transaction.

import (
	"context"
	"database/sql"
	"fmt"

	"mispdesk/store/misp"
)

// EditEvent applies fn to the stored event and writes it back as MISP writes a local
// edit: fn gets the timestamp changed elements take (now, and newer than the event's
// current one; bump each changed element's own timestamp to at least it), the event takes
// it too, the event is unpublished (pushes queued for the old version are dropped), its
// owner stays, and sharing group ids are this instance's. userID is recorded as the
// editor. A write the store refuses as not newer comes back as a Skipped result.
func (s *Store) EditEvent(ctx context.Context, id EventID, userID UserID, fn func(ev *misp.Event, now misp.Int) error) (*misp.Event, UpsertResult, error) {
	row, err := s.EventRow(ctx, id)
	if err != nil {
		return nil, UpsertResult{}, err
	}
	ev, err := s.Event(ctx, id)
	if err != nil {
		return nil, UpsertResult{}, err
	}
	now := misp.Int(max(s.now().Unix(), row.Timestamp+1))
	if err := fn(ev, now); err != nil {
		return nil, UpsertResult{}, err
	}
	ev.Timestamp = now
	ev.Published = false
	res := UpsertResult{UUID: ev.UUID}
	// The new content and the unpublish commit together: an edit never leaves the new
	// content published with the old version's pushes queued.
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.upsertTx(ctx, tx, ev, UpsertOptions{OwnerOrgID: row.OrgID, UserID: userID, LocalIDs: true}, &res); err != nil {
			return err
		}
		if res.Outcome == Skipped || !row.Published {
			return nil
		}
		// MISP unpublishes an event whose content changes; pushes queued for the old
		// version go with it.
		return unpublish(ctx, tx, row.ID, row.UUID)
	})
	if err != nil {
		return nil, UpsertResult{UUID: ev.UUID}, fmt.Errorf("edit event %d: %w", id, err)
	}
	if res.Outcome == Skipped {
		return nil, res, nil
	}
	saved, err := s.Event(ctx, id)
	return saved, res, err
}

// BumpTimestamp is an edited element's new timestamp: now, and always newer than its old
// one (EditEvent's callers use it on each element they change).
func BumpTimestamp(old, now misp.Int) misp.Int { return max(now, old+1) }
