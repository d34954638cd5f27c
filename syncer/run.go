package syncer

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"mispdesk/store"
	"mispdesk/syncer/feed"
	"mispdesk/syncer/remote"
)

// RunOptions shape one pull or push run.
type RunOptions struct {
	// Technique is MISP's: "full" (default), "update" (pull: only events already here),
	// or one event's UUID.
	Technique string
	// DryRun decides and reports without storing or sending anything.
	DryRun bool
	// Verdicts asks a real run for the per-event account a dry run always gives
	// (RunSummary.Verdicts), to hold the two side by side.
	Verdicts bool
	// Progress, when set, is called as events are done.
	Progress func(Progress)
}

// Progress is the state of a running pull or push: Done of Total counts the same events
// (the run's candidates, each done once it is moved, skipped or failed), so Done never
// passes Total.
type Progress struct {
	Server    string
	Direction store.Direction
	Done      int
	Total     int
	Moved     int // pushed or pulled
	Skipped   int
	Failed    int
	Elapsed   time.Duration
}

// Rate is the events done per second so far; 0 before any is done.
func (p Progress) Rate() float64 {
	if p.Done == 0 || p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Done) / p.Elapsed.Seconds()
}

// ETA is the time left at the rate so far, to the second; false while there is no rate.
func (p Progress) ETA() (time.Duration, bool) {
	r := p.Rate()
	if r == 0 || p.Total < p.Done {
		return 0, false
	}
	return (time.Duration(float64(p.Total-p.Done)/r*float64(time.Second)) + time.Second/2).Truncate(time.Second), true
}

// Counters are a run's numbers. The engine owns them; the CLI's lines and --json, the
// console and the sync log all read them, so each says the same. Every candidate ends in
// exactly one of Done (pushed or pulled), Skipped or Failed, unless the run stopped first.
type Counters struct {
	// Candidates are the events the run considered: a push's published events, a pull's
	// rows of the remote index.
	Candidates int `json:"candidates"`
	Done       int `json:"done"` // pushed or pulled (created or updated)
	Created    int `json:"created"`
	Updated    int `json:"updated"`
	Skipped    int `json:"skipped"`
	Failed     int `json:"failed"`
	Attributes int `json:"attributes"`
	// NotOffered counts events the remote did not offer at all (a pull of one event it
	// does not give this sync user: unknown there, or not shared with us).
	NotOffered int `json:"not_offered,omitempty"`
	// SkipReasons counts skipped events by the code of the rule that refused them
	// (policy.Decision.Code), FailCauses failed ones by their cause ("connection refused",
	// "HTTP 500"…): few distinct keys whatever the number of events.
	SkipReasons map[string]int `json:"skip_reasons,omitempty"`
	FailCauses  map[string]int `json:"fail_causes,omitempty"`
}

// Finished is how many candidates have an outcome.
func (c Counters) Finished() int { return c.Done + c.Skipped + c.Failed }

// Verdict is what a run did, or a dry run would do, with one event, and the rule why.
type Verdict struct {
	Event   string `json:"event"`
	Verdict string `json:"verdict"` // "push", "pull", "skip" or "fail"
	Code    string `json:"code,omitempty"`
}

// RunSummary is what a pull or push run did.
type RunSummary struct {
	Server    string          `json:"server"`
	Direction store.Direction `json:"direction"`
	RunID     string          `json:"run_id"`
	DryRun    bool            `json:"dry_run,omitempty"`
	Counters
	Errors []string `json:"errors,omitempty"`
	// Would lists, in a dry run, the events the run would have moved.
	Would []string `json:"would,omitempty"`
	// Verdicts is the per-event account of a dry run (or of a run asked for it).
	Verdicts    []Verdict     `json:"verdicts,omitempty"`
	NotModified bool          `json:"not_modified,omitempty"`
	Cancelled   bool          `json:"cancelled,omitempty"`
	Duration    time.Duration `json:"duration_ns"`

	mu       sync.Mutex
	verdicts bool
}

const maxSummaryErrors = 20

// Codes of skips the engine decides itself, beside policy's.
const (
	skipRemoteHas  = "remote has this version"
	skipNotOffered = "not offered by the remote"
	verdictSkip    = "skip"
	verdictFail    = "fail"
)

func (s *RunSummary) candidates(n int) {
	s.mu.Lock()
	s.Candidates += n
	s.mu.Unlock()
}

// skip counts an event refused under code (a policy.Decision's Code or the engine's own).
func (s *RunSummary) skip(uuid, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Skipped++
	if s.SkipReasons == nil {
		s.SkipReasons = map[string]int{}
	}
	s.SkipReasons[code]++
	s.verdict(uuid, verdictSkip, code)
}

func (s *RunSummary) fail(uuid string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Failed++
	cause := remote.Cause(err)
	if s.FailCauses == nil {
		s.FailCauses = map[string]int{}
	}
	s.FailCauses[cause]++
	if len(s.Errors) < maxSummaryErrors {
		s.Errors = append(s.Errors, err.Error())
	}
	s.verdict(uuid, verdictFail, cause)
}

func (s *RunSummary) done(uuid string, created bool, attributes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Done++
	s.Attributes += attributes
	if created {
		s.Created++
	} else {
		s.Updated++
	}
	s.verdict(uuid, string(s.Direction), "")
}

func (s *RunSummary) notOffered() {
	s.mu.Lock()
	s.NotOffered++
	s.mu.Unlock()
}

