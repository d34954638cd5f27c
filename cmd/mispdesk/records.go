package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"mispdesk/store"
)

// recordKind is a kind of record that commands take by reference on the
// command line (SERVER, FEED, EVENT). Every command asks for one, and reports
// one it cannot find, in the same words, built here.
type recordKind struct {
	name string // as in messages: "server"
	refs string // what a reference may be: "id or name"
}

var (
	serverRecord = recordKind{name: "server", refs: "id or name"}
	feedRecord   = recordKind{name: "feed", refs: "id or name"}
	eventRecord  = recordKind{name: "event", refs: "id or UUID"}
)

// arg is the kind as a synopsis names the argument: "SERVER".
func (k recordKind) arg() string { return strings.ToUpper(k.name) }

// refErr turns the store's ErrNotFound for ref into bad input naming ref and
// where to find the right one; any other error (or nil) passes unchanged.
func (k recordKind) refErr(ref string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return inputf("no %s %q: give its %s (see mispdesk %s list)", k.name, ref, k.refs, k.name)
	}
	return err
}

// oneOrAllArgs checks the arguments of a command that runs on one record or,
// with --all, on every one that qualifies (feed fetch, pull, push).
func (k recordKind) oneOrAllArgs(command string, args []string, all bool) error {
	switch {
	case all && len(args) > 0:
		return usagef("give %s or --all, not both; run 'mispdesk %s -h' for usage", k.arg(), command)
	case !all && len(args) == 0:
		return usagef("which %s: give its %s, or --all; run 'mispdesk %s -h' for usage", k.name, k.refs, command)
	case len(args) > 1:
		return usagef("unexpected argument %q: %s takes one %s (or --all)", args[1], command, k.arg())
	}
	return nil
}

// confirmDelete lets rm go ahead: at once with --yes; on a terminal, once the
// record's name is typed after question; off a terminal (a script) never, as
// nobody can answer.
func confirmDelete(env *Env, yes bool, k recordKind, name, question string) error {
	if yes {
		return nil
	}
	if !onTerminal(env) {
		return usagef("deleting %s %q needs --yes when not on a terminal", k.name, safe(name))
	}
	fmt.Fprintf(env.Stdout, "%s\nType its name to confirm (anything else keeps it): ", question)
	line, _ := bufio.NewReader(env.Stdin).ReadString('\n')
	if strings.TrimSpace(line) != name {
		return fmt.Errorf("%s %q not deleted: the name was not typed", k.name, safe(name))
	}
	return nil
}

// only returns the records that pass keep, in their order; nil when none do.
func only[T any](records []T, keep func(*T) bool) []T {
	var out []T
	for i := range records {
		if keep(&records[i]) {
			out = append(out, records[i])
		}
	}
	return out
}
