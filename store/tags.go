package store

// Tags as MISP's tags controller manages them, and local tag links, which belong to this
// instance only and so change without touching the event's timestamp.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"mispdesk/store/misp"
)

// TagRow is a tag as tags/index lists it, with how many events and attributes carry it.
type TagRow struct {
	ID             TagID  `json:"id"`
	Name           string `json:"name"`
	Colour         string `json:"colour"`
	Exportable     bool   `json:"exportable"`
	HideTag        bool   `json:"hide_tag"`
	NumericalValue string `json:"numerical_value"`
	IsGalaxy       bool   `json:"is_galaxy"`
	IsCustomGalaxy bool   `json:"is_custom_galaxy"`
	LocalOnly      bool   `json:"local_only"`
	OrgID          OrgID  `json:"org_id"`
	UserID         UserID `json:"user_id"`
	EventCount     int64  `json:"count"`
	AttributeCount int64  `json:"attribute_count"`
}

const tagCols = `t.id, t.name, t.colour, t.exportable, t.hide_tag, ifnull(t.numerical_value, ''), t.is_galaxy, t.is_custom_galaxy,
	t.local_only, t.org_id, t.user_id,
	(SELECT count(*) FROM event_tags et WHERE et.tag_id = t.id), (SELECT count(*) FROM attribute_tags at WHERE at.tag_id = t.id)`

func scanTag(row interface{ Scan(...any) error }) (*TagRow, error) {
	var t TagRow
	err := row.Scan(&t.ID, &t.Name, &t.Colour, &t.Exportable, &t.HideTag, &t.NumericalValue, &t.IsGalaxy, &t.IsCustomGalaxy,
		&t.LocalOnly, &t.OrgID, &t.UserID, &t.EventCount, &t.AttributeCount)
	return &t, err
}

