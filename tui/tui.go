// Package tui is mispdesk's Bubble Tea console: a header, tabs of panes
// (Servers, Events, Rules, Log), a status line and a help footer, with forms
// and screens opened over the panes. It never does I/O in Update or View:
// every store and network call is a command whose result comes back as a
// message, and the syncer feeds it through bounded channels it never waits on.
package tui

import (
	"context"
	"errors"
	"os"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"mispdesk/store"
	"mispdesk/syncer"
)

// Options shape the console.
type Options struct {
	// DBPath is the database file, for the header.
	DBPath string
	// User names the person at the console (the system account running it), for the
	// header: the console has no login of its own.
	User string
	// Daemon runs the sync daemon (outbox worker, scheduler) in this process
	// while the console is open; it works only while no other process (a
	// mispdesk serve) holds the syncer lease, and takes over when that ends.
	Daemon bool
	// NoColor drops colours (NO_COLOR, --no-color); bold and reverse stay.
	NoColor bool
	// Config rebinds keys and sets colours (Run reads it from ConfigPath).
	Config Config
	// ConfigErr is why the config file was not used, said once at start.
	ConfigErr error
	// ProgramOptions are added to the program's (tests give input and output).
	ProgramOptions []tea.ProgramOption
}

// Run shows the console until the user quits or ctx ends. The caller owns st
// and eng and closes them after Run returns.
func Run(parent context.Context, st *store.Store, eng *syncer.Engine, opts Options) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	daemonDone := make(chan struct{})
	if opts.Daemon && eng != nil {
		go func() {
			defer close(daemonDone)
			_ = eng.Run(ctx, syncer.DaemonOptions{})
		}()
	} else {
		close(daemonDone)
	}
	popts := []tea.ProgramOption{tea.WithContext(ctx)}
	if opts.NoColor || os.Getenv("NO_COLOR") != "" {
		// colorprofile honours only NO_COLOR values strconv.ParseBool accepts;
		// any non-empty value must turn colour off.
		popts = append(popts, tea.WithColorProfile(colorprofile.ASCII))
	}
	popts = append(popts, opts.ProgramOptions...)
	if path, err := ConfigPath(); err != nil {
		opts.ConfigErr = err
	} else {
		opts.Config, opts.ConfigErr = LoadConfig(path)
	}
	m := newModel(ctx, st, eng, opts)
	_, err := tea.NewProgram(m, popts...).Run()
	m.shutdown()
	cancel()
	select { // the daemon releases the lease and frees its outbox rows
	case <-daemonDone:
	case <-time.After(5 * time.Second):
	}
	if errors.Is(err, tea.ErrProgramKilled) && parent.Err() != nil {
		return nil // stopped by a signal: a normal end
	}
	return err
}
