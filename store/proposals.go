package store

// Proposals (MISP's ShadowAttribute): a user's proposal on an event, what an index and a
// push send of them, and the capture of a peer's proposals as MISP's
// ShadowAttribute::capture and EventsController::pushProposals do it. Accepted and
// discarded proposals are kept deleted with a new timestamp (MISP's setDeleted), so that
// peers learn of it on their next pull or this instance's next push.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"

	"mispdesk/store/misp"
)

// ProposalRow is a proposal with the index row of its event, so the caller can decide
// whether the viewer may see it. Proposal.Extra["old_uuid"] names the attribute it
// would change (absent for a proposed new attribute) and Proposal.OldID is that
// attribute's id here.
type ProposalRow struct {
	Proposal misp.ShadowAttribute
	Event    *IndexRow
}

// AttributeUUID is the UUID of the attribute the proposal would change, "" for a
// proposed new attribute.
func (r *ProposalRow) AttributeUUID() string {
	var attr string
	if v, ok := r.Proposal.Extra["old_uuid"]; ok {
		_ = json.Unmarshal(v, &attr)
	}
	return attr
}

// ForSync is the proposal as MISP's shadow_attributes/index and pushProposals send it:
// a proposal to change an attribute carries that attribute's UUID as its uuid, with
// old_id and old_uuid naming it; event_uuid and the proposing organisation (Org,
// org_uuid) identify the rest across instances.
func (r *ProposalRow) ForSync() misp.ShadowAttribute {
	p := r.Proposal
	p.Extra = misp.Extra{}
	if attr := r.AttributeUUID(); attr != "" {
		p.UUID = attr
		p.Extra["old_uuid"] = jsontext.Value(strconv.Quote(attr))
	}
	if r.Event != nil {
		p.EventUUID = r.Event.UUID
	}
	if p.Org != nil {
		p.Extra["org_uuid"] = jsontext.Value(strconv.Quote(p.Org.UUID))
	}
	return p
}

