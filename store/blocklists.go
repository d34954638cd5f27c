package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"mispdesk/store/misp"
)

// EventBlock keeps one event out of this instance: never added by pull, push or import
// (MISP's event blocklist).
type EventBlock struct {
	ID        int64  `json:"id"`
	EventUUID string `json:"event_uuid"`
	Created   int64  `json:"created"`
	EventInfo string `json:"event_info"`
	EventOrgc string `json:"event_orgc"`
	Comment   string `json:"comment"`
}

// OrgBlock keeps every event created by one organisation out (MISP's org blocklist,
// matched on the event's Orgc UUID).
type OrgBlock struct {
	ID      int64  `json:"id"`
	OrgUUID string `json:"org_uuid"`
	Created int64  `json:"created"`
	OrgName string `json:"org_name"`
	Comment string `json:"comment"`
}

// AnalystDataBlock keeps one note, opinion or relationship out of this instance once
// deleted here: never taken back by pull, push or in an event (MISP's
// AnalystDataBlocklist).
type AnalystDataBlock struct {
	ID              int64  `json:"id"`
	AnalystDataUUID string `json:"analyst_data_uuid"`
	Created         int64  `json:"created"`
	AnalystDataInfo string `json:"analyst_data_info"`
	AnalystDataOrgc string `json:"analyst_data_orgc"`
	Comment         string `json:"comment"`
}

// BlocklistSets are the blocked event, organisation and analyst data UUIDs (lower case),
// as the policy package takes them.
type BlocklistSets struct {
	Events      map[string]struct{}
	Orgs        map[string]struct{}
	AnalystData map[string]struct{}
}

// blocklist describes one of the three tables, so all share their code.
type blocklist struct {
	what, table, uuidColumn string
}

var (
	eventBlocklist       = blocklist{"event blocklist", "event_blocklist", "event_uuid"}
	orgBlocklist         = blocklist{"organisation blocklist", "org_blocklist", "org_uuid"}
	analystDataBlocklist = blocklist{"analyst data blocklist", "analyst_data_blocklist", "analyst_data_uuid"}
)

func (b blocklist) add(ctx context.Context, s *Store, uuid string, insert func(tx *sql.Tx, uuid string, created int64) (sql.Result, error)) (int64, int64, error) {
	uuid = strings.ToLower(strings.TrimSpace(uuid))
	if !misp.IsUUID(uuid) {
		return 0, 0, fmt.Errorf("add to %s: %q is not a UUID", b.what, uuid)
	}
	created := s.now().Unix()
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := insert(tx, uuid, created)
		if err != nil {
			return fmt.Errorf("add %s to %s: %w", uuid, b.what, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("add %s to %s: %w", uuid, b.what, ErrConflict)
		}
		id, err = res.LastInsertId()
		return err
	})
	return id, created, err
}

func (b blocklist) delete(ctx context.Context, s *Store, uuid string) error {
	uuid = strings.ToLower(strings.TrimSpace(uuid))
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM `+b.table+` WHERE `+b.uuidColumn+` = ?`, uuid)
		if err != nil {
			return fmt.Errorf("remove %s from %s: %w", uuid, b.what, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("remove %q from %s: %w", uuid, b.what, ErrNotFound)
		}
		return forgetServerState(ctx, tx, 0) // what was kept out may now be pulled
	})
}

// update changes the descriptive columns (set, "col = ?, …") of the entry with id; its UUID
// never changes. A missing entry is ErrNotFound.
func (b blocklist) update(ctx context.Context, s *Store, id int64, set string, args ...any) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE `+b.table+` SET `+set+` WHERE id = ?`, append(args, id)...)
		if err != nil {
			return fmt.Errorf("edit %s entry %d: %w", b.what, id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("edit %s entry %d: %w", b.what, id, ErrNotFound)
		}
		return nil
	})
}

