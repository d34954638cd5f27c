package store

// Queries and writes of the REST API's restSearch and element endpoints
// (syncer/mispapi): which events hold matching attributes, which event an attribute,
// object, report or reference belongs to, and the deletions MISP does in place.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"mispdesk/store/misp"
)

// AttributeFilter narrows a search to events holding at least one attribute that matches
// every field set. Values match value1, value2 or the whole composite value; a value with
// % is a LIKE pattern (MISP's wildcard). Zero fields do not filter.
type AttributeFilter struct {
	Values, ValuesNOT         []string
	Types, TypesNOT           []string
	Categories, CategoriesNOT []string
	UUIDs                     []string // attribute UUIDs or ids
	ToIDs                     *bool
	// By default only live attributes match; WithDeleted matches both, OnlyDeleted only
	// deleted ones (MISP's deleted 0, [0,1] and 1).
	OnlyDeleted, WithDeleted bool
	TimestampFrom            int64
	TimestampTo              int64
}

// IsZero reports whether the filter restricts nothing.
func (f *AttributeFilter) IsZero() bool {
	return len(f.Values) == 0 && len(f.ValuesNOT) == 0 && len(f.Types) == 0 && len(f.TypesNOT) == 0 &&
		len(f.Categories) == 0 && len(f.CategoriesNOT) == 0 && len(f.UUIDs) == 0 && f.ToIDs == nil &&
		!f.OnlyDeleted && f.TimestampFrom == 0 && f.TimestampTo == 0
}

// SearchQuery is an events or attributes restSearch: the event filters of an index, the
// attribute filters, and tags matched on the event or on any of its attributes (MISP's
// restSearch "tags").
type SearchQuery struct {
	Event     IndexQuery
	Attribute AttributeFilter
	// AnyTagsOR, AnyTagsAND and AnyTagsNOT match a tag of the event or of one of its
	// attributes; NOT excludes events carrying the tag themselves.
	AnyTagsOR, AnyTagsAND, AnyTagsNOT []string
}

