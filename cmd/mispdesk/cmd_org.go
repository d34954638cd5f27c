package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"mispdesk/store"
	"mispdesk/store/misp"
)

const (
	orgSynopsis     = "org add|list ..."
	orgAddSynopsis  = "org add --name NAME [--uuid UUID] [--local|--external] [--description TEXT] [--json]"
	orgListSynopsis = "org list [--json]"
)

// orgCommands are org's sub-commands.
var orgCommands = []*command{
	{"add", orgAddSynopsis, "add an organisation: local (it has users here, the default) or external (known remote)", runOrgAdd},
	{"list", orgListSynopsis, "list the organisations", runOrgList},
}

func runOrg(ctx context.Context, env *Env, args []string) error {
	return group("org", orgSynopsis, orgCommands)(ctx, env, args)
}

func runOrgAdd(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("org add", orgAddSynopsis)
	name := fs.String("name", "", "the organisation's `NAME` (required, unique)")
	orgUUID := fs.String("uuid", "", "its `UUID` (default: a random one)")
	local := fs.Bool("local", false, "a local organisation, whose users work here (the default)")
	external := fs.Bool("external", false, "a known remote organisation (creator of synced events, host of a server)")
	desc := fs.String("description", "", "a description `TEXT`")
	jsonOut := fs.Bool("json", false, "print the created organisation as JSON")
	if err := fs.ParseNoArgs(args); err != nil {
		return err
	}
	o := store.Org{Name: strings.TrimSpace(*name), UUID: strings.ToLower(strings.TrimSpace(*orgUUID)), Description: *desc, Local: !*external}
	switch {
	case o.Name == "":
		return usagef("--name NAME is required; run 'mispdesk org add -h' for usage")
	case o.UUID != "" && !misp.IsUUID(o.UUID):
		return usagef("--uuid %q is not a UUID", *orgUUID)
	case *local && *external:
		return usagef("--local and --external exclude each other")
	}
	s, _, err := openInitialised(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	added, err := s.AddOrg(ctx, o)
	if err != nil {
		return storeErr(err)
	}
	if *jsonOut {
		return printJSON(env, added)
	}
	fmt.Fprintf(env.Stdout, "Added %s organisation %q (id %d, uuid %s)\n", pool(added.Local), safe(added.Name), added.ID, added.UUID)
	return nil
}

func runOrgList(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("org list", orgListSynopsis)
	jsonOut := fs.Bool("json", false, "print a JSON array of organisations")
	s, inst, err := openNoArgs(ctx, env, fs, args)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	orgs, err := s.Orgs(ctx)
	if err != nil {
		return err
	}
	if *jsonOut {
		if orgs == nil {
			orgs = []store.Org{}
		}
		return printJSON(env, orgs)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUUID\tNAME\tPOOL")
	for _, o := range orgs {
		p := pool(o.Local)
		if o.ID == inst.HostOrg.ID {
			p += " (host)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", o.ID, safe(o.UUID), safe(o.Name), p)
	}
	return tw.Flush()
}

// pool names the pool an organisation is in.
func pool(local bool) string {
	if local {
		return "local"
	}
	return "external"
}
