package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// PublishResult says what Publish did.
type PublishResult struct {
	EventID int64
	UUID    string
	// Queued is how many servers the event was queued to be pushed to.
	Queued int
}

// Publish marks an event published and, in the same transaction, queues a push of it to
// every server with push enabled: a publish and its pushes commit together, so neither is
// lost. Publishing an already published event queues it again (MISP's re-publish).
func (s *Store) Publish(ctx context.Context, ref string) (*PublishResult, error) {
	return s.publish(ctx, ref, nil)
}

// publish is Publish with more work done in its transaction by also (nil: none).
func (s *Store) publish(ctx context.Context, ref string, also func(*sql.Tx, *PublishResult) error) (*PublishResult, error) {
	var res PublishResult
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := eventIDByRef(ctx, tx, ref, &res.EventID, &res.UUID); err != nil {
			return err
		}
		now := s.now().Unix()
		if _, err := tx.ExecContext(ctx, `UPDATE events SET published = 1, publish_timestamp = ? WHERE id = ?`, now, res.EventID); err != nil {
			return err
		}
		var err error
		if res.Queued, err = s.EnqueuePushes(ctx, tx, res.UUID); err != nil || also == nil {
			return err
		}
		return also(tx, &res)
	})
	if err != nil {
		return nil, fmt.Errorf("publish event %s: %w", ref, err)
	}
	return &res, nil
}

// Unpublish marks an event unpublished; pushes already queued for it are dropped.
func (s *Store) Unpublish(ctx context.Context, ref string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		var uuid string
		if err := eventIDByRef(ctx, tx, ref, &id, &uuid); err != nil {
			return err
		}
		return unpublish(ctx, tx, id, uuid)
	})
	if err != nil {
		return fmt.Errorf("unpublish event %s: %w", ref, err)
	}
	return nil
}

// unpublish marks event id unpublished and drops the pushes queued for it (those not
// being delivered right now), inside the caller's transaction.
func unpublish(ctx context.Context, tx *sql.Tx, id int64, uuid string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE events SET published = 0 WHERE id = ?`, id); err != nil {
		return fmt.Errorf("mark unpublished: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE event_uuid = ? AND kind = ? AND lease_owner = ''`, uuid, OutboxPushEvent); err != nil {
		return fmt.Errorf("drop queued pushes: %w", err)
	}
	return nil
}

func eventIDByRef(ctx context.Context, q queryer, ref string, id *int64, uuid *string) error {
	ref = strings.ToLower(strings.TrimSpace(ref))
	var row *sql.Row
	if n, err := strconv.ParseInt(ref, 10, 64); err == nil {
		row = q.QueryRowContext(ctx, `SELECT id, uuid FROM events WHERE id = ?`, n)
	} else {
		row = q.QueryRowContext(ctx, `SELECT id, uuid FROM events WHERE uuid = ?`, ref)
	}
	err := row.Scan(id, uuid)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
