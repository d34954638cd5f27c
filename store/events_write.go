package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"

	"mispdesk/store/misp"
)

// Outcome says what an upsert did with an event.
type Outcome uint8

// The outcomes of UpsertEvent.
const (
	Created Outcome = iota + 1
	Updated
	Skipped
)

func (o Outcome) String() string {
	switch o {
	case Created:
		return "created"
	case Updated:
		return "updated"
	case Skipped:
		return "skipped"
	}
	return "unknown"
}

// UpsertOptions says on whose behalf an event is written.
type UpsertOptions struct {
	// OwnerOrgID becomes the event's org_id, its owner on this instance: the importing
	// user's org, or the local org of the server it was pulled from. 0 means the host org.
	OwnerOrgID OrgID
	// UserID is recorded as the event's creator here.
	UserID UserID
	// DefaultDistribution applies to an event that arrives without a distribution.
	DefaultDistribution misp.Distribution
	// RefuseUnlocked keeps an existing event that was created here (not locked) from
	// being replaced, as a pull from a non-internal server must.
	RefuseUnlocked bool
	// QueuePushes queues, when the stored event is published, a push of it to every server
	// with push enabled except QueueExcept, in the same transaction: a pulled or received
	// published event flows on, as MISP re-publishes it, and never without its pushes.
	QueuePushes bool
	QueueExcept ServerID
	// LocalIDs says that sharing_group_id values are this instance's ids (an edit from a
	// local user) rather than the sender's (sync, files): only then is an element with
	// distribution 4 and no embedded SharingGroup kept as a sharing-group element.
	LocalIDs bool
}

// UpsertResult reports what UpsertEvent did.
type UpsertResult struct {
	Outcome Outcome
	EventID EventID
	UUID    string
	// Reason says why an event was skipped.
	Reason string
	// Attributes counts attributes added or changed (object attributes included).
	Attributes int
	// Notes lists children that were not written, and why.
	Notes []string
	// Queued counts the pushes queued (see UpsertOptions.QueuePushes).
	Queued int
}

// ErrInvalidEvent wraps a refusal of an event's content.
var ErrInvalidEvent = errors.New("invalid event")

