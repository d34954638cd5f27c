package syncer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/remote"
)

// Push sends a server every published event it may have and does not have yet, as MISP's
// push does: each local candidate decided by policy (distribution, sharing group, push
// rules, blocklists), the remote asked which of those it wants (filterEventIdsForPush:
// what it lacks or holds older), then each sent in the form policy prepared. Only events
// that may go are ever named to the remote.
func (e *Engine) Push(ctx context.Context, serverRef string, opts RunOptions) (*RunSummary, error) {
	return e.runOne(ctx, serverRef, "push", opts, (*runContext).push)
}

// errNotSyncUser is the refusal when the remote account may not receive events.
var errNotSyncUser = errors.New("the remote user is not a sync user (its role lacks perm_sync), so events cannot be pushed")

func (r *runContext) push(ctx context.Context, opts RunOptions, sum *RunSummary) error {
	technique := strings.ToLower(strings.TrimSpace(opts.Technique))
	single := technique != "" && technique != "full" && technique != "incremental"
	if !r.srv.Push && !single {
		return errors.New("push is not enabled for this server")
	}
	if err := r.checkCanPush(ctx); err != nil {
		return err
	}

	// Candidates: published events, decided one at a time so a large store is never held
	// in memory at once.
	var rows []store.EventSummary
	if single {
		ev, err := r.e.st.Event(ctx, technique)
		if err != nil {
			return err
		}
		rows = []store.EventSummary{{UUID: ev.UUID, Timestamp: int64(ev.Timestamp), Published: bool(ev.Published)}}
	} else {
		published := true
		var err error
		if rows, err = r.e.st.ListEvents(ctx, store.EventFilter{Published: &published, Sort: "timestamp", Ascending: true}); err != nil {
			return err
		}
	}
	// Event-level decisions first, on metadata: only events that may go are ever named to
	// the remote; the payload of each wanted one is prepared when it is sent.
	var allowed []remote.UUIDTimestamp
	for _, row := range rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		meta, err := r.e.st.EventMetadata(ctx, row.UUID)
		if err != nil {
			sum.fail(fmt.Errorf("event %s: %w", row.UUID, err))
			continue
		}
		if d := r.inst.PushCandidate(r.psrv, meta, policy.Scheduled, r.bl); !d.Allowed {
			sum.skip(d.Reason())
			continue
		}
		allowed = append(allowed, remote.UUIDTimestamp{UUID: row.UUID, Timestamp: row.Timestamp})
	}
	if len(allowed) == 0 {
		r.step(ctx, "info", "", "selected", fmt.Sprintf("nothing may be pushed; %s", strings.Join(sum.TopSkipReasons(3), "; ")), time.Time{}, 0)
		return nil
	}
	t0 := time.Now()
	wanted, err := r.client.FilterEventIDsForPush(ctx, allowed)
	if err != nil {
		r.step(ctx, "error", "", "failed", "filterEventIdsForPush: "+err.Error(), t0, statusOf(err))
		return err
	}
	if n := len(allowed) - len(wanted); n > 0 {
		for range n {
			sum.skip("the remote already has this version")
		}
	}
	sum.Candidates = len(wanted)
	r.step(ctx, "info", "", "selected", fmt.Sprintf("%d events may go, the remote wants %d", len(allowed), len(wanted)), t0, 200)
	if opts.DryRun {
		sum.Would = wanted
		return nil
	}
	start := time.Now()
	var seq atomicCounter
	forEach(ctx, r.e.conc, wanted, func(uuid string) {
		r.pushOne(ctx, uuid, policy.Scheduled, sum, seq.next(), len(wanted))
		if opts.Progress != nil {
			done, failed := sum.progress()
			opts.Progress(Progress{Server: r.srv.Name, Direction: "push", Done: done, Total: len(wanted), Failed: failed, Elapsed: time.Since(start)})
		}
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	uuids := make([]string, len(allowed))
	for i, a := range allowed {
		uuids[i] = a.UUID
	}
	r.pushSightings(ctx, uuids)
	return nil
}

// checkCanPush asks the remote who we are there: only a sync user may receive events.
func (r *runContext) checkCanPush(ctx context.Context) error {
	t0 := time.Now()
	ver, err := r.client.GetVersion(ctx)
	if err != nil {
		r.step(ctx, "error", "", "failed", "version check: "+err.Error(), t0, statusOf(err))
		return err
	}
	if !ver.PermSync {
		r.step(ctx, "error", "", "refused", errNotSyncUser.Error(), t0, 200)
		return errNotSyncUser
	}
	r.step(ctx, "info", "", "connected", fmt.Sprintf("remote MISP %s, sync user", ver.Version), t0, 200)
	return nil
}

// decidePush loads an event and asks policy whether and how it may go to the server.
func (r *runContext) decidePush(ctx context.Context, uuid string, trig policy.Trigger) (policy.PushResult, error) {
	ev, err := r.e.st.Event(ctx, uuid)
	if err != nil {
		return policy.PushResult{}, fmt.Errorf("event %s: %w", uuid, err)
	}
	return r.inst.Push(r.psrv, ev, trig, r.bl), nil
}

// pushOne decides and sends one event; it reports whether the remote has it now.
func (r *runContext) pushOne(ctx context.Context, uuid string, trig policy.Trigger, sum *RunSummary, seq, total int) error {
	t0 := time.Now()
	res, err := r.decidePush(ctx, uuid, trig)
	if err != nil {
		sum.fail(err)
		r.progressStep(ctx, "error", uuid, "failed", err.Error(), t0, 0, seq, total)
		return err
	}
	if !res.Allowed {
		sum.skip(res.Reason())
		r.progressStep(ctx, "info", uuid, "skipped", res.Reason(), t0, 0, seq, total)
		return nil
	}
	out, err := r.client.PushEvent(ctx, res.Event)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		sum.fail(fmt.Errorf("event %s: %w", uuid, err))
		r.progressStep(ctx, "error", uuid, "failed", err.Error(), t0, statusOf(err), seq, total)
		return err
	}
	attrs := countAttributes(res.Event)
	switch out.Outcome {
	case remote.NotNewer:
		sum.skip("the remote already has this version")
		r.progressStep(ctx, "info", uuid, "skipped", "the remote's copy is not older", t0, 403, seq, total)
	default:
		sum.done(out.Outcome == remote.Created, attrs)
		r.progressStep(ctx, "info", uuid, "pushed", fmt.Sprintf("%s on the remote: %q (%d attributes)", out.Outcome,
			truncateRunes(res.Event.Info, 80), attrs), t0, 200, seq, total)
	}
	return nil
}

func countAttributes(e *misp.Event) int {
	n := len(e.Attribute)
	for _, o := range e.Object {
		n += len(o.Attribute)
	}
	return n
}
