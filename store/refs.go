package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"mispdesk/store/misp"
)

// refKind is how people and peers name the records of one kind: by local id (a number), by
// UUID when the kind has one, else by a name.
type refKind struct {
	kind  string // what an error calls one record
	table string
	uuid  bool   // a UUID names the row whose uuid column holds it (lower-cased)
	name  string // the column (may carry a COLLATE clause) a name matches; "": no names
}

var (
	eventRefs        = refKind{kind: "event", table: "events", uuid: true}
	orgRefs          = refKind{kind: "organisation", table: "orgs", uuid: true, name: "name"}
	serverRefs       = refKind{kind: "server", table: "servers", name: "name COLLATE NOCASE"}
	feedRefs         = refKind{kind: "feed", table: "feeds", name: "name COLLATE NOCASE"}
	userRefs         = refKind{kind: "user", table: "users", name: "email"}
	sharingGroupRefs = refKind{kind: "sharing group", table: "sharing_groups", uuid: true, name: "name COLLATE NOCASE"}
	tagRefs          = refKind{kind: "tag", table: "tags", name: "name"}
	roleRefs         = refKind{kind: "role", table: "roles", name: "name COLLATE NOCASE"}
	authKeyRefs      = refKind{kind: "auth key", table: "auth_keys", uuid: true}
	exclusionRefs    = refKind{kind: "correlation exclusion", table: "correlation_exclusions", name: "value"}
	sightingRefs     = refKind{kind: "sighting", table: "sightings", uuid: true}
	proposalRefs     = refKind{kind: "proposal", table: "shadow_attributes", uuid: true}
	galaxyRefs       = refKind{kind: "galaxy", table: "galaxies", uuid: true}
	analystDataRefs  = refKind{kind: "analyst data", table: "analyst_data", uuid: true}
	clusterRefs      = refKind{kind: "galaxy cluster", table: "galaxy_clusters", uuid: true} // old data has clusters sharing a UUID: the first is taken
)

// resolve is the local id of the record of kind k that ref names (trimmed): the row with
// that id when ref is a number, else the row with that UUID (the first, should several
// share it) or name. An error names the kind and the ref: ErrNotFound when there is none; a
// name several records share is refused.
func resolve[T ~int64](ctx context.Context, q queryer, k refKind, ref string) (T, error) {
	ref = strings.TrimSpace(ref)
	by, arg := k.name, any(ref)
	if n, err := strconv.ParseInt(ref, 10, 64); err == nil {
		by, arg = "id", n
	} else if k.uuid && misp.IsUUID(ref) {
		by, arg = "uuid", strings.ToLower(ref)
	}
	if by == "" {
		return 0, fmt.Errorf("%s %q: %w", k.kind, ref, ErrNotFound)
	}
	var id, n int64
	err := q.QueryRowContext(ctx, `SELECT id, count(*) OVER () FROM `+k.table+` WHERE `+by+` = ? ORDER BY id LIMIT 1`, arg).Scan(&id, &n)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("%s %q: %w", k.kind, ref, ErrNotFound)
	case err != nil:
		return 0, fmt.Errorf("%s %q: %w", k.kind, ref, err)
	case n > 1 && by == k.name:
		return 0, fmt.Errorf("%s %q: %d %ss have that name; give its id or uuid", k.kind, ref, n, k.kind)
	}
	return T(id), nil
}

// ReadByRef reads the record ref names: resolve finds its id once, read reads it by that id.
func ReadByRef[ID ~int64, R any](ctx context.Context, resolve func(context.Context, string) (ID, error),
	read func(context.Context, ID) (R, error), ref string) (R, error) {
	id, err := resolve(ctx, ref)
	if err != nil {
		var none R
		return none, err
	}
	return read(ctx, id)
}

// rowScanner is a row to scan (a *sql.Row or *sql.Rows).
type rowScanner = interface{ Scan(...any) error }

// readRow reads with scan the record query selects by key (a local id, or a column's
// value): ErrNotFound when there is none; an error names what and the key.
func readRow[T any](ctx context.Context, q queryer, what string, key any, query string, scan func(rowScanner) (*T, error)) (*T, error) {
	v, err := scan(q.QueryRowContext(ctx, query, key))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("%s %v: %w", what, key, err)
	}
	return v, nil
}

// scanDest scans a record that lists where its columns go (dest).
func scanDest[T any, P interface {
	*T
	dest() []any
}](row rowScanner) (*T, error) {
	var v T
	return &v, row.Scan(P(&v).dest()...)
}

// deleteByID deletes the record of table with that local id (a what); ErrNotFound when
// there is none.
func deleteByID[ID ~int64](ctx context.Context, s *Store, what, table string, id ID) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id = ?`, id)
		if err == nil {
			if n, _ := r.RowsAffected(); n == 0 {
				err = ErrNotFound
			}
		}
		if err != nil {
			return fmt.Errorf("delete %s %d: %w", what, id, err)
		}
		return nil
	})
}