// The statements of an event write, prepared once per database (see prepared).
var (
	sqlSelectEventsByUuid = prepared(`SELECT id, timestamp, locked, disable_correlation FROM events WHERE uuid = ?`)
	sqlUpdateEvents       = prepared(`UPDATE events SET date = ?, threat_level_id = ?, info = ?, published = ?, analysis = ?, timestamp = ?,
			distribution = ?, sharing_group_id = ?, proposal_email_lock = ?, locked = ?, publish_timestamp = ?,
			disable_correlation = ?, extends_uuid = ?, protected = ?, event_creator_email = ?, extra = ? WHERE id = ?`)
	sqlInsertEvents = prepared(`INSERT INTO events (date, threat_level_id, info, published, analysis, timestamp, distribution,
			sharing_group_id, proposal_email_lock, locked, publish_timestamp, disable_correlation, extends_uuid, protected,
			event_creator_email, extra, uuid, org_id, orgc_id, user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	sqlUpdateAttributeCount    = prepared(`UPDATE events SET attribute_count = (SELECT count(*) FROM attributes WHERE event_id = ?1 AND deleted = 0) WHERE id = ?1`)
	sqlSelectSharingGroupsById = prepared(`SELECT id FROM sharing_groups WHERE id = ?`)
	sqlSelectTagsByName        = prepared(`SELECT id FROM tags WHERE name = ?`)
	sqlInsertTags              = prepared(`INSERT INTO tags (name, colour, exportable, hide_tag, numerical_value, is_galaxy, is_custom_galaxy, local_only)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	sqlDeleteEventTagsNonLocal = prepared(`DELETE FROM event_tags WHERE event_id = ? AND local = 0`)
	sqlInsertEventTags         = prepared(`INSERT INTO event_tags (event_id, tag_id, local, relationship_type) VALUES (?, ?, ?, ?)
			ON CONFLICT (event_id, tag_id) DO UPDATE SET local = excluded.local, relationship_type = excluded.relationship_type`)
	sqlDeleteAttributeTagsNonLocal = prepared(`DELETE FROM attribute_tags WHERE attribute_id = ? AND local = 0`)
	sqlInsertAttributeTags         = prepared(`INSERT INTO attribute_tags (attribute_id, event_id, tag_id, local, relationship_type) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (attribute_id, tag_id) DO UPDATE SET local = excluded.local, relationship_type = excluded.relationship_type`)
	sqlUpdateAttributes = prepared(`UPDATE attributes SET object_id = ?, object_relation = ?, type = ?, category = ?, value1 = ?, value2 = ?,
				to_ids = ?, timestamp = ?, distribution = ?, sharing_group_id = ?, comment = ?, deleted = ?, disable_correlation = ?,
				first_seen = ?, last_seen = ?, data = ?, extra = ? WHERE id = ?`)
	sqlInsertAttributes = prepared(`INSERT INTO attributes (object_id, object_relation, type, category, value1, value2, to_ids, timestamp,
			distribution, sharing_group_id, comment, deleted, disable_correlation, first_seen, last_seen, data, extra, uuid, event_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uuid) DO NOTHING`)
	sqlUpdateObjects = prepared(`UPDATE objects SET name = ?, meta_category = ?, description = ?, template_uuid = ?, template_version = ?,
				timestamp = ?, distribution = ?, sharing_group_id = ?, comment = ?, deleted = ?, first_seen = ?, last_seen = ?, extra = ?
				WHERE id = ?`)
	sqlInsertObjects = prepared(`INSERT INTO objects (name, meta_category, description, template_uuid, template_version, timestamp,
			distribution, sharing_group_id, comment, deleted, first_seen, last_seen, extra, uuid, event_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uuid) DO NOTHING`)
	sqlUpdateObjectReferences = prepared(`UPDATE object_references SET object_id = ?, referenced_uuid = ?, referenced_type = ?, relationship_type = ?,
				comment = ?, timestamp = ?, deleted = ?, extra = ? WHERE id = ?`)
	sqlInsertObjectReferences = prepared(`INSERT INTO object_references (object_id, referenced_uuid, referenced_type, relationship_type, comment,
		timestamp, deleted, extra, uuid, event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uuid) DO NOTHING`)
	sqlUpdateEventReports = prepared(`UPDATE event_reports SET name = ?, content = ?, distribution = ?, sharing_group_id = ?, timestamp = ?,
				deleted = ?, extra = ? WHERE id = ?`)
	sqlInsertEventReports = prepared(`INSERT INTO event_reports (name, content, distribution, sharing_group_id, timestamp, deleted, extra, uuid, event_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uuid) DO NOTHING`)
	sqlInsertSightings = prepared(`INSERT INTO sightings (uuid, attribute_id, event_id, org_id, date_sighting, source, type, extra)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uuid) DO NOTHING`)
	sqlInsertShadowAttributes = prepared(`INSERT INTO shadow_attributes (uuid, event_id, attribute_uuid, org_id, type, category, value, to_ids, comment,
		deleted, proposal_to_delete, timestamp, disable_correlation, first_seen, last_seen, data, extra)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (uuid) DO UPDATE SET type = excluded.type, category = excluded.category, value = excluded.value,
			to_ids = excluded.to_ids, comment = excluded.comment, deleted = excluded.deleted,
			proposal_to_delete = excluded.proposal_to_delete, timestamp = excluded.timestamp,
			disable_correlation = excluded.disable_correlation, first_seen = excluded.first_seen,
			last_seen = excluded.last_seen, data = excluded.data, extra = excluded.extra
		WHERE excluded.timestamp > shadow_attributes.timestamp AND shadow_attributes.event_id = excluded.event_id`)
	sqlDeleteEventGalaxyClustersLinks = prepared(`DELETE FROM event_galaxy_clusters WHERE event_id = ? AND ifnull(attribute_id, 0) = ?`)
	sqlInsertGalaxies                 = prepared(`INSERT INTO galaxies (uuid, name, type, description, version, icon, namespace, extra)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (uuid) DO UPDATE SET name = excluded.name, type = excluded.type, description = excluded.description,
				version = excluded.version, icon = excluded.icon, namespace = excluded.namespace, extra = excluded.extra
			RETURNING id`)
	sqlUpsertGalaxyCluster = prepared(`INSERT INTO galaxy_clusters (uuid, galaxy_id, type, value, tag_name, description, version, extra)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tag_name) DO UPDATE SET uuid = excluded.uuid, galaxy_id = excluded.galaxy_id, type = excluded.type,
			value = excluded.value, description = excluded.description, version = excluded.version, extra = excluded.extra
		RETURNING id`)
	sqlSelectGalaxyCluster = prepared(`SELECT id, version, json_extract(extra, '$.locked') FROM galaxy_clusters WHERE tag_name = ?`)
	sqlSelectGalaxy        = prepared(`SELECT id, version, is_default FROM galaxies WHERE uuid = ?`)
	sqlCaptureGalaxy       = prepared(`INSERT INTO galaxies (uuid, name, type, description, version, icon, namespace, is_default,
		distribution, org_id, orgc_id, locked, created, modified) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, 1, ?, ?) RETURNING id`)
	sqlInsertEventGalaxyClusters = prepared(`INSERT INTO event_galaxy_clusters (event_id, attribute_id, cluster_id, extra) VALUES (?, ?, ?, ?)
		ON CONFLICT DO UPDATE SET extra = excluded.extra`)
)

// UpsertEvent stores an event in one transaction, following MISP's timestamp rules: a new
// UUID is added; an existing event is replaced only by a strictly newer one (by
// Event.timestamp), and inside it each attribute, object, reference and report only by a
// newer version of itself; unknown children are added; nothing is deleted (deletions travel
// as deleted:true). An older or equal event is skipped with the reason.
//
// The event is expected to have passed misp.(*Event).Normalize.
func (s *Store) UpsertEvent(ctx context.Context, e *misp.Event, opts UpsertOptions) (UpsertResult, error) {
	res := UpsertResult{UUID: e.UUID}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		return s.upsertTx(ctx, tx, e, opts, &res)
	})
	if err != nil {
		return UpsertResult{UUID: e.UUID}, fmt.Errorf("store event %s: %w", e.UUID, err)
	}
	return res, nil
}

