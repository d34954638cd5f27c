package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
)

// The index version is a counter that triggers (migration 0004) bump in the same
// transaction as every change that could alter an events/index answer, so that the
// answer's ETag is known without reading the index.

// IndexVersion names the state of everything an events/index answer is built from: it
// changes with every committed change to events, their tags, organisations, sharing
// groups, the instance's settings or the blocklists, and with every opening of the store.
// Read it before the index: a change committed in between then only costs a full answer.
func (s *Store) IndexVersion(ctx context.Context) (string, error) {
	var (
		gen     string
		changes int64
	)
	if err := s.read.QueryRowContext(ctx, `SELECT generation, changes FROM index_version WHERE id = 1`).Scan(&gen, &changes); err != nil {
		return "", fmt.Errorf("read index version: %w", err)
	}
	return gen + ":" + strconv.FormatInt(changes, 10), nil
}

// renewIndexGeneration gives the index version a new generation, so that a database put
// back from a copy never reaches, by counting changes of its own, a version it gave out
// before with other contents.
func (s *Store) renewIndexGeneration(ctx context.Context) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE index_version SET generation = lower(hex(randomblob(16))) WHERE id = 1`); err != nil {
			return fmt.Errorf("renew index version: %w", err)
		}
		return nil
	})
}
