package main

import (
	"context"
	"errors"
	"io/fs"
	"os"

	"mispdesk/store"
)

// openInitialised opens the database of an initialised instance for the commands
// other than init. A missing file is not created, and a database without a host
// organisation is refused: both are bad input (exit 2) that init cures.
func openInitialised(ctx context.Context, env *Env) (*store.Store, *store.Instance, error) {
	path, err := env.DBPath()
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, inputf("no database at %s: run %s first", path, initHint(path))
	}
	s, err := store.Open(ctx, path)
	if err != nil {
		return nil, nil, storeErr(err)
	}
	inst, err := s.Instance(ctx)
	if err != nil {
		s.Close()
		if errors.Is(err, store.ErrNotInitialised) {
			return nil, nil, inputf("database %s is not initialised: run %s", path, initHint(path))
		}
		return nil, nil, err
	}
	return s, inst, nil
}

// initHint is the init command line that sets up the database at path.
func initHint(path string) string {
	if path == defaultDBPath() {
		return "mispdesk init --org NAME"
	}
	return "mispdesk init --org NAME --db " + path
}

// openNoArgs is the start of a command that takes flags only and needs nothing
// checked before the database: parse args, then open the initialised database.
// The caller closes it (defer closeStore(s, &err)).
func openNoArgs(ctx context.Context, env *Env, fs *Flags, args []string) (*store.Store, *store.Instance, error) {
	if err := fs.ParseNoArgs(args); err != nil {
		return nil, nil, err
	}
	return openInitialised(ctx, env)
}

// openRecord is the start of a command on one record of kind k (server show,
// feed rm …): parse args for its reference, open the initialised database and
// find the record with find, which reports an unknown reference as bad input.
// Usage errors come before the database is touched. The caller closes s
// (defer closeStore(s, &err)); on an error nothing is left open.
func openRecord[T any](ctx context.Context, env *Env, fs *Flags, args []string, k recordKind,
	find func(context.Context, *store.Store, string) (T, error)) (s *store.Store, inst *store.Instance, rec T, err error) {
	ref, err := fs.ParseRef(args, k)
	if err != nil {
		return nil, nil, rec, err
	}
	s, inst, err = openInitialised(ctx, env)
	if err != nil {
		return nil, nil, rec, err
	}
	if rec, err = find(ctx, s, ref); err != nil {
		s.Close()
		return nil, nil, rec, err
	}
	return s, inst, rec, nil
}
