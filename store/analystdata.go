package store

// Analyst data (MISP 2.5's notes, opinions and relationships about any element by UUID):
// the analyst_data table, written by the REST API and by sync.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"

	"mispdesk/store/misp"
)

// AnalystData is a note, opinion or relationship about an element, kept whole as JSON.
type AnalystData struct {
	ID             AnalystDataID
	UUID           string
	Kind           string // Note, Opinion, Relationship
	ObjectUUID     string
	ObjectType     string
	OrgcUUID       string
	OrgUUID        string
	Distribution   int64
	SharingGroupID SharingGroupID
	Created        string
	Modified       string
	Locked         bool
	Body           jsontext.Value
}

// AnalystKinds are MISP's three kinds of analyst data.
var AnalystKinds = []string{"Note", "Opinion", "Relationship"}

// AddAnalystData stores a new element (a random UUID when it has none) and returns it.
func (s *Store) AddAnalystData(ctx context.Context, d AnalystData) (*AnalystData, error) {
	if d.UUID == "" {
		d.UUID = uuid.NewString()
	}
	d.UUID = strings.ToLower(d.UUID)
	if !misp.IsUUID(d.UUID) || !misp.IsUUID(d.ObjectUUID) {
		return nil, fmt.Errorf("%w: analyst data needs UUIDs for itself and its object", ErrInvalidEvent)
	}
	if len(d.Body) == 0 {
		d.Body = jsontext.Value("{}")
	}
	now := s.now().UTC().Format(sgTimeLayout)
	if d.Created == "" {
		d.Created = now
	}
	d.Modified = now
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `INSERT INTO analyst_data (uuid, kind, object_uuid, object_type, orgc_uuid, org_uuid, distribution,
			sharing_group_id, created, modified, locked, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.UUID, d.Kind, strings.ToLower(d.ObjectUUID), d.ObjectType, d.OrgcUUID, d.OrgUUID, d.Distribution, nullID(d.SharingGroupID),
			d.Created, d.Modified, boolInt(d.Locked), string(d.Body))
		if err != nil {
			if strings.Contains(err.Error(), "UNIQUE") {
				return fmt.Errorf("analyst data %s: %w", d.UUID, ErrConflict)
			}
			return err
		}
		id, err := r.LastInsertId()
		d.ID = AnalystDataID(id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// EditAnalystData saves a user's edit of a stored element: its distribution, sharing
// group (kept only for distribution 4) and body, modified set to now so that pushes and
// pulls compare it as newer (MISP's AnalystDataController::edit). The edited record is
// returned; a missing one is ErrNotFound.
func (s *Store) EditAnalystData(ctx context.Context, d AnalystData) (*AnalystData, error) {
	if d.Distribution != int64(misp.SharingGroupDist) {
		d.SharingGroupID = 0
	}
	if len(d.Body) == 0 {
		d.Body = jsontext.Value("{}")
	}
	d.Modified = s.now().UTC().Format(sgTimeLayout)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE analyst_data SET distribution = ?, sharing_group_id = ?, modified = ?, body = ? WHERE id = ?`,
			d.Distribution, nullID(d.SharingGroupID), d.Modified, string(d.Body), d.ID)
		if err != nil {
			return fmt.Errorf("edit %s %s: %w", d.Kind, d.UUID, err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("edit %s %d: %w", d.Kind, d.ID, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// DeleteAnalystData removes a stored element by id and puts its UUID on the analyst data
// blocklist, so that no peer brings it back (MISP's AnalystDataController::delete, hard);
// a missing one is ErrNotFound.
func (s *Store) DeleteAnalystData(ctx context.Context, id AnalystDataID) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		d, err := readRow(ctx, tx, "analyst data", id, `SELECT `+analystCols+` FROM analyst_data WHERE id = ?`, scanAnalyst)
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM analyst_data WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete analyst data %d: %w", id, err)
		}
		orgc := "MISP"
		if d.OrgcUUID != "" {
			if err := tx.QueryRowContext(ctx, `SELECT name FROM orgs WHERE uuid = ?`, d.OrgcUUID).Scan(&orgc); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("delete analyst data %s: creator: %w", d.UUID, err)
			}
		}
		b := AnalystDataBlock{AnalystDataUUID: d.UUID, AnalystDataInfo: analystDataInfo(d), AnalystDataOrgc: orgc}
		if _, err := insertAnalystDataBlock(ctx, tx, b, s.now().Unix()); err != nil {
			return fmt.Errorf("delete analyst data %s: blocklist: %w", d.UUID, err)
		}
		return nil
	})
}

