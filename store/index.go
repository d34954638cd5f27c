package store

// The event index: events as minimal rows (events/index, the pull's listing), and the
// conditions events/index and restSearch select them by.

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"mispdesk/store/misp"
)

// IndexRow is one event as an index lists it: the event-level fields visibility needs
// (owner, distribution, sharing group, published) and what MISP's index rows show.
type IndexRow struct {
	ID                 EventID
	UUID               string
	Info               string
	Date               string
	ThreatLevelID      int64
	Analysis           int64
	AttributeCount     int64
	Timestamp          int64
	PublishTimestamp   int64
	SightingTimestamp  int64
	Published          bool
	Locked             bool
	Distribution       misp.Distribution
	SharingGroupID     SharingGroupID
	Protected          sql.NullInt64
	DisableCorrelation bool
	ExtendsUUID        string
	ProposalEmailLock  bool
	OrgID              OrgID
	OrgUUID            string
	OrgName            string
	OrgcID             OrgID
	OrgcUUID           string
	OrgcName           string
	// UserID is the user who created the event here (MISP's user_id): perm_modify
	// covers that user's events only. Not read for a minimal index.
	UserID UserID
}

// IndexQuery selects events for an index. Zero fields do not filter. Tag and org lists
// hold names (tags case-insensitive), ids, and for orgs UUIDs.
type IndexQuery struct {
	Published             *bool
	TimestampFrom         int64 // inclusive; 0: none
	TimestampTo           int64 // inclusive; 0: none
	PublishTimestampFrom  int64
	PublishTimestampTo    int64
	DateFrom, DateUntil   string // YYYY-MM-DD
	TagsOR, TagsNOT       []string
	TagsAND               []string
	OrgsOR, OrgsNOT       []string
	EventIDs, EventIDsNOT []string // ids or UUIDs
	Distributions         []int64
	ThreatLevels          []int64
	Analyses              []int64
	SharingGroups         []int64
	Info                  string // substring of info
	// Ascending lists oldest first (by timestamp); default newest first.
	Ascending bool
	// Minimal reads only what a minimal index row and visibility need (no info, date or
	// counts): a sync peer's index of 100,000 events is read several times faster.
	Minimal bool
}

// EventIndex streams the events matching q to fn, newest first, until fn returns false.
func (s *Store) EventIndex(ctx context.Context, q IndexQuery, fn func(*IndexRow) bool) error {
	conds, args := indexConds(q)
	return s.eventIndex(ctx, conds, args, q.Ascending, q.Minimal, fn)
}

// indexConds is the WHERE of an index query, as conditions joined by AND over events e.
func indexConds(q IndexQuery) ([]string, []any) {
	var (
		conds []string
		args  []any
	)
	add := func(c string, a ...any) { conds = append(conds, c); args = append(args, a...) }
	if q.Published != nil {
		add(`e.published = ?`, boolInt(*q.Published))
	}
	if q.TimestampFrom != 0 {
		add(`e.timestamp >= ?`, q.TimestampFrom)
	}
	if q.TimestampTo != 0 {
		add(`e.timestamp <= ?`, q.TimestampTo)
	}
	if q.PublishTimestampFrom != 0 {
		add(`e.publish_timestamp >= ?`, q.PublishTimestampFrom)
	}
	if q.PublishTimestampTo != 0 {
		add(`e.publish_timestamp <= ?`, q.PublishTimestampTo)
	}
	if q.DateFrom != "" {
		add(`e.date >= ?`, q.DateFrom)
	}
	if q.DateUntil != "" {
		add(`e.date <= ?`, q.DateUntil)
	}
	if q.Info != "" {
		add(`e.info LIKE ? ESCAPE '\'`, "%"+likeEscape(q.Info)+"%")
	}
	if len(q.TagsOR) > 0 {
		c, a := eventsTagged(q.TagsOR)
		add(`e.id IN (`+c+`)`, a...)
	}
	for _, t := range q.TagsAND {
		c, a := eventsTagged([]string{t})
		add(`e.id IN (`+c+`)`, a...)
	}
	if len(q.TagsNOT) > 0 {
		c, a := eventsTagged(q.TagsNOT)
		add(`e.id NOT IN (`+c+`)`, a...)
	}
	orgSet := func(orgs []string) (string, []any) {
		ids, refs := splitRefs(orgs)
		c := `SELECT id FROM orgs WHERE id IN (` + placeholders(len(ids)) + `) OR uuid IN (` + placeholders(len(refs)) +
			`) OR lower(name) IN (` + placeholders(len(refs)) + `)`
		return c, append(append(ids, refs...), refs...)
	}
	if len(q.OrgsOR) > 0 {
		c, a := orgSet(q.OrgsOR)
		add(`e.orgc_id IN (`+c+`)`, a...)
	}
	if len(q.OrgsNOT) > 0 {
		c, a := orgSet(q.OrgsNOT)
		add(`e.orgc_id NOT IN (`+c+`)`, a...)
	}
	eventSet := func(refs []string) (string, []any) {
		ids, uuids := splitRefs(refs)
		return `(e.id IN (` + placeholders(len(ids)) + `) OR e.uuid IN (` + placeholders(len(uuids)) + `))`, append(ids, uuids...)
	}
	if len(q.EventIDs) > 0 {
		c, a := eventSet(q.EventIDs)
		add(c, a...)
	}
	if len(q.EventIDsNOT) > 0 {
		c, a := eventSet(q.EventIDsNOT)
		add(`NOT `+c, a...)
	}
	ints := func(col string, vs []int64) {
		if len(vs) > 0 {
			a := make([]any, len(vs))
			for i, v := range vs {
				a[i] = v
			}
			add(col+` IN (`+placeholders(len(vs))+`)`, a...)
		}
	}
	ints(`e.distribution`, q.Distributions)
	ints(`e.threat_level_id`, q.ThreatLevels)
	ints(`e.analysis`, q.Analyses)
	ints(`e.sharing_group_id`, q.SharingGroups)
	return conds, args
}

