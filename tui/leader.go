package tui

import (
	"context"
	"log/slog"
	"strings"
	"sync"
)

// LeaderState says which process runs the outbox and the scheduler.
type LeaderState int

// Leader states as the header shows them.
const (
	LeaderUnknown   LeaderState = iota // not known yet (or no daemon in this process)
	LeaderHere                         // this console holds the syncer lease
	LeaderElsewhere                    // another process (mispdesk serve) holds it
	LeaderError                        // the lease could not be read
)

// LeaderWatch is a slog.Handler to give the engine (syncer.Options.Logger):
// the console learns from the engine's own log when this process becomes or
// stops being the syncer leader, and the log never reaches the terminal under
// the screen. Changes go out on a channel of one that never blocks the engine
// (only the newest state matters).
type LeaderWatch struct {
	mu      sync.Mutex
	state   LeaderState
	changes chan LeaderState
}

// NewLeaderWatch makes a watch; pass slog.New(w) to syncer.New.
func NewLeaderWatch() *LeaderWatch { return &LeaderWatch{changes: make(chan LeaderState, 1)} }

func (w *LeaderWatch) set(s LeaderState) {
	w.mu.Lock()
	w.state = s
	w.mu.Unlock()
	for {
		select {
		case w.changes <- s:
			return
		default:
			select { // drop the stale state and put the new one
			case <-w.changes:
			default:
			}
		}
	}
}

// State is the current state.
func (w *LeaderWatch) State() LeaderState {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state
}

// Enabled implements slog.Handler.
func (w *LeaderWatch) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

// Handle implements slog.Handler.
func (w *LeaderWatch) Handle(_ context.Context, r slog.Record) error {
	switch {
	case strings.HasPrefix(r.Message, "sync leader: running"):
		w.set(LeaderHere)
	case strings.HasPrefix(r.Message, "sync leader lease lost"):
		w.set(LeaderElsewhere)
	case r.Message == "leader lease" && r.Level >= slog.LevelError:
		w.set(LeaderError)
	}
	return nil
}

// WithAttrs implements slog.Handler.
func (w *LeaderWatch) WithAttrs([]slog.Attr) slog.Handler { return w }

// WithGroup implements slog.Handler.
func (w *LeaderWatch) WithGroup(string) slog.Handler { return w }
