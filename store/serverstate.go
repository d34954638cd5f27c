package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Sync keeps a little state per server between runs (the ETag of the remote's event index,
// so an unchanged index costs one 304). It lives in settings under "server:<id>:<key>"
// and goes when the server does.
func serverStateKey(serverID ServerID, key string) string {
	return fmt.Sprintf("server:%d:%s", serverID, key)
}

// ServerState reads one piece of a server's sync state ("" when unset).
func (s *Store) ServerState(ctx context.Context, serverID ServerID, key string) (string, error) {
	v, err := s.setting(ctx, s.read, serverStateKey(serverID, key))
	if err != nil {
		return "", fmt.Errorf("read sync state of server %d: %w", serverID, err)
	}
	return v, nil
}

// SetServerState records one piece of a server's sync state; "" removes it.
func (s *Store) SetServerState(ctx context.Context, serverID ServerID, key, value string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if value == "" {
			_, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE key = ?`, serverStateKey(serverID, key))
			return err
		}
		return setSetting(ctx, tx, serverStateKey(serverID, key), value)
	})
}

// forgetServerState drops the sync state of one server, or of every server (id 0). The
// state is a cache of "nothing changed since", so it must go whenever something here
// changes what a pull would do with an unchanged remote: an event deleted here (a pull
// would bring it back), an entry leaving a blocklist, a server's rules or address edited,
// the server itself deleted (a server added later may reuse its id).
func forgetServerState(ctx context.Context, tx *sql.Tx, serverID ServerID) error {
	pattern := "server:%"
	if serverID != 0 {
		pattern = fmt.Sprintf("server:%d:%%", serverID)
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE key LIKE ?`, pattern)
	return err
}