// Proposals lists proposals changed at or after since (0: all), of non-deleted ones
// unless withDeleted, of one event (0: of every event), oldest first, with their events.
func (s *Store) Proposals(ctx context.Context, since int64, withDeleted bool, eventID EventID) ([]ProposalRow, error) {
	q := `SELECT p.uuid, p.event_id, e.uuid, p.attribute_uuid, ifnull(a.id, 0), p.org_id, p.type, p.category, p.value, p.to_ids,
		p.comment, p.deleted, p.proposal_to_delete, p.timestamp, p.disable_correlation, p.first_seen, p.last_seen, p.data, p.id
		FROM shadow_attributes p JOIN events e ON e.id = p.event_id
		LEFT JOIN attributes a ON p.attribute_uuid <> '' AND a.uuid = p.attribute_uuid AND a.event_id = p.event_id
		WHERE p.timestamp >= ?`
	args := []any{since}
	if !withDeleted {
		q += ` AND p.deleted = 0`
	}
	if eventID != 0 {
		q += ` AND e.id = ?`
		args = append(args, int64(eventID))
	}
	rows, err := s.read.QueryContext(ctx, q+` ORDER BY p.timestamp, p.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("proposals: %w", err)
	}
	var out []ProposalRow
	for rows.Next() {
		var (
			p                 misp.ShadowAttribute
			attrUUID          string
			first, last, data sql.NullString
		)
		if err := rows.Scan(&p.UUID, &p.EventID, &p.EventUUID, &attrUUID, &p.OldID, &p.OrgID, &p.Type, &p.Category, &p.Value,
			&p.ToIDs, &p.Comment, &p.Deleted, &p.ProposalToDelete, &p.Timestamp, &p.DisableCorrelation, &first, &last, &data,
			&p.ID); err != nil {
			rows.Close()
			return nil, fmt.Errorf("proposals: %w", err)
		}
		p.FirstSeen, p.LastSeen, p.Data = misp.Text(first.String), misp.Text(last.String), data.String
		if attrUUID != "" {
			p.Extra = misp.Extra{"old_uuid": jsontext.Value(strconv.Quote(attrUUID))}
		}
		out = append(out, ProposalRow{Proposal: p})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("proposals: %w", err)
	}
	events := map[int64]*IndexRow{}
	orgs := map[int64]*misp.Org{}
	for i := range out {
		eid := int64(out[i].Proposal.EventID)
		if _, ok := events[eid]; !ok {
			r, err := s.EventRow(ctx, EventID(eid))
			if err != nil {
				return nil, err
			}
			events[eid] = r
		}
		out[i].Event = events[eid]
		oid := int64(out[i].Proposal.OrgID)
		if oid != 0 {
			if _, ok := orgs[oid]; !ok {
				org, err := orgByID(ctx, s.read, OrgID(oid))
				if err == nil {
					orgs[oid] = &misp.Org{ID: misp.Int(org.ID), UUID: org.UUID, Name: org.Name}
				} else {
					orgs[oid] = nil
				}
			}
			out[i].Proposal.Org = orgs[oid]
		}
	}
	return out, nil
}

// ProposalID is a proposal's local id.
type ProposalID int64

// ResolveProposal finds the proposal a person or a peer names by id or UUID (ErrNotFound
// when there is none).
func (s *Store) ResolveProposal(ctx context.Context, ref string) (ProposalID, error) {
	return resolve[ProposalID](ctx, s.read, proposalRefs, ref)
}

// Proposal reads a live (not yet accepted or discarded) proposal with its event's index
// row and the UUID of the attribute it proposes to change ("" for a proposed new
// attribute).
func (s *Store) Proposal(ctx context.Context, id ProposalID) (*ProposalRow, string, error) {
	var eventID EventID
	err := s.read.QueryRowContext(ctx, `SELECT event_id FROM shadow_attributes WHERE id = ?`, id).Scan(&eventID)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return nil, "", fmt.Errorf("proposal %d: %w", id, err)
	}
	rows, err := s.Proposals(ctx, 0, false, eventID)
	if err != nil {
		return nil, "", err
	}
	for i := range rows {
		if ProposalID(rows[i].Proposal.ID) == id {
			return &rows[i], rows[i].AttributeUUID(), nil
		}
	}
	return nil, "", fmt.Errorf("proposal %d: %w", id, ErrNotFound)
}

// AddProposal stores a proposal on an event (attrUUID "" proposes a new attribute) from
// an organisation, with a random UUID.
func (s *Store) AddProposal(ctx context.Context, eventID EventID, attrUUID string, orgID OrgID, p misp.ShadowAttribute) (ProposalID, error) {
	if p.UUID == "" {
		p.UUID = uuid.NewString()
	}
	var id ProposalID
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `INSERT INTO shadow_attributes (uuid, event_id, attribute_uuid, org_id, type, category, value, to_ids, comment,
			deleted, proposal_to_delete, timestamp, disable_correlation, first_seen, last_seen, data)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)`, strings.ToLower(p.UUID), eventID, strings.ToLower(attrUUID), orgID, p.Type,
			p.Category, p.Value, boolInt(bool(p.ToIDs)), p.Comment, boolInt(bool(p.ProposalToDelete)), s.now().Unix(),
			boolInt(bool(p.DisableCorrelation)), nullText(string(p.FirstSeen)), nullText(string(p.LastSeen)), nullText(p.Data))
		if err != nil {
			if strings.Contains(err.Error(), "UNIQUE") {
				return fmt.Errorf("proposal %s: %w", p.UUID, ErrConflict)
			}
			return err
		}
		n, err := r.LastInsertId()
		id = ProposalID(n)
		return err
	})
	return id, err
}

// ApplyProposal takes proposal p into ev as its owner accepts it (an EditEvent
// function): a new attribute (attrUUID ""), the change of the attribute attrUUID, or its
// deletion. A target the event no longer holds is ErrNotFound.
func ApplyProposal(ev *misp.Event, p *misp.ShadowAttribute, attrUUID string, now misp.Int) error {
	if attrUUID == "" {
		ev.Attribute = append(ev.Attribute, misp.Attribute{UUID: uuid.NewString(), Type: p.Type, Category: p.Category, Value: p.Value,
			ToIDs: p.ToIDs, Comment: p.Comment, Distribution: misp.InheritEvent, Timestamp: now, DisableCorrelation: p.DisableCorrelation,
			FirstSeen: p.FirstSeen, LastSeen: p.LastSeen})
		return nil
	}
	var a *misp.Attribute
	ev.ForEachAttribute(func(x *misp.Attribute) {
		if x.UUID == attrUUID {
			a = x
		}
	})
	if a == nil {
		return fmt.Errorf("attribute %s of proposal %s: %w", attrUUID, p.UUID, ErrNotFound)
	}
	if p.ProposalToDelete {
		a.Deleted = true
	} else {
		a.Type, a.Category, a.Value, a.ToIDs, a.Comment = p.Type, p.Category, p.Value, p.ToIDs, p.Comment
		a.FirstSeen, a.LastSeen = p.FirstSeen, p.LastSeen
	}
	a.Timestamp = BumpTimestamp(a.Timestamp, now)
	return nil
}

// DeleteProposal retires a proposal once accepted or discarded, as MISP's setDeleted:
// it stays, deleted, with the current time as its timestamp, so that a pull or a push of
// proposals carries the retirement to every peer holding a copy.
func (s *Store) DeleteProposal(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE shadow_attributes SET deleted = 1, timestamp = max(timestamp + 1, ?)
			WHERE id = ? AND deleted = 0`, s.now().Unix(), id)
		if err != nil {
			return fmt.Errorf("proposal %d: %w", id, err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("proposal %d: %w", id, ErrNotFound)
		}
		return nil
	})
}

