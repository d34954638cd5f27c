package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// AcquireLease takes the named lease for holder until ttl from now, when it is free,
// expired, or already holder's (a renewal). It reports whether holder has it now. Processes
// sharing the database file use it to elect the one that runs the scheduler and the outbox.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if name == "" || holder == "" || ttl <= 0 {
		return false, fmt.Errorf("acquire lease %q: need a name, a holder and a positive ttl", name)
	}
	var got bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		res, err := tx.ExecContext(ctx, `INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
			WHERE leases.holder = excluded.holder OR leases.expires <= ?`,
			name, holder, now.Add(ttl).UnixMilli(), now.UnixMilli())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		got = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("acquire lease %q for %s: %w", name, holder, err)
	}
	return got, nil
}

// ReleaseLease gives up holder's lease so another process may take it at once; releasing
// a lease held by someone else does nothing.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder)
		return err
	})
	if err != nil {
		return fmt.Errorf("release lease %q for %s: %w", name, holder, err)
	}
	return nil
}
