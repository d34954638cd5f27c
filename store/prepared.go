package store

import (
	"context"
	"database/sql"
	"fmt"
)

// preparedSQL and preparedReadSQL list the statements of the hot paths: writing an event
// and reading one. SQLite spends more time parsing a statement than running a one-row
// insert or lookup, so these are prepared once, when the store opens (never later: a
// preparation needs a connection, and a goroutine holding one must not wait for another);
// a transaction then binds them to itself with Tx.StmtContext, which reuses the
// preparation of its connection.
var preparedSQL, preparedReadSQL []string

// prepared registers a statement of the write path for preparation at Open.
func prepared(query string) string {
	preparedSQL = append(preparedSQL, query)
	return query
}

// preparedRead registers a statement of the read path for preparation at Open.
func preparedRead(query string) string {
	preparedReadSQL = append(preparedReadSQL, query)
	return query
}

func (s *Store) prepareAll(ctx context.Context) error {
	var err error
	if s.stmts, err = prepareOn(ctx, s.write, preparedSQL); err != nil {
		return err
	}
	s.readStmts, err = prepareOn(ctx, s.read, preparedReadSQL)
	return err
}

func prepareOn(ctx context.Context, db *sql.DB, queries []string) (map[string]*sql.Stmt, error) {
	stmts := make(map[string]*sql.Stmt, len(queries))
	for _, q := range queries {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("prepare %.60s: %w", q, err)
		}
		stmts[q] = st
	}
	return stmts, nil
}

// txStmts binds the store's prepared statements to one transaction: those of the read
// pool for a read transaction, of the writer otherwise.
type txStmts struct {
	s   *Store
	ctx context.Context
	// quiet, when set, is ctx without its end, for a transaction begun under it: the
	// statements run under it while ctx lasts, and fail once ctx has ended. The driver
	// watches a context that can end with a goroutine per statement (database/sql another
	// per query of a transaction begun under one), which costs more than the one-row
	// insert or lookup most of these statements are.
	quiet context.Context
	tx    *sql.Tx
	read  bool
	bound map[string]*sql.Stmt
}

// runCtx is the context a statement runs under: quiet while ctx lasts, ctx itself once
// it has ended, so that the statement fails at once with ctx's error.
func (t *txStmts) runCtx() context.Context {
	if t.quiet == nil || t.ctx.Err() != nil {
		return t.ctx
	}
	return t.quiet
}

func (t *txStmts) stmt(query string) *sql.Stmt {
	if st, ok := t.bound[query]; ok {
		return st
	}
	pool := t.s.stmts
	if t.read {
		pool = t.s.readStmts
	}
	base, ok := pool[query]
	if !ok {
		return nil
	}
	if t.bound == nil {
		t.bound = map[string]*sql.Stmt{}
	}
	st := t.tx.StmtContext(t.runCtx(), base)
	t.bound[query] = st
	return st
}

func (t *txStmts) exec(query string, args ...any) (sql.Result, error) {
	if st := t.stmt(query); st != nil {
		return st.ExecContext(t.runCtx(), args...)
	}
	return t.tx.ExecContext(t.runCtx(), query, args...)
}

func (t *txStmts) query(query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(query); st != nil {
		return st.QueryContext(t.runCtx(), args...)
	}
	return t.tx.QueryContext(t.runCtx(), query, args...)
}

func (t *txStmts) queryRow(query string, args ...any) *sql.Row {
	if st := t.stmt(query); st != nil {
		return st.QueryRowContext(t.runCtx(), args...)
	}
	return t.tx.QueryRowContext(t.runCtx(), query, args...)
}