// upsertTx writes e as UpsertEvent does, inside the caller's transaction.
func (s *Store) upsertTx(ctx context.Context, tx *sql.Tx, e *misp.Event, opts UpsertOptions, res *UpsertResult) error {
	w := &eventWriter{txStmts: txStmts{s: s, ctx: ctx, tx: tx}, opts: opts, res: res, tags: map[string]int64{}}
	return w.upsert(e)
}

// eventWriter carries one event's write transaction.
type eventWriter struct {
	txStmts
	opts UpsertOptions
	res  *UpsertResult

	eventID int64
	orgID   OrgID // owner here: joins sharing groups it can only see through all_orgs
	// ts is the event's timestamp as written: the timestamp of an element that comes
	// without one, as MISP stamps an attribute, object, reference or report it saves
	// without a timestamp with the time of the save.
	ts     int64
	update bool
	tags   map[string]int64 // tag name (lower case) → id
	// existing children of an event being updated, by UUID
	attrs   map[string]child
	objects map[string]child
	refs    map[string]child
	reports map[string]child
	// args is the attribute row's argument list, reused from one attribute to the next
	// (database/sql copies arguments before the call returns).
	args []any
	// corr lists the attributes written, to correlate once the event is written; wasUncorrelated
	// is the stored event's disable_correlation before this write.
	corr            []corrAttr
	wasUncorrelated bool
}

type child struct {
	id        int64
	timestamp int64
}

func (w *eventWriter) upsert(e *misp.Event) error {
	if err := checkFieldSizes(e); err != nil {
		return err
	}
	var (
		existingTS     int64
		existingLocked bool
	)
	err := w.queryRow(sqlSelectEventsByUuid, e.UUID).
		Scan(&w.eventID, &existingTS, &existingLocked, &w.wasUncorrelated)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	default:
		w.update = true
		if int64(e.Timestamp) <= existingTS {
			w.skip(fmt.Sprintf("not newer than the local copy (local timestamp %d, incoming %d)", existingTS, e.Timestamp))
			return nil
		}
		if w.opts.RefuseUnlocked && !existingLocked {
			w.skip("the local copy was created on this instance (not locked) and is never replaced by sync")
			return nil
		}
	}

	w.orgID = w.opts.OwnerOrgID
	if w.orgID == 0 {
		if w.orgID, err = w.s.hostOrgID(w.ctx, w.tx); err != nil {
			return err
		}
	}
	orgcID := w.orgID
	if e.Orgc != nil {
		if orgcID, err = w.s.captureOrg(w.ctx, w.tx, e.Orgc); err != nil {
			return fmt.Errorf("creator organisation (Orgc): %w", err)
		}
	}
	dist := e.Distribution
	if dist == misp.DistributionUnknown {
		dist = w.opts.DefaultDistribution
	}
	if dist < misp.OrgOnly || dist > misp.SharingGroupDist {
		return fmt.Errorf("%w: distribution %d is not valid for an event", ErrInvalidEvent, dist)
	}
	dist, sgID, err := w.sharingGroup("Event", dist, e.SharingGroup, int64(e.SharingGroupID))
	if err != nil {
		return err
	}
	extra, err := encodeExtra(e.Extra)
	if err != nil {
		return err
	}
	var protected sql.NullInt64
	if e.Protected.Set {
		protected = sql.NullInt64{Int64: boolInt(e.Protected.Value), Valid: true}
	}
	tl := int64(e.ThreatLevelID)
	if tl < 1 || tl > 4 {
		tl = 4
	}
	date := e.Date
	if date == "" {
		date = w.s.now().UTC().Format("2006-01-02")
	}
	ts := int64(e.Timestamp)
	if ts == 0 {
		ts = w.s.now().Unix()
	}
	w.ts = ts
	// A published event is published here when it is stored, as MISP's Event::_add and
	// _edit call publish() for it: publish_timestamp is this instance's time of
	// publication, not the sender's (restSearch's publish_timestamp and last filter on it).
	pts := int64(e.PublishTimestamp)
	if e.Published {
		pts = w.s.now().Unix()
	}
	cols := []any{date, tl, e.Info, boolInt(bool(e.Published)), int64(e.Analysis), ts, int64(dist), nullID(sgID),
		boolInt(bool(e.ProposalEmailLock)), boolInt(bool(e.Locked)), pts, boolInt(bool(e.DisableCorrelation)),
		strings.ToLower(e.ExtendsUUID), protected, e.EventCreatorEmail, extra}
	if w.update {
		// The owner (org_id) and creator (orgc_id) of an event never change on update, as in MISP.
		_, err = w.exec(sqlUpdateEvents,
			append(cols, w.eventID)...)
		if err != nil {
			return err
		}
		w.res.Outcome = Updated
		if err := w.loadExisting(); err != nil {
			return err
		}
	} else {
		r, err := w.exec(sqlInsertEvents,
			append(cols, e.UUID, w.orgID, orgcID, w.opts.UserID)...)
		if err != nil {
			return err
		}
		if w.eventID, err = r.LastInsertId(); err != nil {
			return err
		}
		w.res.Outcome = Created
	}
	w.res.EventID = EventID(w.eventID)

	if err := w.setTags(e.Tag, 0, w.update); err != nil {
		return err
	}
	if err := w.galaxies(e.Galaxy, 0, w.update); err != nil {
		return err
	}
	for i := range e.Attribute {
		if _, err := w.attribute(&e.Attribute[i], 0); err != nil {
			return err
		}
	}
	for i := range e.Object {
		if err := w.object(&e.Object[i]); err != nil {
			return err
		}
	}
	for i := range e.EventReport {
		if err := w.report(&e.EventReport[i]); err != nil {
			return err
		}
	}
	for i := range e.ShadowAttribute {
		if err := w.proposal(&e.ShadowAttribute[i], ""); err != nil {
			return err
		}
	}
	if err := w.correlate(bool(e.DisableCorrelation)); err != nil {
		return err
	}
	if _, err = w.exec(sqlUpdateAttributeCount, w.eventID); err != nil {
		return err
	}
	if w.opts.QueuePushes && bool(e.Published) {
		n, err := w.s.EnqueuePushesExcept(w.ctx, w.tx, e.UUID, w.opts.QueueExcept)
		if err != nil {
			return err
		}
		w.res.Queued = n
		// Stored published from outside, it is alerted about as MISP's _add and _edit do
		// (unless its sync link publishes without e-mail): see mail.go.
		src := AlertREST
		if w.opts.QueueExcept != 0 {
			src = AlertSync
		}
		if err := queueAlert(w.ctx, w.tx, w.s.now().Unix(), Alert{EventUUID: e.UUID, Source: src, SenderUserID: w.opts.UserID, ServerID: w.opts.QueueExcept}); err != nil {
			return err
		}
	}
	return nil
}

