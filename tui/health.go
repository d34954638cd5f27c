package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"mispdesk/store"
	"mispdesk/syncer"
)

// blockedServers are the servers that are down or refuse our key, by name.
func (c *Context) blockedServers() []store.Server {
	var out []store.Server
	for _, sv := range c.Servers {
		if c.Health[sv.ID].Blocked() {
			out = append(out, sv)
		}
	}
	return out
}

// healthText is a server's state as the header, its row and its detail say it, cause
// first: "down since 08:13: connection refused".
func healthText(h syncer.PeerHealth) string {
	if h.State == "" {
		return "unknown"
	}
	return oneLine(h.String())
}

// shortHealth is the state for a narrow place, cause first after the state word:
// "down: connection refused".
func shortHealth(h syncer.PeerHealth) string {
	if h.State == syncer.PeerUp || h.State == "" {
		return healthText(h)
	}
	return oneLine(string(h.State) + ": " + h.Cause)
}

// retryText says when the outbox tries a blocked server again.
func retryText(now time.Time, h syncer.PeerHealth) string {
	switch {
	case !h.Blocked():
		return ""
	case h.RetryAt.IsZero() || !h.RetryAt.After(now):
		return "retry due now"
	}
	return "retry in " + h.RetryAt.Sub(now).Round(time.Second).String()
}

// resumedMsg is the outcome of a retry-now.
type resumedMsg struct {
	server string
	err    error
}

// resumeServer ends a blocked server's backoff through the engine: its queued pushes
// are due at once.
func resumeServer(c *Context, sv store.Server) tea.Cmd {
	ctx, eng := c.Ctx, c.Engine
	return func() tea.Msg {
		return resumedMsg{sv.Name, eng.ResumeServer(ctx, sv.ID)}
	}
}

// throughputMinutes is how far back the sparkline looks: one cell a minute.
const throughputMinutes = 60

// throughput counts, per server and minute, the events the sync log says moved
// (pushed, pulled, fetched) and failed.
type throughput struct {
	// moved and failed by server id (0: all) and unix minute
	moved, failed map[store.ServerID]map[int64]int
}

func (t *throughput) add(e store.LogEntry) {
	var into *map[store.ServerID]map[int64]int
	switch {
	case e.EventUUID == "":
		return
	case e.Outcome == store.OutcomePushed || e.Outcome == store.OutcomePulled || e.Outcome == store.OutcomeFetched:
		into = &t.moved
	case e.Outcome == store.OutcomeFailed:
		into = &t.failed
	default:
		return
	}
	if *into == nil {
		*into = map[store.ServerID]map[int64]int{}
	}
	minute := e.TsMs / 60000
	for _, id := range []store.ServerID{0, e.ServerID} {
		m := (*into)[id]
		if m == nil {
			m = map[int64]int{}
			(*into)[id] = m
		}
		m[minute]++
		if len(m) > 2*throughputMinutes { // forget what the sparkline no longer shows
			for k := range m {
				if k < minute-throughputMinutes {
					delete(m, k)
				}
			}
		}
	}
}

// series is the last n minutes of a server's (0: all) moved and failed counts, oldest
// first.
func (t *throughput) series(server store.ServerID, now time.Time, n int) (moved, failed []int) {
	last := now.UnixMilli() / 60000
	moved, failed = make([]int, n), make([]int, n)
	for i := range n {
		minute := last - int64(n-1-i)
		moved[i] = t.moved[server][minute]
		failed[i] = t.failed[server][minute]
	}
	return moved, failed
}

var sparkCells = []rune("▁▂▃▄▅▆▇█")

// sparkline draws counts as one cell each, scaled to the largest; an empty minute is
// a space-like ▁ so the line reads the same without colour.
func sparkline(counts []int) string {
	top := slices.Max(append([]int{0}, counts...))
	var b strings.Builder
	for _, n := range counts {
		i := 0
		if top > 0 && n > 0 {
			i = 1 + (n*(len(sparkCells)-2)+top-1)/top
			i = min(i, len(sparkCells)-1)
		}
		b.WriteRune(sparkCells[i])
	}
	return b.String()
}

// throughputLine is "sync/min ▁▁▃█▅ 120 moved, 3 failed (last 30 min)" for a server
// (0: all), width cells of sparkline.
func throughputLine(s *Styles, t *throughput, server store.ServerID, now time.Time, width int) string {
	moved, failed := t.series(server, now, width)
	sum := func(xs []int) int {
		n := 0
		for _, x := range xs {
			n += x
		}
		return n
	}
	line := s.OK.Render(sparkline(moved)) + fmt.Sprintf(" %d moved", sum(moved))
	if f := sum(failed); f > 0 {
		line += ", " + s.Error.Render(fmt.Sprintf("%d failed", f)) + " " + s.Error.Render(sparkline(failed))
	}
	return line + s.Dim.Render(fmt.Sprintf(" (last %d min)", width))
}