// SaveProposals captures proposals from a peer (a pull's shadow_attributes/index, or a
// peer's events/pushProposals) as MISP's ShadowAttribute::capture does: each is attached
// to its event here by event_uuid and to the attribute it would change by old_uuid (or,
// with an old_id, by its uuid, MISP's form); one of an event or attribute this instance
// does not hold is left out. A proposal is the same one when event, attribute, value,
// type, category, to_ids and comment are (MISP's findOldProposal): a newer copy replaces
// it — which is how an accepted or discarded proposal becomes deleted everywhere — and
// an older or equal one is ignored. Its organisation is taken by Org (or org_uuid) when
// the peer names one, else fallback. It returns how many proposals were stored or
// changed.
func (s *Store) SaveProposals(ctx context.Context, proposals []misp.ShadowAttribute, fallback *misp.Org) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		n = 0
		events := map[string]int64{}
		for i := range proposals {
			p := proposals[i]
			eventUUID := strings.ToLower(p.EventUUID)
			id, known := events[eventUUID]
			if !known {
				err := tx.QueryRowContext(ctx, `SELECT id FROM events WHERE uuid = ?`, eventUUID).Scan(&id)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("proposal of event %s: %w", eventUUID, err)
				}
				events[eventUUID] = id
			}
			if id == 0 {
				continue
			}
			attrUUID := ProposalTarget(&p)
			orgUUID := extraString(p.Extra, "org_uuid")
			p.Extra = maps.Clone(p.Extra) // the wire's names of attribute and organisation are not kept
			delete(p.Extra, "old_uuid")
			delete(p.Extra, "org_uuid")
			if attrUUID != "" {
				var held int
				if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM attributes WHERE uuid = ? AND event_id = ?`, attrUUID, id).Scan(&held); err != nil {
					return fmt.Errorf("proposal of event %s: %w", eventUUID, err)
				}
				if held == 0 {
					continue
				}
			}
			if p.Org == nil || (p.Org.UUID == "" && p.Org.Name == "") {
				if orgUUID != "" {
					p.Org = &misp.Org{UUID: orgUUID}
					if o, err := findOrg(ctx, tx, orgUUID); err == nil {
						p.Org.Name = o.Name
					}
				} else {
					p.Org = fallback
				}
			}
			var (
				oldUUID string
				oldTS   int64
			)
			err := tx.QueryRowContext(ctx, `SELECT uuid, timestamp FROM shadow_attributes WHERE event_id = ? AND attribute_uuid = ?
				AND value = ? AND type = ? AND category = ? AND to_ids = ? AND comment = ? ORDER BY timestamp DESC LIMIT 1`,
				id, attrUUID, p.Value, p.Type, p.Category, boolInt(bool(p.ToIDs)), p.Comment).Scan(&oldUUID, &oldTS)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				if attrUUID != "" {
					p.UUID = "" // the attribute's: the writer derives the proposal's own
				}
			case err != nil:
				return fmt.Errorf("proposal of event %s: %w", eventUUID, err)
			case oldTS >= int64(p.Timestamp):
				continue
			default:
				p.UUID = oldUUID
			}
			res := UpsertResult{UUID: eventUUID, EventID: EventID(id)}
			w := &eventWriter{txStmts: txStmts{s: s, ctx: ctx, tx: tx}, res: &res, eventID: id, tags: map[string]int64{}}
			if err := w.proposal(&p, attrUUID); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// ProposalTarget is the UUID of the attribute a proposal from a peer would change:
// old_uuid, or with a non-zero old_id its uuid (MISP gives a proposal to change an
// attribute that attribute's UUID); "" for a proposed new attribute.
func ProposalTarget(p *misp.ShadowAttribute) string {
	if u := extraString(p.Extra, "old_uuid"); u != "" {
		return strings.ToLower(u)
	}
	if p.OldID != 0 {
		return strings.ToLower(p.UUID)
	}
	return ""
}

// extraString reads a string field kept in a record's Extra; "" when absent or not a
// string.
func extraString(x misp.Extra, key string) string {
	var s string
	if v, ok := x[key]; ok {
		_ = json.Unmarshal(v, &s)
	}
	return s
}
