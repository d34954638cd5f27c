package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Direction is the kind of sync work a log entry is about.
type Direction string

// The directions of the sync log.
const (
	DirPull   Direction = "pull"
	DirPush   Direction = "push"
	DirFeed   Direction = "feed"
	DirTest   Direction = "test"
	DirImport Direction = "import"
	DirMail   Direction = "mail"
	DirHealth Direction = "health"
)

var directions = []Direction{DirPull, DirPush, DirFeed, DirTest, DirImport, DirMail, DirHealth}

// ParseDirection reads a direction as a person or a script writes it.
func ParseDirection(s string) (Direction, error) {
	if d := Direction(s); slices.Contains(directions, d) {
		return d, nil
	}
	return "", fmt.Errorf("direction %q is not one of %s", s, joinNames(directions))
}

// Level is how much a log entry matters, least to most severe.
type Level string

// The levels of the sync log, least severe first.
const (
	LevelDebug Level = "debug"
	LevelInfo  Level = "info"
	LevelWarn  Level = "warn"
	LevelError Level = "error"
)

var levels = []Level{LevelDebug, LevelInfo, LevelWarn, LevelError}

// ParseLevel reads a level as a person or a script writes it.
func ParseLevel(s string) (Level, error) {
	if l := Level(s); slices.Contains(levels, l) {
		return l, nil
	}
	return "", fmt.Errorf("level %q is not one of %s", s, joinNames(levels))
}

// AtLeast reports whether l is as severe as min or more (an empty level is info).
func (l Level) AtLeast(min Level) bool {
	return slices.Index(levels, cmp.Or(l, LevelInfo)) >= slices.Index(levels, min)
}

// LogOutcome is what one step of sync came to: for an event, pushed, pulled, fetched,
// skipped, refused or failed; for a run, the step it reached (finished, selected…); for
// a health entry, the server's new state.
type LogOutcome string

// The outcomes the engine, the feeds and the mailer log.
const (
	OutcomePushed    LogOutcome = "pushed"
	OutcomePulled    LogOutcome = "pulled"
	OutcomeFetched   LogOutcome = "fetched"
	OutcomeSkipped   LogOutcome = "skipped"
	OutcomeRefused   LogOutcome = "refused" // for good: not retried
	OutcomeFailed    LogOutcome = "failed"  // retried (a push stays queued)
	OutcomeFinished  LogOutcome = "finished"
	OutcomeConnected LogOutcome = "connected"
	OutcomeTested    LogOutcome = "tested"
	OutcomeIndex     LogOutcome = "index"
	OutcomeUnchanged LogOutcome = "unchanged"
	OutcomeSelected  LogOutcome = "selected"
	// OutcomeLastPushedID: the server's incremental push mark moved.
	OutcomeLastPushedID LogOutcome = "lastpushedid"
	OutcomeProposals    LogOutcome = "proposals"
	OutcomeAnalystData  LogOutcome = "analyst-data"
	OutcomeClusters     LogOutcome = "clusters"
	OutcomeCluster      LogOutcome = "cluster"
	OutcomeSightings    LogOutcome = "sightings"
	OutcomeManifest     LogOutcome = "manifest"
	OutcomeCache        LogOutcome = "cache"
	OutcomeCached       LogOutcome = "cached"
	OutcomeQueued       LogOutcome = "queued"
	OutcomeSent         LogOutcome = "sent"
)

func joinNames[T ~string](names []T) string {
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = string(n)
	}
	return strings.Join(s, ", ")
}

// LogEntry is one step of sync in the append-only sync log.
type LogEntry struct {
	ID         int64      `json:"id"`
	TsMs       int64      `json:"ts_ms"` // set by AppendLog
	RunID      string     `json:"run_id"`
	ServerID   ServerID   `json:"server_id"`
	ServerName string     `json:"server_name"`
	Direction  Direction  `json:"direction"`
	Level      Level      `json:"level"` // empty: info
	EventUUID  string     `json:"event_uuid"`
	Outcome    LogOutcome `json:"outcome"`
	Message    string     `json:"message"`
	HTTPStatus int        `json:"http_status"`
	DurationMs int64      `json:"duration_ms"`
	Done       int        `json:"done"` // progress: Done of Total
	Total      int        `json:"total"`
}

