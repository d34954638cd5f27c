package syncer

import (
	"context"
	"strconv"
)

// APIRunner lets the REST API (servers/pull, servers/push, servers/testConnection) start
// the engine's runs; it satisfies mispapi.SyncRunner.
type APIRunner struct{ Engine *Engine }

// Pull runs a pull of the server and returns its one-line summary.
func (a APIRunner) Pull(ctx context.Context, serverID int64, technique string) (string, error) {
	sum, err := a.Engine.Pull(ctx, strconv.FormatInt(serverID, 10), RunOptions{Technique: technique})
	if sum == nil {
		return "", err
	}
	return sum.Line(), err
}

// Push runs a push to the server and returns its one-line summary.
func (a APIRunner) Push(ctx context.Context, serverID int64, technique string) (string, error) {
	sum, err := a.Engine.Push(ctx, strconv.FormatInt(serverID, 10), RunOptions{Technique: technique})
	if sum == nil {
		return "", err
	}
	return sum.Line(), err
}

// TestConnection runs the connection test of the server.
func (a APIRunner) TestConnection(ctx context.Context, serverID int64) (any, error) {
	return a.Engine.TestConnection(ctx, strconv.FormatInt(serverID, 10))
}

// Wake nudges the engine's outbox worker (see Engine.Wake).
func (a APIRunner) Wake() { a.Engine.Wake() }