func valueConds(col1, col2 string, vals []string) (string, []any) {
	var parts []string
	var args []any
	for _, v := range vals {
		switch a, b, composite := strings.Cut(v, "|"); {
		case strings.Contains(v, "%") && likePrefix(v) != "":
			// a pattern whose fixed start has no letters (an address, a hash prefix in
			// digits) is the same case-sensitive or not: read it through the value index
			lo := likePrefix(v)
			hi := lo[:len(lo)-1] + string(lo[len(lo)-1]+1)
			parts = append(parts, `((`+col1+` >= ? AND `+col1+` < ? AND (`+col1+` LIKE ? OR `+col1+` || '|' || `+col2+` LIKE ?)) OR (`+col2+` >= ? AND `+col2+` < ? AND `+col2+` <> '' AND `+col2+` LIKE ?))`)
			args = append(args, lo, hi, v, v, lo, hi, v)
		case strings.Contains(v, "%"):
			parts = append(parts, `(`+col1+` LIKE ? OR `+col2+` LIKE ? OR (`+col2+` <> '' AND `+col1+` || '|' || `+col2+` LIKE ?))`)
			args = append(args, v, v, v)
		case composite:
			parts = append(parts, `((`+col1+` = ? AND `+col2+` = ?) OR `+col1+` = ?)`)
			args = append(args, a, b, v)
		default:
			parts = append(parts, `(`+col1+` = ? OR (`+col2+` = ? AND `+col2+` <> ''))`)
			args = append(args, v, v)
		}
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

// likePrefix is the fixed start of a LIKE pattern when it is non-empty, holds neither
// letters, '_', '|' nor non-ASCII, and does not end in a byte that cannot be incremented.
func likePrefix(p string) string {
	i := strings.IndexByte(p, '%')
	if i <= 0 {
		return ""
	}
	pre := p[:i]
	for j := 0; j < len(pre); j++ {
		ch := pre[j]
		if ch >= 0x7f || ch == '_' || ch == '|' || (ch|0x20 >= 'a' && ch|0x20 <= 'z') {
			return ""
		}
	}
	return pre
}

// attributeConds is the WHERE over attributes a for the filter.
func attributeConds(f *AttributeFilter) ([]string, []any) {
	var conds []string
	var args []any
	add := func(c string, a ...any) { conds = append(conds, c); args = append(args, a...) }
	if len(f.Values) > 0 {
		c, a := valueConds("a.value1", "a.value2", f.Values)
		add(c, a...)
	}
	if len(f.ValuesNOT) > 0 {
		c, a := valueConds("a.value1", "a.value2", f.ValuesNOT)
		add(`NOT `+c, a...)
	}
	in := func(col string, vals []string, not bool) {
		if len(vals) == 0 {
			return
		}
		a := make([]any, len(vals))
		for i, v := range vals {
			a[i] = v
		}
		op := ` IN (`
		if not {
			op = ` NOT IN (`
		}
		add(col+op+placeholders(len(vals))+`)`, a...)
	}
	in("a.type", f.Types, false)
	in("a.type", f.TypesNOT, true)
	in("a.category", f.Categories, false)
	in("a.category", f.CategoriesNOT, true)
	if len(f.UUIDs) > 0 {
		ids, uuids := splitRefs(f.UUIDs)
		add(`(a.id IN (`+placeholders(len(ids))+`) OR a.uuid IN (`+placeholders(len(uuids))+`))`, append(ids, uuids...)...)
	}
	if f.ToIDs != nil {
		add(`a.to_ids = ?`, boolInt(*f.ToIDs))
	}
	switch {
	case f.OnlyDeleted:
		add(`a.deleted = 1`)
	case !f.WithDeleted:
		add(`a.deleted = 0`)
	}
	if f.TimestampFrom != 0 {
		add(`a.timestamp >= ?`, f.TimestampFrom)
	}
	if f.TimestampTo != 0 {
		add(`a.timestamp <= ?`, f.TimestampTo)
	}
	return conds, args
}

// commonTagLinks is how many links make a tag common: past it, tag conditions are
// checked per event (EXISTS through the link's unique index) while events are read
// newest first, which stops at the page; below it, the few linked events are collected
// first (IN), which avoids walking every event for a rare tag.
const commonTagLinks = 5000

// tagLinks counts the event and attribute links of the tags named (or given by id).
func (s *Store) tagLinks(ctx context.Context, tags []string) int64 {
	ids, args := tagIDs(tags)
	var n int64
	if err := s.read.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM event_tags WHERE tag_id IN (`+ids+`)) + (SELECT count(*) FROM attribute_tags WHERE tag_id IN (`+ids+`))`,
		append(args, args...)...).Scan(&n); err != nil {
		return commonTagLinks // unknown: the form that is never pathological
	}
	return n
}

// anyTagCondExists and anyTagCond are the same condition over events e, "carries
// one of tags itself or on an attribute", in the two forms commonTagLinks chooses
// between.
func anyTagCondExists(tags []string) (string, []any) {
	ids, args := tagIDs(tags)
	c := `(EXISTS (SELECT 1 FROM event_tags et WHERE et.event_id = e.id AND et.tag_id IN (` + ids + `)) OR EXISTS (SELECT 1 FROM attribute_tags at WHERE at.event_id = e.id AND at.tag_id IN (` + ids + `)))`
	return c, append(args, args...)
}

func anyTagCond(tags []string) (string, []any) {
	ids, args := tagIDs(tags)
	c := `(e.id IN (SELECT event_id FROM event_tags WHERE tag_id IN (` + ids + `)) OR e.id IN (SELECT event_id FROM attribute_tags WHERE tag_id IN (` + ids + `)))`
	return c, append(args, args...)
}

// SearchEvents streams the index rows of the events matching q, newest first (or oldest
// first with q.Event.Ascending), until fn returns false.
func (s *Store) SearchEvents(ctx context.Context, q SearchQuery, fn func(*IndexRow) bool) error {
	conds, args := indexConds(q.Event)
	if !q.Attribute.IsZero() {
		ac, aa := attributeConds(&q.Attribute)
		conds = append(conds, `e.id IN (SELECT a.event_id FROM attributes a WHERE `+strings.Join(ac, " AND ")+`)`)
		args = append(args, aa...)
	}
	tagCond := func(tags []string) (string, []any) {
		if s.tagLinks(ctx, tags) >= commonTagLinks {
			return anyTagCondExists(tags)
		}
		return anyTagCond(tags)
	}
	if len(q.AnyTagsOR) > 0 {
		c, a := tagCond(q.AnyTagsOR)
		conds = append(conds, c)
		args = append(args, a...)
	}
	for _, t := range q.AnyTagsAND {
		c, a := tagCond([]string{t})
		conds = append(conds, c)
		args = append(args, a...)
	}
	if len(q.AnyTagsNOT) > 0 {
		c, a := eventsTagged(q.AnyTagsNOT)
		conds = append(conds, `e.id NOT IN (`+c+`)`)
		args = append(args, a...)
	}
	return s.eventIndex(ctx, conds, args, q.Event.Ascending, q.Event.Minimal, fn)
}

// Element tables the API addresses by id or UUID.
const (
	ElemAttribute = "attributes"
	ElemObject    = "objects"
	ElemReport    = "event_reports"
	ElemReference = "object_references"
	ElemProposal  = "shadow_attributes"
)

// ElementRef is where an element lives: its id, UUID and event.
type ElementRef struct {
	ID       int64
	UUID     string
	EventID  EventID
	ObjectID int64 // attributes and references: the object they belong to, 0 for none
	Deleted  bool
	// Path is the element's sharing below its event, outermost first: an object attribute
	// has its object's and its own, a reference its object's, an attribute, object or
	// report its own; a proposal none (it is judged by its attribute, OldID).
	Path []ElementSharing
	// Target is, for a proposal, the UUID of the attribute it would change ("" for a new
	// attribute).
	Target string
}

// ElementSharing is one element's distribution and, for 4, its sharing group's local id.
type ElementSharing struct {
	Distribution   misp.Distribution
	SharingGroupID SharingGroupID
}

// ResolveElement finds the attribute, object, report, reference or proposal (table) a
// person or a peer names by id or UUID, with where it sits and its sharing.
func (s *Store) ResolveElement(ctx context.Context, table, ref string) (*ElementRef, error) {
	const own = `, t.distribution, ifnull(t.sharing_group_id, 0)`
	const viaObject = ` LEFT JOIN objects o ON o.id = t.object_id`
	const objectSharing = `, ifnull(o.distribution, -1), ifnull(o.sharing_group_id, 0)`
	cols, join, path := `0, t.deleted, ''`+own, "", 1
	switch table {
	case ElemAttribute:
		cols, join, path = `ifnull(t.object_id, 0), t.deleted, ''`+objectSharing+own, viaObject, 2
	case ElemReference:
		cols, join = `t.object_id, t.deleted, ''`+objectSharing, viaObject
	case ElemObject, ElemReport:
	case ElemProposal:
		cols, path = `0, t.deleted, t.attribute_uuid`, 0
	default:
		return nil, fmt.Errorf("element table %q: %w", table, ErrNotFound)
	}
	id, err := resolve[int64](ctx, s.read, refKind{kind: table, table: table, uuid: true}, ref)
	if err != nil {
		return nil, err
	}
	e := ElementRef{Path: make([]ElementSharing, path)}
	dest := []any{&e.ID, &e.UUID, &e.EventID, &e.ObjectID, &e.Deleted, &e.Target}
	for i := range e.Path {
		dest = append(dest, &e.Path[i].Distribution, &e.Path[i].SharingGroupID)
	}
	err = s.read.QueryRowContext(ctx, `SELECT t.id, t.uuid, t.event_id, `+cols+` FROM `+table+` t`+join+` WHERE t.id = ?`, id).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", table, ref, err)
	}
	if len(e.Path) == 2 && e.ObjectID == 0 {
		e.Path = e.Path[1:] // an attribute outside any object
	}
	return &e, nil
}

// bumpEvent gives an event a newer timestamp and unpublishes it, as MISP does when one of
// its elements changes in place.
func (s *Store) bumpEvent(ctx context.Context, tx *sql.Tx, eventID int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE events SET timestamp = max(timestamp + 1, ?), published = 0,
		attribute_count = (SELECT count(*) FROM attributes WHERE event_id = ?1 AND deleted = 0) WHERE id = ?1`, s.now().Unix(), eventID)
	return err
}

