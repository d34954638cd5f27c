package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
)

// A command is one "mispdesk NAME ..." sub-command.
type command struct {
	name     string // what the user types
	synopsis string // the usage line after "mispdesk ", flags included
	summary  string // one line: what it does
	// run parses args with env.Flags(name, synopsis) and its Parse, and
	// does the work. Return a usageError or inputError for exit status 2,
	// any other error for 1; run prints it as "mispdesk NAME: message".
	run func(ctx context.Context, env *Env, args []string) error
}

// commands is the command table, in the order "mispdesk help" lists them.
// To add a command, add its entry here and its handler in cmd_NAME.go.
// It is filled in init because help refers to it.
var commands []*command

func init() {
	commands = []*command{
		{"console", "[console] [--db PATH] [--no-color]", "open the console (the default command)", runConsole},
		{"init", initSynopsis, "create the instance: its host organisation and site admin; prints the admin's key once", runInit},
		{"org", orgSynopsis, "add an organisation (local or external), or list them", runOrg},
		{"user", userSynopsis, "add a user (prints its auth key once), or list them", runUser},
		{"server", serverSynopsis, "add, list, show, edit or remove sync connections to MISP servers", runServer},
		{"event", eventSynopsis, "list events (filtered, table or JSON), show one (summary or MISP JSON), publish or unpublish one", runEvent},
		{"serve", serveSynopsis, "serve the MISP API to peers and run the sync daemon (outbox, scheduled pulls) until interrupted", runServe},
		{"pull", pullSynopsis, "pull events from a server, or every pull server with --all; live progress, then a summary line each", runPull},
		{"push", pushSynopsis, "push every eligible event to a server, or every push server with --all; a summary line each", runPush},
		{"test-connection", testConnSynopsis, "test a sync connection: local and remote side by side, permissions, TLS, verdict", runTestConnection},
		{"explain", explainSynopsis, "why EVENT would or would not be pushed to (or pulled from) SERVER, rule by rule", runExplain},
		{"log", logSynopsis, "print the sync log, or follow it live with --follow", runLog},
		{"import", importSynopsis, "import event files, directories of them and MISP feed directories", runImport},
		{"galaxy", galaxySynopsis, "import MISP's galaxy library (a misp-galaxy checkout): its galaxies and clusters, for events that name them by tag", runGalaxy},
		{"feed", feedSynopsis, "add, list, show, edit or remove MISP feeds (URL or directory), fetch them, refresh their cache", runFeed},
		{"settings", settingsSynopsis, "list, get or set the instance's settings (mail relay, MISP.disable_emailing, GnuPG.onlyencrypted, sightings) by MISP's names", runSettings},
		{"correlation", correlationSynopsis, "manage the correlation exclusion list, show the top correlations, correlate everything again", runCorrelation},
		{"export", exportSynopsis, "write every event as files, or as a MISP feed with --feed", runExport},
		{"version", "version", "print mispdesk's version and the MISP API level it speaks", runVersion},
		{"help", "help [COMMAND]", "list the commands, or show one command's usage and flags", runHelp},
	}
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, "mispdesk: a MISP-compatible threat-intelligence sharing node.\n\n")
	fmt.Fprint(w, "usage:\n")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  mispdesk %s\t%s\n", c.synopsis, c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, `
Every command takes --db PATH (default $XDG_DATA_HOME/mispdesk/mispdesk.db, else
~/.local/share/mispdesk/mispdesk.db). "mispdesk help COMMAND" shows a command's flags;
"mispdesk --version" prints the version.
Exit status: 0 ok, 1 the work failed, 2 bad usage or bad input.
`)
}
