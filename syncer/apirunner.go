package syncer

import (
	"context"

	"mispdesk/store"
)

// APIRunner lets the REST API (servers/pull, servers/push, servers/testConnection) start
// the engine's runs; it satisfies mispapi.SyncRunner.
type APIRunner struct{ Engine *Engine }

// Pull runs a pull of the server and returns its one-line summary.
func (a APIRunner) Pull(ctx context.Context, serverID store.ServerID, technique string) (string, error) {
	sum, err := a.Engine.Pull(ctx, serverID, RunOptions{Technique: technique})
	if sum == nil {
		return "", err
	}
	return sum.Line(), err
}

// Push runs a push to the server and returns its one-line summary.
func (a APIRunner) Push(ctx context.Context, serverID store.ServerID, technique string) (string, error) {
	sum, err := a.Engine.Push(ctx, serverID, RunOptions{Technique: technique})
	if sum == nil {
		return "", err
	}
	return sum.Line(), err
}

// TestConnection runs the connection test of the server.
func (a APIRunner) TestConnection(ctx context.Context, serverID store.ServerID) (any, error) {
	return a.Engine.TestConnection(ctx, serverID)
}

// FetchFeed fetches the feed now and returns how many events it created and updated.
func (a APIRunner) FetchFeed(ctx context.Context, id store.FeedID) (created, updated int, err error) {
	sum, err := a.Engine.FetchFeed(ctx, id, nil)
	if sum == nil {
		return 0, 0, err
	}
	return sum.Created, sum.Updated, err
}

// CacheFeed refreshes the feed's cache now and returns how many values it holds.
func (a APIRunner) CacheFeed(ctx context.Context, id store.FeedID) (int, error) {
	return a.Engine.CacheFeed(ctx, id)
}

// Wake nudges the engine's outbox worker (see Engine.Wake).
func (a APIRunner) Wake() { a.Engine.Wake() }
