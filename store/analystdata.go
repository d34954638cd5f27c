package store

// Analyst data (MISP 2.5's notes, opinions and relationships about any element by UUID):
// the analyst_data table, written by the REST API and by sync.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"

	"mispdesk/store/misp"
)

// AnalystData is a note, opinion or relationship about an element, kept whole as JSON.
type AnalystData struct {
	ID             int64
	UUID           string
	Kind           string // Note, Opinion, Relationship
	ObjectUUID     string
	ObjectType     string
	OrgcUUID       string
	OrgUUID        string
	Distribution   int64
	SharingGroupID int64
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
		d.ID, err = r.LastInsertId()
		return err
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
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

// AnalystDataByRef finds an element of a kind by id or UUID.
func (s *Store) AnalystDataByRef(ctx context.Context, kind, ref string) (*AnalystData, error) {
	ref = strings.ToLower(strings.TrimSpace(ref))
	where, arg := `uuid = ?`, any(ref)
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		where, arg = `id = ?`, id
	}
	d, err := scanAnalyst(s.read.QueryRowContext(ctx, `SELECT `+analystCols+` FROM analyst_data WHERE kind = ? AND `+where, kind, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s %q: %w", kind, ref, ErrNotFound)
	}
	return d, err
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
