package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// LogEntry is one step of sync in the append-only sync log.
type LogEntry struct {
	ID         int64  `json:"id"`
	TsMs       int64  `json:"ts_ms"` // set by AppendLog
	RunID      string `json:"run_id"`
	ServerID   int64  `json:"server_id"`
	ServerName string `json:"server_name"`
	Direction  string `json:"direction"` // pull, push, feed, test, import, mail
	Level      string `json:"level"`     // debug, info, warn, error; empty: info
	EventUUID  string `json:"event_uuid"`
	Outcome    string `json:"outcome"` // pulled, pushed, skipped, failed, …
	Message    string `json:"message"`
	HTTPStatus int    `json:"http_status"`
	DurationMs int64  `json:"duration_ms"`
	Done       int    `json:"done"` // progress: Done of Total
	Total      int    `json:"total"`
}

// Time is when the step was logged.
func (e *LogEntry) Time() time.Time { return time.UnixMilli(e.TsMs) }

// LogFilter narrows LogSince; zero fields match everything.
type LogFilter struct {
	ServerID  int64
	Direction string
	// Level is the least severe level shown: "warn" shows warn and error.
	Level string
}

var (
	logDirections = []string{"pull", "push", "feed", "test", "import", "mail", "health"}
	logLevels     = []string{"debug", "info", "warn", "error"}
)

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
		if e.Level == "" {
			e.Level = "info"
		}
		if slices.Index(logDirections, e.Direction) < 0 {
			return fmt.Errorf("sync log: direction %q is not one of %s", e.Direction, strings.Join(logDirections, ", "))
		}
		if slices.Index(logLevels, e.Level) < 0 {
			return fmt.Errorf("sync log: level %q is not one of %s", e.Level, strings.Join(logLevels, ", "))
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
		args = append(args, f.Direction)
	}
	if f.Level != "" {
		i := slices.Index(logLevels, f.Level)
		if i < 0 {
			return nil, fmt.Errorf("read sync log: level %q is not one of %s", f.Level, strings.Join(logLevels, ", "))
		}
		q += ` AND level IN ('` + strings.Join(logLevels[i:], "', '") + `')`
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
