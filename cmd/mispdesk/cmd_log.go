package main

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"mispdesk/store"
)

const logSynopsis = "log [--follow] [--server S] [--direction pull|push|test|feed] [--level info|warn|error] [--since ID] [--limit N] [--json]"

// logPoll is how often log --follow reads the store for new entries: the
// process writing them may be another one (mispdesk serve).
const logPoll = 250 * time.Millisecond

// logPage is how many entries one read of the store returns.
const logPage = 500

func runLog(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("log", logSynopsis)
	follow := fs.Bool("follow", false, "keep printing new entries as they are written, until interrupted")
	server := fs.String("server", "", "only entries of the server `S` (id or name)")
	direction := fs.String("direction", "", "only entries of `DIR`: pull, push, test, feed, import, mail or health")
	level := fs.String("level", "", "only entries at `LEVEL` or worse: debug, info, warn or error")
	since := fs.Int64("since", -1, "every entry after the one with id `ID` (default: the last --limit entries)")
	limit := fs.Int("limit", 50, "without --since, the last `N` entries (0: all)")
	jsonOut := fs.Bool("json", false, "print one JSON object per entry, one per line")
	if err := fs.ParseNoArgs(args); err != nil {
		return err
	}
	var f store.LogFilter
	if *direction != "" {
		if f.Direction, err = store.ParseDirection(*direction); err != nil {
			return usagef("--direction %q: want pull, push, test, feed, import, mail or health", *direction)
		}
	}
	if *level != "" {
		if f.Level, err = store.ParseLevel(*level); err != nil {
			return usagef("--level %q: want debug, info, warn or error", *level)
		}
	}
	if *limit < 0 {
		return usagef("--limit %d: want 0 (all) or more", *limit)
	}
	s, _, err := openInitialised(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	if *server != "" {
		sv, err := findServer(ctx, s, *server)
		if err != nil {
			return err
		}
		f.ServerID = sv.ID
	}

	emit := func(e store.LogEntry) error {
		if *jsonOut {
			return printJSON(env, e)
		}
		_, err := fmt.Fprintln(env.Stdout, logLine(e))
		return err
	}

	after := *since
	if after < 0 {
		after = 0
		if *limit > 0 {
			// The last --limit matching entries: read them all and keep the tail.
			var tail []store.LogEntry
			for {
				page, err := s.LogSince(ctx, after, logPage, f)
				if err != nil {
					return err
				}
				tail = append(tail, page...)
				if len(tail) > *limit {
					tail = tail[len(tail)-*limit:]
				}
				if len(page) > 0 {
					after = page[len(page)-1].ID
				}
				if len(page) < logPage {
					break
				}
			}
			// after is the last entry read: following goes on from there.
			for _, e := range tail {
				if err := emit(e); err != nil {
					return err
				}
			}
			if !*follow {
				return nil
			}
		}
	}
	tick := time.NewTicker(logPoll)
	defer tick.Stop()
	for {
		page, err := s.LogSince(ctx, after, logPage, f)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, e := range page {
			if err := emit(e); err != nil {
				return err
			}
			after = e.ID
		}
		if len(page) == logPage {
			continue
		}
		if !*follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil // interrupted: the normal end of --follow
		case <-tick.C:
		}
	}
}

// logLine is one sync log entry on one line, everything from peers escaped:
// time, level, server, direction, outcome, event, message, duration, n/m.
func logLine(e store.LogEntry) string {
	var b strings.Builder
	lvl := cmp.Or(e.Level, store.LevelInfo)
	fmt.Fprintf(&b, "%s %-5s %s %s %s", e.Time().Local().Format("2006-01-02 15:04:05.000"), lvl,
		orDash(safe(e.ServerName)), orDash(string(e.Direction)), orDash(safe(string(e.Outcome))))
	if e.EventUUID != "" {
		fmt.Fprintf(&b, " %s", safe(shortUUID(e.EventUUID)))
	}
	if e.Message != "" {
		fmt.Fprintf(&b, " %s", safe(e.Message))
	}
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, " [HTTP %d]", e.HTTPStatus)
	}
	if e.DurationMs > 0 {
		fmt.Fprintf(&b, " (%d ms)", e.DurationMs)
	}
	if e.Total > 0 {
		fmt.Fprintf(&b, " %d/%d", e.Done, e.Total)
	}
	return b.String()
}

// shortUUID is a UUID's first eight characters, enough to tell events apart
// in a log line; event show takes the full one.
func shortUUID(u string) string {
	if len(u) > 8 {
		return u[:8]
	}
	return u
}
