package main

import (
	"context"
	"fmt"
	"io"

	"mispdesk/assets"
)

func runVersion(_ context.Context, env *Env, args []string) error {
	fs := env.Flags("version", "version")
	args, err := fs.Parse(args)
	if err != nil {
		return err
	}
	if err := fs.NoArgs(args); err != nil {
		return err
	}
	printVersion(env.Stdout)
	return nil
}

func printVersion(w io.Writer) {
	fmt.Fprintf(w, "mispdesk %s (MISP API %s)\n", assets.Version, assets.MISPVersion)
}
