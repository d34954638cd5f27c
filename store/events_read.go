package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/go-json-experiment/json"

	"mispdesk/store/misp"
)

// EventID is an event's local id.
type EventID int64

// ResolveEvent finds the event a person or a peer names by local id or UUID (ErrNotFound
// when there is none).
func (s *Store) ResolveEvent(ctx context.Context, ref string) (EventID, error) {
	return resolve[EventID](ctx, s.read, eventRefs, ref)
}

// ExtendingEvents lists the events that extend the event of that UUID (their
// extends_uuid), by id.
func (s *Store) ExtendingEvents(ctx context.Context, uuid string) ([]EventID, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id FROM events WHERE extends_uuid = ? COLLATE NOCASE ORDER BY id`, uuid)
	if err != nil {
		return nil, fmt.Errorf("events extending %s: %w", uuid, err)
	}
	defer rows.Close()
	var out []EventID
	for rows.Next() {
		var id EventID
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("events extending %s: %w", uuid, err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Event reads an event with everything attached to it in the shape MISP's events/view
// returns (local ids filled in).
func (s *Store) Event(ctx context.Context, id EventID) (*misp.Event, error) {
	return s.readEvent(ctx, id, false)
}

// EventMetadata reads an event without its children: the event's own fields, owner and
// creator organisations, sharing group and tags — what events/index rows, metadata:1
// answers and event-level sharing decisions need, at a fraction of a full read.
func (s *Store) EventMetadata(ctx context.Context, id EventID) (*misp.Event, error) {
	return s.readEvent(ctx, id, true)
}

func (s *Store) readEvent(ctx context.Context, id EventID, metadataOnly bool) (*misp.Event, error) {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("event %d: %w", id, err)
	}
	defer tx.Rollback()
	r := &eventReader{txStmts: txStmts{s: s, ctx: ctx, tx: tx, read: true}, sgs: map[int64]*misp.SharingGroup{},
		orgs: map[int64]*misp.Org{}, metadataOnly: metadataOnly}
	e, err := r.read(id)
	if err != nil {
		return nil, fmt.Errorf("event %d: %w", id, err)
	}
	return e, nil
}

// The statements of an event read, prepared once per database (see preparedRead).
var (
	sqlReadEventByID = preparedRead(`SELECT id, uuid, org_id, orgc_id, date, threat_level_id, info, published, analysis,
		attribute_count, timestamp, distribution, sharing_group_id, proposal_email_lock, locked, publish_timestamp,
		sighting_timestamp, disable_correlation, extends_uuid, protected, event_creator_email, extra FROM events WHERE id = ?`)
	sqlReadEventTags = preparedRead(`SELECT t.id, t.name, t.colour, t.exportable, t.hide_tag, t.numerical_value, t.is_galaxy,
		t.is_custom_galaxy, t.local_only, t.user_id, et.local, et.relationship_type, 0
		FROM event_tags et JOIN tags t ON t.id = et.tag_id WHERE et.event_id = ? ORDER BY et.id`)
	sqlReadAttributeTags = preparedRead(`SELECT t.id, t.name, t.colour, t.exportable, t.hide_tag, t.numerical_value, t.is_galaxy,
		t.is_custom_galaxy, t.local_only, t.user_id, at.local, at.relationship_type, at.attribute_id
		FROM attribute_tags at JOIN tags t ON t.id = at.tag_id WHERE at.event_id = ? ORDER BY at.id`)
	sqlReadAttributes = preparedRead(`SELECT id, uuid, object_id, object_relation, type, category, value1, value2, to_ids, timestamp,
		distribution, sharing_group_id, comment, deleted, disable_correlation, first_seen, last_seen, data, extra
		FROM attributes WHERE event_id = ? ORDER BY id`)
	sqlReadSightings = preparedRead(`SELECT s.id, s.uuid, s.attribute_id, a.uuid, s.org_id, s.date_sighting, s.source, s.type, s.extra
		FROM sightings s JOIN attributes a ON a.id = s.attribute_id WHERE s.event_id = ? ORDER BY s.id`)
	sqlReadObjects = preparedRead(`SELECT id, uuid, name, meta_category, description, template_uuid, template_version, timestamp,
		distribution, sharing_group_id, comment, deleted, first_seen, last_seen, extra
		FROM objects WHERE event_id = ? ORDER BY id`)
	sqlReadObjectReferences = preparedRead(`SELECT r.id, r.uuid, r.object_id, o.uuid, r.referenced_uuid, r.referenced_type, r.relationship_type,
		r.comment, r.timestamp, r.deleted, r.extra
		FROM object_references r JOIN objects o ON o.id = r.object_id WHERE r.event_id = ? ORDER BY r.id`)
	sqlReadEventReports = preparedRead(`SELECT id, uuid, name, content, distribution, sharing_group_id, timestamp, deleted, extra
		FROM event_reports WHERE event_id = ? ORDER BY id`)
	sqlReadShadowAttributes = preparedRead(`SELECT id, uuid, attribute_uuid, org_id, type, category, value, to_ids, comment, deleted,
		proposal_to_delete, timestamp, disable_correlation, first_seen, last_seen, data, extra
		FROM shadow_attributes WHERE event_id = ? AND deleted = 0 ORDER BY id`)
	// An event's clusters: those linked to it or its attributes, then those its galaxy tags
	// name (MISP attaches clusters by tag, so an event pushed with its galaxy tags finds the
	// clusters pushed before or after it). A galaxy made here (galaxies/add) has no stored
	// JSON of a peer's: its columns are it.
	sqlReadEventGalaxyClusters = preparedRead(`SELECT x.owner, x.link, c.id, c.galaxy_id, c.extra, g.id,
		CASE WHEN g.is_default THEN ifnull(g.extra, json_object('uuid', g.uuid, 'name', g.name, 'type', g.type,
			'description', g.description, 'version', g.version, 'icon', g.icon, 'namespace', g.namespace))
		ELSE json_patch(ifnull(g.extra, '{}'), json_object('uuid', g.uuid, 'name', g.name, 'type', g.type,
			'description', g.description, 'version', g.version, 'icon', g.icon, 'namespace', g.namespace, 'default', json('false'),
			'distribution', CAST(g.distribution AS TEXT),
			'Orgc', json((SELECT json_object('uuid', o.uuid, 'name', o.name) FROM orgs o WHERE o.id = g.orgc_id)))) END
		FROM (
			SELECT ifnull(l.attribute_id, 0) AS owner, l.extra AS link, l.cluster_id AS cluster, 0 AS src, l.id AS ord
				FROM event_galaxy_clusters l WHERE l.event_id = ?1
			UNION ALL
			SELECT 0, json_object('local', et.local, 'relationship_type', nullif(et.relationship_type, '')), tc.id, 1, et.id
				FROM event_tags et JOIN tags t ON t.id = et.tag_id JOIN galaxy_clusters tc ON tc.tag_name = t.name
				WHERE et.event_id = ?1 AND NOT EXISTS (SELECT 1 FROM event_galaxy_clusters l
					WHERE l.event_id = ?1 AND l.attribute_id IS NULL AND l.cluster_id = tc.id)
			UNION ALL
			SELECT at.attribute_id, json_object('local', at.local, 'relationship_type', nullif(at.relationship_type, '')), tc.id, 2, at.id
				FROM attribute_tags at JOIN tags t ON t.id = at.tag_id JOIN galaxy_clusters tc ON tc.tag_name = t.name
				WHERE at.event_id = ?1 AND NOT EXISTS (SELECT 1 FROM event_galaxy_clusters l
					WHERE l.event_id = ?1 AND l.attribute_id = at.attribute_id AND l.cluster_id = tc.id)
		) x JOIN galaxy_clusters c ON c.id = x.cluster JOIN galaxies g ON g.id = c.galaxy_id
		ORDER BY x.src, x.ord`)
)

// eventReader reads one event inside a read transaction, so its parts are one snapshot.
type eventReader struct {
	txStmts
	metadataOnly bool
	sgs          map[int64]*misp.SharingGroup
	orgs         map[int64]*misp.Org
}

func (r *eventReader) read(eventID EventID) (*misp.Event, error) {
	var (
		e         misp.Event
		sgID      sql.NullInt64
		protected sql.NullInt64
		extra     sql.NullString
	)
	err := r.queryRow(sqlReadEventByID, int64(eventID)).Scan(&e.ID, &e.UUID, &e.OrgID, &e.OrgcID, &e.Date, &e.ThreatLevelID, &e.Info,
		&e.Published, &e.Analysis, &e.AttributeCount, &e.Timestamp, &e.Distribution, &sgID, &e.ProposalEmailLock, &e.Locked,
		&e.PublishTimestamp, &e.SightingTimestamp, &e.DisableCorrelation, &e.ExtendsUUID, &protected, &e.EventCreatorEmail, &extra)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if protected.Valid {
		e.Protected = misp.OptBool{Set: true, Value: protected.Int64 != 0}
	}
	if e.Extra, err = decodeExtra(extra); err != nil {
		return nil, err
	}
	e.SharingGroupID = misp.Int(sgID.Int64)
	if e.SharingGroup, err = r.sharingGroup(sgID); err != nil {
		return nil, err
	}
	if e.Org, err = r.org(int64(e.OrgID)); err != nil {
		return nil, err
	}
	if e.Orgc, err = r.org(int64(e.OrgcID)); err != nil {
		return nil, err
	}
	id := int64(e.ID)
	if e.Tag, err = r.tags(sqlReadEventTags, id); err != nil {
		return nil, err
	}
	if r.metadataOnly {
		return &e, nil
	}
	attrs, err := r.attributes(id)
	if err != nil {
		return nil, err
	}
	objects, err := r.objects(id)
	if err != nil {
		return nil, err
	}
	byObject := map[int64]*misp.Object{}
	for i := range objects {
		byObject[int64(objects[i].ID)] = &objects[i]
	}
	e.Attribute = []misp.Attribute{}
	for _, a := range attrs {
		if a.ObjectID == 0 {
			e.Attribute = append(e.Attribute, a)
		} else if o := byObject[int64(a.ObjectID)]; o != nil {
			o.Attribute = append(o.Attribute, a)
		}
	}
	e.Object = objects
	if e.EventReport, err = r.reports(id); err != nil {
		return nil, err
	}
	proposals, err := r.proposals(id)
	if err != nil {
		return nil, err
	}
	for _, list := range proposals {
		for i := range list {
			list[i].EventUUID = e.UUID
		}
	}
	e.ShadowAttribute = proposals[""]
	attachProposals(&e, proposals)
	galaxies, err := r.galaxies(id)
	if err != nil {
		return nil, err
	}
	e.Galaxy = galaxies[0]
	for i := range e.Attribute {
		e.Attribute[i].Galaxy = galaxies[int64(e.Attribute[i].ID)]
	}
	for i := range e.Object {
		for j := range e.Object[i].Attribute {
			e.Object[i].Attribute[j].Galaxy = galaxies[int64(e.Object[i].Attribute[j].ID)]
		}
	}
	return &e, nil
}

func attachProposals(e *misp.Event, byAttr map[string][]misp.ShadowAttribute) {
	attach := func(as []misp.Attribute) {
		for i := range as {
			as[i].ShadowAttribute = byAttr[as[i].UUID]
		}
	}
	attach(e.Attribute)
	for i := range e.Object {
		attach(e.Object[i].Attribute)
	}
}

func (r *eventReader) org(id int64) (*misp.Org, error) {
	if o, ok := r.orgs[id]; ok {
		return o, nil
	}
	o, err := orgByID(r.ctx, r.tx, OrgID(id))
	if err != nil {
		return nil, err
	}
	m := o.model()
	r.orgs[id] = m
	return m, nil
}

func (r *eventReader) sharingGroup(id sql.NullInt64) (*misp.SharingGroup, error) {
	if !id.Valid {
		return nil, nil
	}
	if g, ok := r.sgs[id.Int64]; ok {
		return g, nil
	}
	g, err := r.s.SharingGroup(r.ctx, SharingGroupID(id.Int64))
	if err != nil {
		return nil, err
	}
	r.sgs[id.Int64] = g
	return g, nil
}

// tags reads tag rows; the last column is the owner (attribute) id, 0 for event tags.
func (r *eventReader) tags(q string, args ...any) ([]misp.Tag, error) {
	all, err := r.tagsByOwner(q, args...)
	return all[0], err
}

func (r *eventReader) tagsByOwner(q string, args ...any) (map[int64][]misp.Tag, error) {
	rows, err := r.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]misp.Tag{}
	for rows.Next() {
		var (
			t          misp.Tag
			exportable bool
			numeric    sql.NullString
			rel        string
			owner      int64
		)
		if err := rows.Scan(&t.ID, &t.Name, &t.Colour, &exportable, &t.HideTag, &numeric, &t.IsGalaxy, &t.IsCustomGalaxy,
			&t.LocalOnly, &t.UserID, &t.Local, &rel, &owner); err != nil {
			return nil, err
		}
		t.Exportable = misp.OptBool{Set: true, Value: exportable}
		t.NumericalValue = misp.Text(numeric.String)
		t.RelationshipType = misp.Text(rel)
		out[owner] = append(out[owner], t)
	}
	return out, rows.Err()
}

func (r *eventReader) attributes(eventID int64) ([]misp.Attribute, error) {
	tags, err := r.tagsByOwner(sqlReadAttributeTags, eventID)
	if err != nil {
		return nil, err
	}
	sightings, err := r.sightings(eventID)
	if err != nil {
		return nil, err
	}
	rows, err := r.query(sqlReadAttributes, eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []misp.Attribute
	for rows.Next() {
		var (
			a                 misp.Attribute
			objectID, sgID    sql.NullInt64
			rel, fs, ls, data sql.NullString
			v1, v2            string
			extra             sql.NullString
		)
		if err := rows.Scan(&a.ID, &a.UUID, &objectID, &rel, &a.Type, &a.Category, &v1, &v2, &a.ToIDs, &a.Timestamp,
			&a.Distribution, &sgID, &a.Comment, &a.Deleted, &a.DisableCorrelation, &fs, &ls, &data, &extra); err != nil {
			return nil, err
		}
		a.EventID = misp.Int(eventID)
		a.ObjectID = misp.Int(objectID.Int64)
		a.ObjectRelation = misp.Text(rel.String)
		a.Value = v1
		if misp.IsComposite(a.Type) {
			a.Value = v1 + "|" + v2
		}
		a.FirstSeen, a.LastSeen, a.Data = misp.Text(fs.String), misp.Text(ls.String), data.String
		a.SharingGroupID = misp.Int(sgID.Int64)
		if a.SharingGroup, err = r.sharingGroup(sgID); err != nil {
			return nil, err
		}
		if a.Extra, err = decodeExtra(extra); err != nil {
			return nil, err
		}
		a.Tag = tags[int64(a.ID)]
		a.Sighting = sightings[int64(a.ID)]
		out = append(out, a)
	}
	return out, rows.Err()
}

func (r *eventReader) sightings(eventID int64) (map[int64][]misp.Sighting, error) {
	rows, err := r.query(sqlReadSightings, eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]misp.Sighting{}
	for rows.Next() {
		var (
			sg    misp.Sighting
			extra sql.NullString
		)
		if err := rows.Scan(&sg.ID, &sg.UUID, &sg.AttributeID, &sg.AttributeUUID, &sg.OrgID, &sg.DateSighting, &sg.Source,
			&sg.Type, &extra); err != nil {
			return nil, err
		}
		sg.EventID = misp.Int(eventID)
		if sg.Extra, err = decodeExtra(extra); err != nil {
			return nil, err
		}
		out[int64(sg.AttributeID)] = append(out[int64(sg.AttributeID)], sg)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	for attr, list := range out {
		for i := range list {
			if list[i].OrgID == 0 {
				continue
			}
			if list[i].Organisation, err = r.org(int64(list[i].OrgID)); err != nil {
				return nil, err
			}
		}
		out[attr] = list
	}
	return out, nil
}

func (r *eventReader) objects(eventID int64) ([]misp.Object, error) {
	refs, err := r.references(eventID)
	if err != nil {
		return nil, err
	}
	rows, err := r.query(sqlReadObjects, eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []misp.Object{}
	for rows.Next() {
		var (
			o      misp.Object
			sgID   sql.NullInt64
			fs, ls sql.NullString
			extra  sql.NullString
		)
		if err := rows.Scan(&o.ID, &o.UUID, &o.Name, &o.MetaCategory, &o.Description, &o.TemplateUUID, &o.TemplateVersion,
			&o.Timestamp, &o.Distribution, &sgID, &o.Comment, &o.Deleted, &fs, &ls, &extra); err != nil {
			return nil, err
		}
		o.EventID = misp.Int(eventID)
		o.FirstSeen, o.LastSeen = misp.Text(fs.String), misp.Text(ls.String)
		o.SharingGroupID = misp.Int(sgID.Int64)
		if o.SharingGroup, err = r.sharingGroup(sgID); err != nil {
			return nil, err
		}
		if o.Extra, err = decodeExtra(extra); err != nil {
			return nil, err
		}
		o.ObjectReference = refs[int64(o.ID)]
		if o.ObjectReference == nil {
			o.ObjectReference = []misp.ObjectReference{}
		}
		o.Attribute = []misp.Attribute{}
		out = append(out, o)
	}
	return out, rows.Err()
}

func (r *eventReader) references(eventID int64) (map[int64][]misp.ObjectReference, error) {
	rows, err := r.query(sqlReadObjectReferences, eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]misp.ObjectReference{}
	for rows.Next() {
		var (
			ref   misp.ObjectReference
			extra sql.NullString
		)
		if err := rows.Scan(&ref.ID, &ref.UUID, &ref.ObjectID, &ref.ObjectUUID, &ref.ReferencedUUID, &ref.ReferencedType,
			&ref.RelationshipType, &ref.Comment, &ref.Timestamp, &ref.Deleted, &extra); err != nil {
			return nil, err
		}
		ref.EventID = misp.Int(eventID)
		ref.SourceUUID = ref.ObjectUUID
		if ref.Extra, err = decodeExtra(extra); err != nil {
			return nil, err
		}
		out[int64(ref.ObjectID)] = append(out[int64(ref.ObjectID)], ref)
	}
	return out, rows.Err()
}

func (r *eventReader) reports(eventID int64) ([]misp.EventReport, error) {
	rows, err := r.query(sqlReadEventReports, eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []misp.EventReport
	for rows.Next() {
		var (
			rep   misp.EventReport
			sgID  sql.NullInt64
			extra sql.NullString
		)
		if err := rows.Scan(&rep.ID, &rep.UUID, &rep.Name, &rep.Content, &rep.Distribution, &sgID, &rep.Timestamp,
			&rep.Deleted, &extra); err != nil {
			return nil, err
		}
		rep.EventID = misp.Int(eventID)
		rep.SharingGroupID = misp.Int(sgID.Int64)
		if rep.SharingGroup, err = r.sharingGroup(sgID); err != nil {
			return nil, err
		}
		if rep.Extra, err = decodeExtra(extra); err != nil {
			return nil, err
		}
		out = append(out, rep)
	}
	return out, rows.Err()
}

// proposals reads the event's proposals keyed by the UUID of the attribute they change
// ("" for proposed new attributes).
func (r *eventReader) proposals(eventID int64) (map[string][]misp.ShadowAttribute, error) {
	rows, err := r.query(sqlReadShadowAttributes, eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]misp.ShadowAttribute{}
	for rows.Next() {
		var (
			p            misp.ShadowAttribute
			attrUUID     string
			fs, ls, data sql.NullString
			extra        sql.NullString
		)
		if err := rows.Scan(&p.ID, &p.UUID, &attrUUID, &p.OrgID, &p.Type, &p.Category, &p.Value, &p.ToIDs, &p.Comment,
			&p.Deleted, &p.ProposalToDelete, &p.Timestamp, &p.DisableCorrelation, &fs, &ls, &data, &extra); err != nil {
			return nil, err
		}
		p.EventID = misp.Int(eventID)
		p.FirstSeen, p.LastSeen, p.Data = misp.Text(fs.String), misp.Text(ls.String), data.String
		if p.Extra, err = decodeExtra(extra); err != nil {
			return nil, err
		}
		out[attrUUID] = append(out[attrUUID], p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	for k, list := range out {
		for i := range list {
			if list[i].OrgID != 0 {
				if list[i].Org, err = r.org(int64(list[i].OrgID)); err != nil {
					return nil, err
				}
			}
		}
		out[k] = list
	}
	return out, nil
}

// galaxies reads the clusters attached to the event (key 0) and its attributes (key:
// attribute id), grouped by galaxy in the order they were attached.
func (r *eventReader) galaxies(eventID int64) (map[int64][]misp.Galaxy, error) {
	rows, err := r.query(sqlReadEventGalaxyClusters, eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]misp.Galaxy{}
	for rows.Next() {
		var (
			owner, clusterID, galaxyID, gID int64
			linkExtra                       sql.NullString
			clusterJSON, galaxyJSON         string
		)
		if err := rows.Scan(&owner, &linkExtra, &clusterID, &galaxyID, &clusterJSON, &gID, &galaxyJSON); err != nil {
			return nil, err
		}
		var c misp.GalaxyCluster
		if err := json.Unmarshal([]byte(clusterJSON), &c); err != nil {
			return nil, fmt.Errorf("galaxy cluster %d: %w", clusterID, err)
		}
		c.ID, c.GalaxyID = misp.Int(clusterID), misp.Int(galaxyID)
		if linkExtra.Valid {
			var link struct {
				Local            misp.Bool  `json:"local"`
				RelationshipType misp.Text  `json:"relationship_type"`
				Rest             misp.Extra `json:",embed"`
			}
			if err := json.Unmarshal([]byte(linkExtra.String), &link); err != nil {
				return nil, fmt.Errorf("galaxy cluster %d link: %w", clusterID, err)
			}
			c.Local, c.RelationshipType = link.Local, link.RelationshipType
			for k, v := range link.Rest {
				if c.Extra == nil {
					c.Extra = misp.Extra{}
				}
				c.Extra[k] = v
			}
		}
		list := out[owner]
		gi := -1
		for i := range list {
			if int64(list[i].ID) == gID {
				gi = i
			}
		}
		if gi < 0 {
			var g misp.Galaxy
			if err := json.Unmarshal([]byte(galaxyJSON), &g); err != nil {
				return nil, fmt.Errorf("galaxy %d: %w", gID, err)
			}
			g.ID = misp.Int(gID)
			list = append(list, g)
			gi = len(list) - 1
		}
		list[gi].GalaxyCluster = append(list[gi].GalaxyCluster, c)
		out[owner] = list
	}
	return out, rows.Err()
}

func decodeExtra(s sql.NullString) (misp.Extra, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	var x misp.Extra
	if err := json.Unmarshal([]byte(s.String), &x); err != nil {
		return nil, fmt.Errorf("stored extra members: %w", err)
	}
	return x, nil
}