// stamp is an element's timestamp as stored: its own, or the event's when it has none.
func (w *eventWriter) stamp(t misp.Int) int64 {
	if t == 0 {
		return w.ts
	}
	return int64(t)
}

func (w *eventWriter) skip(reason string) {
	w.res.Outcome = Skipped
	w.res.EventID = EventID(w.eventID)
	w.res.Reason = reason
}

func (w *eventWriter) note(format string, args ...any) {
	w.res.Notes = append(w.res.Notes, fmt.Sprintf(format, args...))
}

// loadExisting reads the UUIDs and timestamps of the children of the event being updated.
func (w *eventWriter) loadExisting() error {
	load := func(query string) (map[string]child, error) {
		rows, err := w.tx.QueryContext(w.ctx, query, w.eventID)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		m := map[string]child{}
		for rows.Next() {
			var u string
			var c child
			if err := rows.Scan(&u, &c.id, &c.timestamp); err != nil {
				return nil, err
			}
			m[u] = c
		}
		return m, rows.Err()
	}
	var err error
	if w.attrs, err = load(`SELECT uuid, id, timestamp FROM attributes WHERE event_id = ?`); err != nil {
		return err
	}
	if w.objects, err = load(`SELECT uuid, id, timestamp FROM objects WHERE event_id = ?`); err != nil {
		return err
	}
	if w.refs, err = load(`SELECT uuid, id, timestamp FROM object_references WHERE event_id = ?`); err != nil {
		return err
	}
	w.reports, err = load(`SELECT uuid, id, timestamp FROM event_reports WHERE event_id = ?`)
	return err
}

// sharingGroup resolves the sharing group of an element with distribution 4. The group
// must travel with the element (ids are the sender's) unless the caller says ids are
// local. An element whose group cannot be had falls back to "Your organisation only", as
// MISP does on add: never wider than intended.
func (w *eventWriter) sharingGroup(where string, dist misp.Distribution, sg *misp.SharingGroup, sgID int64) (misp.Distribution, int64, error) {
	if dist != misp.SharingGroupDist {
		return dist, 0, nil
	}
	if sg != nil && sg.UUID != "" {
		id, err := w.s.captureSharingGroup(w.ctx, w.tx, sg, w.orgID)
		if err != nil {
			return 0, 0, fmt.Errorf("%s sharing group %s: %w", where, sg.UUID, err)
		}
		return dist, id, nil
	}
	if w.opts.LocalIDs && sgID != 0 {
		var id int64
		err := w.queryRow(sqlSelectSharingGroupsById, sgID).Scan(&id)
		if err == nil {
			return dist, id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, 0, err
		}
	}
	w.note("%s: sharing group not known here; distribution set to %q", where, misp.OrgOnly)
	return misp.OrgOnly, 0, nil
}

