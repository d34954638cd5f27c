package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Kinds of outbox work.
const (
	OutboxPushEvent     = "push_event"
	OutboxPushSightings = "push_sightings"
	// OutboxPushCluster pushes a published galaxy cluster; the row's EventUUID is the
	// cluster's UUID.
	OutboxPushCluster = "push_cluster"
)

// ErrLeaseLost is returned when a worker reports on an outbox row it no longer holds (its
// lease ran out and another worker took the row, or the row is gone).
var ErrLeaseLost = errors.New("outbox row not held by this worker")

// OutboxItem is one piece of sync work: push an event (or its sightings) to a server.
// Times are unix seconds.
type OutboxItem struct {
	ID          int64    `json:"id"`
	ServerID    ServerID `json:"server_id"`
	Kind        string   `json:"kind"`
	EventUUID   string   `json:"event_uuid"`
	Created     int64    `json:"created"`
	Attempts    int      `json:"attempts"`
	NextAttempt int64    `json:"next_attempt"`
	LeaseOwner  string   `json:"lease_owner"`
	LeaseUntil  int64    `json:"lease_until"`
	LastError   string   `json:"last_error"`
}

// OutboxStat is what the outbox holds for one server.
type OutboxStat struct {
	ServerID   ServerID `json:"server_id"`
	ServerName string   `json:"server_name"`
	Queued     int      `json:"queued"`  // rows waiting, failed or not
	Failing    int      `json:"failing"` // rows that failed at least once
	Leased     int      `json:"leased"`  // rows a worker holds now
	LastError  string   `json:"last_error"`
}

// enqueueSQL queues one row; queueing it again makes it due now. A row being pushed keeps
// its lease: Complete then sees the re-queue and leaves the row for another round.
const enqueueSQL = ` ON CONFLICT (server_id, kind, event_uuid) DO UPDATE SET next_attempt = excluded.next_attempt`

// Enqueue queues work for a server, due now. With a non-nil tx it joins that transaction
// (so a publish and its pushes commit together); with nil it runs on its own.
func (s *Store) Enqueue(ctx context.Context, tx *sql.Tx, serverID ServerID, kind, eventUUID string) error {
	if kind != OutboxPushEvent && kind != OutboxPushSightings {
		return fmt.Errorf("enqueue %s for server %d: unknown kind %q", eventUUID, serverID, kind)
	}
	eventUUID = strings.ToLower(eventUUID)
	run := func(tx *sql.Tx) error {
		now := s.now().Unix()
		_, err := tx.ExecContext(ctx, `INSERT INTO outbox (server_id, kind, event_uuid, created, next_attempt) VALUES (?, ?, ?, ?, ?)`+enqueueSQL,
			serverID, kind, eventUUID, now, now)
		if err != nil {
			return fmt.Errorf("enqueue %s %s for server %d: %w", kind, eventUUID, serverID, err)
		}
		return nil
	}
	if tx != nil {
		return run(tx)
	}
	return s.tx(ctx, run)
}

// PassAlong is the one rule for the onward pushes of an event stored from outside this
// instance — pulled from a peer, pushed in by one, or posted over the REST API: stored
// published, it is queued, in the same transaction, to every server with push enabled
// except link, the sync link it arrived by (0: none), so it never goes back where it came
// from (MISP's passAlong). A pull and a received push both store through it.
func (o UpsertOptions) PassAlong(link ServerID) UpsertOptions {
	o.QueuePushes, o.QueueExcept = true, link
	return o
}

// EnqueuePushes queues a push_event of the event to every server with push enabled, inside
// the caller's transaction (publish calls it). It returns how many servers were queued.
func (s *Store) EnqueuePushes(ctx context.Context, tx *sql.Tx, eventUUID string) (int, error) {
	return s.EnqueuePushesExcept(ctx, tx, eventUUID, 0)
}

// EnqueuePushesExcept is EnqueuePushes leaving out one server: the one a pulled event came
// from (MISP's passAlong). With a nil tx it runs on its own.
func (s *Store) EnqueuePushesExcept(ctx context.Context, tx *sql.Tx, eventUUID string, exceptServerID ServerID) (int, error) {
	var n int64
	run := func(tx *sql.Tx) error {
		now := s.now().Unix()
		res, err := tx.ExecContext(ctx, `INSERT INTO outbox (server_id, kind, event_uuid, created, next_attempt)
			SELECT id, ?, ?, ?, ? FROM servers WHERE push = 1 AND id <> ?`+enqueueSQL,
			OutboxPushEvent, strings.ToLower(eventUUID), now, now, exceptServerID)
		if err != nil {
			return fmt.Errorf("queue pushes of %s: %w", eventUUID, err)
		}
		n, err = res.RowsAffected()
		return err
	}
	var err error
	if tx != nil {
		err = run(tx)
	} else {
		err = s.tx(ctx, run)
	}
	return int(n), err
}

