package main

import (
	"context"
	"fmt"
	"io"

	"mispdesk/assets"
)

func runVersion(_ context.Context, env *Env, args []string) error {
	fs := env.Flags("version", "version")
	if err := fs.ParseNoArgs(args); err != nil {
		return err
	}
	printVersion(env.Stdout)
	return nil
}

func printVersion(w io.Writer) {
	fmt.Fprintf(w, "mispdesk %s (MISP API %s)\n", assets.Version, assets.MISPVersion)
}
