package store

// Queries the MISP-compatible REST API (syncer/mispapi) needs to answer peers cheaply:
// the event index as minimal rows, sightings by event, pushed sightings and
// galaxy clusters.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"mispdesk/store/misp"
)

// IndexRow is one event as an index lists it: the event-level fields visibility needs
// (owner, distribution, sharing group, published) and what MISP's index rows show.
type IndexRow struct {
	ID                 int64
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
	SharingGroupID     int64
	Protected          sql.NullInt64
	DisableCorrelation bool
	ExtendsUUID        string
	ProposalEmailLock  bool
	OrgID              int64
	OrgUUID            string
	OrgName            string
	OrgcID             int64
	OrgcUUID           string
	OrgcName           string
	// UserID is the user who created the event here (MISP's user_id): perm_modify
	// covers that user's events only. Not read for a minimal index.
	UserID int64
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

// EventRow is the index row of one event by id or UUID.
func (s *Store) EventRow(ctx context.Context, ref string) (*IndexRow, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, fmt.Errorf("event %q: %w", ref, ErrNotFound)
	}
	var out *IndexRow
	err := s.EventIndex(ctx, IndexQuery{EventIDs: []string{ref}}, func(r *IndexRow) bool {
		c := *r
		out = &c
		return false
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, fmt.Errorf("event %q: %w", ref, ErrNotFound)
	}
	return out, nil
}

// EventTagsOf returns the tags of the given events, by event id.
func (s *Store) EventTagsOf(ctx context.Context, ids []int64) (map[int64][]misp.Tag, error) {
	out := map[int64][]misp.Tag{}
	for len(ids) > 0 {
		n := min(len(ids), 500)
		a := make([]any, n)
		for i, id := range ids[:n] {
			a[i] = id
		}
		ids = ids[n:]
		rows, err := s.read.QueryContext(ctx, `SELECT et.event_id, t.id, t.name, t.colour, t.exportable, t.hide_tag, t.is_galaxy,
			t.is_custom_galaxy, t.local_only, et.local
			FROM event_tags et JOIN tags t ON t.id = et.tag_id WHERE et.event_id IN (`+placeholders(n)+`) ORDER BY et.id`, a...)
		if err != nil {
			return nil, fmt.Errorf("event tags: %w", err)
		}
		for rows.Next() {
			var (
				eid        int64
				t          misp.Tag
				exportable bool
			)
			if err := rows.Scan(&eid, &t.ID, &t.Name, &t.Colour, &exportable, &t.HideTag, &t.IsGalaxy, &t.IsCustomGalaxy,
				&t.LocalOnly, &t.Local); err != nil {
				rows.Close()
				return nil, fmt.Errorf("event tags: %w", err)
			}
			t.Exportable = misp.OptBool{Set: true, Value: exportable}
			out[eid] = append(out[eid], t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("event tags: %w", err)
		}
	}
	return out, nil
}

// EventSightings lists the sightings of the given events (by UUID), with the attribute and
// event UUIDs and the sighting organisation, as sightings/restSearch returns them.
func (s *Store) EventSightings(ctx context.Context, eventUUIDs []string) ([]misp.Sighting, error) {
	var out []misp.Sighting
	orgs := map[int64]*misp.Org{}
	for len(eventUUIDs) > 0 {
		n := min(len(eventUUIDs), 500)
		a := make([]any, n)
		for i, u := range eventUUIDs[:n] {
			a[i] = strings.ToLower(u)
		}
		eventUUIDs = eventUUIDs[n:]
		rows, err := s.read.QueryContext(ctx, `SELECT s.id, s.uuid, s.attribute_id, a.uuid, s.event_id, e.uuid, s.org_id,
			s.date_sighting, s.source, s.type, a.value1 || CASE WHEN a.value2 <> '' THEN '|' || a.value2 ELSE '' END
			FROM sightings s JOIN attributes a ON a.id = s.attribute_id JOIN events e ON e.id = s.event_id
			WHERE e.uuid IN (`+placeholders(n)+`) ORDER BY s.id`, a...)
		if err != nil {
			return nil, fmt.Errorf("sightings: %w", err)
		}
		for rows.Next() {
			var sg misp.Sighting
			if err := rows.Scan(&sg.ID, &sg.UUID, &sg.AttributeID, &sg.AttributeUUID, &sg.EventID, &sg.EventUUID, &sg.OrgID,
				&sg.DateSighting, &sg.Source, &sg.Type, &sg.Value); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sightings: %w", err)
			}
			out = append(out, sg)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sightings: %w", err)
		}
	}
	for i := range out {
		id := int64(out[i].OrgID)
		if id == 0 {
			continue
		}
		o, ok := orgs[id]
		if !ok {
			org, err := findOrg(ctx, s.read, strconv.FormatInt(id, 10))
			if err != nil && !errors.Is(err, ErrNotFound) {
				return nil, err
			}
			if org != nil {
				o = &misp.Org{ID: misp.Int(org.ID), UUID: org.UUID, Name: org.Name}
			}
			orgs[id] = o
		}
		out[i].Organisation = o
	}
	return out, nil
}

// KnownSightings returns those of the sighting UUIDs this instance holds.
func (s *Store) KnownSightings(ctx context.Context, uuids []string) ([]string, error) {
	out := []string{}
	for len(uuids) > 0 {
		n := min(len(uuids), 500)
		a := make([]any, n)
		for i, u := range uuids[:n] {
			a[i] = strings.ToLower(u)
		}
		uuids = uuids[n:]
		rows, err := s.read.QueryContext(ctx, `SELECT uuid FROM sightings WHERE uuid IN (`+placeholders(n)+`)`, a...)
		if err != nil {
			return nil, fmt.Errorf("known sightings: %w", err)
		}
		for rows.Next() {
			var u string
			if err := rows.Scan(&u); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, u)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SaveSightings stores pushed sightings of one event (Sighting::bulkSaveSightings):
// unknown UUIDs only, attached by attribute UUID within the event; the sighting's
// Organisation is captured when trustOrg (a sync account), else the sighting is the
// sender's (senderOrgID). An expiration (type 2) replaces the org's previous one on that
// attribute. Sightings added by a user here (not trustOrg) queue a push_sightings outbox
// row for every server with push_sightings. It returns how many were added.
func (s *Store) SaveSightings(ctx context.Context, eventUUID string, in []misp.Sighting, trustOrg bool, senderOrgID int64) (int, error) {
	added := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var eventID int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM events WHERE uuid = ?`, strings.ToLower(eventUUID)).Scan(&eventID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("event %s: %w", eventUUID, ErrNotFound)
			}
			return err
		}
		for i := range in {
			sg := &in[i]
			if !misp.IsUUID(sg.UUID) || !misp.IsUUID(sg.AttributeUUID) {
				continue
			}
			var attrID int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM attributes WHERE uuid = ? AND event_id = ?`,
				strings.ToLower(sg.AttributeUUID), eventID).Scan(&attrID)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			orgID := senderOrgID
			if trustOrg {
				orgID = 0
				if sg.Organisation != nil && (misp.IsUUID(sg.Organisation.UUID) || strings.TrimSpace(sg.Organisation.Name) != "") {
					if orgID, err = s.captureOrg(ctx, tx, sg.Organisation); err != nil {
						return fmt.Errorf("sighting %s: %w", sg.UUID, err)
					}
				}
			}
			typ := int64(sg.Type)
			if typ < 0 || typ > 2 {
				continue
			}
			if typ == 2 {
				if _, err := tx.ExecContext(ctx, `DELETE FROM sightings WHERE attribute_id = ? AND org_id = ? AND type = 2`, attrID, orgID); err != nil {
					return err
				}
			}
			date := int64(sg.DateSighting)
			if date <= 0 {
				date = s.now().Unix()
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO sightings (uuid, attribute_id, event_id, org_id, date_sighting, source, type)
				VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uuid) DO NOTHING`,
				strings.ToLower(sg.UUID), attrID, eventID, orgID, date, sg.Source, typ)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				added++
			}
		}
		if added == 0 {
			return nil
		}
		now := s.now().Unix()
		if _, err := tx.ExecContext(ctx, `UPDATE events SET sighting_timestamp = ? WHERE id = ?`, now, eventID); err != nil {
			return err
		}
		if trustOrg {
			return nil // synced sightings: not this instance's to publish
		}
		// A sighting added here is published at once to every server with push_sightings
		// (MISP's Event::publishSightings; no push flag needed), in this transaction.
		_, err := tx.ExecContext(ctx, `INSERT INTO outbox (server_id, kind, event_uuid, created, next_attempt)
			SELECT id, ?, ?, ?, ? FROM servers WHERE push_sightings = 1`+enqueueSQL,
			OutboxPushSightings, strings.ToLower(eventUUID), now, now)
		return err
	})
	return added, err
}

func placeholders(n int) string {
	if n == 0 {
		return "NULL"
	}
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
