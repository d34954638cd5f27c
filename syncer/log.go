package syncer

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"mispdesk/store"
)

// Bus hands each sync log entry to the subscribers in this process (the console) as soon
// as it is written. A subscriber that does not keep up loses entries rather than slowing
// sync down; it can read them back from the store by id.
type Bus struct {
	mu   sync.Mutex
	subs map[chan store.LogEntry]struct{}
}

// NewBus makes an empty bus.
func NewBus() *Bus { return &Bus{subs: map[chan store.LogEntry]struct{}{}} }

// Subscribe returns a channel of entries with room for buffer of them, and a function that
// ends the subscription.
func (b *Bus) Subscribe(buffer int) (<-chan store.LogEntry, func()) {
	ch := make(chan store.LogEntry, buffer)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
		b.mu.Unlock()
	}
}

func (b *Bus) publish(e store.LogEntry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

// logFlushEvery bounds how long a step waits to reach the store (and the console): well
// under the second operators expect, and few enough commits not to slow sync down.
const logFlushEvery = 100 * time.Millisecond

// logWriter gathers sync log entries and writes them in batches, one transaction each.
type logWriter struct {
	mu      sync.Mutex
	pending []store.LogEntry
	stop    chan struct{}
	stopped chan struct{}
}

// record logs one step: to slog at once, to the store and the bus within logFlushEvery.
func (e *Engine) record(ctx context.Context, entry store.LogEntry) {
	if entry.Level == "" {
		entry.Level = store.LevelInfo
	}
	entry.TsMs = e.now().UnixMilli()
	level := slog.LevelInfo
	switch entry.Level {
	case store.LevelWarn:
		level = slog.LevelWarn
	case store.LevelError:
		level = slog.LevelError
	case store.LevelDebug:
		level = slog.LevelDebug
	}
	attrs := []any{"dir", entry.Direction, "server", entry.ServerName}
	if entry.EventUUID != "" {
		attrs = append(attrs, "event", entry.EventUUID)
	}
	if entry.Outcome != "" {
		attrs = append(attrs, "outcome", entry.Outcome)
	}
	if entry.HTTPStatus != 0 {
		attrs = append(attrs, "status", entry.HTTPStatus)
	}
	if entry.DurationMs != 0 {
		attrs = append(attrs, "ms", entry.DurationMs)
	}
	if entry.Total != 0 {
		attrs = append(attrs, "done", entry.Done, "total", entry.Total)
	}
	e.log.Log(ctx, level, entry.Message, attrs...)
	e.logw.mu.Lock()
	e.logw.pending = append(e.logw.pending, entry)
	e.logw.mu.Unlock()
}

// flushLog writes the pending entries and announces them on the bus. A log write that
// fails is reported to slog only: the sync work itself goes on.
func (e *Engine) flushLog() {
	e.logw.mu.Lock()
	batch := e.logw.pending
	e.logw.pending = nil
	e.logw.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	if err := e.st.AppendLogs(context.Background(), batch); err != nil {
		e.log.Error("sync log write failed", "entries", len(batch), "err", err)
	}
	for _, entry := range batch {
		e.bus.publish(entry)
	}
}

func (e *Engine) logLoop() {
	defer close(e.logw.stopped)
	tick := time.NewTicker(logFlushEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			e.flushLog()
		case <-e.logw.stop:
			e.flushLog()
			return
		}
	}
}

// Close writes what is left of the sync log and stops the engine's log writer.
func (e *Engine) Close() {
	e.closeOnce.Do(func() {
		close(e.logw.stop)
		<-e.logw.stopped
	})
}

// step records a step of a run.
func (r *runContext) step(ctx context.Context, level store.Level, eventUUID string, outcome store.LogOutcome, msg string, started time.Time, status int) {
	entry := store.LogEntry{RunID: r.runID, ServerID: r.srv.ID, ServerName: r.srv.Name, Direction: r.dir,
		Level: level, EventUUID: eventUUID, Outcome: outcome, Message: msg, HTTPStatus: status}
	if !started.IsZero() {
		entry.DurationMs = time.Since(started).Milliseconds()
	}
	r.e.record(ctx, entry)
}