// would records, in a dry run, an event the run would move.
func (s *RunSummary) would(uuid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Would = append(s.Would, uuid)
	s.verdict(uuid, string(s.Direction), "")
}

func (s *RunSummary) verdict(uuid, verdict, code string) {
	if (s.DryRun || s.verdicts) && uuid != "" {
		s.Verdicts = append(s.Verdicts, Verdict{Event: uuid, Verdict: verdict, Code: code})
	}
}

// Snapshot is a copy of the counters as they are now.
func (s *RunSummary) Snapshot() Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.Counters
	c.SkipReasons = maps.Clone(c.SkipReasons)
	c.FailCauses = maps.Clone(c.FailCauses)
	return c
}

func (s *RunSummary) progress(elapsed time.Duration) Progress {
	c := s.Snapshot()
	return Progress{Server: s.Server, Direction: s.Direction, Done: c.Finished(), Total: c.Candidates,
		Moved: c.Done, Skipped: c.Skipped, Failed: c.Failed, Elapsed: elapsed}
}

// TopSkipReasons lists the n most common reasons events were skipped, with counts.
func (s *RunSummary) TopSkipReasons(n int) []string { return feed.TopReasons(s.SkipReasons, n) }

// TopFailCauses lists the n most common causes of failed events, with counts.
func (s *RunSummary) TopFailCauses(n int) []string { return feed.TopReasons(s.FailCauses, n) }

// Line is the one-line account of a run that commands print and the log ends with.
func (s *RunSummary) Line() string {
	verb := map[store.Direction]string{store.DirPull: "pulled", store.DirPush: "pushed"}[s.Direction]
	if s.DryRun {
		verb = "would " + strings.TrimSuffix(verb, "ed")
		return fmt.Sprintf("%s: %s %d of %d, skipped %d", s.Server, verb, len(s.Would), s.Candidates, s.Skipped)
	}
	line := fmt.Sprintf("%s: %s %d of %d (%d new, %d updated), skipped %d, failed %d", s.Server, verb, s.Done, s.Candidates, s.Created, s.Updated, s.Skipped, s.Failed)
	if s.NotOffered > 0 {
		line += fmt.Sprintf(", not offered by the remote %d", s.NotOffered)
	}
	if s.NotModified {
		line += " (remote index unchanged)"
	}
	return line
}

// runOne runs a pull or push of one server: one at a time per server and direction, timed,
// its summary the last line it logs. A run the caller cancels is logged as cancelled, with
// what it did before; a run whose server goes down stops, naming the state.
func (e *Engine) runOne(ctx context.Context, server store.ServerID, dir store.Direction, opts RunOptions, body func(*runContext, context.Context, RunOptions, *RunSummary) error) (*RunSummary, error) {
	r, err := e.newRun(ctx, server, dir)
	if err != nil {
		return nil, fmt.Errorf("%s %d: %w", dir, server, err)
	}
	key := fmt.Sprintf("%s:%d", dir, r.srv.ID)
	if !e.runs.enter(key) {
		return nil, fmt.Errorf("%s %s: %w", dir, r.srv.Name, ErrBusy)
	}
	defer e.runs.leave(key)
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	r.stop = stop
	started := time.Now()
	sum := &RunSummary{Server: r.srv.Name, Direction: dir, RunID: r.runID, DryRun: opts.DryRun, verdicts: opts.Verdicts}
	err = body(r, runCtx, opts, sum)
	sum.Duration = time.Since(started)
	if runCtx.Err() != nil && ctx.Err() == nil {
		err = context.Cause(runCtx) // stopped by the run itself
	}
	level, msg := store.LevelInfo, sum.Line()
	switch {
	case err != nil && ctx.Err() != nil:
		sum.Cancelled = true
		c := sum.Snapshot()
		level = store.LevelWarn
		msg = fmt.Sprintf("cancelled after %d of %d events: %s", c.Finished(), c.Candidates, msg)
	case err != nil:
		level, msg = store.LevelError, msg+": "+err.Error()
	case sum.Failed > 0:
		level = store.LevelError
	}
	r.step(ctx, level, "", store.OutcomeFinished, msg, started, 0)
	e.flushLog()
	if err != nil {
		return sum, fmt.Errorf("%s %s: %w", dir, r.srv.Name, err)
	}
	return sum, nil
}

// failed counts an event that failed and, when its server is now down or refuses our key,
// stops the run: one event after another would only fail the same way.
func (r *runContext) failed(sum *RunSummary, uuid string, err error) {
	sum.fail(uuid, err)
	if h, down := r.e.peerBlocked(r.srv.ID); down && r.stop != nil {
		r.stop(&PeerDownError{Server: r.srv.Name, Health: h})
	}
}

// exclusive keeps one run per server and direction at a time.
type exclusive struct {
	mu      sync.Mutex
	running map[string]bool
}

func (x *exclusive) enter(key string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.running == nil {
		x.running = map[string]bool{}
	}
	if x.running[key] {
		return false
	}
	x.running[key] = true
	return true
}

func (x *exclusive) leave(key string) {
	x.mu.Lock()
	delete(x.running, key)
	x.mu.Unlock()
}

// forEach runs fn over items with at most n in flight, stopping early when ctx ends.
func forEach[T any](ctx context.Context, n int, items []T, fn func(T)) {
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, it := range items {
		select {
		case <-ctx.Done():
		case sem <- struct{}{}:
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				fn(it)
			}()
			continue
		}
		break
	}
	wg.Wait()
}
