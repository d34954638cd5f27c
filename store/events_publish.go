package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// PublishResult says what Publish did.
type PublishResult struct {
	EventID EventID
	UUID    string
	// Queued is how many servers the event was queued to be pushed to.
	Queued int
}

// Publish marks an event published and, in the same transaction, queues a push of it to
// every server with push enabled: a publish and its pushes commit together, so neither is
// lost. Publishing an already published event queues it again (MISP's re-publish).
func (s *Store) Publish(ctx context.Context, id EventID) (*PublishResult, error) {
	return s.publish(ctx, id, nil)
}

// publish is Publish with more work done in its transaction by also (nil: none).
func (s *Store) publish(ctx context.Context, id EventID, also func(*sql.Tx, *PublishResult) error) (*PublishResult, error) {
	var res PublishResult
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := eventUUID(ctx, tx, id, &res.UUID); err != nil {
			return err
		}
		res.EventID = id
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
		return nil, fmt.Errorf("publish event %d: %w", id, err)
	}
	return &res, nil
}

// Unpublish marks an event unpublished; pushes already queued for it are dropped.
func (s *Store) Unpublish(ctx context.Context, id EventID) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var uuid string
		if err := eventUUID(ctx, tx, id, &uuid); err != nil {
			return err
		}
		return unpublish(ctx, tx, id, uuid)
	})
	if err != nil {
		return fmt.Errorf("unpublish event %d: %w", id, err)
	}
	return nil
}

// unpublish marks event id unpublished and drops the pushes queued for it (those not
// being delivered right now), inside the caller's transaction.
func unpublish(ctx context.Context, tx *sql.Tx, id EventID, uuid string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE events SET published = 0 WHERE id = ?`, int64(id)); err != nil {
		return fmt.Errorf("mark unpublished: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE event_uuid = ? AND kind = ? AND lease_owner = ''`, uuid, OutboxPushEvent); err != nil {
		return fmt.Errorf("drop queued pushes: %w", err)
	}
	return nil
}

// eventUUID reads the UUID of event id (ErrNotFound when there is none).
func eventUUID(ctx context.Context, q queryer, id EventID, uuid *string) error {
	err := q.QueryRowContext(ctx, `SELECT uuid FROM events WHERE id = ?`, int64(id)).Scan(uuid)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
