package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"mispdesk/store"
	"mispdesk/syncer"
	"mispdesk/syncer/remote"
)

// Every store and network call of the console is one of these commands: it
// runs off the UI goroutine and its result comes back as a message.

// Data messages.
type (
	instanceMsg struct {
		inst *store.Instance
		err  error
	}
	serversMsg struct {
		servers []store.Server
		stats   []store.OutboxStat
		health  map[store.ServerID]syncer.PeerHealth
		err     error
	}
	// logEntriesMsg carries sync log entries, oldest first. fromTail: read from
	// the store (another process's too), else from this process's bus; last is
	// the tail cursor after this read.
	logEntriesMsg struct {
		entries  []store.LogEntry
		fromTail bool
		initial  bool
		last     int64
		err      error
	}
	busClosedMsg struct{}
	progressMsg  struct {
		runID int
		p     syncer.Progress
	}
	runDoneMsg struct {
		runID int
		sum   *syncer.RunSummary
		err   error
	}
	connTestMsg struct {
		serverID store.ServerID
		ct       *remote.ConnectionTest
		err      error
	}
	refreshTickMsg struct{}
	tailTickMsg    struct{}
	flashClearMsg  struct{ gen int }
)

const (
	refreshEvery = time.Second
	tailEvery    = 300 * time.Millisecond
	// logBacklog is how much of the stored log the console shows on start.
	logBacklog = 500
	// tailPage bounds one read of the log tail; a longer backlog is read over
	// several ticks.
	tailPage = 2000
)

func loadInstance(ctx context.Context, st *store.Store) tea.Cmd {
	return func() tea.Msg {
		inst, err := st.Instance(ctx)
		return instanceMsg{inst, err}
	}
}

func loadServers(ctx context.Context, st *store.Store) tea.Cmd {
	return func() tea.Msg {
		servers, err := st.Servers(ctx)
		if err != nil {
			return serversMsg{err: err}
		}
		stats, err := st.OutboxStats(ctx)
		if err != nil {
			return serversMsg{err: err}
		}
		// Health as the process running the sync stored it (this one, or mispdesk serve).
		health := map[store.ServerID]syncer.PeerHealth{}
		for _, sv := range servers {
			h, err := syncer.ReadPeerHealth(ctx, st, sv.ID)
			if err != nil {
				return serversMsg{err: err}
			}
			health[sv.ID] = h
		}
		return serversMsg{servers: servers, stats: stats, health: health}
	}
}

// loadLogBacklog reads the newest logBacklog entries of the stored log.
func loadLogBacklog(ctx context.Context, st *store.Store) tea.Cmd {
	return func() tea.Msg {
		last, err := st.LastLogID(ctx)
		if err != nil {
			return logEntriesMsg{fromTail: true, initial: true, err: err}
		}
		from := max(last-logBacklog, 0)
		entries, err := st.LogSince(ctx, from, logBacklog, store.LogFilter{})
		return logEntriesMsg{entries: entries, fromTail: true, initial: true, last: last, err: err}
	}
}

// tailLog reads what was logged after id, by this process or another.
func tailLog(ctx context.Context, st *store.Store, after int64) tea.Cmd {
	return func() tea.Msg {
		entries, err := st.LogSince(ctx, after, tailPage, store.LogFilter{})
		last := after
		if n := len(entries); n > 0 {
			last = entries[n-1].ID
		}
		return logEntriesMsg{entries: entries, fromTail: true, last: last, err: err}
	}
}

// waitBus waits for the next entries this process's engine logs; it takes
// what else is already queued (up to 256) in the same message. The bus drops
// entries for a subscriber that is behind; the tail fills the gap.
func waitBus(ch <-chan store.LogEntry) tea.Cmd {
	return func() tea.Msg {
		e, ok := <-ch
		if !ok {
			return busClosedMsg{}
		}
		entries := []store.LogEntry{e}
		for len(entries) < 256 {
			select {
			case e, ok := <-ch:
				if !ok {
					return logEntriesMsg{entries: entries}
				}
				entries = append(entries, e)
			default:
				return logEntriesMsg{entries: entries}
			}
		}
		return logEntriesMsg{entries: entries}
	}
}

// waitProgress waits for the next progress report of a console run.
func waitProgress(ch <-chan progressMsg) tea.Cmd {
	return func() tea.Msg { return <-ch }
}

// tick is tea.Tick; tests that drive the model by hand turn timers off.
var tick = tea.Tick

func refreshTick() tea.Cmd {
	return tick(refreshEvery, func(time.Time) tea.Msg { return refreshTickMsg{} })
}

func tailTick() tea.Cmd {
	return tick(tailEvery, func(time.Time) tea.Msg { return tailTickMsg{} })
}

// runSync runs a pull or push; its progress goes to ch without ever waiting
// (a full channel drops a report: the next one says more).
func runSync(ctx context.Context, eng *syncer.Engine, run *SyncRun, ch chan<- progressMsg) tea.Cmd {
	id, server, dir := run.ID, run.ServerID, run.Direction
	return func() tea.Msg {
		opts := syncer.RunOptions{Progress: func(p syncer.Progress) {
			select {
			case ch <- progressMsg{id, p}:
			default:
			}
		}}
		var sum *syncer.RunSummary
		var err error
		if dir == store.DirPull {
			sum, err = eng.Pull(ctx, server, opts)
		} else {
			sum, err = eng.Push(ctx, server, opts)
		}
		return runDoneMsg{id, sum, err}
	}
}

func testConnection(ctx context.Context, eng *syncer.Engine, sv store.Server) tea.Cmd {
	return func() tea.Msg {
		ct, err := eng.TestConnection(ctx, sv.ID)
		return connTestMsg{sv.ID, ct, err}
	}
}

func deleteServer(ctx context.Context, st *store.Store, sv store.Server) tea.Cmd {
	return func() tea.Msg {
		if err := st.DeleteServer(ctx, sv.ID); err != nil {
			return flashMsg{store.LevelError, "delete " + clean(sv.Name) + ": " + oneLine(err.Error())}
		}
		return serverChangedMsg{text: "Deleted server " + clean(sv.Name)}
	}
}

// serverChangedMsg says a server was added, edited or deleted: reload.
type serverChangedMsg struct{ text string }

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func oneLine(s string) string { return clean(strings.TrimSpace(s)) }

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
