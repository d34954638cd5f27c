package syncer

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/syncer/remote"
)

const (
	// LeaderLease names the lease the sync daemon holds in the database: exactly one process
	// (a mispdesk serve, or a console) runs the outbox and the scheduler.
	LeaderLease   = "syncer"
	leaderTTL     = 15 * time.Second
	leaderRenew   = 5 * time.Second
	outboxLease   = 2 * time.Minute
	outboxPoll    = 500 * time.Millisecond // DaemonOptions.OutboxPoll's default
	maxBackoff    = time.Hour
	firstBackoff  = 5 * time.Second
	outboxBatch   = 16
	schedulerTick = 30 * time.Second
)

// DaemonOptions shape Run.
type DaemonOptions struct {
	// PullInterval pulls every server with pull enabled this often; 0 turns the scheduler
	// off (pulls then run by hand or from cron).
	PullInterval time.Duration
	// OutboxPoll is how often the outbox worker looks for work queued without a Wake (by
	// another process sharing the database); 0: every 500 ms.
	OutboxPoll time.Duration
}

// Run is the sync daemon: it holds the leader lease among the processes sharing the
// database and, while it does, runs the outbox worker and the scheduler. It returns when
// ctx ends, after releasing the lease; work in flight is cancelled and its outbox rows are
// freed for the next worker.
func (e *Engine) Run(ctx context.Context, opts DaemonOptions) error {
	var lead leadership
	defer func() {
		e.leader.Store(false)
		lead.stop()
		e.st.ReleaseLease(context.WithoutCancel(ctx), LeaderLease, e.holder)
	}()
	tick := time.NewTicker(leaderRenew)
	defer tick.Stop()
	for {
		leader, err := e.st.AcquireLease(ctx, LeaderLease, e.holder, leaderTTL)
		switch {
		case err != nil && ctx.Err() == nil:
			e.log.Error("leader lease", "err", err)
		case leader && !lead.running():
			e.leader.Store(true)
			e.log.Info("sync leader: running the outbox and scheduler", "holder", e.holder)
			lead.start(ctx, func(ctx context.Context) { e.runOutbox(ctx, cmp.Or(opts.OutboxPoll, outboxPoll)) })
			lead.start(ctx, e.runFeedScheduler) // feeds with a schedule (issue 6)
			lead.start(ctx, e.runMail)          // alerts and the mail queue (issue 14)
			if opts.PullInterval > 0 {
				lead.start(ctx, func(ctx context.Context) { e.runScheduler(ctx, opts.PullInterval) })
			}
		case !leader && lead.running():
			e.leader.Store(false)
			e.log.Warn("sync leader lease lost: stopping the outbox and scheduler")
			lead.stop()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// leadership is the work a leader runs, stopped together when leadership ends.
type leadership struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (l *leadership) running() bool { return l.cancel != nil }

func (l *leadership) start(parent context.Context, work func(context.Context)) {
	if l.cancel == nil {
		var ctx context.Context
		ctx, l.cancel = context.WithCancel(parent)
		l.ctx = ctx
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		work(l.ctx)
	}()
}

func (l *leadership) stop() {
	if l.cancel != nil {
		l.cancel()
		l.wg.Wait()
		l.cancel = nil
	}
}

// runOutbox delivers queued pushes until ctx ends: at once when woken, else at each poll.
func (e *Engine) runOutbox(ctx context.Context, every time.Duration) {
	poll := time.NewTicker(every)
	defer poll.Stop()
	for ctx.Err() == nil {
		items, err := e.st.Claim(ctx, e.holder, outboxLease, outboxBatch)
		if err != nil && ctx.Err() == nil {
			e.log.Error("outbox claim", "err", err)
		}
		if len(items) > 0 {
			forEach(ctx, e.conc, items, func(it store.OutboxItem) { e.deliver(ctx, it) })
			continue
		}
		select {
		case <-ctx.Done():
		case <-e.wake:
		case <-poll.C:
		}
	}
}

// Delivery is what the outbox did with one queued row, as a command reports it.
type Delivery struct {
	ServerID  store.ServerID `json:"server_id"`
	Server    string         `json:"server"`
	EventUUID string         `json:"event_uuid"`
	Kind      string         `json:"kind"` // store.OutboxPushEvent or store.OutboxPushSightings
	// Outcome is store.OutcomePushed, OutcomeSkipped (by policy, or the remote has this
	// version: nothing to retry), OutcomeRefused (the remote refused it for good),
	// OutcomeFailed (kept queued, retried with backoff) or OutcomeQueued (not tried: the
	// server is down or refuses our key and its retry is not due, or the run stopped).
	Outcome store.LogOutcome `json:"outcome"`
	// Reason is the rule that skipped it, or the cause of a failure or refusal.
	Reason string `json:"reason,omitempty"`
}

// DeliverDue runs one round of the outbox now: claims what is due and delivers it,
// reporting what became of each row. The daemon does this continuously; commands and
// tests call it directly.
func (e *Engine) DeliverDue(ctx context.Context) ([]Delivery, error) {
	items, err := e.st.Claim(ctx, e.holder, outboxLease, outboxBatch)
	if err != nil {
		return nil, err
	}
	out := make([]Delivery, len(items))
	var n atomic.Int64
	forEach(ctx, e.conc, items, func(it store.OutboxItem) { out[n.Add(1)-1] = e.deliver(ctx, it) })
	e.flushLog() // the caller reads what happened next
	return out[:n.Load()], ctx.Err()
}

// DeliverNow delivers what the outbox holds now, in this process, unless a daemon (a
// mispdesk serve) holds the leader lease: then it returns false and leaves the work to it.
// It holds the lease while it works, so two processes never deliver the same rows, and
// stops when nothing is due (a failure waits for its backoff) or after maxRounds rounds.
// It returns what became of each row it took.
func (e *Engine) DeliverNow(ctx context.Context, maxRounds int) ([]Delivery, bool, error) {
	leader, err := e.st.AcquireLease(ctx, LeaderLease, e.holder, leaderTTL)
	if err != nil || !leader {
		return nil, false, err
	}
	defer e.st.ReleaseLease(context.WithoutCancel(ctx), LeaderLease, e.holder)
	var all []Delivery
	for range maxRounds {
		ds, err := e.DeliverDue(ctx)
		all = append(all, ds...)
		if err != nil || !slices.ContainsFunc(ds, tried) {
			return all, true, err
		}
		if ok, err := e.st.AcquireLease(ctx, LeaderLease, e.holder, leaderTTL); err != nil || !ok {
			return all, true, err
		}
	}
	return all, true, nil
}

// tried reports whether a delivery reached its server or policy: a round whose rows all
// wait for a down server's retry would only come round again.
func tried(d Delivery) bool { return d.Outcome != store.OutcomeQueued }

// deliver pushes one outbox row and says what became of it. A refusal by policy completes
// the row (the event may not go there, now or later); a failure keeps it with a growing
// backoff.
func (e *Engine) deliver(ctx context.Context, it store.OutboxItem) Delivery {
	d := Delivery{ServerID: it.ServerID, EventUUID: it.EventUUID, Kind: it.Kind, Outcome: store.OutcomeFailed}
	r, err := e.newRun(ctx, it.ServerID, store.DirPush)
	if errors.Is(err, store.ErrNotFound) {
		e.st.Complete(context.WithoutCancel(ctx), it.ID, e.holder)
		d.Outcome, d.Reason = store.OutcomeSkipped, "the server is gone"
		return d
	}
	if err != nil {
		e.failItem(ctx, it, err)
		d.Reason = remote.Cause(err)
		return d
	}
	d.Server = r.srv.Name
	// A server that is down (or refuses our key) is tried by one row when its retry is
	// due; the others wait for it without counting an attempt.
	if wait := e.holdOff(ctx, it.ServerID); wait > 0 {
		if err := e.st.Postpone(context.WithoutCancel(ctx), it.ID, e.holder, wait); err != nil && !errors.Is(err, store.ErrLeaseLost) {
			e.log.Error("outbox postpone", "id", it.ID, "err", err)
		}
		h, _ := e.peerBlocked(it.ServerID)
		d.Outcome, d.Reason = store.OutcomeQueued, h.String()
		return d
	}
	defer e.probeDone(it.ServerID)
	d.Outcome = store.OutcomePushed
	switch it.Kind {
	case store.OutboxPushEvent:
		sum := &RunSummary{Server: r.srv.Name, Direction: store.DirPush, Counters: Counters{Candidates: 1}}
		ver, cerr := r.checkCanPush(ctx)
		if cerr != nil {
			e.failItem(ctx, it, cerr)
			d.Outcome, d.Reason = store.OutcomeFailed, remote.Cause(cerr)
			return d
		}
		if r.srv.PushGalaxyClusters {
			// The clusters the event names go first, so that its galaxy tags find them there
			// (MISP's uploadEventToServersRouter, syncGalaxyClusters for the event).
			r.pushEventClusters(ctx, ver, it.EventUUID)
		}
		var wanted bool
		if wanted, err = r.remoteWants(ctx, it.EventUUID); err == nil && wanted {
			err = r.pushOne(ctx, it.EventUUID, policy.OnPublish, sum, pushChecked)
		}
		switch {
		case err != nil:
		case sum.Created > 0:
			d.Reason = "created on the remote"
		case sum.Updated > 0:
			d.Reason = "updated on the remote"
		default:
			d.Outcome, d.Reason = store.OutcomeSkipped, skipRemoteHas
			for code := range sum.SkipReasons { // one event: one reason
				d.Reason = code
			}
		}
	case store.OutboxPushSightings:
		err = r.deliverSightings(ctx, it.EventUUID)
	case store.OutboxPushCluster:
		err = r.deliverCluster(ctx, it.EventUUID)
	}
	if ctx.Err() != nil {
		d.Outcome, d.Reason = store.OutcomeQueued, "interrupted"
		return d // the lease runs out and another worker takes the row
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		d.Outcome, d.Reason = store.OutcomeSkipped, "the event is gone"
	case errors.Is(err, remote.ErrReportsUnchecked) && !errors.Is(err, remote.ErrDropped):
		// Saved there, its reports unverified (pushOne logged why): a retry would find the
		// remote's copy current and check nothing, so the row ends as failed.
		d.Outcome, d.Reason = store.OutcomeFailed, remote.Cause(err)
	case err != nil && !refusedForGood(err):
		e.failItem(ctx, it, err)
		d.Outcome, d.Reason = store.OutcomeFailed, remote.Cause(err)
		return d
	case err != nil:
		d.Outcome, d.Reason = store.OutcomeRefused, remote.Cause(err)
		r.step(ctx, store.LevelError, it.EventUUID, store.OutcomeRefused, err.Error()+" (not retried: the remote refuses this push as such)", time.Time{}, statusOf(err))
	}
	// Delivered (its reports checked or not), refused by policy or by the remote, or the
	// event is gone: nothing more to do.
	if err := e.st.Complete(ctx, it.ID, e.holder); err != nil && !errors.Is(err, store.ErrLeaseLost) {
		e.log.Error("outbox complete", "id", it.ID, "err", err)
	}
	return d
}

// refusedForGood reports whether the remote refused a push in a way no retry changes: a
// 4xx answer about the event (blocklisted, not newer, not its owner's to edit, invalid) or
// attributes it dropped,
// as opposed to a transport failure, a 5xx, a timeout, throttling, or a key that no longer
// works (fixed by an operator, after which the queued push must still go).
func refusedForGood(err error) bool {
	if errors.Is(err, remote.ErrDropped) || errors.Is(err, remote.ErrReportsDropped) {
		return true // saved without what it refused: the same push would be refused again
	}
	var re *remote.Error
	if !errors.As(err, &re) || errors.Is(err, remote.ErrAuth) {
		return false
	}
	return re.Status >= 400 && re.Status < 500 && re.Status != http.StatusRequestTimeout && re.Status != http.StatusTooManyRequests
}

func (e *Engine) failItem(ctx context.Context, it store.OutboxItem, cause error) {
	backoff := firstBackoff << min(it.Attempts, 10)
	backoff = min(backoff, maxBackoff)
	backoff += time.Duration(rand.Int64N(int64(backoff / 5)))
	if err := e.st.Fail(context.WithoutCancel(ctx), it.ID, e.holder, cause.Error(), backoff); err != nil && !errors.Is(err, store.ErrLeaseLost) {
		e.log.Error("outbox fail", "id", it.ID, "err", err)
	}
}

// runScheduler pulls every pull-enabled server each interval, servers in parallel.
func (e *Engine) runScheduler(ctx context.Context, interval time.Duration) {
	last := map[store.ServerID]time.Time{}
	tick := time.NewTicker(min(interval, schedulerTick))
	defer tick.Stop()
	for {
		servers, err := e.st.Servers(ctx)
		if err != nil && ctx.Err() == nil {
			e.log.Error("scheduler", "err", err)
		}
		var due []store.Server
		for _, s := range servers {
			if s.Pull && time.Since(last[s.ID]) >= interval {
				due = append(due, s)
				last[s.ID] = time.Now()
			}
		}
		forEach(ctx, len(due)+1, due, func(s store.Server) {
			if _, err := e.Pull(ctx, s.ID, RunOptions{}); err != nil && !errors.Is(err, ErrBusy) {
				e.log.Warn("scheduled pull", "server", s.Name, "err", err)
			}
		})
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