// Claim leases up to limit due rows to owner for lease, oldest due first. A row is due
// when its next attempt has come and no other worker holds an unexpired lease on it. While
// leased, a row's next attempt is its lease end, so a worker that dies frees it then.
func (s *Store) Claim(ctx context.Context, owner string, lease time.Duration, limit int) ([]OutboxItem, error) {
	if owner == "" || limit <= 0 {
		return nil, fmt.Errorf("claim outbox work: need an owner and a positive limit")
	}
	secs := max(int64((lease+time.Second-1)/time.Second), 1) // whole seconds, at least one
	var items []OutboxItem
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now().Unix()
		rows, err := tx.QueryContext(ctx, `UPDATE outbox SET lease_owner = ?, lease_until = ?, next_attempt = ?
			WHERE id IN (SELECT id FROM outbox WHERE next_attempt <= ? AND (lease_owner = '' OR lease_until <= ?)
				ORDER BY next_attempt, id LIMIT ?)
			RETURNING id, server_id, kind, event_uuid, created, attempts, next_attempt, lease_owner, lease_until, last_error`,
			owner, now+secs, now+secs, now, now, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var it OutboxItem
			if err := rows.Scan(&it.ID, &it.ServerID, &it.Kind, &it.EventUUID, &it.Created, &it.Attempts,
				&it.NextAttempt, &it.LeaseOwner, &it.LeaseUntil, &it.LastError); err != nil {
				return err
			}
			items = append(items, it)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim outbox work for %s: %w", owner, err)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].ID < items[j].ID })
	return items, nil
}

// Complete removes a row its owner has done. A row queued again while it was being worked
// on stays, due now, for the newer version; its lease is released.
func (s *Store) Complete(ctx context.Context, id int64, owner string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id = ? AND lease_owner = ? AND next_attempt >= lease_until`, id, owner)
		if err != nil {
			return fmt.Errorf("complete outbox row %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		return s.release(ctx, tx, id, owner, `attempts = 0, last_error = ''`, "complete")
	})
}

// Fail records a failed attempt: the row stays, due again after backoff, and its lease is
// released.
func (s *Store) Fail(ctx context.Context, id int64, owner, errMsg string, backoff time.Duration) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return s.release(ctx, tx, id, owner, `attempts = attempts + 1, last_error = ?, next_attempt = ?`, "fail",
			errMsg, s.now().Add(backoff).Unix())
	})
}

// Postpone releases a row without counting an attempt: it is due again after wait (its
// server is down, and another row is trying it).
func (s *Store) Postpone(ctx context.Context, id int64, owner string, wait time.Duration) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return s.release(ctx, tx, id, owner, `next_attempt = ?`, "postpone", s.now().Add(wait).Unix())
	})
}

// RetryServerNow makes every queued row of a server that is not being worked on due now
// (the server is back, or an operator asks), and returns how many.
func (s *Store) RetryServerNow(ctx context.Context, serverID ServerID) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now().Unix()
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET next_attempt = ? WHERE server_id = ? AND next_attempt > ?
			AND (lease_owner = '' OR lease_until <= ?)`, now, serverID, now, now)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("retry outbox of server %d now: %w", serverID, err)
	}
	return int(n), nil
}