// Tags lists the tags whose name contains search (case-insensitive; "" lists all), by name.
func (s *Store) Tags(ctx context.Context, search string) ([]TagRow, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+tagCols+` FROM tags t WHERE ? = '' OR t.name LIKE ? ESCAPE '\' ORDER BY t.name`,
		search, "%"+likeEscape(strings.Trim(search, "%"))+"%")
	if err != nil {
		return nil, fmt.Errorf("tags: %w", err)
	}
	defer rows.Close()
	var out []TagRow
	for rows.Next() {
		t, err := scanTag(rows)
		if err != nil {
			return nil, fmt.Errorf("tags: %w", err)
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// TagEventShare is how many events carry a tag with one combination of what decides who
// may see an event: its owner, distribution, sharing group and published (in Row).
type TagEventShare struct {
	Tag    TagID
	Row    IndexRow
	Events int64
}

// TagEventShares counts the events carrying each tag (only tag, when not 0) by owner,
// distribution, sharing group and published, so that the gate counts the events a viewer
// may see without reading them.
func (s *Store) TagEventShares(ctx context.Context, tag TagID) ([]TagEventShare, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT et.tag_id, e.org_id, o.uuid, e.distribution, ifnull(e.sharing_group_id, 0), e.published,
		count(*) FROM event_tags et JOIN events e ON e.id = et.event_id JOIN orgs o ON o.id = e.org_id
		WHERE ?1 = 0 OR et.tag_id = ?1 GROUP BY 1, 2, 3, 4, 5, 6`, tag)
	if err != nil {
		return nil, fmt.Errorf("tag counts: %w", err)
	}
	defer rows.Close()
	var out []TagEventShare
	for rows.Next() {
		var x TagEventShare
		if err := rows.Scan(&x.Tag, &x.Row.OrgID, &x.Row.OrgUUID, &x.Row.Distribution, &x.Row.SharingGroupID, &x.Row.Published,
			&x.Events); err != nil {
			return nil, fmt.Errorf("tag counts: %w", err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// TagID is a tag's local id.
type TagID int64

// ResolveTag finds the tag a person or a peer names by id or name (case-insensitive;
// ErrNotFound when there is none).
func (s *Store) ResolveTag(ctx context.Context, ref string) (TagID, error) {
	return resolve[TagID](ctx, s.read, tagRefs, ref)
}

// Tag reads a tag.
func (s *Store) Tag(ctx context.Context, id TagID) (*TagRow, error) {
	return tagWhere(ctx, s.read, "id", id)
}

// TagByName reads the tag of that name (ErrNotFound when there is none); a name is never
// taken for an id, as ResolveTag may.
func (s *Store) TagByName(ctx context.Context, name string) (*TagRow, error) {
	return tagWhere(ctx, s.read, "name", name)
}

// tagWhere reads the tag whose column col is key.
func tagWhere(ctx context.Context, q queryer, col string, key any) (*TagRow, error) {
	return readRow(ctx, q, "tag", key, `SELECT `+tagCols+` FROM tags t WHERE t.`+col+` = ?`, scanTag)
}

// AddTag creates a tag; a tag of that name (case-insensitive) is ErrConflict.
func (s *Store) AddTag(ctx context.Context, t TagRow) (*TagRow, error) {
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" {
		return nil, fmt.Errorf("%w: a tag needs a name", ErrInvalidEvent)
	}
	var out *TagRow
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tagWhere(ctx, tx, "name", t.Name); err == nil {
			return fmt.Errorf("tag %q: %w", t.Name, ErrConflict)
		}
		id, err := insertTag(ctx, tx, &t)
		if err != nil {
			return err
		}
		out, err = tagWhere(ctx, tx, "id", id)
		return err
	})
	return out, err
}

// EditTag changes a tag's name, colour and flags (MISP's tags/edit); the events and
// attributes that carry it carry it renamed. Another tag of the new name (case-insensitive)
// is ErrConflict; a missing tag ErrNotFound.
func (s *Store) EditTag(ctx context.Context, t TagRow) (*TagRow, error) {
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" {
		return nil, fmt.Errorf("%w: a tag needs a name", ErrInvalidEvent)
	}
	var out *TagRow
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if other, err := tagWhere(ctx, tx, "name", t.Name); err == nil && other.ID != t.ID {
			return fmt.Errorf("tag %q: %w", t.Name, ErrConflict)
		}
		r, err := tx.ExecContext(ctx, `UPDATE tags SET name = ?, colour = ?, exportable = ?, hide_tag = ?, numerical_value = ?,
			is_galaxy = ?, local_only = ?, org_id = ?, user_id = ? WHERE id = ?`, t.Name, t.Colour, boolInt(t.Exportable),
			boolInt(t.HideTag), nullText(t.NumericalValue), boolInt(t.IsGalaxy || strings.HasPrefix(t.Name, "misp-galaxy:")),
			boolInt(t.LocalOnly), t.OrgID, t.UserID, t.ID)
		if err != nil {
			return fmt.Errorf("tag %d: %w", t.ID, err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("tag %d: %w", t.ID, ErrNotFound)
		}
		out, err = tagWhere(ctx, tx, "id", t.ID)
		return err
	})
	return out, err
}

func insertTag(ctx context.Context, tx *sql.Tx, t *TagRow) (TagID, error) {
	if t.Colour == "" {
		t.Colour = "#" + fmt.Sprintf("%06x", fnv24(t.Name))
	}
	r, err := tx.ExecContext(ctx, `INSERT INTO tags (name, colour, exportable, hide_tag, numerical_value, is_galaxy, is_custom_galaxy,
		local_only, org_id, user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, t.Name, t.Colour, boolInt(t.Exportable), boolInt(t.HideTag),
		nullText(t.NumericalValue), boolInt(t.IsGalaxy || strings.HasPrefix(t.Name, "misp-galaxy:")), boolInt(t.IsCustomGalaxy),
		boolInt(t.LocalOnly), t.OrgID, t.UserID)
	if err != nil {
		return 0, fmt.Errorf("tag %q: %w", t.Name, err)
	}
	id, err := r.LastInsertId()
	return TagID(id), err
}

// fnv24 is a stable colour for a tag created without one.
func fnv24(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h & 0xffffff
}

// DeleteTag removes a tag and every link to it.
func (s *Store) DeleteTag(ctx context.Context, id TagID) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		t, err := tagWhere(ctx, tx, "id", id)
		if err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM event_tags WHERE tag_id = ?`, `DELETE FROM attribute_tags WHERE tag_id = ?`,
			`UPDATE feeds SET tag_id = NULL WHERE tag_id = ?`, `DELETE FROM tags WHERE id = ?`} {
			if _, err := tx.ExecContext(ctx, q, t.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetLocalTag attaches (attach) or detaches a local tag to an event (attributeID 0) or
// one of its attributes. Local tags never travel, so the event's timestamp stays. An
// unknown tag is created when attaching. It reports whether anything changed.
func (s *Store) SetLocalTag(ctx context.Context, eventID EventID, attributeID int64, tagName string, attach bool) (bool, error) {
	changed := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var tagID TagID
		t, err := tagWhere(ctx, tx, "name", strings.TrimSpace(tagName))
		switch {
		case err == nil:
			tagID = t.ID
		case errors.Is(err, ErrNotFound) && attach:
			if tagID, err = insertTag(ctx, tx, &TagRow{Name: tagName, Exportable: true}); err != nil {
				return err
			}
		case errors.Is(err, ErrNotFound):
			return nil
		default:
			return err
		}
		var r sql.Result
		switch {
		case attach && attributeID == 0:
			r, err = tx.ExecContext(ctx, `INSERT INTO event_tags (event_id, tag_id, local) VALUES (?, ?, 1) ON CONFLICT DO NOTHING`, eventID, tagID)
		case attach:
			r, err = tx.ExecContext(ctx, `INSERT INTO attribute_tags (attribute_id, event_id, tag_id, local) VALUES (?, ?, ?, 1) ON CONFLICT DO NOTHING`,
				attributeID, eventID, tagID)
		case attributeID == 0:
			r, err = tx.ExecContext(ctx, `DELETE FROM event_tags WHERE event_id = ? AND tag_id = ? AND local = 1`, eventID, tagID)
		default:
			r, err = tx.ExecContext(ctx, `DELETE FROM attribute_tags WHERE attribute_id = ? AND tag_id = ? AND local = 1`, attributeID, tagID)
		}
		if err != nil {
			return err
		}
		n, _ := r.RowsAffected()
		changed = n > 0
		return nil
	})
	return changed, err
}

// TagNames lists the names of every tag known here, sorted.
func (s *Store) TagNames(ctx context.Context) ([]string, error) {
	return s.names(ctx, `SELECT name FROM tags ORDER BY name COLLATE NOCASE`)
}

// EventTagsOf returns the tags of the given events, by event id.
func (s *Store) EventTagsOf(ctx context.Context, ids []EventID) (map[EventID][]misp.Tag, error) {
	out := map[EventID][]misp.Tag{}
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
				eid        EventID
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
