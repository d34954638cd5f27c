package store

import (
	"context"
	"database/sql"
	"fmt"
)

// preparedSQL lists the statements of the hot write paths. SQLite spends more time parsing
// a statement than running a one-row insert, so these are prepared once, when the store
// opens, on the single writer connection; a transaction then binds them to itself with
// Tx.StmtContext, which reuses that preparation.
var preparedSQL []string

// prepared registers a statement for preparation at Open.
func prepared(query string) string {
	preparedSQL = append(preparedSQL, query)
	return query
}

func (s *Store) prepareAll(ctx context.Context) error {
	s.stmts = make(map[string]*sql.Stmt, len(preparedSQL))
	for _, q := range preparedSQL {
		st, err := s.write.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare %.60s: %w", q, err)
		}
		s.stmts[q] = st
	}
	return nil
}

// txStmts binds the store's prepared statements to one transaction.
type txStmts struct {
	s     *Store
	ctx   context.Context
	tx    *sql.Tx
	bound map[string]*sql.Stmt
}

func (t *txStmts) stmt(query string) *sql.Stmt {
	if st, ok := t.bound[query]; ok {
		return st
	}
	base, ok := t.s.stmts[query]
	if !ok {
		return nil
	}
	if t.bound == nil {
		t.bound = map[string]*sql.Stmt{}
	}
	st := t.tx.StmtContext(t.ctx, base)
	t.bound[query] = st
	return st
}

func (t *txStmts) exec(query string, args ...any) (sql.Result, error) {
	if st := t.stmt(query); st != nil {
		return st.ExecContext(t.ctx, args...)
	}
	return t.tx.ExecContext(t.ctx, query, args...)
}

func (t *txStmts) queryRow(query string, args ...any) *sql.Row {
	if st := t.stmt(query); st != nil {
		return st.QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, query, args...)
}
