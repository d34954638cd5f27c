package syncer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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
func (e *Engine) Push(ctx context.Context, server store.ServerID, opts RunOptions) (*RunSummary, error) {
	return e.runOne(ctx, server, store.DirPush, opts, (*runContext).push)
}

// errNotSyncUser is the refusal when the remote account may not receive events.
var errNotSyncUser = errors.New("the remote user is not a sync user (its role lacks perm_sync), so events cannot be pushed")

func (r *runContext) push(ctx context.Context, opts RunOptions, sum *RunSummary) error {
	technique := strings.ToLower(strings.TrimSpace(opts.Technique))
	incremental := technique == "incremental"
	single := technique != "" && technique != "full" && !incremental
	if !r.srv.Push && !single {
		return errors.New("push is not enabled for this server")
	}
	ver, err := r.checkCanPush(ctx)
	if err != nil {
		return err
	}
	if r.srv.PushAnalystData && !single && !opts.DryRun {
		defer r.pushAnalystData(ctx, ver) // after the events, as MISP's push
	}

	// Candidates: published events, decided one at a time so a large store is never held
	// in memory at once. Incremental: only those created here since the last push
	// (id above the server's lastpushedid), as MISP's.
	var rows []store.EventSummary
	if single {
		id, err := r.e.st.ResolveEvent(ctx, technique)
		if err != nil {
			return err
		}
		ev, err := r.e.st.EventMetadata(ctx, id)
		if err != nil {
			return err
		}
		rows = []store.EventSummary{{ID: id, UUID: ev.UUID, Timestamp: int64(ev.Timestamp), Published: bool(ev.Published)}}
	} else {
		published := true
		if rows, err = r.e.st.ListEvents(ctx, store.EventFilter{Published: &published, Sort: "timestamp", Ascending: true}); err != nil {
			return err
		}
		if incremental {
			kept := rows[:0]
			for _, row := range rows {
				if row.ID > r.srv.LastPushedID {
					kept = append(kept, row)
				}
			}
			rows = kept
			r.step(ctx, store.LevelInfo, "", store.OutcomeSelected, fmt.Sprintf("incremental: %d published events above id %d", len(rows), r.srv.LastPushedID), time.Time{}, 0)
		}
	}
	sum.candidates(len(rows))
	// Galaxy clusters go first, so that the events' galaxy tags find them there: all
	// custom published clusters on a full push, those the event names on a single one.
	if r.srv.PushGalaxyClusters && !incremental && !opts.DryRun && (!single || len(rows) > 0) {
		eventUUID := ""
		if single {
			eventUUID = rows[0].UUID
		}
		r.pushEventClusters(ctx, ver, eventUUID)
	}
	// Event-level decisions first, on metadata: only events that may go are ever named to
	// the remote; the payload of each wanted one is prepared when it is sent.
	ids := make(map[string]store.EventID, len(rows))
	var allowed []remote.UUIDTimestamp
	book := newPushBook()
	for _, row := range rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		ids[row.UUID] = row.ID
		meta, err := r.e.st.EventMetadata(ctx, row.ID)
		if err != nil {
			sum.fail(row.UUID, fmt.Errorf("%w (event %s)", err, row.UUID))
			book.failed(row.ID)
			continue
		}
		if d := r.inst.PushCandidate(r.psrv, meta, policy.Scheduled, r.bl); !d.Allowed {
			sum.skip(row.UUID, d.Code())
			if d.Code() == "protected" { // a refusal the operator must hear of, event by event
				r.step(ctx, store.LevelWarn, row.UUID, store.OutcomeRefused, d.Reason(), time.Time{}, 0)
			}
			continue
		}
		allowed = append(allowed, remote.UUIDTimestamp{UUID: row.UUID, Timestamp: row.Timestamp})
	}
	if len(allowed) == 0 {
		r.step(ctx, store.LevelInfo, "", store.OutcomeSelected, fmt.Sprintf("nothing may be pushed; %s", strings.Join(sum.TopSkipReasons(3), "; ")), time.Time{}, 0)
		return nil
	}
	t0 := time.Now()
	wanted, err := r.client.FilterEventIDsForPush(ctx, allowed)
	if err != nil {
		r.step(ctx, store.LevelError, "", store.OutcomeFailed, "filterEventIdsForPush: "+err.Error(), t0, statusOf(err))
		return err
	}
	want := make(map[string]bool, len(wanted))
	for _, u := range wanted {
		want[u] = true
	}
	for _, a := range allowed {
		if !want[a.UUID] {
			sum.skip(a.UUID, skipRemoteHas)
			book.done(ids[a.UUID]) // the remote has it already: dealt with
		}
	}
	r.step(ctx, store.LevelInfo, "", store.OutcomeSelected, fmt.Sprintf("%d of %d events may go, the remote wants %d", len(allowed), len(rows), len(wanted)), t0, 200)
	start := time.Now()
	// A bulk push sends mostly events the remote lacks: straight to events/add, which
	// turns into an edit when the remote answers that it has the event.
	mode := pushNew
	if single {
		mode = pushChecked
	}
	if opts.DryRun {
		mode = pushDry
	}
	forEach(ctx, r.e.conc, wanted, func(uuid string) {
		if err := r.pushOne(ctx, uuid, policy.Scheduled, sum, mode); err != nil {
			book.failed(ids[uuid])
		} else {
			book.done(ids[uuid])
		}
		if opts.Progress != nil {
			opts.Progress(sum.progress(time.Since(start)))
		}
	})
	if err := ctx.Err(); err != nil {
		return err // events not reached are neither done nor failed: lastpushedid stays
	}
	if opts.DryRun {
		return nil
	}
	if !single {
		if last, ok := book.lastPushedID(); ok {
			if err := r.e.st.SetLastPushedID(ctx, r.srv.ID, last); err != nil {
				return err
			}
			r.step(ctx, store.LevelInfo, "", store.OutcomeLastPushedID, fmt.Sprintf("lastpushedid is now %d", last), time.Time{}, 0)
		}
	}
	uuids := make([]string, len(allowed))
	for i, a := range allowed {
		uuids[i] = a.UUID
	}
	r.pushSightings(ctx, ver, uuids)
	r.pushProposals(ctx) // as MISP's push, a single event's too: for every event the remote holds
	return nil
}

