package syncer

import (
	"context"
	"fmt"
	"strings"
	"time"

	"mispdesk/store"
	"mispdesk/syncer/remote"
)

// TestConnection runs MISP's connection test against a server — versions side by side,
// the remote user's organisation and permissions, the POST test, TLS — and logs the verdict.
func (e *Engine) TestConnection(ctx context.Context, server store.ServerID) (*remote.ConnectionTest, error) {
	r, err := e.newRun(ctx, server, store.DirTest)
	if err != nil {
		return nil, fmt.Errorf("test connection %d: %w", server, err)
	}
	t0 := time.Now()
	res, err := r.client.TestConnection(ctx, localVersion())
	if err != nil {
		r.step(ctx, store.LevelError, "", store.OutcomeFailed, err.Error(), t0, statusOf(err))
		e.flushLog()
		return nil, fmt.Errorf("test connection %s: %w", r.srv.Name, err)
	}
	if res.Status == remote.StatusOK || res.Status == remote.StatusSightingsOnly {
		if err := e.checkOrgs(ctx, r, res); err != nil {
			return nil, fmt.Errorf("test connection %s: %w", r.srv.Name, err)
		}
	}
	level := store.LevelInfo
	if res.Status != 1 {
		level = store.LevelError
	}
	r.step(ctx, level, "", store.OutcomeTested, res.Verdict, t0, 0)
	e.flushLog()
	return res, nil
}

// checkOrgs compares organisations by UUID, never by name: the remote user must belong
// there to this instance's host organisation (what pushed events are owned by), and a
// link whose remote organisation is our own host organisation is named as such.
func (e *Engine) checkOrgs(ctx context.Context, r *runContext, res *remote.ConnectionTest) error {
	inst, err := e.st.Instance(ctx)
	if err != nil {
		return err
	}
	host := inst.HostOrg
	res.RequireOrg(host.Name, host.UUID)
	if strings.EqualFold(r.srv.RemoteOrg.UUID, host.UUID) {
		res.Warn(fmt.Sprintf("the remote's host organisation is this instance's own (%s, %s): it is one of ours, and an internal link there keeps org-only data", host.Name, host.UUID))
	}
	return nil
}