// analystDataInfo is how the blocklist describes a deleted item, as MISP's: a note's text,
// an opinion's score and comment, a relationship's type and target.
func analystDataInfo(d *AnalystData) string {
	var b struct {
		Note              string `json:"note"`
		Opinion           any    `json:"opinion"`
		Comment           string `json:"comment"`
		RelationshipType  string `json:"relationship_type"`
		RelatedObjectType string `json:"related_object_type"`
		RelatedObjectUUID string `json:"related_object_uuid"`
	}
	_ = json.Unmarshal(d.Body, &b) // a body that does not read describes nothing
	switch d.Kind {
	case "Note":
		return b.Note
	case "Opinion":
		return fmt.Sprintf("%v/100 :: %s", b.Opinion, b.Comment)
	case "Relationship":
		if b.RelationshipType == "" {
			b.RelationshipType = "[undefined]"
		}
		return fmt.Sprintf("-- %s --> %s :: %s", b.RelationshipType, b.RelatedObjectType, b.RelatedObjectUUID)
	}
	return "- Unsupported analyst type -"
}

const analystCols = `id, uuid, kind, object_uuid, object_type, orgc_uuid, org_uuid, distribution, ifnull(sharing_group_id, 0), created, modified, locked, body`

func scanAnalyst(row interface{ Scan(...any) error }) (*AnalystData, error) {
	var d AnalystData
	var body string
	if err := row.Scan(&d.ID, &d.UUID, &d.Kind, &d.ObjectUUID, &d.ObjectType, &d.OrgcUUID, &d.OrgUUID, &d.Distribution,
		&d.SharingGroupID, &d.Created, &d.Modified, &d.Locked, &body); err != nil {
		return nil, err
	}
	d.Body = jsontext.Value(body)
	return &d, nil
}

// AnalystDataID is a note's, opinion's or relationship's local id.
type AnalystDataID int64

// ResolveAnalystData finds the note, opinion or relationship a person or a peer names by
// id or UUID (ErrNotFound when there is none).
func (s *Store) ResolveAnalystData(ctx context.Context, ref string) (AnalystDataID, error) {
	return resolve[AnalystDataID](ctx, s.read, analystDataRefs, ref)
}

// AnalystData reads a note, opinion or relationship.
func (s *Store) AnalystData(ctx context.Context, id AnalystDataID) (*AnalystData, error) {
	return readRow(ctx, s.read, "analyst data", id, `SELECT `+analystCols+` FROM analyst_data WHERE id = ?`, scanAnalyst)
}