func (b blocklist) has(ctx context.Context, s *Store, uuid string) (bool, error) {
	var one int
	err := s.read.QueryRowContext(ctx, `SELECT 1 FROM `+b.table+` WHERE `+b.uuidColumn+` = ?`,
		strings.ToLower(strings.TrimSpace(uuid))).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check %s for %s: %w", b.what, uuid, err)
	}
	return true, nil
}

func (b blocklist) set(ctx context.Context, s *Store) (map[string]struct{}, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+b.uuidColumn+` FROM `+b.table)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", b.what, err)
	}
	defer rows.Close()
	set := map[string]struct{}{}
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, fmt.Errorf("read %s: %w", b.what, err)
		}
		set[u] = struct{}{}
	}
	return set, rows.Err()
}

// AddEventBlock puts an event on the blocklist; UUID is required, the rest is for people.
func (s *Store) AddEventBlock(ctx context.Context, e EventBlock) (*EventBlock, error) {
	var err error
	e.ID, e.Created, err = eventBlocklist.add(ctx, s, e.EventUUID, func(tx *sql.Tx, uuid string, created int64) (sql.Result, error) {
		e.EventUUID = uuid
		return tx.ExecContext(ctx, `INSERT INTO event_blocklist (event_uuid, created, event_info, event_orgc, comment)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (event_uuid) DO NOTHING`, uuid, created, e.EventInfo, e.EventOrgc, e.Comment)
	})
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// EventBlocks lists the event blocklist, newest first.
func (s *Store) EventBlocks(ctx context.Context) ([]EventBlock, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, event_uuid, created, event_info, event_orgc, comment FROM event_blocklist ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list event blocklist: %w", err)
	}
	defer rows.Close()
	var out []EventBlock
	for rows.Next() {
		var e EventBlock
		if err := rows.Scan(&e.ID, &e.EventUUID, &e.Created, &e.EventInfo, &e.EventOrgc, &e.Comment); err != nil {
			return nil, fmt.Errorf("list event blocklist: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// EditEventBlock changes an entry's info, creator organisation and comment (MISP's
// eventBlocklists/edit); its UUID stays.
func (s *Store) EditEventBlock(ctx context.Context, e EventBlock) error {
	return eventBlocklist.update(ctx, s, e.ID, `event_info = ?, event_orgc = ?, comment = ?`, e.EventInfo, e.EventOrgc, e.Comment)
}

// DeleteEventBlock takes an event UUID off the blocklist.
func (s *Store) DeleteEventBlock(ctx context.Context, eventUUID string) error {
	return eventBlocklist.delete(ctx, s, eventUUID)
}

// EventBlocked reports whether the event UUID is on the blocklist.
func (s *Store) EventBlocked(ctx context.Context, eventUUID string) (bool, error) {
	return eventBlocklist.has(ctx, s, eventUUID)
}

// AddOrgBlock puts an organisation on the blocklist; UUID is required.
func (s *Store) AddOrgBlock(ctx context.Context, o OrgBlock) (*OrgBlock, error) {
	var err error
	o.ID, o.Created, err = orgBlocklist.add(ctx, s, o.OrgUUID, func(tx *sql.Tx, uuid string, created int64) (sql.Result, error) {
		o.OrgUUID = uuid
		return tx.ExecContext(ctx, `INSERT INTO org_blocklist (org_uuid, created, org_name, comment)
			VALUES (?, ?, ?, ?) ON CONFLICT (org_uuid) DO NOTHING`, uuid, created, o.OrgName, o.Comment)
	})
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// OrgBlocks lists the organisation blocklist, newest first.
func (s *Store) OrgBlocks(ctx context.Context) ([]OrgBlock, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, org_uuid, created, org_name, comment FROM org_blocklist ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list organisation blocklist: %w", err)
	}
	defer rows.Close()
	var out []OrgBlock
	for rows.Next() {
		var o OrgBlock
		if err := rows.Scan(&o.ID, &o.OrgUUID, &o.Created, &o.OrgName, &o.Comment); err != nil {
			return nil, fmt.Errorf("list organisation blocklist: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// EditOrgBlock changes an entry's organisation name and comment (MISP's orgBlocklists/edit);
// its UUID stays.
func (s *Store) EditOrgBlock(ctx context.Context, o OrgBlock) error {
	return orgBlocklist.update(ctx, s, o.ID, `org_name = ?, comment = ?`, o.OrgName, o.Comment)
}

// DeleteOrgBlock takes an organisation UUID off the blocklist.
func (s *Store) DeleteOrgBlock(ctx context.Context, orgUUID string) error {
	return orgBlocklist.delete(ctx, s, orgUUID)
}

// OrgBlocked reports whether the organisation UUID is on the blocklist.
func (s *Store) OrgBlocked(ctx context.Context, orgUUID string) (bool, error) {
	return orgBlocklist.has(ctx, s, orgUUID)
}

// AddAnalystDataBlock puts a note, opinion or relationship UUID on the blocklist; UUID is
// required, the rest is for people.
func (s *Store) AddAnalystDataBlock(ctx context.Context, b AnalystDataBlock) (*AnalystDataBlock, error) {
	var err error
	b.ID, b.Created, err = analystDataBlocklist.add(ctx, s, b.AnalystDataUUID, func(tx *sql.Tx, uuid string, created int64) (sql.Result, error) {
		b.AnalystDataUUID = uuid
		return insertAnalystDataBlock(ctx, tx, b, created)
	})
	if err != nil {
		return nil, err
	}
	return &b, nil
}

func insertAnalystDataBlock(ctx context.Context, tx *sql.Tx, b AnalystDataBlock, created int64) (sql.Result, error) {
	return tx.ExecContext(ctx, `INSERT INTO analyst_data_blocklist (analyst_data_uuid, created, analyst_data_info, analyst_data_orgc, comment)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (analyst_data_uuid) DO NOTHING`,
		strings.ToLower(b.AnalystDataUUID), created, b.AnalystDataInfo, b.AnalystDataOrgc, b.Comment)
}

// AnalystDataBlocks lists the analyst data blocklist, newest first.
func (s *Store) AnalystDataBlocks(ctx context.Context) ([]AnalystDataBlock, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, analyst_data_uuid, created, analyst_data_info, analyst_data_orgc, comment
		FROM analyst_data_blocklist ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list analyst data blocklist: %w", err)
	}
	defer rows.Close()
	var out []AnalystDataBlock
	for rows.Next() {
		var b AnalystDataBlock
		if err := rows.Scan(&b.ID, &b.AnalystDataUUID, &b.Created, &b.AnalystDataInfo, &b.AnalystDataOrgc, &b.Comment); err != nil {
			return nil, fmt.Errorf("list analyst data blocklist: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// EditAnalystDataBlock changes an entry's info, creator organisation and comment (MISP's
// analystDataBlocklists/edit); its UUID stays.
func (s *Store) EditAnalystDataBlock(ctx context.Context, b AnalystDataBlock) error {
	return analystDataBlocklist.update(ctx, s, b.ID, `analyst_data_info = ?, analyst_data_orgc = ?, comment = ?`,
		b.AnalystDataInfo, b.AnalystDataOrgc, b.Comment)
}

// DeleteAnalystDataBlock takes a note, opinion or relationship UUID off the blocklist.
func (s *Store) DeleteAnalystDataBlock(ctx context.Context, uuid string) error {
	return analystDataBlocklist.delete(ctx, s, uuid)
}

// Blocklists reads the three blocklists as UUID sets.
func (s *Store) Blocklists(ctx context.Context) (*BlocklistSets, error) {
	events, err := eventBlocklist.set(ctx, s)
	if err != nil {
		return nil, err
	}
	orgs, err := orgBlocklist.set(ctx, s)
	if err != nil {
		return nil, err
	}
	analyst, err := analystDataBlocklist.set(ctx, s)
	if err != nil {
		return nil, err
	}
	return &BlocklistSets{Events: events, Orgs: orgs, AnalystData: analyst}, nil
}