// pushBook keeps the local ids a push dealt with, for Server.lastpushedid.
type pushBook struct {
	mu                sync.Mutex
	lowestFail, maxOK store.EventID
	anyFail, anyDone  bool
}

func newPushBook() *pushBook { return &pushBook{} }

func (b *pushBook) failed(id store.EventID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.anyFail || id < b.lowestFail {
		b.lowestFail = id
	}
	b.anyFail = true
}

func (b *pushBook) done(id store.EventID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.maxOK, b.anyDone = max(b.maxOK, id), true
}

// lastPushedID is MISP's rule: the lowest failed id less one when anything failed (so an
// incremental push tries it again), else the highest id pushed.
func (b *pushBook) lastPushedID() (store.EventID, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.anyFail:
		return b.lowestFail - 1, true
	case b.anyDone:
		return b.maxOK, true
	}
	return 0, false
}

// remoteWants asks the remote whether it wants this version of an event (what it lacks, or
// holds locked and older), as a push run does for all its candidates. MISP's push at
// publication skips the question and finds out from a refused edit; asking first spares
// the remote an event it has or holds as its own, and the outbox a retry that cannot work.
func (r *runContext) remoteWants(ctx context.Context, uuid string) (bool, error) {
	id, err := r.e.st.ResolveEvent(ctx, uuid)
	if err != nil {
		return false, err
	}
	meta, err := r.e.st.EventMetadata(ctx, id)
	if err != nil {
		return false, err
	}
	t0 := time.Now()
	wanted, err := r.client.FilterEventIDsForPush(ctx, []remote.UUIDTimestamp{{UUID: meta.UUID, Timestamp: int64(meta.Timestamp)}})
	if err != nil {
		r.step(ctx, store.LevelError, uuid, store.OutcomeFailed, "filterEventIdsForPush: "+err.Error(), t0, statusOf(err))
		return false, err
	}
	if len(wanted) == 0 {
		r.step(ctx, store.LevelInfo, uuid, store.OutcomeSkipped, "the remote already has this version, or holds the event as its own", t0, 200)
		return false, nil
	}
	return true, nil
}

