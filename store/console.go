package store

// Reads and writes the console needs: an edit of a local event as MISP makes one (newer
// timestamps, unpublished), each listed event's place in the outbox, the last push of an
// event to each server, and event metadata for a rules dry run.

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"mispdesk/store/misp"
)

// EditEvent applies fn to the stored event and writes it back as MISP writes a local
// edit: fn gets the timestamp changed elements take (now, and newer than the event's
// current one; bump each changed element's own timestamp to at least it), the event takes
// it too, the event is unpublished (pushes queued for the old version are dropped), its
// owner stays, and sharing group ids are this instance's. userID is recorded as the
// editor. A write the store refuses as not newer comes back as a Skipped result.
func (s *Store) EditEvent(ctx context.Context, ref string, userID int64, fn func(ev *misp.Event, now misp.Int) error) (*misp.Event, UpsertResult, error) {
	row, err := s.EventRow(ctx, ref)
	if err != nil {
		return nil, UpsertResult{}, err
	}
	ev, err := s.Event(ctx, strconv.FormatInt(row.ID, 10))
	if err != nil {
		return nil, UpsertResult{}, err
	}
	now := misp.Int(max(s.now().Unix(), row.Timestamp+1))
	if err := fn(ev, now); err != nil {
		return nil, UpsertResult{}, err
	}
	ev.Timestamp = now
	ev.Published = false
	res := UpsertResult{UUID: ev.UUID}
	// The new content and the unpublish commit together: an edit never leaves the new
	// content published with the old version's pushes queued.
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.upsertTx(ctx, tx, ev, UpsertOptions{OwnerOrgID: row.OrgID, UserID: userID, LocalIDs: true}, &res); err != nil {
			return err
		}
		if res.Outcome == Skipped || !row.Published {
			return nil
		}
		// MISP unpublishes an event whose content changes; pushes queued for the old
		// version go with it.
		return unpublish(ctx, tx, row.ID, row.UUID)
	})
	if err != nil {
		return nil, UpsertResult{UUID: ev.UUID}, fmt.Errorf("edit event %s: %w", ref, err)
	}
	if res.Outcome == Skipped {
		return nil, res, nil
	}
	saved, err := s.Event(ctx, strconv.FormatInt(row.ID, 10))
	return saved, res, err
}

// BumpTimestamp is an edited element's new timestamp: now, and always newer than its old
// one (EditEvent's callers use it on each element they change).
func BumpTimestamp(old, now misp.Int) misp.Int { return max(now, old+1) }

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

// EventPushState is what happened to one event's pushes to one server.
type EventPushState struct {
	ServerID int64
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
func (s *Store) EventPushStates(ctx context.Context, eventUUID string) (map[int64]*EventPushState, error) {
	out := map[int64]*EventPushState{}
	get := func(id int64) *EventPushState {
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
		var id int64
		var st EventPushState
		if err := q.Scan(&id, &st.Attempts, &st.NextTry, &st.LastError); err != nil {
			return nil, fmt.Errorf("event pushes: %w", err)
		}
		p := get(id)
		p.Queued, p.Attempts, p.NextTry, p.LastError = true, st.Attempts, st.NextTry, st.LastError
	}
	return out, q.Err()
}

// RuleSample is event metadata for a rules dry run: the newest limit events (0: all)
// with their creator organisation (id, UUID, name) and tags (id, name), nothing else, and
// the total number of events.
func (s *Store) RuleSample(ctx context.Context, limit int) ([]*misp.Event, int, error) {
	var total int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("rule sample: %w", err)
	}
	q := `SELECT e.id, e.uuid, e.info, e.date, e.distribution, e.published, e.timestamp, oc.id, oc.uuid, oc.name
		FROM events e JOIN orgs oc ON oc.id = e.orgc_id ORDER BY e.timestamp DESC, e.id DESC`
	if limit > 0 {
		q += " LIMIT " + strconv.Itoa(limit)
	}
	rows, err := s.read.QueryContext(ctx, q)
	if err != nil {
		return nil, 0, fmt.Errorf("rule sample: %w", err)
	}
	defer rows.Close()
	var out []*misp.Event
	byID := map[int64]*misp.Event{}
	for rows.Next() {
		var id, orgID int64
		var pub bool
		ev := &misp.Event{Orgc: &misp.Org{}}
		if err := rows.Scan(&id, &ev.UUID, &ev.Info, &ev.Date, &ev.Distribution, &pub, &ev.Timestamp, &orgID, &ev.Orgc.UUID, &ev.Orgc.Name); err != nil {
			return nil, 0, fmt.Errorf("rule sample: %w", err)
		}
		ev.ID, ev.Published, ev.Orgc.ID = misp.Int(id), misp.Bool(pub), misp.Int(orgID)
		out = append(out, ev)
		byID[id] = ev
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("rule sample: %w", err)
	}
	rows.Close()
	if len(out) == 0 {
		return out, total, nil
	}
	tagQ := `SELECT et.event_id, t.id, t.name FROM event_tags et JOIN tags t ON t.id = et.tag_id`
	if limit > 0 {
		ids := make([]string, 0, len(out))
		for _, ev := range out {
			ids = append(ids, strconv.FormatInt(int64(ev.ID), 10))
		}
		tagQ += ` WHERE et.event_id IN (` + strings.Join(ids, ",") + `)`
	}
	tr, err := s.read.QueryContext(ctx, tagQ+` ORDER BY et.id`)
	if err != nil {
		return nil, 0, fmt.Errorf("rule sample: %w", err)
	}
	defer tr.Close()
	for tr.Next() {
		var evID, tagID int64
		var name string
		if err := tr.Scan(&evID, &tagID, &name); err != nil {
			return nil, 0, fmt.Errorf("rule sample: %w", err)
		}
		if ev := byID[evID]; ev != nil {
			ev.Tag = append(ev.Tag, misp.Tag{ID: misp.Int(tagID), Name: name})
		}
	}
	return out, total, tr.Err()
}

// OrgNames lists the names of every organisation known here, sorted.
func (s *Store) OrgNames(ctx context.Context) ([]string, error) {
	return s.names(ctx, `SELECT name FROM orgs ORDER BY name COLLATE NOCASE`)
}

// TagNames lists the names of every tag known here, sorted.
func (s *Store) TagNames(ctx context.Context) ([]string, error) {
	return s.names(ctx, `SELECT name FROM tags ORDER BY name COLLATE NOCASE`)
}

func (s *Store) names(ctx context.Context, q string) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list names: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n sql.NullString
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list names: %w", err)
		}
		out = append(out, n.String)
	}
	return out, rows.Err()
}