// AnalystDataList lists the elements of a kind ("" all), about objectUUID when given.
func (s *Store) AnalystDataList(ctx context.Context, kind, objectUUID string) ([]AnalystData, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+analystCols+` FROM analyst_data WHERE (?1 = '' OR kind = ?1) AND (?2 = '' OR object_uuid = ?2) ORDER BY id`,
		kind, strings.ToLower(objectUUID))
	if err != nil {
		return nil, fmt.Errorf("analyst data: %w", err)
	}
	defer rows.Close()
	var out []AnalystData
	for rows.Next() {
		d, err := scanAnalyst(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

// AnalystDataByUUIDs returns the elements of a kind with the given UUIDs, in id order.
func (s *Store) AnalystDataByUUIDs(ctx context.Context, kind string, uuids []string) ([]AnalystData, error) {
	return s.analystDataIn(ctx, "uuid", kind, uuids)
}

// AnalystDataAbout returns the notes, opinions and relationships about any of the given
// elements (their object_uuid), in id order.
func (s *Store) AnalystDataAbout(ctx context.Context, uuids []string) ([]AnalystData, error) {
	return s.analystDataIn(ctx, "object_uuid", "", uuids)
}

// analystDataIn lists the elements of a kind ("" all) whose column (uuid or object_uuid)
// is one of uuids.
func (s *Store) analystDataIn(ctx context.Context, column, kind string, uuids []string) ([]AnalystData, error) {
	var out []AnalystData
	for start := 0; start < len(uuids); start += maxSQLParams {
		chunk := uuids[start:min(start+maxSQLParams, len(uuids))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, kind)
		for _, u := range chunk {
			args = append(args, strings.ToLower(u))
		}
		rows, err := s.read.QueryContext(ctx, `SELECT `+analystCols+` FROM analyst_data WHERE (?1 = '' OR kind = ?1) AND `+column+
			` IN (`+placeholders(len(chunk))+`) ORDER BY id`, args...)
		if err != nil {
			return nil, fmt.Errorf("analyst data: %w", err)
		}
		for rows.Next() {
			d, err := scanAnalyst(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("analyst data: %w", err)
			}
			out = append(out, *d)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("analyst data: %w", err)
		}
	}
	return out, nil
}

// maxSQLParams bounds the UUIDs bound in one IN (…) list.
const maxSQLParams = 500

// SyncedAnalystData is a note, opinion or relationship that arrived from a peer (pushed
// to this instance or pulled), as it is to be stored: D's distribution already decided,
// its creator and sharing group named as they arrived, for capture by UUID.
type SyncedAnalystData struct {
	D            AnalystData
	Orgc         *misp.Org          // the creator; nil takes the owner's organisation
	SharingGroup *misp.SharingGroup // for distribution 4
	// Internal: the link is internal, so a copy created here may be replaced.
	Internal bool
}

// ErrNotNewer reports analyst data that arrived no newer than the local copy.
var ErrNotNewer = errors.New("remote version is not newer than the local one")

// ErrLocalAnalystData reports an arriving edit to analyst data created on this instance.
var ErrLocalAnalystData = errors.New("created on this instance, so a synced copy never replaces it")

// SaveSyncedAnalystData stores analyst data that arrived from a peer, as MISP's
// AnalystData::captureAnalystData: owned by ownerOrgUUID, its creator organisation and
// sharing group captured by UUID (created when new), marked locked; a new UUID is added,
// a locked copy replaced only by a newer modified, a copy created here never unless
// internal (ErrLocalAnalystData); an older or equal one is ErrNotNewer. Nothing is written
// when it fails.
func (s *Store) SaveSyncedAnalystData(ctx context.Context, in SyncedAnalystData) (*AnalystData, error) {
	d := in.D
	d.UUID = strings.ToLower(d.UUID)
	d.ObjectUUID = strings.ToLower(d.ObjectUUID)
	if !misp.IsUUID(d.UUID) || !misp.IsUUID(d.ObjectUUID) {
		return nil, fmt.Errorf("%w: analyst data needs UUIDs for itself and its object", ErrInvalidEvent)
	}
	if len(d.Body) == 0 {
		d.Body = jsontext.Value("{}")
	}
	now := s.now().UTC().Format(sgTimeLayout)
	if d.Created == "" {
		d.Created = now
	}
	if d.Modified == "" {
		d.Modified = now
	}
	d.Locked = true
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if in.Orgc != nil {
			id, err := s.captureOrg(ctx, tx, in.Orgc)
			if err != nil {
				return fmt.Errorf("analyst data %s: creator: %w", d.UUID, err)
			}
			if err := tx.QueryRowContext(ctx, `SELECT uuid FROM orgs WHERE id = ?`, id).Scan(&d.OrgcUUID); err != nil {
				return fmt.Errorf("analyst data %s: creator: %w", d.UUID, err)
			}
		}
		if d.OrgcUUID == "" {
			d.OrgcUUID = d.OrgUUID
		}
		d.SharingGroupID = 0
		if d.Distribution == int64(misp.SharingGroupDist) {
			var owner OrgID
			if err := tx.QueryRowContext(ctx, `SELECT id FROM orgs WHERE uuid = ?`, d.OrgUUID).Scan(&owner); err != nil {
				return fmt.Errorf("analyst data %s: owner %s: %w", d.UUID, d.OrgUUID, err)
			}
			if in.SharingGroup == nil {
				return fmt.Errorf("%w: analyst data %s has distribution 4 without its sharing group", ErrInvalidEvent, d.UUID)
			}
			id, err := s.captureSharingGroup(ctx, tx, in.SharingGroup, owner)
			if err != nil {
				return fmt.Errorf("analyst data %s: %w", d.UUID, err)
			}
			d.SharingGroupID = SharingGroupID(id)
		}
		var (
			id       AnalystDataID
			modified string
			locked   bool
		)
		err := tx.QueryRowContext(ctx, `SELECT id, modified, locked FROM analyst_data WHERE uuid = ?`, d.UUID).Scan(&id, &modified, &locked)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			r, err := tx.ExecContext(ctx, `INSERT INTO analyst_data (uuid, kind, object_uuid, object_type, orgc_uuid, org_uuid, distribution,
				sharing_group_id, created, modified, locked, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`,
				d.UUID, d.Kind, d.ObjectUUID, d.ObjectType, d.OrgcUUID, d.OrgUUID, d.Distribution, nullID(d.SharingGroupID),
				d.Created, d.Modified, string(d.Body))
			if err != nil {
				return fmt.Errorf("analyst data %s: %w", d.UUID, err)
			}
			n, err := r.LastInsertId()
			d.ID = AnalystDataID(n)
			return err
		case err != nil:
			return fmt.Errorf("analyst data %s: %w", d.UUID, err)
		case !locked && !in.Internal:
			return fmt.Errorf("analyst data %s: %w", d.UUID, ErrLocalAnalystData)
		case d.Modified <= modified: // MISP's "Y-m-d H:i:s" orders as text
			return fmt.Errorf("analyst data %s: %w", d.UUID, ErrNotNewer)
		}
		d.ID = id
		_, err = tx.ExecContext(ctx, `UPDATE analyst_data SET kind = ?, object_uuid = ?, object_type = ?, orgc_uuid = ?, org_uuid = ?,
			distribution = ?, sharing_group_id = ?, modified = ?, locked = 1, body = ? WHERE id = ?`,
			d.Kind, d.ObjectUUID, d.ObjectType, d.OrgcUUID, d.OrgUUID, d.Distribution, nullID(d.SharingGroupID), d.Modified, string(d.Body), id)
		if err != nil {
			return fmt.Errorf("analyst data %s: %w", d.UUID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}