// checkCanPush asks the remote who we are there: only a sync user may receive events.
func (r *runContext) checkCanPush(ctx context.Context) (*remote.Version, error) {
	t0 := time.Now()
	ver, err := r.client.GetVersion(ctx)
	if err != nil {
		r.step(ctx, store.LevelError, "", store.OutcomeFailed, err.Error()+" (at the version check)", t0, statusOf(err))
		return nil, err
	}
	if !ver.PermSync {
		r.step(ctx, store.LevelError, "", store.OutcomeRefused, errNotSyncUser.Error(), t0, 200)
		return nil, errNotSyncUser
	}
	r.step(ctx, store.LevelInfo, "", store.OutcomeConnected, fmt.Sprintf("remote MISP %s, sync user", ver.Version), t0, 200)
	return ver, nil
}

// decidePush loads an event and asks policy whether and how it may go to the server.
func (r *runContext) decidePush(ctx context.Context, uuid string, trig policy.Trigger) (policy.PushResult, error) {
	id, err := r.e.st.ResolveEvent(ctx, uuid)
	if err != nil {
		return policy.PushResult{}, err
	}
	ev, err := r.e.st.Event(ctx, id)
	if err != nil {
		return policy.PushResult{}, fmt.Errorf("%w (event %s)", err, uuid)
	}
	return r.inst.PushOwned(r.psrv, ev, trig, r.bl), nil
}

// pushMode is how pushOne learns whether the remote has the event.
type pushMode int

const (
	pushChecked pushMode = iota // HEAD first, as MISP's push
	pushNew                     // add first; the remote's 404 with a Location makes it an edit
	pushDry                     // decide as a push would, send nothing
)

// pushOne decides and sends one event (in a dry run, decides only); it reports whether
// the remote has it now.
func (r *runContext) pushOne(ctx context.Context, uuid string, trig policy.Trigger, sum *RunSummary, mode pushMode) error {
	t0 := time.Now()
	res, err := r.decidePush(ctx, uuid, trig)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // cancelled while reading it: not done, not failed
		}
		r.failed(sum, uuid, err)
		r.progressStep(ctx, sum, store.LevelError, uuid, store.OutcomeFailed, err.Error(), t0, 0)
		return err
	}
	if !res.Allowed {
		sum.skip(uuid, res.Code())
		r.progressStep(ctx, sum, store.LevelInfo, uuid, store.OutcomeSkipped, res.Reason(), t0, 0)
		return nil
	}
	if mode == pushDry {
		sum.would(uuid)
		return nil
	}
	send := r.client.PushEvent
	if mode == pushNew {
		send = r.client.PushNewEvent
	}
	out, err := send(ctx, res.Event)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		err = fmt.Errorf("%w (event %s)", err, uuid)
		r.failed(sum, uuid, err)
		r.progressStep(ctx, sum, store.LevelError, uuid, store.OutcomeFailed, err.Error(), t0, statusOf(err))
		return err
	}
	attrs := countAttributes(res.Event)
	switch out.Outcome {
	case remote.NotNewer:
		sum.skip(uuid, skipRemoteHas)
		r.progressStep(ctx, sum, store.LevelInfo, uuid, store.OutcomeSkipped, "the remote's copy is not older", t0, 403)
	default:
		sum.done(uuid, out.Outcome == remote.Created, attrs)
		r.progressStep(ctx, sum, store.LevelInfo, uuid, store.OutcomePushed, fmt.Sprintf("%s on the remote: %q (%d attributes)", out.Outcome,
			truncateRunes(res.Event.Info, 80), attrs), t0, 200)
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
