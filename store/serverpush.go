package store

import (
	"context"
	"database/sql"
	"fmt"
)

// SetLastPushedID records the highest local event id a push to the server has dealt with
// (MISP's Server.lastpushedid, where an incremental push starts). It does not count as an
// edit of the server record.
func (s *Store) SetLastPushedID(ctx context.Context, serverID ServerID, eventID EventID) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE servers SET lastpushedid = ? WHERE id = ?`, max(eventID, 0), serverID)
		if err != nil {
			return fmt.Errorf("server %d: lastpushedid: %w", serverID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("server %d: %w", serverID, ErrNotFound)
		}
		return nil
	})
}