// splitRefs sorts the references of a filter into ids (numbers) and the others
// (names, UUIDs), lower-cased as those are matched; a filter may name a record
// either way.
func splitRefs(refs []string) (ids, others []any) {
	for _, r := range refs {
		if id, err := strconv.ParseInt(r, 10, 64); err == nil {
			ids = append(ids, id)
		} else {
			others = append(others, strings.ToLower(r))
		}
	}
	return ids, others
}

// tagIDs selects the ids of the tags named (or given by id) in tags.
func tagIDs(tags []string) (string, []any) {
	ids, names := splitRefs(tags)
	return `SELECT id FROM tags WHERE lower(name) IN (` + placeholders(len(names)) + `) OR id IN (` + placeholders(len(ids)) + `)`,
		append(names, ids...)
}

// eventsTagged selects the ids of the events that carry one of tags themselves
// (not through an attribute).
func eventsTagged(tags []string) (string, []any) {
	ids, names := splitRefs(tags)
	return `SELECT et.event_id FROM event_tags et JOIN tags t ON t.id = et.tag_id WHERE lower(t.name) IN (` + placeholders(len(names)) +
		`) OR t.id IN (` + placeholders(len(ids)) + `)`, append(names, ids...)
}

// eventIndex streams the index rows of the events matching conds.
func (s *Store) eventIndex(ctx context.Context, conds []string, args []any, ascending, minimal bool, fn func(*IndexRow) bool) error {
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	dir := " DESC"
	if ascending {
		dir = " ASC"
	}
	var r IndexRow
	cols := `e.id, e.uuid, e.info, e.date, e.threat_level_id, e.analysis, e.attribute_count,
		e.timestamp, e.publish_timestamp, e.sighting_timestamp, e.published, e.locked, e.distribution, ifnull(e.sharing_group_id, 0),
		e.protected, e.disable_correlation, e.extends_uuid, e.proposal_email_lock,
		o.id, o.uuid, o.name, oc.id, oc.uuid, oc.name, ifnull(e.user_id, 0)`
	dest := []any{&r.ID, &r.UUID, &r.Info, &r.Date, &r.ThreatLevelID, &r.Analysis, &r.AttributeCount,
		&r.Timestamp, &r.PublishTimestamp, &r.SightingTimestamp, &r.Published, &r.Locked, &r.Distribution, &r.SharingGroupID,
		&r.Protected, &r.DisableCorrelation, &r.ExtendsUUID, &r.ProposalEmailLock,
		&r.OrgID, &r.OrgUUID, &r.OrgName, &r.OrgcID, &r.OrgcUUID, &r.OrgcName, &r.UserID}
	if minimal {
		cols = `e.id, e.uuid, e.timestamp, e.sighting_timestamp, e.published, e.distribution, ifnull(e.sharing_group_id, 0),
			e.protected, o.id, o.uuid, oc.id, oc.uuid`
		dest = []any{&r.ID, &r.UUID, &r.Timestamp, &r.SightingTimestamp, &r.Published, &r.Distribution, &r.SharingGroupID,
			&r.Protected, &r.OrgID, &r.OrgUUID, &r.OrgcID, &r.OrgcUUID}
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+cols+`
		FROM events e JOIN orgs o ON o.id = e.org_id JOIN orgs oc ON oc.id = e.orgc_id`+where+
		` ORDER BY e.timestamp`+dir+`, e.id`+dir, args...)
	if err != nil {
		return fmt.Errorf("event index: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("event index: %w", err)
		}
		if !fn(&r) {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("event index: %w", err)
	}
	return nil
}

// EventRow is the index row of one event.
func (s *Store) EventRow(ctx context.Context, id EventID) (*IndexRow, error) {
	var out *IndexRow
	err := s.eventIndex(ctx, []string{"e.id = ?"}, []any{int64(id)}, false, false, func(r *IndexRow) bool {
		c := *r
		out = &c
		return false
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, fmt.Errorf("event %d: %w", id, ErrNotFound)
	}
	return out, nil
}
