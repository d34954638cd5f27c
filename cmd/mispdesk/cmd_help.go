package main

import "context"

func runHelp(ctx context.Context, env *Env, args []string) error {
	fs := env.Flags("help", "help [COMMAND]")
	args, err := fs.Parse(args)
	if err != nil {
		return err
	}
	switch len(args) {
	case 0:
		printUsage(env.Stdout)
		return nil
	case 1:
		c := lookup(args[0])
		if c == nil {
			return usagef("unknown command %q; run 'mispdesk help' for the list", args[0])
		}
		return c.run(ctx, env, []string{"-h"})
	default:
		return usagef("help takes at most one command, got %d arguments", len(args))
	}
}
