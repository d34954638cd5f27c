package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Sync keeps a little state per server between runs (the ETag of the remote's event index,
// so an unchanged index costs one 304). It lives in settings under "server:<id>:<key>"
// and goes when the server does.
func serverStateKey(serverID int64, key string) string {
	return fmt.Sprintf("server:%d:%s", serverID, key)
}

// ServerState reads one piece of a server's sync state ("" when unset).
func (s *Store) ServerState(ctx context.Context, serverID int64, key string) (string, error) {
	v, err := s.setting(ctx, s.read, serverStateKey(serverID, key))
	if err != nil {
		return "", fmt.Errorf("read sync state of server %d: %w", serverID, err)
	}
	return v, nil
}

// SetServerState records one piece of a server's sync state; "" removes it.
func (s *Store) SetServerState(ctx context.Context, serverID int64, key, value string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if value == "" {
			_, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE key = ?`, serverStateKey(serverID, key))
			return err
		}
		return setSetting(ctx, tx, serverStateKey(serverID, key), value)
	})
}
