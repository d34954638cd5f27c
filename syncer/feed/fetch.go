package feed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// Fetcher reads MISP feeds into a store, as MISP's Feed::downloadFromFeedInitiator does:
// the manifest (skipped when unchanged), then every event new or newer than the local
// copy, each checked, given the feed's distribution and tag, and stored in its own
// savepoint of a store.Batch. Every step goes to the sync log (direction "feed", the
// feed's name as server name, progress as n of m).
type Fetcher struct {
	Store  *store.Store
	Client ClientOptions
	// Concurrency bounds the event files read at once (default 4).
	Concurrency int
	// Log receives each sync log entry. When nil, entries are written to the store after
	// each batch commit and at the end of a run.
	Log func(store.LogEntry)
	// Progress, when set, is called as events are done.
	Progress func(FetchProgress)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// FetchProgress is the state of a running fetch.
type FetchProgress struct {
	Feed                string
	Done, Total, Failed int
	Elapsed             time.Duration
}

// FetchSummary is what one fetch of a feed did.
type FetchSummary struct {
	Feed  string `json:"feed"`
	RunID string `json:"run_id"`
	// Listed counts the manifest's events; Unchanged those whose local copy is as new;
	// Candidates those fetched.
	Listed      int            `json:"listed"`
	Unchanged   int            `json:"unchanged"`
	Candidates  int            `json:"candidates"`
	Created     int            `json:"created"`
	Updated     int            `json:"updated"`
	Skipped     int            `json:"skipped"`
	Failed      int            `json:"failed"`
	Attributes  int            `json:"attributes"`
	SkipReasons map[string]int `json:"skip_reasons,omitempty"`
	Errors      []string       `json:"errors,omitempty"`
	NotModified bool           `json:"not_modified,omitempty"`
	// Cached counts the hashes put in the feed cache (caching on), -1 when the cache
	// could not be refreshed.
	Cached   int           `json:"cached,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

const maxSummaryErrors = 20

func (s *FetchSummary) skip(reason string) {
	s.Skipped++
	if s.SkipReasons == nil {
		s.SkipReasons = map[string]int{}
	}
	s.SkipReasons[reason]++
}

func (s *FetchSummary) fail(err error) {
	s.Failed++
	if len(s.Errors) < maxSummaryErrors {
		s.Errors = append(s.Errors, err.Error())
	}
}

// Line is the one-line account of a fetch.
func (s *FetchSummary) Line() string {
	if s.NotModified {
		return fmt.Sprintf("%s: manifest unchanged, nothing fetched", s.Feed)
	}
	return fmt.Sprintf("%s: fetched %d (%d new, %d updated), unchanged %d, skipped %d, failed %d",
		s.Feed, s.Created+s.Updated, s.Created, s.Updated, s.Unchanged, s.Skipped, s.Failed)
}

// TopSkipReasons lists the n most common reasons events were skipped, with counts.
func (s *FetchSummary) TopSkipReasons(n int) []string { return TopReasons(s.SkipReasons, n) }

// TopReasons formats the n most common reasons of a tally, most common first ("12× …").
func TopReasons(tally map[string]int, n int) []string {
	reasons := make([]string, 0, len(tally))
	for r := range tally {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if tally[reasons[i]] != tally[reasons[j]] {
			return tally[reasons[i]] > tally[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	out := make([]string, 0, min(n, len(reasons)))
	for _, r := range reasons[:min(n, len(reasons))] {
		out = append(out, fmt.Sprintf("%d× %s", tally[r], r))
	}
	return out
}

// run is one fetch or cache run of a feed.
type run struct {
	ft    *Fetcher
	feed  *store.Feed
	src   source
	id    string
	rules policy.Rules

	mu      sync.Mutex
	pending []store.LogEntry // when Fetcher.Log is nil
}

func (ft *Fetcher) newRun(f *store.Feed) (*run, error) {
	var b [6]byte
	rand.Read(b[:])
	r := &run{ft: ft, feed: f, id: hex.EncodeToString(b[:])}
	if f.SourceFormat != "" && f.SourceFormat != "misp" {
		return r, fmt.Errorf("feed %q: source format %q is not read yet (only MISP-format feeds)", f.Name, f.SourceFormat)
	}
	var err error
	if r.rules, err = policy.ParseRules(policy.RulesKind("rules"), f.Rules); err != nil {
		return r, fmt.Errorf("feed %q: %w", f.Name, err)
	}
	if r.src, err = newSource(f, ft.Client); err != nil {
		return r, fmt.Errorf("feed %q: %w", f.Name, err)
	}
	return r, nil
}

func (ft *Fetcher) now() time.Time {
	if ft.Now != nil {
		return ft.Now()
	}
	return time.Now()
}

// step logs one step of the run.
func (r *run) step(level store.Level, eventUUID string, outcome store.LogOutcome, msg string, started time.Time, done, total int) {
	e := store.LogEntry{RunID: r.id, ServerName: r.feed.Name, Direction: store.DirFeed, Level: level, EventUUID: eventUUID,
		Outcome: outcome, Message: msg, Done: done, Total: total}
	if !started.IsZero() {
		e.DurationMs = time.Since(started).Milliseconds()
	}
	if r.ft.Log != nil {
		r.ft.Log(e)
		return
	}
	e.TsMs = r.ft.now().UnixMilli()
	r.mu.Lock()
	r.pending = append(r.pending, e)
	r.mu.Unlock()
}

// flush writes the buffered log entries (Fetcher.Log nil) outside any batch transaction.
func (r *run) flush(ctx context.Context) {
	r.mu.Lock()
	p := r.pending
	r.pending = nil
	r.mu.Unlock()
	if len(p) > 0 {
		r.ft.Store.AppendLogs(context.WithoutCancel(ctx), p)
	}
}

// Fetch reads the feed into the store. Failures of single events are in the summary (and
// the log); the error is for a run that could not start or read the manifest.
func (ft *Fetcher) Fetch(ctx context.Context, f *store.Feed) (*FetchSummary, error) {
	started := time.Now()
	sum := &FetchSummary{Feed: f.Name}
	r, err := ft.newRun(f)
	sum.RunID = r.id
	if err != nil {
		r.step(store.LevelError, "", store.OutcomeFailed, err.Error(), started, 0, 0)
		r.flush(ctx)
		ft.Store.RecordFeedFetch(context.WithoutCancel(ctx), f.ID, ft.now(), "failed: "+err.Error(), "")
		return sum, err
	}
	validator, err := r.fetch(ctx, sum)
	sum.Duration = time.Since(started)
	level, result := store.LevelInfo, sum.Line()
	if err != nil {
		level, result = store.LevelError, "failed: "+err.Error()
	} else if sum.Failed > 0 {
		level = store.LevelError
	}
	r.step(level, "", store.OutcomeFinished, result, started, 0, 0)
	r.flush(ctx)
	if err == nil && sum.Failed > 0 {
		validator = "" // read the manifest in full next time, so the failed events are tried again
	}
	if rerr := ft.Store.RecordFeedFetch(context.WithoutCancel(ctx), f.ID, ft.now(), result, validator); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return sum, fmt.Errorf("feed %q: %w", f.Name, err)
	}
	return sum, nil
}

// candidate is one manifest entry to fetch.
type candidate struct {
	uuid  string
	entry ManifestEntry
	seq   int
}

// got is a fetched, checked and transformed event on its way to the store.
type got struct {
	candidate
	event    *misp.Event
	localIDs bool
	notes    []string
	started  time.Time
	skip     string
	err      error
}

func (r *run) fetch(ctx context.Context, sum *FetchSummary) (validator string, err error) {
	f := r.feed
	t0 := time.Now()
	raw, validator, err := r.src.get(ctx, "manifest.json", f.ETag, MaxManifest)
	if errors.Is(err, errNotModified) {
		sum.NotModified = true
		r.step(store.LevelInfo, "", store.OutcomeUnchanged, "manifest unchanged since the last complete fetch", t0, 0, 0)
		return validator, nil
	}
	if err != nil {
		r.step(store.LevelError, "", store.OutcomeFailed, fmt.Sprintf("manifest %s: %v", r.src.where("manifest.json"), unwrapSource(err)), t0, 0, 0)
		return "", fmt.Errorf("manifest: %w", unwrapSource(err))
	}
	m, err := ParseManifest(raw)
	if err != nil {
		r.step(store.LevelError, "", store.OutcomeFailed, fmt.Sprintf("manifest %s: %v", r.src.where("manifest.json"), err), t0, 0, 0)
		return "", fmt.Errorf("manifest: %w", err)
	}
	sum.Listed = len(m)
	stamps, err := r.ft.Store.EventStamps(ctx)
	if err != nil {
		return "", err
	}
	uuids := make([]string, 0, len(m))
	for u := range m {
		uuids = append(uuids, u)
	}
	sort.Strings(uuids)
	var todo []candidate
	for _, u := range uuids {
		entry := m[u]
		lu := strings.ToLower(u)
		if reason := r.ruleBlock(&misp.Event{UUID: lu, Info: entry.Info, Orgc: entry.Orgc, Tag: entry.Tag}); reason != "" {
			sum.skip(reason)
			continue
		}
		if st, ok := stamps[lu]; ok && st.Timestamp >= int64(entry.Timestamp) {
			sum.Unchanged++
			continue
		}
		todo = append(todo, candidate{uuid: lu, entry: entry, seq: len(todo) + 1})
	}
	sum.Candidates = len(todo)
	msg := fmt.Sprintf("manifest lists %d events: %d new or newer, %d unchanged", len(m), len(todo), sum.Unchanged)
	if sum.Skipped > 0 {
		msg += fmt.Sprintf(", %d blocked by the feed's rules", sum.Skipped)
	}
	r.step(store.LevelInfo, "", store.OutcomeManifest, msg, t0, 0, len(todo))
	r.fetchAndStore(ctx, todo, sum)
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if f.Caching {
		n, err := r.cache(ctx, m)
		if err != nil {
			sum.Cached = -1
			r.step(store.LevelWarn, "", store.OutcomeFailed, "cache: "+err.Error(), time.Time{}, 0, 0)
		} else {
			sum.Cached = n
		}
	}
	return validator, nil
}

// ruleBlock applies the feed's tags and orgs rules to an event (or a manifest entry made
// into one); it returns why the event is blocked, or "".
func (r *run) ruleBlock(ev *misp.Event) string {
	if r.rules.IsZero() {
		return ""
	}
	v := policy.DryRun(policy.RulesKind("rules"), &r.rules, []*misp.Event{ev})
	if v[0].Decision.Allowed {
		return ""
	}
	return v[0].Decision.Reason()
}

func unwrapSource(err error) error {
	var se *SourceError
	if errors.As(err, &se) {
		return se.Err
	}
	return err
}

func (r *run) conc() int {
	if r.ft.Concurrency > 0 {
		return r.ft.Concurrency
	}
	return 4
}

// fetchAndStore reads the candidates with bounded concurrency and stores them through
// one writer, each event in its own savepoint; an event counts once committed.
func (r *run) fetchAndStore(ctx context.Context, todo []candidate, sum *FetchSummary) {
	start := time.Now()
	total := len(todo)
	done := 0
	report := func() {
		if r.ft.Progress != nil {
			r.ft.Progress(FetchProgress{Feed: r.feed.Name, Done: done, Total: total, Failed: sum.Failed, Elapsed: time.Since(start)})
		}
	}
	results := make(chan got, r.conc())
	go func() {
		defer close(results)
		jobs := make(chan candidate)
		var wg sync.WaitGroup
		for range min(r.conc(), max(len(todo), 1)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for c := range jobs {
					results <- r.get(ctx, c)
				}
			}()
		}
	feed:
		for _, c := range todo {
			select {
			case jobs <- c:
			case <-ctx.Done():
				break feed
			}
		}
		close(jobs)
		wg.Wait()
	}()

	writing := map[string]got{}
	batch := r.ft.Store.BeginBatch(ctx)
	batch.Committed = func(results []store.UpsertResult) {
		for _, up := range results {
			g := writing[up.UUID]
			delete(writing, up.UUID)
			done++
			if up.Outcome == store.Skipped {
				sum.skip(up.Reason)
				r.step(store.LevelInfo, up.UUID, store.OutcomeSkipped, up.Reason, g.started, g.seq, total)
				continue
			}
			if up.Outcome == store.Created {
				sum.Created++
			} else {
				sum.Updated++
			}
			sum.Attributes += up.Attributes
			msg := fmt.Sprintf("%s %q (%d attributes written)", up.Outcome, truncate(g.event.Info, 80), up.Attributes)
			if notes := append(g.notes, up.Notes...); len(notes) > 0 {
				msg += "; " + strings.Join(notes, "; ")
			}
			r.step(store.LevelInfo, up.UUID, store.OutcomeFetched, msg, g.started, g.seq, total)
		}
		if r.ft.Log == nil {
			r.flush(ctx)
		}
		report()
	}
	batch.Lost = func(lost []store.UpsertResult, err error) {
		for _, up := range lost {
			g := writing[up.UUID]
			delete(writing, up.UUID)
			done++
			sum.fail(fmt.Errorf("event %s: %w", up.UUID, err))
			r.step(store.LevelError, up.UUID, store.OutcomeFailed, "store: "+err.Error(), g.started, g.seq, total)
		}
	}
	for g := range results {
		switch {
		case g.err != nil:
			if ctx.Err() != nil {
				continue
			}
			done++
			sum.fail(fmt.Errorf("event %s: %w", g.uuid, g.err))
			r.step(store.LevelError, g.uuid, store.OutcomeFailed, g.err.Error(), g.started, g.seq, total)
		case g.skip != "":
			done++
			sum.skip(g.skip)
			r.step(store.LevelInfo, g.uuid, store.OutcomeSkipped, g.skip, g.started, g.seq, total)
		default:
			writing[g.uuid] = g
			opts := store.UpsertOptions{DefaultDistribution: misp.OrgOnly, RefuseUnlocked: true, LocalIDs: g.localIDs}
			if _, err := batch.UpsertEvent(g.event, opts); err != nil {
				delete(writing, g.uuid)
				done++
				sum.fail(fmt.Errorf("event %s: %w", g.uuid, err))
				r.step(store.LevelError, g.uuid, store.OutcomeFailed, "store: "+err.Error(), g.started, g.seq, total)
			}
		}
		report()
	}
	batch.Close()
}

// get reads one event file and makes it ready to store.
func (r *run) get(ctx context.Context, c candidate) got {
	g := got{candidate: c, started: time.Now()}
	name := c.uuid + ".json"
	raw, _, err := r.src.get(ctx, name, "", MaxEventFile)
	if err != nil {
		g.err = fmt.Errorf("%s: %w", r.src.where(name), unwrapSource(err))
		return g
	}
	events, err := misp.ParseEvents(raw)
	if err != nil {
		g.err = fmt.Errorf("%s: %w", r.src.where(name), err)
		return g
	}
	if len(events) != 1 {
		g.err = fmt.Errorf("%s: holds %d events, want one", r.src.where(name), len(events))
		return g
	}
	ev := events[0]
	if !strings.EqualFold(ev.UUID, c.uuid) {
		g.err = fmt.Errorf("%s: holds event %s, but the manifest lists it as %s", r.src.where(name), ev.UUID, c.uuid)
		return g
	}
	ev.UUID = c.uuid
	if reason := r.ruleBlock(ev); reason != "" {
		g.skip = reason + " (the event file, though its manifest entry passed)"
		return g
	}
	if int64(ev.Timestamp) != int64(c.entry.Timestamp) {
		g.notes = append(g.notes, fmt.Sprintf("the manifest says timestamp %d, the event file %d", c.entry.Timestamp, ev.Timestamp))
	}
	g.localIDs = ApplyFeedDistribution(ev, r.feed.Distribution, r.feed.SharingGroupID)
	if r.feed.Tag != "" {
		AddTag(ev, r.feed.Tag)
	}
	// A feed's event is a copy of someone else's: locked, so the next fetch may update it
	// and no local edit is mistaken for it.
	ev.Locked = true
	ev.ID, ev.OrgID, ev.Org = 0, 0, nil
	g.event = ev
	return g
}

// ApplyFeedDistribution gives a feed's event the feed's distribution as MISP does
// (Feed::__prepareEvent in MISP's app/Model/Feed.php): a feed with distribution 5 keeps the
// event's own distribution (and sharing groups) when it has one and makes it 0 when it has
// none; any other feed distribution becomes the event's (with the feed's sharing group for
// 4) and every attribute, object, object attribute and report inherits it (5). It reports
// whether sharing group ids in the event are this instance's (the feed's own group).
func ApplyFeedDistribution(ev *misp.Event, dist misp.Distribution, sgID store.SharingGroupID) (localIDs bool) {
	if dist == misp.InheritEvent {
		if ev.Distribution == misp.DistributionUnknown {
			ev.Distribution, ev.SharingGroupID, ev.SharingGroup = misp.OrgOnly, 0, nil
		}
		return false
	}
	ev.Distribution, ev.SharingGroupID, ev.SharingGroup = dist, 0, nil
	if dist == misp.SharingGroupDist {
		ev.SharingGroupID = misp.Int(sgID)
		localIDs = true
	}
	inherit := func(as []misp.Attribute) {
		for i := range as {
			as[i].Distribution, as[i].SharingGroupID, as[i].SharingGroup = misp.InheritEvent, 0, nil
		}
	}
	inherit(ev.Attribute)
	for i := range ev.Object {
		o := &ev.Object[i]
		o.Distribution, o.SharingGroupID, o.SharingGroup = misp.InheritEvent, 0, nil
		inherit(o.Attribute)
	}
	for i := range ev.EventReport {
		rp := &ev.EventReport[i]
		rp.Distribution, rp.SharingGroupID, rp.SharingGroup = misp.InheritEvent, 0, nil
	}
	return localIDs
}

// AddTag adds a tag to the event unless it has it already (names compared as MISP does,
// case-insensitively).
func AddTag(ev *misp.Event, name string) {
	for _, t := range ev.Tag {
		if strings.EqualFold(t.Name, name) {
			return
		}
	}
	ev.Tag = append(ev.Tag, misp.Tag{Name: name})
}

func truncate(s string, n int) string {
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	return string(rs[:n-1]) + "…"
}

// Cache fills the feed's cache (caching on or not: the caller decides) from its
// hashes.csv, or, when the feed has none in MISP's layout, from its events: the local copy
// when it is as new as the manifest says, else the event file. It returns how many hashes
// the cache holds.
func (ft *Fetcher) Cache(ctx context.Context, f *store.Feed) (int, error) {
	started := time.Now()
	r, err := ft.newRun(f)
	if err != nil {
		r.step(store.LevelError, "", store.OutcomeFailed, "cache: "+err.Error(), started, 0, 0)
		r.flush(ctx)
		return 0, err
	}
	n, err := r.cache(ctx, nil)
	if err != nil {
		r.step(store.LevelError, "", store.OutcomeFailed, "cache: "+err.Error(), started, 0, 0)
		r.flush(ctx)
		return 0, fmt.Errorf("feed %q: cache: %w", f.Name, err)
	}
	r.step(store.LevelInfo, "", store.OutcomeCached, fmt.Sprintf("cache holds %d hashes", n), started, 0, 0)
	r.flush(ctx)
	return n, nil
}

// cache refreshes the feed cache; m is the manifest when the caller has read it already.
func (r *run) cache(ctx context.Context, m Manifest) (int, error) {
	t0 := time.Now()
	raw, _, err := r.src.get(ctx, "hashes.csv", "", MaxManifest)
	if err == nil {
		if hashes, ok := ParseHashes(raw); ok {
			if err := r.ft.Store.ReplaceFeedCache(ctx, r.feed.ID, hashes); err != nil {
				return 0, err
			}
			r.step(store.LevelInfo, "", store.OutcomeCached, fmt.Sprintf("cache: %d hashes from hashes.csv", len(hashes)), t0, 0, 0)
			return len(hashes), nil
		}
		r.step(store.LevelInfo, "", store.OutcomeCache, "hashes.csv is not in MISP's md5,event_uuid layout: hashing the events instead", t0, 0, 0)
	} else {
		r.step(store.LevelInfo, "", store.OutcomeCache, fmt.Sprintf("no hashes.csv (%v): hashing the events instead", unwrapSource(err)), t0, 0, 0)
	}
	if m == nil {
		raw, _, err := r.src.get(ctx, "manifest.json", "", MaxManifest)
		if err != nil {
			return 0, fmt.Errorf("manifest: %w", unwrapSource(err))
		}
		if m, err = ParseManifest(raw); err != nil {
			return 0, fmt.Errorf("manifest: %w", err)
		}
	}
	stamps, err := r.ft.Store.EventStamps(ctx)
	if err != nil {
		return 0, err
	}
	var hashes []store.FeedHash
	failed := 0
	for u, entry := range m {
		u = strings.ToLower(u)
		var ev *misp.Event
		if st, ok := stamps[u]; ok && st.Timestamp >= int64(entry.Timestamp) {
			var id store.EventID
			if id, err = r.ft.Store.ResolveEvent(ctx, u); err == nil {
				ev, err = r.ft.Store.Event(ctx, id)
			}
		} else {
			var b []byte
			if b, _, err = r.src.get(ctx, u+".json", "", MaxEventFile); err == nil {
				ev, err = misp.ParseEvent(b)
				if err == nil && !strings.EqualFold(ev.UUID, u) {
					err = fmt.Errorf("holds event %s", ev.UUID)
				}
			}
		}
		if err != nil {
			failed++
			r.step(store.LevelWarn, u, store.OutcomeFailed, "cache: "+unwrapSource(err).Error(), time.Time{}, 0, 0)
			continue
		}
		hashes = append(hashes, EventHashes(ev)...)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := r.ft.Store.ReplaceFeedCache(ctx, r.feed.ID, hashes); err != nil {
		return 0, err
	}
	msg := fmt.Sprintf("cache: %d hashes from %d events", len(hashes), len(m)-failed)
	if failed > 0 {
		msg += fmt.Sprintf(" (%d events could not be read)", failed)
	}
	r.step(store.LevelInfo, "", store.OutcomeCached, msg, t0, 0, 0)
	return len(hashes), nil
}
