package syncer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/remote"
)

// stateIndexETag is the server state key of the remote index's last ETag.
const stateIndexETag = "index_etag"

// ErrBusy is returned when a run of the same server and direction is already going.
var ErrBusy = errors.New("already running")

// Pull fetches from a server what is new or newer there and may come here, as MISP's pull
// does: the remote's index filtered by the pull rules, each candidate decided by policy,
// fetched whole, transformed (downgraded, locked, owned by the link's organisation) and
// stored in its own transaction. An index unchanged since the last complete pull costs one
// request (ETag). Every step goes to the sync log.
func (e *Engine) Pull(ctx context.Context, server store.ServerID, opts RunOptions) (*RunSummary, error) {
	return e.runOne(ctx, server, store.DirPull, opts, (*runContext).pull)
}

func (r *runContext) pull(ctx context.Context, opts RunOptions, sum *RunSummary) error {
	technique := strings.ToLower(strings.TrimSpace(opts.Technique))
	single := misp.IsUUID(technique)
	if !r.srv.Pull && !single {
		return errors.New("pull is not enabled for this server")
	}
	t0 := time.Now()
	ver, err := r.client.GetVersion(ctx)
	if err != nil {
		r.step(ctx, store.LevelError, "", store.OutcomeFailed, err.Error()+" (at the version check)", t0, statusOf(err))
		return err
	}
	r.step(ctx, store.LevelInfo, "", store.OutcomeConnected, fmt.Sprintf("remote MISP %s (sync %v)", ver.Version, ver.PermSync), t0, 200)
	if !single && !opts.DryRun {
		r.pullClusters(ctx, ver) // before the events, as MISP's pull
		if r.srv.PullAnalystData {
			defer r.pullAnalystData(ctx, ver) // after the events, sightings and proposals, as MISP's pull
		}
	}

	var rows []remote.IndexRow
	var newETag string
	switch {
	case single:
		rows = []remote.IndexRow{{UUID: technique, Published: true}}
	default:
		filter := policy.PullIndexFilter(&r.psrv.PullRules)
		etag := ""
		if !opts.DryRun && technique != "update" {
			if etag, err = r.e.st.ServerState(ctx, r.srv.ID, stateIndexETag); err != nil {
				return err
			}
		}
		t0 = time.Now()
		rows, newETag, err = r.client.Index(ctx, filter, etag)
		if errors.Is(err, remote.ErrNotModified) {
			sum.NotModified = true
			r.step(ctx, store.LevelInfo, "", store.OutcomeUnchanged, "the remote index has not changed since the last complete pull", t0, 304)
			return nil
		}
		if err != nil {
			r.step(ctx, store.LevelError, "", store.OutcomeFailed, "index: "+err.Error(), t0, statusOf(err))
			return err
		}
		r.step(ctx, store.LevelInfo, "", store.OutcomeIndex, fmt.Sprintf("remote index lists %d events", len(rows)), t0, 200)
	}

	// What is here, read once the index says there is something to compare it with.
	stamps, err := r.e.st.EventStamps(ctx)
	if err != nil {
		return err
	}
	var todo []remote.IndexRow
	sum.candidates(len(rows))
	for _, row := range rows {
		row.UUID = strings.ToLower(row.UUID)
		local := localCopy(stamps, row.UUID)
		if technique == "update" && local == nil {
			sum.candidates(-1) // not the update's business
			continue
		}
		if single {
			todo = append(todo, row)
			continue
		}
		d := r.inst.PullCandidate(r.psrv, policy.IndexRow{UUID: row.UUID, Timestamp: row.Timestamp, Published: row.Published, OrgcUUID: row.OrgcUUID}, local, r.bl)
		if !d.Allowed {
			sum.skip(row.UUID, d.Code())
			continue
		}
		todo = append(todo, row)
	}
	if sum.Skipped > 0 {
		r.step(ctx, store.LevelInfo, "", store.OutcomeSelected, fmt.Sprintf("%d events to fetch; %d not: %s", len(todo), sum.Skipped,
			strings.Join(sum.TopSkipReasons(3), "; ")), time.Time{}, 0)
	}
	r.fetchAndStore(ctx, todo, stamps, sum, opts)
	if err := ctx.Err(); err != nil || opts.DryRun {
		return err // a stopped run goes no further: nothing of it is logged as failing
	}
	if !single {
		r.pullSightings(ctx, rows, stamps)
		r.pullProposals(ctx)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Only a complete, clean full pull lets the next one stop at an unchanged index.
	if newETag != "" && sum.Failed == 0 && (technique == "" || technique == "full") {
		return r.e.st.SetServerState(ctx, r.srv.ID, stateIndexETag, newETag)
	}
	return nil
}

// fetched is one event fetched and decided, on its way to the store.
type fetched struct {
	uuid    string
	started time.Time
	res     policy.PullResult
	dropped string // the attributes left out as MISP refuses them (misp.DroppedNote)
	err     error
}

// fetchAndStore fetches the events with bounded concurrency and stores them through one
// writer: each event in its own savepoint of a store.Batch, its onward pushes queued in
// the same transaction. An event counts as pulled (and is logged so) once committed. A
// dry run fetches and decides each event as the real run does, and stores nothing.
func (r *runContext) fetchAndStore(ctx context.Context, todo []remote.IndexRow, stamps map[string]store.EventStamp, sum *RunSummary, ro RunOptions) {
	start := time.Now()
	report := func() {
		if ro.Progress != nil {
			ro.Progress(sum.progress(time.Since(start)))
		}
	}
	results := make(chan fetched, r.e.conc)
	go func() {
		defer close(results)
		forEach(ctx, r.e.conc, todo, func(row remote.IndexRow) {
			f := fetched{uuid: row.UUID, started: time.Now()}
			var ev *misp.Event
			if ev, f.err = r.client.ViewEvent(ctx, row.UUID, !r.psrv.Internal); f.err == nil {
				f.res = r.inst.PullOwned(r.psrv, ev, localCopy(stamps, row.UUID), r.bl)
				f.dropped = misp.DroppedNote(ev.Dropped)
			}
			results <- f
		})
	}()

	writing := map[string]fetched{}
	queued := 0
	batch := r.e.st.BeginBatch(ctx)
	batch.Committed = func(done []store.UpsertResult) {
		for _, up := range done {
			f := writing[up.UUID]
			delete(writing, up.UUID)
			if up.Outcome == store.Skipped {
				sum.skip(up.UUID, storeSkipCode(up.Reason))
				r.progressStep(ctx, sum, store.LevelInfo, up.UUID, store.OutcomeSkipped, up.Reason, f.started, 200)
				continue
			}
			sum.done(up.UUID, up.Outcome == store.Created, up.Attributes)
			queued += up.Queued
			msg := fmt.Sprintf("%s %q (%d attributes written)", up.Outcome, truncateRunes(f.res.Event.Info, 80), up.Attributes)
			if len(up.Notes) > 0 {
				msg += "; " + strings.Join(up.Notes, "; ")
			}
			level := store.LevelInfo
			if f.dropped != "" {
				msg, level = msg+"; "+f.dropped, store.LevelWarn
			}
			r.progressStep(ctx, sum, level, up.UUID, store.OutcomePulled, msg, f.started, 200)
		}
		report()
	}
	batch.Lost = func(lost []store.UpsertResult, err error) {
		for _, up := range lost {
			f := writing[up.UUID]
			delete(writing, up.UUID)
			if ctx.Err() != nil {
				continue // cancelled, not failed: the run says what it did before
			}
			sum.fail(up.UUID, fmt.Errorf("event %s: %w", up.UUID, err))
			r.progressStep(ctx, sum, store.LevelError, up.UUID, store.OutcomeFailed, "store: "+err.Error(), f.started, 200)
		}
	}
	// A pulled, published event is published here too: it flows on to this instance's
	// other push servers, never back to where it came from.
	opts := store.UpsertOptions{
		OwnerOrgID:          r.srv.OrgID,
		DefaultDistribution: misp.CommunityOnly,
		RefuseUnlocked:      !r.psrv.Internal,
	}.PassAlong(r.srv.ID)
	for f := range results {
		switch {
		case f.err != nil && ctx.Err() != nil:
			continue
		case f.err != nil && statusOf(f.err) == http.StatusNotFound && len(todo) == 1:
			// One event asked for and the remote does not give it to us.
			sum.skip(f.uuid, skipNotOffered)
			sum.notOffered()
			r.progressStep(ctx, sum, store.LevelInfo, f.uuid, store.OutcomeSkipped, "not offered by the remote: unknown there, or not shared with this sync user", f.started, 404)
		case f.err != nil:
			err := fmt.Errorf("event %s: %w", f.uuid, f.err)
			r.failed(sum, f.uuid, err)
			r.progressStep(ctx, sum, store.LevelError, f.uuid, store.OutcomeFailed, "fetch: "+f.err.Error(), f.started, statusOf(f.err))
		case !f.res.Allowed:
			sum.skip(f.uuid, f.res.Code())
			r.progressStep(ctx, sum, store.LevelInfo, f.uuid, store.OutcomeSkipped, f.res.Reason(), f.started, 200)
		case ro.DryRun:
			sum.would(f.uuid)
		default:
			writing[f.uuid] = f
			if _, err := batch.UpsertEvent(f.res.Event, opts); err != nil && ctx.Err() == nil {
				delete(writing, f.uuid)
				sum.fail(f.uuid, fmt.Errorf("event %s: %w", f.uuid, err))
				r.progressStep(ctx, sum, store.LevelError, f.uuid, store.OutcomeFailed, "store: "+err.Error(), f.started, 200)
			}
		}
		report()
	}
	batch.Close()
	if queued > 0 {
		r.e.Wake()
	}
}

// storeSkipCode is the code of the store's own refusal to replace an event, which it
// makes again at write time for an event that changed here since the run decided.
func storeSkipCode(reason string) string {
	if strings.Contains(reason, "created on this instance") {
		return "local copy created here"
	}
	return "local copy newer"
}

// progressStep records a step about one event with the run's counts as they are now;
// the counts and the entry are taken together, so a run's entries never count back.
func (r *runContext) progressStep(ctx context.Context, sum *RunSummary, level store.Level, uuid string, outcome store.LogOutcome, msg string, started time.Time, status int) {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	c := sum.Snapshot()
	entry := store.LogEntry{RunID: r.runID, ServerID: r.srv.ID, ServerName: r.srv.Name, Direction: r.dir, Level: level,
		EventUUID: uuid, Outcome: outcome, Message: msg, HTTPStatus: status, Done: c.Finished(), Total: c.Candidates}
	if !started.IsZero() {
		entry.DurationMs = time.Since(started).Milliseconds()
	}
	r.e.record(ctx, entry)
}

func localCopy(stamps map[string]store.EventStamp, uuid string) *policy.LocalCopy {
	st, ok := stamps[uuid]
	if !ok {
		return nil
	}
	return &policy.LocalCopy{Timestamp: st.Timestamp, Locked: st.Locked}
}

// statusOf digs the HTTP status out of a client error, 0 when there was none.
func statusOf(err error) int {
	var re *remote.Error
	if errors.As(err, &re) {
		return re.Status
	}
	return 0
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
