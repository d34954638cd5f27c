package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"mispdesk/store/misp"
)

// EventFilter selects events for a listing. Zero fields do not filter.
type EventFilter struct {
	Text         string             // substring of info (case-insensitive)
	Org          string             // creator org (Orgc) by id, UUID or name
	Tag          string             // event tag name (case-insensitive)
	Distribution *misp.Distribution // exact distribution
	Published    *bool
	DateFrom     string // YYYY-MM-DD, inclusive
	DateUntil    string // YYYY-MM-DD, inclusive
	Sort         string // "timestamp" (default, newest first), "date", "info", "org", "dist", "attrs", "published"
	Ascending    bool
	Limit        int // 0: no limit
	Offset       int
}

// OrgRef is an organisation as a listing names it.
type OrgRef struct {
	ID   int64  `json:"id"`
	UUID string `json:"uuid"`
	Name string `json:"name"`
}

// EventSummary is one row of an event listing.
type EventSummary struct {
	ID             EventID           `json:"id"`
	UUID           string            `json:"uuid"`
	Info           string            `json:"info"`
	Date           string            `json:"date"`
	ThreatLevelID  int               `json:"threat_level_id"`
	Analysis       int               `json:"analysis"`
	Distribution   misp.Distribution `json:"distribution"`
	SharingGroupID SharingGroupID    `json:"sharing_group_id"`
	Published      bool              `json:"published"`
	Locked         bool              `json:"locked"`
	Orgc           OrgRef            `json:"orgc"`
	Org            OrgRef            `json:"org"`
	Timestamp      int64             `json:"timestamp"`
	AttributeCount int64             `json:"attribute_count"`
	Tags           []string          `json:"tags"`
}

var eventSorts = map[string]string{
	"":          "e.timestamp",
	"timestamp": "e.timestamp",
	"date":      "e.date",
	"info":      "e.info COLLATE NOCASE",
	"org":       "oc.name COLLATE NOCASE",
	"dist":      "e.distribution",
	"attrs":     "e.attribute_count",
	"published": "e.published",
}