func (w *eventWriter) tagID(t *misp.Tag) (int64, error) {
	key := strings.ToLower(t.Name)
	if id, ok := w.tags[key]; ok {
		return id, nil
	}
	var id int64
	err := w.queryRow(sqlSelectTagsByName, t.Name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		var r sql.Result
		r, err = w.exec(sqlInsertTags, t.Name, t.Colour, boolInt(t.IsExportable()), boolInt(bool(t.HideTag)),
			nullText(string(t.NumericalValue)), boolInt(bool(t.IsGalaxy)), boolInt(bool(t.IsCustomGalaxy)), boolInt(bool(t.LocalOnly)))
		if err == nil {
			id, err = r.LastInsertId()
		}
	}
	if err != nil {
		return 0, fmt.Errorf("tag %q: %w", t.Name, err)
	}
	w.tags[key] = id
	return id, nil
}

// setTags links tags to the event (attrID 0) or one of its attributes. With replace (an
// update) the incoming tags replace the non-local ones; local tags belong to this instance
// and are kept.
func (w *eventWriter) setTags(tags []misp.Tag, attrID int64, replace bool) error {
	del, ins, owner := sqlDeleteEventTagsNonLocal, sqlInsertEventTags, []any{w.eventID}
	if attrID != 0 {
		del, ins, owner = sqlDeleteAttributeTagsNonLocal, sqlInsertAttributeTags, []any{attrID, w.eventID}
	}
	if replace {
		if _, err := w.exec(del, owner[0]); err != nil {
			return err
		}
	}
	for i := range tags {
		t := &tags[i]
		if strings.TrimSpace(t.Name) == "" {
			continue
		}
		id, err := w.tagID(t)
		if err != nil {
			return err
		}
		args := append(owner[:len(owner):len(owner)], id, boolInt(bool(t.Local)), string(t.RelationshipType))
		if _, err := w.exec(ins, args...); err != nil {
			return err
		}
	}
	return nil
}

// SplitValue splits a composite attribute value ("filename|md5", "ip-dst|port") into
// MISP's value1 and value2.
func SplitValue(typ, value string) (string, string) {
	if misp.IsComposite(typ) {
		if a, b, ok := strings.Cut(value, "|"); ok {
			return a, b
		}
	}
	return value, ""
}

// attrArgs is the most arguments an attribute row takes: 17 columns and the id, or the
// uuid and the event id.
const attrArgs = 19

// attribute writes one attribute (objectID 0: an event attribute) and returns its id, or 0
// when it was not written.
func (w *eventWriter) attribute(a *misp.Attribute, objectID int64) (int64, error) {
	where := "attribute " + a.UUID
	dist, sgID, err := w.sharingGroup(where, a.Distribution, a.SharingGroup, int64(a.SharingGroupID))
	if err != nil {
		return 0, err
	}
	extra, err := encodeExtra(a.Extra)
	if err != nil {
		return 0, err
	}
	v1, v2 := SplitValue(a.Type, a.Value)
	ts := w.stamp(a.Timestamp)
	if cap(w.args) < attrArgs {
		w.args = make([]any, 0, attrArgs)
	}
	cols := append(w.args[:0], nullID(objectID), nullText(string(a.ObjectRelation)), a.Type, a.Category, v1, v2, boolInt(bool(a.ToIDs)), ts,
		int64(dist), nullID(sgID), a.Comment, boolInt(bool(a.Deleted)), boolInt(bool(a.DisableCorrelation)),
		nullText(string(a.FirstSeen)), nullText(string(a.LastSeen)), nullText(a.Data), extra)
	defer clear(cols[:cap(cols)]) // drop the references to this attribute's data

	id, written := int64(0), false
	old, live := w.attrs[a.UUID]
	if live {
		id = old.id
		if ts > old.timestamp {
			_, err = w.exec(sqlUpdateAttributes, append(cols, id)...)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", where, err)
			}
			written = true
		}
	} else {
		r, err := w.exec(sqlInsertAttributes,
			append(cols, a.UUID, w.eventID)...)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", where, err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			w.note("%s already belongs to another event; not added", where)
			return 0, nil
		}
		if id, err = r.LastInsertId(); err != nil {
			return 0, err
		}
		written = true
	}
	if written {
		w.res.Attributes++
		w.corr = append(w.corr, corrAttr{id: id, eventID: w.eventID, typ: a.Type, value1: v1, value2: v2,
			deleted: bool(a.Deleted), disabled: bool(a.DisableCorrelation), live: live})
		if err := w.setTags(a.Tag, id, w.update); err != nil {
			return 0, fmt.Errorf("%s: %w", where, err)
		}
		if err := w.galaxies(a.Galaxy, id, w.update); err != nil {
			return 0, fmt.Errorf("%s: %w", where, err)
		}
	}
	for i := range a.Sighting {
		if err := w.sighting(&a.Sighting[i], id); err != nil {
			return 0, fmt.Errorf("%s: %w", where, err)
		}
	}
	for i := range a.ShadowAttribute {
		if err := w.proposal(&a.ShadowAttribute[i], a.UUID); err != nil {
			return 0, fmt.Errorf("%s: %w", where, err)
		}
	}
	return id, nil
}

