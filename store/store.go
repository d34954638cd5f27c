// Package store keeps mispdesk's data in one SQLite file: MISP's data model, the sync
// links, the outbox and the sync log. All SQL of mispdesk lives here.
//
// One process may write at a time (SQLite's rule); a Store serialises its own writes on a
// single connection and reads on a small pool, with WAL so readers never wait for the
// writer. Two processes may share a file: writes wait up to the busy timeout.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrNotFound is returned when a record asked for by id, UUID or name does not exist.
var ErrNotFound = errors.New("not found")

// ErrInUse is returned when a record cannot be removed while others depend on it.
var ErrInUse = errors.New("still in use")

// ErrSchemaTooNew is returned when the database was written by a newer mispdesk.
var ErrSchemaTooNew = errors.New("database schema is newer than this mispdesk")

// Store is an open mispdesk database.
type Store struct {
	path      string
	write     *sql.DB // one connection: SQLite allows one writer
	read      *sql.DB
	now       func() time.Time
	stmts     map[string]*sql.Stmt // see prepared
	readStmts map[string]*sql.Stmt
}

// Option changes how Open sets up a Store.
type Option func(*Store)

// WithClock makes the store read the time from now (tests use a fixed clock).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// Open opens the database at path, creating it (and its directory) when missing, and
// brings its schema up to date. A database written by a newer mispdesk is refused.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	} else {
		f.Close()
	}
	s := &Store{path: path, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	var err error
	if s.write, err = openPool(path, true); err != nil {
		return nil, err
	}
	s.write.SetMaxOpenConns(1)
	if s.read, err = openPool(path, false); err != nil {
		s.write.Close()
		return nil, err
	}
	s.read.SetMaxOpenConns(4)
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := s.renewIndexGeneration(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := s.prepareAll(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return s, nil
}

func openPool(path string, writer bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "cache_size(-32768)") // 32 MiB per connection: indexes of a large store stay hot
	// Checkpoint every 32 MiB of WAL rather than 4: an index page changed by many small
	// transactions (one per event) is then copied back to the database once, not each time.
	q.Add("_pragma", "wal_autocheckpoint(8192)")
	q.Add("_pragma", "temp_store(MEMORY)") // savepoint journals stay off the disk
	q.Add("_pragma", "journal_size_limit(67108864)")
	if writer {
		// Take the write lock at BEGIN, so two processes never deadlock upgrading a read
		// lock; the busy timeout then queues them.
		q.Add("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	dsn := "file:" + path + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close releases the database.
func (s *Store) Close() error {
	var errs []error
	for _, pool := range []map[string]*sql.Stmt{s.stmts, s.readStmts} {
		for _, st := range pool {
			errs = append(errs, st.Close())
		}
	}
	if s.read != nil {
		errs = append(errs, s.read.Close())
	}
	if s.write != nil {
		errs = append(errs, s.write.Close())
	}
	return errors.Join(errs...)
}

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with its number", e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected number %d", m.name, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion is the schema version this mispdesk writes.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

// migrate applies the embedded migrations the database has not seen, each in its own
// transaction with the version bump, so a crash leaves the database at a known version.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	var have int
	if err := s.write.QueryRowContext(ctx, "PRAGMA user_version").Scan(&have); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if have > len(ms) {
		return fmt.Errorf("%w: the file is at schema version %d, this mispdesk knows up to %d; use a newer mispdesk", ErrSchemaTooNew, have, len(ms))
	}
	for _, m := range ms[have:] {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// tx runs fn in a write transaction, committing when fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) (err error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// nullID turns MISP's "0 means none" ids into SQL NULL.
func nullID[T ~int64](id T) sql.NullInt64 { return sql.NullInt64{Int64: int64(id), Valid: id != 0} }

func nullText(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func (s *Store) names(ctx context.Context, q string) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list names: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n sql.NullString
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list names: %w", err)
		}
		out = append(out, n.String)
	}
	return out, rows.Err()
}

func placeholders(n int) string {
	if n == 0 {
		return "NULL"
	}
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
