package main

import (
	"context"

	"mispdesk/tui"
)

func runConsole(ctx context.Context, env *Env, args []string) error {
	fs := env.Flags("console", "[console] [--db PATH]")
	args, err := fs.Parse(args)
	if err != nil {
		return err
	}
	if err := fs.NoArgs(args); err != nil {
		return err
	}
	if !env.IsTerminal || !isTerminal(env.Stdin) {
		return usagef("the console needs a terminal on stdin and stdout; run 'mispdesk help' for the commands")
	}
	db, err := env.DBPath()
	if err != nil {
		return err
	}
	return tui.Run(ctx, db)
}