func (w *eventWriter) object(o *misp.Object) error {
	where := "object " + o.UUID
	dist, sgID, err := w.sharingGroup(where, o.Distribution, o.SharingGroup, int64(o.SharingGroupID))
	if err != nil {
		return err
	}
	extra, err := encodeExtra(o.Extra)
	if err != nil {
		return err
	}
	ts := w.stamp(o.Timestamp)
	cols := []any{o.Name, o.MetaCategory, o.Description, o.TemplateUUID, int64(o.TemplateVersion), ts, int64(dist), nullID(sgID),
		o.Comment, boolInt(bool(o.Deleted)), nullText(string(o.FirstSeen)), nullText(string(o.LastSeen)), extra}
	var id int64
	if old, ok := w.objects[o.UUID]; ok {
		id = old.id
		if ts > old.timestamp {
			_, err = w.exec(sqlUpdateObjects, append(cols, id)...)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
		}
	} else {
		r, err := w.exec(sqlInsertObjects, append(cols, o.UUID, w.eventID)...)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			w.note("%s already belongs to another event; not added", where)
			return nil
		}
		if id, err = r.LastInsertId(); err != nil {
			return err
		}
	}
	for i := range o.Attribute {
		if _, err := w.attribute(&o.Attribute[i], id); err != nil {
			return err
		}
	}
	for i := range o.ObjectReference {
		if err := w.reference(&o.ObjectReference[i], id); err != nil {
			return err
		}
	}
	return nil
}

func (w *eventWriter) reference(r *misp.ObjectReference, objectID int64) error {
	extra, err := encodeExtra(r.Extra)
	if err != nil {
		return err
	}
	ts := w.stamp(r.Timestamp)
	cols := []any{objectID, r.ReferencedUUID, int64(r.ReferencedType), r.RelationshipType, r.Comment, ts, boolInt(bool(r.Deleted)), extra}
	if old, ok := w.refs[r.UUID]; ok {
		if ts > old.timestamp {
			_, err = w.exec(sqlUpdateObjectReferences, append(cols, old.id)...)
		}
		return err
	}
	res, err := w.exec(sqlInsertObjectReferences,
		append(cols, r.UUID, w.eventID)...)
	if err != nil {
		return fmt.Errorf("object reference %s: %w", r.UUID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		w.note("object reference %s already belongs to another event; not added", r.UUID)
	}
	return nil
}

func (w *eventWriter) report(r *misp.EventReport) error {
	where := "event report " + r.UUID
	dist, sgID, err := w.sharingGroup(where, r.Distribution, r.SharingGroup, int64(r.SharingGroupID))
	if err != nil {
		return err
	}
	extra, err := encodeExtra(r.Extra)
	if err != nil {
		return err
	}
	ts := w.stamp(r.Timestamp)
	cols := []any{r.Name, r.Content, int64(dist), nullID(sgID), ts, boolInt(bool(r.Deleted)), extra}
	if old, ok := w.reports[r.UUID]; ok {
		if ts > old.timestamp {
			_, err = w.exec(sqlUpdateEventReports, append(cols, old.id)...)
		}
		return err
	}
	res, err := w.exec(sqlInsertEventReports, append(cols, r.UUID, w.eventID)...)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		w.note("%s already belongs to another event; not added", where)
	}
	return nil
}

// sighting adds a sighting unless its UUID is known; attrID 0 means the attribute was not
// written, and the sighting has nothing to attach to.
func (w *eventWriter) sighting(sg *misp.Sighting, attrID int64) error {
	if attrID == 0 {
		return nil
	}
	if sg.UUID == "" {
		return nil // MISP gives every sighting a UUID; one without cannot be de-duplicated
	}
	var orgID OrgID
	if sg.Organisation != nil && (sg.Organisation.UUID != "" || sg.Organisation.Name != "") {
		var err error
		if orgID, err = w.s.captureOrg(w.ctx, w.tx, sg.Organisation); err != nil {
			return fmt.Errorf("sighting %s: %w", sg.UUID, err)
		}
	}
	extra, err := encodeExtra(sg.Extra)
	if err != nil {
		return err
	}
	_, err = w.exec(sqlInsertSightings,
		strings.ToLower(sg.UUID), attrID, w.eventID, orgID, int64(sg.DateSighting), sg.Source, int64(sg.Type), extra)
	return err
}

