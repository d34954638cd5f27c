package store

// Sightings: read by event, and saved as MISP's Sighting::bulkSaveSightings saves them.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"mispdesk/store/misp"
)

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
			org, err := orgByID(ctx, s.read, OrgID(id))
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
func (s *Store) SaveSightings(ctx context.Context, eventUUID string, in []misp.Sighting, trustOrg bool, senderOrgID OrgID) (int, error) {
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

// SightingRef is where a stored sighting is: its event and the organisation that made it
// (0: anonymous).
type SightingRef struct {
	ID      SightingID
	UUID    string
	EventID EventID
	OrgID   OrgID
}

// SightingID is a sighting's local id.
type SightingID int64

// ResolveSighting finds the sighting a person names by id or UUID (ErrNotFound when there
// is none).
func (s *Store) ResolveSighting(ctx context.Context, ref string) (SightingID, error) {
	return resolve[SightingID](ctx, s.read, sightingRefs, ref)
}

// Sighting reads where a sighting is; ErrNotFound when there is none.
func (s *Store) Sighting(ctx context.Context, id SightingID) (*SightingRef, error) {
	return readRow(ctx, s.read, "sighting", id, `SELECT id, uuid, event_id, org_id FROM sightings WHERE id = ?`, scanDest[SightingRef])
}

// dest is where a row of id, uuid, event_id, org_id scans to.
func (r *SightingRef) dest() []any { return []any{&r.ID, &r.UUID, &r.EventID, &r.OrgID} }

// DeleteSighting removes a sighting by id; ErrNotFound when there is none.
func (s *Store) DeleteSighting(ctx context.Context, id SightingID) error {
	return deleteByID(ctx, s, "sighting", "sightings", id)
}

// SightedEvents lists the events that have sightings, by id.
func (s *Store) SightedEvents(ctx context.Context) ([]EventID, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT DISTINCT event_id FROM sightings ORDER BY event_id`)
	if err != nil {
		return nil, fmt.Errorf("sighted events: %w", err)
	}
	defer rows.Close()
	var out []EventID
	for rows.Next() {
		var id EventID
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sighted events: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