// Time is when the step was logged.
func (e *LogEntry) Time() time.Time { return time.UnixMilli(e.TsMs) }

// LogFilter narrows LogSince; zero fields match everything.
type LogFilter struct {
	ServerID  ServerID
	Direction Direction
	// Level is the least severe level shown: LevelWarn shows warn and error.
	Level Level
}

// AppendLog writes a step to the sync log, stamped with the store's clock, and returns its
// id (ids only grow, so readers tail by id).
func (s *Store) AppendLog(ctx context.Context, e LogEntry) (int64, error) {
	entries := []LogEntry{e}
	if err := s.AppendLogs(ctx, entries); err != nil {
		return 0, err
	}
	return entries[0].ID, nil
}

// AppendLogs writes several steps in one transaction, filling in each entry's ID and time
// (a busy sync writes its log in batches rather than a commit per line). Entries without
// a TsMs are stamped with the store's clock.
func (s *Store) AppendLogs(ctx context.Context, entries []LogEntry) error {
	for i := range entries {
		e := &entries[i]
		e.Level = cmp.Or(e.Level, LevelInfo)
		if _, err := ParseDirection(string(e.Direction)); err != nil {
			return fmt.Errorf("sync log: %w", err)
		}
		if _, err := ParseLevel(string(e.Level)); err != nil {
			return fmt.Errorf("sync log: %w", err)
		}
		if e.TsMs == 0 {
			e.TsMs = s.now().UnixMilli()
		}
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for i := range entries {
			e := &entries[i]
			res, err := tx.ExecContext(ctx, `INSERT INTO sync_log (ts_ms, run_id, server_id, server_name, direction, level,
				event_uuid, outcome, message, http_status, duration_ms, done, total) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				e.TsMs, e.RunID, e.ServerID, e.ServerName, e.Direction, e.Level,
				e.EventUUID, e.Outcome, e.Message, e.HTTPStatus, e.DurationMs, e.Done, e.Total)
			if err != nil {
				return err
			}
			if e.ID, err = res.LastInsertId(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sync log: %w", err)
	}
	return nil
}

// LogSince returns up to limit entries after afterID that match f, oldest first: call it
// again with the last id to follow the log.
func (s *Store) LogSince(ctx context.Context, afterID int64, limit int, f LogFilter) ([]LogEntry, error) {
	q := `SELECT id, ts_ms, run_id, server_id, server_name, direction, level, event_uuid, outcome, message,
		http_status, duration_ms, done, total FROM sync_log WHERE id > ?`
	args := []any{afterID}
	if f.ServerID != 0 {
		q += ` AND server_id = ?`
		args = append(args, f.ServerID)
	}
	if f.Direction != "" {
		q += ` AND direction = ?`
		args = append(args, string(f.Direction))
	}
	if f.Level != "" {
		i := slices.Index(levels, f.Level)
		if i < 0 {
			return nil, fmt.Errorf("read sync log: level %q is not one of %s", f.Level, joinNames(levels))
		}
		q += ` AND level IN (?` + strings.Repeat(`, ?`, len(levels)-i-1) + `)`
		for _, l := range levels[i:] {
			args = append(args, string(l))
		}
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, limit)
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read sync log: %w", err)
	}
	defer rows.Close()
	var out []LogEntry
	for rows.Next() {
		var e LogEntry
		if err := rows.Scan(&e.ID, &e.TsMs, &e.RunID, &e.ServerID, &e.ServerName, &e.Direction, &e.Level, &e.EventUUID,
			&e.Outcome, &e.Message, &e.HTTPStatus, &e.DurationMs, &e.Done, &e.Total); err != nil {
			return nil, fmt.Errorf("read sync log: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// LastLogID is the id of the newest entry, 0 when the log is empty: where a follower
// starts to see only what comes next.
func (s *Store) LastLogID(ctx context.Context) (int64, error) {
	var id int64
	if err := s.read.QueryRowContext(ctx, `SELECT ifnull(max(id), 0) FROM sync_log`).Scan(&id); err != nil {
		return 0, fmt.Errorf("read sync log: %w", err)
	}
	return id, nil
}