// proposal stores a proposal (ShadowAttribute); attrUUID is the attribute it proposes to
// change, or "" for a proposed new attribute.
func (w *eventWriter) proposal(p *misp.ShadowAttribute, attrUUID string) error {
	id := strings.ToLower(p.UUID)
	if id == "" {
		id = misp.DerivedUUID(w.res.UUID, "proposal", attrUUID, p.Type, p.Category, p.Value, strconv.FormatBool(bool(p.ToIDs)), p.Comment)
	}
	var orgID OrgID
	if p.Org != nil && (p.Org.UUID != "" || p.Org.Name != "") {
		var err error
		if orgID, err = w.s.captureOrg(w.ctx, w.tx, p.Org); err != nil {
			return fmt.Errorf("proposal %s: %w", id, err)
		}
	}
	extra, err := encodeExtra(p.Extra)
	if err != nil {
		return err
	}
	_, err = w.exec(sqlInsertShadowAttributes,
		id, w.eventID, attrUUID, orgID, p.Type, p.Category, p.Value, boolInt(bool(p.ToIDs)), p.Comment, boolInt(bool(p.Deleted)),
		boolInt(bool(p.ProposalToDelete)), int64(p.Timestamp), boolInt(bool(p.DisableCorrelation)),
		nullText(string(p.FirstSeen)), nullText(string(p.LastSeen)), nullText(p.Data), extra)
	if err != nil {
		return fmt.Errorf("proposal %s: %w", id, err)
	}
	return nil
}

// galaxies attaches the clusters listed in gs to the event (attrID 0) or an attribute,
// storing each galaxy and cluster once (the newest version wins). With replace, the
// element's previous attachments are dropped first.
func (w *eventWriter) galaxies(gs []misp.Galaxy, attrID int64, replace bool) error {
	if replace {
		if _, err := w.exec(sqlDeleteEventGalaxyClustersLinks, w.eventID, attrID); err != nil {
			return err
		}
	}
	for gi := range gs {
		g := &gs[gi]
		galaxyID, err := w.galaxy(g)
		if err != nil {
			return fmt.Errorf("galaxy %s: %w", g.UUID, err)
		}
		for ci := range g.GalaxyCluster {
			if err := w.cluster(&g.GalaxyCluster[ci], galaxyID, attrID); err != nil {
				return err
			}
		}
	}
	return nil
}

// galaxy returns the id of an embedded galaxy, storing it when new. A library galaxy is
// rewritten when of a newer version (most events name galaxies this instance already
// has, and an imported library is not undone by an older MISP's event); a custom galaxy here, made here or captured, is never changed by an event. A new
// one that says it is custom ("default": false, as MISP 2.5 and this instance embed them)
// is captured (captureGalaxy); one that says nothing is a library galaxy, as older MISP
// versions embed them.
func (w *eventWriter) galaxy(g *misp.Galaxy) (int64, error) {
	key := strings.ToLower(g.UUID)
	if key == "" {
		key = misp.DerivedUUID("galaxy", g.Type)
	}
	var (
		id            int64
		storedVersion string
		library       bool
	)
	err := w.queryRow(sqlSelectGalaxy, key).Scan(&id, &storedVersion, &library)
	switch {
	case err == nil && (!library || versionNumber(string(g.Version)) <= versionNumber(storedVersion)):
		return id, nil
	case errors.Is(err, sql.ErrNoRows) && g.Sharing().Custom:
		return w.captureGalaxy(g, key)
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return 0, err
	}
	body := *g
	body.ID, body.GalaxyCluster = 0, nil
	galaxyJSON, err := json.Marshal(&body, json.Deterministic(true))
	if err != nil {
		return 0, err
	}
	err = w.queryRow(sqlInsertGalaxies, key, g.Name, g.Type, g.Description, string(g.Version), g.Icon, g.Namespace,
		string(galaxyJSON)).Scan(&id)
	return id, err
}

// captureGalaxy stores a custom galaxy this instance learns from an event, as MISP's
// Galaxy::captureGalaxy with GalaxyCluster::captureCluster's ownership: owned here by the
// event's owner (the pushing user's or the pulling server's organisation), created by its
// Orgc captured by UUID (else the owner), locked, by UUID. Its distribution never widens
// who may see it: the one it states (a sharing group, which does not travel with it,
// becomes organisation only), else the widest of its clusters', which the galaxy must
// admit for them to be seen.
func (w *eventWriter) captureGalaxy(g *misp.Galaxy, key string) (int64, error) {
	narrow := func(d misp.Distribution) misp.Distribution {
		if d < misp.OrgOnly || d > misp.AllCommunities {
			return misp.OrgOnly
		}
		return d
	}
	dist := misp.OrgOnly
	if s := g.Sharing(); s.Stated {
		dist = narrow(s.Distribution)
	} else {
		for i := range g.GalaxyCluster {
			dist = max(dist, narrow(g.GalaxyCluster[i].Sharing().Distribution))
		}
	}
	orgcID := w.orgID
	if orgc := embeddedOrgc(g.Extra); orgc != nil {
		var err error
		if orgcID, err = w.s.captureOrg(w.ctx, w.tx, orgc); err != nil {
			return 0, fmt.Errorf("its Orgc: %w", err)
		}
	}
	// the galaxy's other members are kept as sent (an event shows them again), but for the
	// sender's ids and its sharing and organisations, which the columns hold as captured
	body := *g
	body.ID, body.GalaxyCluster = 0, nil
	body.Extra = maps.Clone(g.Extra)
	for _, k := range []string{"id", "org_id", "orgc_id", "Org", "Orgc", "sharing_group_id", "SharingGroup", "default", "distribution", "locked"} {
		delete(body.Extra, k)
	}
	galaxyJSON, err := json.Marshal(&body, json.Deterministic(true))
	if err != nil {
		return 0, err
	}
	now := w.s.now().Unix()
	var id int64
	err = w.queryRow(sqlCaptureGalaxy, key, g.Name, g.Type, g.Description, string(g.Version), g.Icon, g.Namespace,
		int(dist), w.orgID, orgcID, now, now, string(galaxyJSON)).Scan(&id)
	return id, err
}

