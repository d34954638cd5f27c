package main

import (
	"context"
	"log/slog"
	"os"
	"os/user"

	"mispdesk/store"
	"mispdesk/syncer"
	"mispdesk/tui"
)

// Seams for the console's tests, which have no terminal: whether stdin and
// stdout are one, and the console itself.
var (
	onTerminal = func(env *Env) bool { return env.IsTerminal && isTerminal(env.Stdin) }
	runTUI     = tui.Run
)

func runConsole(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("console", "[console] [--db PATH] [--no-color]")
	noColor := fs.Bool("no-color", false, "no colours (as with NO_COLOR set); bold and reverse stay")
	if err := fs.ParseNoArgs(args); err != nil {
		return err
	}
	if !onTerminal(env) {
		return usagef("the console needs a terminal on stdin and stdout; run 'mispdesk help' for the commands")
	}
	db, err := env.DBPath()
	if err != nil {
		return err
	}
	// Open (on first start, create) the database and bring its schema up to
	// date before the screen takes over, so that a problem with it is one
	// line on a normal terminal.
	s, err := store.Open(ctx, db)
	if err != nil {
		return storeErr(err)
	}
	defer closeStore(s, &err)
	// The engine logs nowhere (never to the terminal under the screen: its
	// steps are in the sync log). The console runs the sync daemon itself
	// while no mispdesk serve holds the syncer lease; its header asks the
	// engine which process leads.
	eng := syncer.New(s, syncer.Options{})
	defer eng.Close()
	// Nor does the default logger (an attribute dropped from an arriving event is logged
	// there by misp.Normalize; a pull's sync log names it too).
	slog.SetDefault(slog.New(slog.DiscardHandler))
	return runTUI(ctx, s, eng, tui.Options{DBPath: db, Daemon: true, NoColor: *noColor, User: consoleUser()})
}

// consoleUser names the system account running the console, for its header.
func consoleUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}