// HardDeleteElement removes an attribute, object (with its attributes and references),
// report or reference for good (MISP's hard delete: nothing left for sync to carry).
func (s *Store) HardDeleteElement(ctx context.Context, table string, id int64) error {
	switch table {
	case ElemAttribute, ElemObject, ElemReport, ElemReference:
	default:
		return fmt.Errorf("element table %q: %w", table, ErrNotFound)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var eventID int64
		if err := tx.QueryRowContext(ctx, `SELECT event_id FROM `+table+` WHERE id = ?`, id).Scan(&eventID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if table == ElemAttribute {
			if _, err := tx.ExecContext(ctx, `DELETE FROM shadow_attributes WHERE attribute_uuid = (SELECT uuid FROM attributes WHERE id = ?)`, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id = ?`, id); err != nil {
			return err
		}
		return s.bumpEvent(ctx, tx, eventID)
	})
}

// DeleteEvent removes an event with everything attached to it, and the pushes queued for
// it that no worker holds. With block it also puts the UUID on the event blocklist (MISP's
// "blocklist on delete"), in the same transaction.
func (s *Store) DeleteEvent(ctx context.Context, id EventID, block bool, comment string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var uuid, info, orgc string
		if err := eventUUID(ctx, tx, id, &uuid); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT e.info, o.name FROM events e JOIN orgs o ON o.id = e.orgc_id WHERE e.id = ?`, id).Scan(&info, &orgc); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM analyst_data WHERE object_uuid IN (SELECT uuid FROM attributes WHERE event_id = ?1 UNION SELECT uuid FROM objects WHERE event_id = ?1)`,
			`DELETE FROM events WHERE id = ?1`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM analyst_data WHERE object_uuid = ?`, uuid); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE event_uuid = ? AND lease_owner = ''`, uuid); err != nil {
			return err
		}
		if err := forgetServerState(ctx, tx, 0); err != nil {
			return err
		}
		if block {
			_, err := tx.ExecContext(ctx, `INSERT INTO event_blocklist (event_uuid, created, event_info, event_orgc, comment)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (event_uuid) DO NOTHING`, uuid, s.now().Unix(), info, orgc, comment)
			return err
		}
		return nil
	})
}
