package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/x/term"
)

// Env is what a command gets from the command line and the process: its
// standard streams, whether stdout is a terminal, and the --db path.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	// IsTerminal reports whether Stdout is a terminal: show live progress and
	// colour only then, stay quiet and plain when piped.
	IsTerminal bool

	// DB is the database path: --db (given before or after the command name),
	// else the default in the XDG data directory. Empty only when no default
	// can be found (no $XDG_DATA_HOME and no home directory); DBPath says so.
	DB string
}

func newEnv(stdin io.Reader, stdout, stderr io.Writer) *Env {
	return &Env{
		Stdin:      stdin,
		Stdout:     stdout,
		Stderr:     stderr,
		IsTerminal: isTerminal(stdout),
		DB:         defaultDBPath(),
	}
}

func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(file.Fd())
}

// defaultDBPath is $XDG_DATA_HOME/mispdesk/mispdesk.db, falling back to
// ~/.local/share/mispdesk/mispdesk.db; "" when neither can be found.
func defaultDBPath() string {
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" || !filepath.IsAbs(dir) { // the XDG spec says to ignore relative paths
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			return ""
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "mispdesk", "mispdesk.db")
}

// DBPath returns the database path, creating its directory (mode 0700) when
// it does not exist yet, so that the store can create the file.
func (env *Env) DBPath() (string, error) {
	if env.DB == "" {
		return "", usagef("no database: set --db PATH, $XDG_DATA_HOME or $HOME")
	}
	if err := os.MkdirAll(filepath.Dir(env.DB), 0o700); err != nil {
		return "", fmt.Errorf("database directory: %w", err)
	}
	return env.DB, nil
}

// Flags is a command's flag set: the standard library's, with --db bound to
// Env.DB, -h printing the command's usage, and flags allowed between
// positional arguments.
type Flags struct {
	*flag.FlagSet
	synopsis string
	env      *Env
}

// Flags returns a new flag set for the command named name. synopsis is the
// usage line shown by -h, e.g. "init --org NAME [--org-uuid UUID] [--json]".
func (env *Env) Flags(name, synopsis string) *Flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by run
	fs.Usage = func() {}     // and usage only on -h, by Parse
	fs.StringVar(&env.DB, "db", env.DB, "database `PATH`")
	return &Flags{FlagSet: fs, synopsis: synopsis, env: env}
}

// Usage prints the command's synopsis and flags on stdout.
func (f *Flags) Usage() {
	w := f.env.Stdout
	fmt.Fprintf(w, "usage: mispdesk %s\n\nflags:\n", f.synopsis)
	f.SetOutput(w)
	f.PrintDefaults()
	f.SetOutput(io.Discard)
}

// Parse parses a command's arguments and returns its positional arguments.
// Flags may come before, between or after them ("import a.json --db x.db");
// everything after "--" is positional. -h prints the command's usage and
// returns errHelpShown (exit 0); a wrong flag returns a usageError.
func (f *Flags) Parse(args []string) ([]string, error) {
	var pos []string
	for {
		err := f.FlagSet.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			f.Usage()
			return nil, errHelpShown
		}
		if err != nil {
			return nil, usagef("%v; run 'mispdesk %s -h' for usage", err, f.Name())
		}
		rest := f.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// ParseNoArgs parses the arguments of a command that takes flags only: a
// positional argument is a usage error.
func (f *Flags) ParseNoArgs(args []string) error {
	pos, err := f.Parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q; run 'mispdesk %s -h' for usage", pos[0], f.Name())
	}
	return nil
}

// ParseRef parses the arguments of a command that acts on one record of kind
// k, e.g. "server show SERVER", and returns the reference given, trimmed.
func (f *Flags) ParseRef(args []string, k recordKind) (string, error) {
	pos, err := f.Parse(args)
	if err != nil {
		return "", err
	}
	switch {
	case len(pos) == 0:
		return "", usagef("which %s: give its %s; run 'mispdesk %s -h' for usage", k.name, k.refs, f.Name())
	case len(pos) > 1:
		return "", usagef("unexpected argument %q: %s takes one %s", pos[1], f.Name(), k.arg())
	}
	return strings.TrimSpace(pos[0]), nil
}

// Given reports whether the command line set the flag name (after Parse):
// edit commands change only the fields given, and some flags only make sense
// with others.
func (f *Flags) Given(name string) bool {
	given := false
	f.Visit(func(fl *flag.Flag) { given = given || fl.Name == name })
	return given
}
