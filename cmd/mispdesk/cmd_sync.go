package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer"
)

const (
	pullSynopsis = "pull [SERVER|--all] [--dry-run] [--technique full|update|UUID] [--json]"
	pushSynopsis = "push [SERVER|--all] [--dry-run] [--json]"
)

// topRunSkips is how many skip reasons pull and push list under a summary line.
const topRunSkips = 3

func runPull(ctx context.Context, env *Env, args []string) error {
	return runSync(ctx, env, store.DirPull, pullSynopsis, args)
}

func runPush(ctx context.Context, env *Env, args []string) error {
	return runSync(ctx, env, store.DirPush, pushSynopsis, args)
}

// runJSON is one run in pull/push --json: the engine's summary, and the error
// that stopped the run, if one did.
type runJSON struct {
	*syncer.RunSummary
	Error string `json:"error,omitempty"`
}

// runSync is pull and push: one run per server, servers in parallel.
func runSync(ctx context.Context, env *Env, dir store.Direction, synopsis string, args []string) (err error) {
	fs := env.Flags(string(dir), synopsis)
	all := fs.Bool("all", false, "every server with "+string(dir)+" enabled, in parallel")
	dryRun := fs.Bool("dry-run", false, "decide and list what would move, moving nothing")
	jsonOut := fs.Bool("json", false, "print a JSON array of run summaries")
	var technique *string
	if dir == store.DirPull {
		technique = fs.String("technique", "full", "`full` (everything new or newer), update (only events already here) or one event's UUID")
	}
	args, err = fs.Parse(args)
	if err != nil {
		return err
	}
	if err := serverRecord.oneOrAllArgs(string(dir), args, *all); err != nil {
		return err
	}
	opts := syncer.RunOptions{DryRun: *dryRun}
	if technique != nil {
		t := strings.ToLower(strings.TrimSpace(*technique))
		if t != "full" && t != "update" && !misp.IsUUID(t) {
			return usagef("--technique %q: want full, update or an event UUID", *technique)
		}
		opts.Technique = t
	}

	s, _, err := openInitialised(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	servers, err := syncServers(ctx, s, dir, args, *all, opts.Technique)
	if err != nil {
		return err
	}
	if len(servers) == 0 {
		fmt.Fprintf(env.Stderr, "mispdesk %s: no server has %s enabled (mispdesk server edit SERVER --%s)\n", dir, dir, dir)
		if *jsonOut {
			return printJSON(env, []runJSON{})
		}
		return nil
	}

	eng := syncer.New(s, syncer.Options{})
	defer eng.Close()
	prog := newMultiProgress(env.Stderr, env.IsTerminal, servers)
	results := make([]runJSON, len(servers))
	var wg sync.WaitGroup
	for i, sv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := opts
			o.Progress = func(p syncer.Progress) { prog.set(i, p) }
			run := eng.Pull
			if dir == store.DirPush {
				run = eng.Push
			}
			sum, err := run(ctx, sv.ID, o)
			if sum == nil {
				sum = &syncer.RunSummary{Server: sv.Name, Direction: dir, DryRun: opts.DryRun}
			}
			results[i] = runJSON{RunSummary: sum}
			if err != nil {
				// The engine's error starts "pull REF: "; name the server by its name.
				if inner := errors.Unwrap(err); inner != nil {
					err = inner
				}
				results[i].Error = sv.Name + ": " + err.Error()
			}
		}()
	}
	wg.Wait()
	prog.clear()

	failed := 0
	for _, r := range results {
		if r.Error != "" || r.Failed > 0 {
			failed++
		}
	}
	if *jsonOut {
		if err := printJSON(env, results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			if r.Error != "" {
				fmt.Fprintf(env.Stderr, "mispdesk %s: %s\n", dir, oneLine(r.Error))
				if r.Done+r.Skipped+r.Failed == 0 {
					continue
				}
			}
			printRun(env.Stdout, r.RunSummary)
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s interrupted", dir)
	}
	if failed > 0 {
		return errReported // each failure has had its line
	}
	return nil
}

