package main

import (
	"context"
	"fmt"
	"strings"
)

// group returns the handler of a command with sub-commands ("org add",
// "org list"): it finds the sub-command, the first argument that is neither a
// flag nor --db's value, and runs it with the other arguments, so that
// "mispdesk org --db x.db list" works. Alone, or with -h, it lists the
// sub-commands. The sub-commands' names are their first word after the group's.
func group(name, synopsis string, subs []*command) func(context.Context, *Env, []string) error {
	return func(ctx context.Context, env *Env, args []string) error {
		names := make([]string, len(subs))
		for i, c := range subs {
			names[i] = c.name
		}
		for i := 0; i < len(args); i++ {
			a := args[i]
			switch {
			case a == "-h" || a == "-help" || a == "--help":
				w := env.Stdout
				fmt.Fprintf(w, "usage: mispdesk %s\n\ncommands:\n", synopsis)
				for _, c := range subs {
					fmt.Fprintf(w, "  mispdesk %s\n      %s\n", c.synopsis, c.summary)
				}
				fmt.Fprintf(w, "\nEvery command takes --db PATH; 'mispdesk %s COMMAND -h' shows its flags.\n", name)
				return errHelpShown
			case a == "-db" || a == "--db":
				i++ // its value
			case strings.HasPrefix(a, "-"):
			default:
				for _, c := range subs {
					if c.name == a {
						rest := append(append([]string{}, args[:i]...), args[i+1:]...)
						return c.run(ctx, env, rest)
					}
				}
				return usagef("unknown command %q: want %s; run 'mispdesk %s -h' for usage",
					a, strings.Join(names, " or "), name)
			}
		}
		return usagef("which one: %s %s; run 'mispdesk %s -h' for usage", name, strings.Join(names, "|"), name)
	}
}
