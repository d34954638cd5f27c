package syncer

import (
	"context"
	"fmt"
	"time"

	"mispdesk/syncer/remote"
)

// TestConnection runs MISP's connection test against a server — versions side by side,
// the remote user's organisation and permissions, the POST test, TLS — and logs the verdict.
func (e *Engine) TestConnection(ctx context.Context, serverRef string) (*remote.ConnectionTest, error) {
	r, err := e.newRun(ctx, serverRef, "test")
	if err != nil {
		return nil, fmt.Errorf("test connection %s: %w", serverRef, err)
	}
	t0 := time.Now()
	res, err := r.client.TestConnection(ctx, localVersion())
	if err != nil {
		r.step(ctx, "error", "", "failed", err.Error(), t0, statusOf(err))
		e.flushLog()
		return nil, fmt.Errorf("test connection %s: %w", r.srv.Name, err)
	}
	level := "info"
	if res.Status != 1 {
		level = "error"
	}
	r.step(ctx, level, "", "tested", res.Verdict, t0, 0)
	e.flushLog()
	return res, nil
}