// printRun prints a run's summary line, the top reasons events were skipped
// and, in a dry run, what would have moved.
func printRun(w io.Writer, sum *syncer.RunSummary) {
	fmt.Fprintln(w, safe(sum.Line()))
	for _, r := range sum.TopSkipReasons(topRunSkips) {
		fmt.Fprintf(w, "  skipped %s\n", safe(r))
	}
	if sum.DryRun {
		verb := "would " + sum.Direction
		for _, uuid := range sum.Would {
			fmt.Fprintf(w, "  %s %s\n", verb, safe(uuid))
		}
	}
	for _, c := range sum.TopFailCauses(topRunSkips) {
		fmt.Fprintf(w, "  failed %s\n", safe(c))
	}
	if !sum.DryRun && sum.Failed > 0 {
		for _, e := range sum.Errors {
			fmt.Fprintf(w, "  failed: %s\n", safe(e))
		}
	}
}

// syncServers is the servers a pull or push runs against: the one named (it must
// exist, and have the direction enabled unless one event is asked for), or with
// --all every server with the direction enabled.
func syncServers(ctx context.Context, s *store.Store, dir store.Direction, args []string, all bool, technique string) ([]store.Server, error) {
	enabled := func(sv *store.Server) bool {
		if dir == store.DirPull {
			return sv.Pull
		}
		return sv.Push
	}
	if !all {
		sv, err := findServer(ctx, s, args[0])
		if err != nil {
			return nil, err
		}
		if !enabled(sv) && !misp.IsUUID(technique) {
			return nil, inputf("server %q does not have %s enabled (mispdesk server edit %s --%s)", safe(sv.Name), dir, safe(args[0]), dir)
		}
		return []store.Server{*sv}, nil
	}
	list, err := s.Servers(ctx)
	if err != nil {
		return nil, err
	}
	return only(list, enabled), nil
}

// findServer finds a server by id or name; an unknown one is bad input naming it.
func findServer(ctx context.Context, s *store.Store, ref string) (*store.Server, error) {
	ref = strings.TrimSpace(ref)
	id, err := s.ResolveServer(ctx, ref)
	if err != nil {
		return nil, serverRecord.refErr(ref, err)
	}
	sv, err := s.Server(ctx, id)
	return sv, serverRecord.refErr(ref, err)
}

// multiProgress is one live line per server on a terminal, rewritten in place
// at most ten times a second; off, it prints nothing.
type multiProgress struct {
	mu    sync.Mutex
	w     io.Writer // nil: off
	names []string
	state []syncer.Progress
	shown int // lines on screen
	last  time.Time
}

func newMultiProgress(w io.Writer, on bool, servers []store.Server) *multiProgress {
	p := &multiProgress{names: make([]string, len(servers)), state: make([]syncer.Progress, len(servers))}
	for i, sv := range servers {
		p.names[i] = sv.Name
	}
	if on {
		p.w = w
	}
	return p
}

func (p *multiProgress) set(i int, st syncer.Progress) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state[i] = st
	now := time.Now()
	if !p.last.IsZero() && now.Sub(p.last) < progressEvery && st.Done != st.Total {
		return
	}
	p.last = now
	p.draw()
}

// draw rewrites the lines: up to the first, then each one cleared and written.
func (p *multiProgress) draw() {
	var b strings.Builder
	if p.shown > 1 {
		fmt.Fprintf(&b, "\x1b[%dA", p.shown-1)
	}
	for i, st := range p.state {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "\r\x1b[K%s", progressText(p.names[i], st))
	}
	p.shown = len(p.state)
	io.WriteString(p.w, b.String())
}

func progressText(name string, st syncer.Progress) string {
	dir := cmp.Or(string(st.Direction), "waiting")
	line := fmt.Sprintf("%s %s: %d of %d events, %s events/s", dir, safe(name), st.Done, st.Total, rate(st.Done, st.Elapsed))
	if eta, ok := st.ETA(); ok && st.Done < st.Total {
		line += ", ETA " + eta.String()
	}
	return fit(line+fmt.Sprintf(", %d failed", st.Failed), tableWidth)
}

// clear removes the lines, leaving the cursor where the first one was.
func (p *multiProgress) clear() {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown == 0 {
		return
	}
	var b strings.Builder
	if p.shown > 1 {
		fmt.Fprintf(&b, "\x1b[%dA", p.shown-1)
	}
	b.WriteString("\r\x1b[J")
	io.WriteString(p.w, b.String())
	p.shown = 0
}
