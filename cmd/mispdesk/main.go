// Command mispdesk is a MISP-compatible threat-intelligence sharing node for
// one box: with no command it opens the console; the commands administer and
// script it. See "mispdesk help".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"mispdesk/assets"
)

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(assets.MemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs mispdesk with the command-line arguments args (without the
// program name) and returns its exit status: 0 ok, 1 the work failed, 2 bad
// usage or bad input.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := newEnv(stdin, stdout, stderr)

	global := flag.NewFlagSet("mispdesk", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	global.StringVar(&env.DB, "db", env.DB, "database `PATH`")
	version := global.Bool("version", false, "print the version and exit")
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout)
			return 0
		}
		return report(stderr, "", usagef("%v; run 'mispdesk help' for usage", err))
	}
	if *version {
		printVersion(stdout)
		return 0
	}

	args = global.Args()
	name := "console" // no command: open the console
	if len(args) > 0 {
		name, args = args[0], args[1:]
	}
	cmd := lookup(name)
	if cmd == nil {
		return report(stderr, "", usagef("unknown command %q; run 'mispdesk help' for the list", name))
	}
	return report(stderr, cmd.name, cmd.run(ctx, env, args))
}

// report prints err as one line, "mispdesk CMD: message", and returns the
// exit status it calls for.
func report(stderr io.Writer, cmd string, err error) int {
	if err == nil || errors.Is(err, errHelpShown) {
		return 0
	}
	if errors.Is(err, errReported) {
		return exitCode(err)
	}
	prefix := "mispdesk"
	if cmd != "" {
		prefix += " " + cmd
	}
	fmt.Fprintf(stderr, "%s: %s\n", prefix, oneLine(err.Error()))
	return exitCode(err)
}
