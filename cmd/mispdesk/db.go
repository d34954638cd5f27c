package main

import (
	"errors"
	"fmt"

	"mispdesk/store"
)

// closeStore closes s, reporting a failure to close only when the command
// itself succeeded.
func closeStore(s *store.Store, err *error) {
	if cerr := s.Close(); cerr != nil && *err == nil {
		*err = fmt.Errorf("close database: %w", cerr)
	}
}

// storeErr marks the store's refusals of a request as bad input (exit 2): a
// clash with an existing record, an unknown record, an instance initialised or
// not, a database from a newer mispdesk. Anything else stays a failure (exit 1).
func storeErr(err error) error {
	for _, target := range []error{store.ErrConflict, store.ErrNotFound, store.ErrAlreadyInitialised,
		store.ErrNotInitialised, store.ErrSchemaTooNew} {
		if errors.Is(err, target) {
			return inputErr(err)
		}
	}
	return err
}

// safe makes text from the database (names, e-mails: possibly written by a peer)
// fit a table cell on a terminal: one line, control characters shown escaped.
func safe(s string) string { return oneLine(s) }
