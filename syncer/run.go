package syncer

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"mispdesk/syncer/feed"
	"time"
)

// RunOptions shape one pull or push run.
type RunOptions struct {
	// Technique is MISP's: "full" (default), "update" (pull: only events already here),
	// or one event's UUID.
	Technique string
	// DryRun decides and reports without storing or sending anything.
	DryRun bool
	// Progress, when set, is called as events are done.
	Progress func(Progress)
}

// Progress is the state of a running pull or push.
type Progress struct {
	Server    string
	Direction string
	Done      int
	Total     int
	Failed    int
	Elapsed   time.Duration
}

// RunSummary is what a pull or push run did.
type RunSummary struct {
	Server      string         `json:"server"`
	Direction   string         `json:"direction"`
	RunID       string         `json:"run_id"`
	DryRun      bool           `json:"dry_run,omitempty"`
	Candidates  int            `json:"candidates"`
	Done        int            `json:"done"` // pulled or pushed (created or updated)
	Created     int            `json:"created"`
	Updated     int            `json:"updated"`
	Skipped     int            `json:"skipped"`
	Failed      int            `json:"failed"`
	Attributes  int            `json:"attributes"`
	SkipReasons map[string]int `json:"skip_reasons,omitempty"`
	Errors      []string       `json:"errors,omitempty"`
	// Would lists, in a dry run, the events the run would have moved.
	Would       []string      `json:"would,omitempty"`
	NotModified bool          `json:"not_modified,omitempty"`
	Duration    time.Duration `json:"duration_ns"`

	mu sync.Mutex
}

const maxSummaryErrors = 20

func (s *RunSummary) skip(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Skipped++
	if s.SkipReasons == nil {
		s.SkipReasons = map[string]int{}
	}
	s.SkipReasons[reason]++
}

func (s *RunSummary) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Failed++
	if len(s.Errors) < maxSummaryErrors {
		s.Errors = append(s.Errors, err.Error())
	}
}

func (s *RunSummary) done(created bool, attributes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Done++
	s.Attributes += attributes
	if created {
		s.Created++
	} else {
		s.Updated++
	}
}

func (s *RunSummary) progress() (done, failed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Done + s.Skipped + s.Failed, s.Failed
}

// TopSkipReasons lists the n most common reasons events were skipped, with counts.
func (s *RunSummary) TopSkipReasons(n int) []string { return feed.TopReasons(s.SkipReasons, n) }

// Line is the one-line account of a run that commands print and the log ends with.
func (s *RunSummary) Line() string {
	verb := map[string]string{"pull": "pulled", "push": "pushed"}[s.Direction]
	if s.DryRun {
		verb = "would " + strings.TrimSuffix(verb, "ed")
		return fmt.Sprintf("%s: %s %d, skipped %d", s.Server, verb, len(s.Would), s.Skipped)
	}
	line := fmt.Sprintf("%s: %s %d (%d new, %d updated), skipped %d, failed %d", s.Server, verb, s.Done, s.Created, s.Updated, s.Skipped, s.Failed)
	if s.NotModified {
		line += " (remote index unchanged)"
	}
	return line
}

// runOne runs a pull or push of one server: one at a time per server and direction, timed,
// its summary the last line it logs.
func (e *Engine) runOne(ctx context.Context, serverRef, dir string, opts RunOptions, body func(*runContext, context.Context, RunOptions, *RunSummary) error) (*RunSummary, error) {
	r, err := e.newRun(ctx, serverRef, dir)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", dir, serverRef, err)
	}
	key := fmt.Sprintf("%s:%d", dir, r.srv.ID)
	if !e.runs.enter(key) {
		return nil, fmt.Errorf("%s %s: %w", dir, r.srv.Name, ErrBusy)
	}
	defer e.runs.leave(key)
	started := time.Now()
	sum := &RunSummary{Server: r.srv.Name, Direction: dir, RunID: r.runID, DryRun: opts.DryRun}
	err = body(r, ctx, opts, sum)
	sum.Duration = time.Since(started)
	level, msg := "info", sum.Line()
	if err != nil || sum.Failed > 0 {
		level = "error"
	}
	if err != nil {
		msg += ": " + err.Error()
	}
	r.step(ctx, level, "", "finished", msg, started, 0)
	e.flushLog()
	if err != nil {
		return sum, fmt.Errorf("%s %s: %w", dir, r.srv.Name, err)
	}
	return sum, nil
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

// atomicCounter hands out 1, 2, 3… to concurrent workers.
type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) next() int { return int(c.n.Add(1)) }

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