// clusterLinkKeys are the members of a cluster in an event that describe its attachment to
// that event or attribute rather than the cluster itself.
var clusterLinkKeys = []string{"event_tag_id", "attribute_tag_id", "tag_id"}

func (w *eventWriter) cluster(c *misp.GalaxyCluster, galaxyID, attrID int64) error {
	tagName := c.TagName
	if tagName == "" {
		tagName = fmt.Sprintf("misp-galaxy:%s=%q", c.Type, c.Value)
	}
	link := misp.Extra{}
	for _, k := range clusterLinkKeys {
		if v, ok := c.Extra[k]; ok {
			link[k] = v
		}
	}
	// Most events carry clusters this instance already has at the same version: only a
	// new cluster or a newer version is written, and a custom one made here (not locked)
	// never by an event.
	custom := !c.Sharing().Default
	var (
		clusterID, storedVersion int64
		locked                   sql.NullString
	)
	err := w.queryRow(sqlSelectGalaxyCluster, tagName).Scan(&clusterID, &storedVersion, &locked)
	madeHere := err == nil && custom && !ClusterFlag(locked.String)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && int64(c.Version) > storedVersion && !madeHere) {
		body := *c
		body.ID, body.GalaxyID, body.Local, body.RelationshipType = 0, 0, false, ""
		body.Extra = make(misp.Extra, len(c.Extra))
		for k, v := range c.Extra {
			if _, isLink := link[k]; !isLink {
				body.Extra[k] = v
			}
		}
		misp.DropReaderMembers(body.Extra)
		body.GalaxyClusterRelation = capturedRelations(c.GalaxyClusterRelation)
		if custom && !w.opts.LocalIDs {
			// received (sync, feed, file): owned here as GalaxyCluster::captureCluster owns
			// it, never by the sender's ids; a local user's write names this instance's
			// organisations already and keeps them
			if err := w.s.ownCluster(w.ctx, w.tx, body.Extra, w.orgID, embeddedOrgc(c.Extra)); err != nil {
				return fmt.Errorf("galaxy cluster %s: %w", tagName, err)
			}
		}
		clusterJSON, merr := json.Marshal(&body, json.Deterministic(true))
		if merr != nil {
			return merr
		}
		err = w.queryRow(sqlUpsertGalaxyCluster, strings.ToLower(c.UUID), galaxyID, c.Type, c.Value, tagName, c.Description,
			int64(c.Version), string(clusterJSON)).Scan(&clusterID)
	}
	if err != nil {
		return fmt.Errorf("galaxy cluster %s: %w", tagName, err)
	}
	if c.Local {
		link["local"] = []byte("true")
	}
	if c.RelationshipType != "" {
		rt, _ := json.Marshal(string(c.RelationshipType))
		link["relationship_type"] = rt
	}
	linkJSON, err := encodeExtra(link)
	if err != nil {
		return err
	}
	_, err = w.exec(sqlInsertEventGalaxyClusters, w.eventID, nullID(attrID), clusterID, linkJSON)
	return err
}

// embeddedOrgc is the creator an embedded galaxy or cluster names (its Orgc member), or
// nil when it names none that decodes: the owner is then the creator too.
func embeddedOrgc(x misp.Extra) *misp.Org {
	raw, ok := x["Orgc"]
	if !ok {
		return nil
	}
	var o misp.Org
	if json.Unmarshal(raw, &o) != nil || (o.UUID == "" && o.Name == "") {
		return nil
	}
	o.UUID = strings.ToLower(o.UUID)
	return &o
}

// encodeExtra writes unknown members as a JSON object, or NULL when there are none.
func encodeExtra(x misp.Extra) (sql.NullString, error) {
	if len(x) == 0 {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(x, json.Deterministic(true))
	if err != nil {
		return sql.NullString{}, err
	}
	return sql.NullString{String: string(b), Valid: true}, nil
}
