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