// release frees owner's lease on a row and applies set, whose placeholders args fill.
func (s *Store) release(ctx context.Context, tx *sql.Tx, id int64, owner, set, what string, args ...any) error {
	args = append(args, id, owner)
	res, err := tx.ExecContext(ctx, `UPDATE outbox SET lease_owner = '', lease_until = 0, `+set+` WHERE id = ? AND lease_owner = ?`, args...)
	if err != nil {
		return fmt.Errorf("%s outbox row %d: %w", what, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s outbox row %d by %s: %w", what, id, owner, ErrLeaseLost)
	}
	return nil
}

// OutboxStats counts the outbox per server, for servers with anything queued.
func (s *Store) OutboxStats(ctx context.Context) ([]OutboxStat, error) {
	now := s.now().Unix()
	rows, err := s.read.QueryContext(ctx, `SELECT o.server_id, v.name, count(*),
			count(*) FILTER (WHERE o.attempts > 0),
			count(*) FILTER (WHERE o.lease_owner <> '' AND o.lease_until > ?),
			ifnull((SELECT last_error FROM outbox l WHERE l.server_id = o.server_id AND l.last_error <> ''
				ORDER BY l.attempts DESC, l.id DESC LIMIT 1), '')
		FROM outbox o JOIN servers v ON v.id = o.server_id
		GROUP BY o.server_id ORDER BY v.priority, o.server_id`, now)
	if err != nil {
		return nil, fmt.Errorf("outbox stats: %w", err)
	}
	defer rows.Close()
	var out []OutboxStat
	for rows.Next() {
		var st OutboxStat
		if err := rows.Scan(&st.ServerID, &st.ServerName, &st.Queued, &st.Failing, &st.Leased, &st.LastError); err != nil {
			return nil, fmt.Errorf("outbox stats: %w", err)
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// EventOutbox is where one event stands in the outbox: pushes queued (not yet tried or
// waiting for a retry) and how many of them failed at least once.
type EventOutbox struct {
	Queued, Failing int
	LastError       string
}

// EventOutboxes returns the outbox state of the given events by UUID (events with nothing
// queued are absent). The outbox holds only undelivered pushes, so this stays small.
func (s *Store) EventOutboxes(ctx context.Context, uuids []string) (map[string]EventOutbox, error) {
	out := map[string]EventOutbox{}
	if len(uuids) == 0 {
		return out, nil
	}
	args := make([]any, len(uuids))
	for i, u := range uuids {
		args[i] = u
	}
	rows, err := s.read.QueryContext(ctx, `SELECT event_uuid, count(*), sum(attempts > 0), max(last_error) FROM outbox
		WHERE kind = ? AND event_uuid IN (`+placeholders(len(uuids))+`) GROUP BY event_uuid`, append([]any{OutboxPushEvent}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("event outbox: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u string
		var o EventOutbox
		if err := rows.Scan(&u, &o.Queued, &o.Failing, &o.LastError); err != nil {
			return nil, fmt.Errorf("event outbox: %w", err)
		}
		out[u] = o
	}
	return out, rows.Err()
}

// EventsPushed returns, by UUID, how many servers the sync log says each of the given
// events was pushed to (events pushed nowhere are absent), within the last logScanRows
// entries as EventPushStates.
func (s *Store) EventsPushed(ctx context.Context, uuids []string) (map[string]int, error) {
	out := map[string]int{}
	if len(uuids) == 0 {
		return out, nil
	}
	args := []any{logScanRows, DirPush, OutcomePushed}
	for _, u := range uuids {
		args = append(args, u)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT event_uuid, count(DISTINCT server_id) FROM sync_log
		WHERE id > (SELECT ifnull(max(id), 0) FROM sync_log) - ? AND direction = ? AND outcome = ?
		AND event_uuid IN (`+placeholders(len(uuids))+`) GROUP BY event_uuid`, args...)
	if err != nil {
		return nil, fmt.Errorf("events pushed: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u string
		var n int
		if err := rows.Scan(&u, &n); err != nil {
			return nil, fmt.Errorf("events pushed: %w", err)
		}
		out[u] = n
	}
	return out, rows.Err()
}

// EventPushState is what happened to one event's pushes to one server.
type EventPushState struct {
	ServerID ServerID
	// Last is the newest sync log entry of a push of this event to the server (ID 0: none
	// kept in the last logScanRows entries).
	Last LogEntry
	// Queued and Attempts: a push waiting in the outbox, and how often it was tried.
	Queued    bool
	Attempts  int
	NextTry   int64 // unix seconds
	LastError string
}

// logScanRows bounds how far back EventPushStates looks in the sync log (it has no index
// by event, and an event's pushes are recent when they matter).
const logScanRows = 200000

// EventPushStates returns, by server id, the last logged push of the event and its queued
// push if any.
func (s *Store) EventPushStates(ctx context.Context, eventUUID string) (map[ServerID]*EventPushState, error) {
	out := map[ServerID]*EventPushState{}
	get := func(id ServerID) *EventPushState {
		if out[id] == nil {
			out[id] = &EventPushState{ServerID: id}
		}
		return out[id]
	}
	rows, err := s.read.QueryContext(ctx, `SELECT id, ts_ms, server_id, server_name, direction, level, outcome, message, http_status, duration_ms
		FROM sync_log WHERE id > (SELECT ifnull(max(id), 0) FROM sync_log) - ? AND event_uuid = ? AND direction = 'push' ORDER BY id`,
		logScanRows, eventUUID)
	if err != nil {
		return nil, fmt.Errorf("event pushes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e LogEntry
		if err := rows.Scan(&e.ID, &e.TsMs, &e.ServerID, &e.ServerName, &e.Direction, &e.Level, &e.Outcome, &e.Message, &e.HTTPStatus, &e.DurationMs); err != nil {
			return nil, fmt.Errorf("event pushes: %w", err)
		}
		e.EventUUID = eventUUID
		get(e.ServerID).Last = e
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("event pushes: %w", err)
	}
	rows.Close()
	q, err := s.read.QueryContext(ctx, `SELECT server_id, attempts, next_attempt, last_error FROM outbox WHERE kind = ? AND event_uuid = ?`,
		OutboxPushEvent, eventUUID)
	if err != nil {
		return nil, fmt.Errorf("event pushes: %w", err)
	}
	defer q.Close()
	for q.Next() {
		var id ServerID
		var st EventPushState
		if err := q.Scan(&id, &st.Attempts, &st.NextTry, &st.LastError); err != nil {
			return nil, fmt.Errorf("event pushes: %w", err)
		}
		p := get(id)
		p.Queued, p.Attempts, p.NextTry, p.LastError = true, st.Attempts, st.NextTry, st.LastError
	}
	return out, q.Err()
}