// ListEvents lists events matching f. Every filter is served by an index: info through a
// trigram full-text index, tags through event_tags, the rest through events' own indexes.
func (s *Store) ListEvents(ctx context.Context, f EventFilter) ([]EventSummary, error) {
	where, args, err := s.eventWhere(ctx, f)
	if err != nil {
		return nil, err
	}
	order, ok := eventSorts[f.Sort]
	if !ok {
		return nil, fmt.Errorf("list events: unknown sort %q (want timestamp, date, info, org, dist, attrs or published)", f.Sort)
	}
	dir := " DESC"
	if f.Ascending {
		dir = " ASC"
	}
	q := `SELECT e.id, e.uuid, e.info, e.date, e.threat_level_id, e.analysis, e.distribution, ifnull(e.sharing_group_id, 0),
		e.published, e.locked, e.timestamp, e.attribute_count, oc.id, oc.uuid, oc.name, o.id, o.uuid, o.name
		FROM events e JOIN orgs oc ON oc.id = e.orgc_id JOIN orgs o ON o.id = e.org_id` + where +
		` ORDER BY ` + order + dir + `, e.id` + dir
	if f.Limit > 0 {
		q += " LIMIT " + strconv.Itoa(f.Limit) + " OFFSET " + strconv.Itoa(max(f.Offset, 0))
	}
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []EventSummary
	byID := map[EventID]int{}
	for rows.Next() {
		var e EventSummary
		if err := rows.Scan(&e.ID, &e.UUID, &e.Info, &e.Date, &e.ThreatLevelID, &e.Analysis, &e.Distribution, &e.SharingGroupID,
			&e.Published, &e.Locked, &e.Timestamp, &e.AttributeCount, &e.Orgc.ID, &e.Orgc.UUID, &e.Orgc.Name,
			&e.Org.ID, &e.Org.UUID, &e.Org.Name); err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		e.Tags = []string{}
		byID[e.ID] = len(out)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	rows.Close()
	if err := s.attachTagNames(ctx, out, byID); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return out, nil
}

// CountEvents counts the events matching f (ignoring its limit and offset).
func (s *Store) CountEvents(ctx context.Context, f EventFilter) (int, error) {
	where, args, err := s.eventWhere(ctx, f)
	if err != nil {
		return 0, err
	}
	var n int
	err = s.read.QueryRowContext(ctx, `SELECT count(*) FROM events e`+where, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}

func (s *Store) eventWhere(ctx context.Context, f EventFilter) (string, []any, error) {
	var conds []string
	var args []any
	if text := strings.TrimSpace(f.Text); text != "" {
		if len([]rune(text)) >= 3 {
			// The trigram index answers substring queries of three characters or more.
			conds = append(conds, `e.id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)`)
			args = append(args, `"`+strings.ReplaceAll(text, `"`, `""`)+`"`)
		} else {
			conds = append(conds, `e.info LIKE ? ESCAPE '\'`)
			args = append(args, "%"+likeEscape(text)+"%")
		}
	}
	if f.Org != "" {
		org, err := findOrg(ctx, s.read, f.Org)
		if err != nil {
			return "", nil, fmt.Errorf("list events: %w", err)
		}
		conds = append(conds, `e.orgc_id = ?`)
		args = append(args, org.ID)
	}
	if f.Tag != "" {
		conds = append(conds, `e.id IN (SELECT et.event_id FROM event_tags et JOIN tags t ON t.id = et.tag_id WHERE t.name = ?)`)
		args = append(args, f.Tag)
	}
	if f.Distribution != nil {
		conds = append(conds, `e.distribution = ?`)
		args = append(args, int64(*f.Distribution))
	}
	if f.Published != nil {
		conds = append(conds, `e.published = ?`)
		args = append(args, boolInt(*f.Published))
	}
	if f.DateFrom != "" {
		conds = append(conds, `e.date >= ?`)
		args = append(args, f.DateFrom)
	}
	if f.DateUntil != "" {
		conds = append(conds, `e.date <= ?`)
		args = append(args, f.DateUntil)
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// attachTagNames fills in the tags of the listed events with one query.
func (s *Store) attachTagNames(ctx context.Context, events []EventSummary, byID map[EventID]int) error {
	if len(events) == 0 {
		return nil
	}
	ids := make([]string, 0, len(events))
	for _, e := range events {
		ids = append(ids, strconv.FormatInt(int64(e.ID), 10))
	}
	rows, err := s.read.QueryContext(ctx, `SELECT et.event_id, t.name FROM event_tags et JOIN tags t ON t.id = et.tag_id
		WHERE et.event_id IN (`+strings.Join(ids, ",")+`) ORDER BY et.id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id EventID
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return err
		}
		i := byID[id]
		events[i].Tags = append(events[i].Tags, name)
	}
	return rows.Err()
}

// EventStamp is what sync needs to know of a local event to decide whether a remote copy
// is newer.
type EventStamp struct {
	ID                int64
	Timestamp         int64
	SightingTimestamp int64
	Locked            bool
	Published         bool
}

// EventStamps returns every local event's stamp by UUID, in one pass: a pull compares a
// remote index of any size against it without a query per row.
func (s *Store) EventStamps(ctx context.Context) (map[string]EventStamp, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT uuid, id, timestamp, sighting_timestamp, locked, published FROM events`)
	if err != nil {
		return nil, fmt.Errorf("read event stamps: %w", err)
	}
	defer rows.Close()
	out := map[string]EventStamp{}
	for rows.Next() {
		var u string
		var st EventStamp
		if err := rows.Scan(&u, &st.ID, &st.Timestamp, &st.SightingTimestamp, &st.Locked, &st.Published); err != nil {
			return nil, fmt.Errorf("read event stamps: %w", err)
		}
		out[u] = st
	}
	return out, rows.Err()
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
