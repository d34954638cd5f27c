package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"mispdesk/store"
)

const (
	userSynopsis     = "user add|list ..."
	userAddSynopsis  = "user add --email EMAIL --org NAME|UUID|ID --role admin|org_admin|user|publisher|sync|read_only [--json]"
	userListSynopsis = "user list [--json]"
)

// userCommands are user's sub-commands.
var userCommands = []*command{
	{"add", userAddSynopsis, "add a user of an organisation with a role; prints its auth key once", runUserAdd},
	{"list", userListSynopsis, "list the users (never their keys)", runUserList},
}

func runUser(ctx context.Context, env *Env, args []string) error {
	return group("user", userSynopsis, userCommands)(ctx, env, args)
}

// newUserJSON is user add's --json output: the user as user list --json shows
// it, with its organisation and role, and the auth key, shown this once.
type newUserJSON struct {
	store.User
	AuthKey string `json:"authkey"`
}

func runUserAdd(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("user add", userAddSynopsis)
	email := fs.String("email", "", "the user's `EMAIL` (required, unique)")
	orgRef := fs.String("org", "", "the user's organisation: its `NAME`, UUID or id (required)")
	roleRef := fs.String("role", "", "the user's `ROLE`: admin, org_admin, user, publisher, sync or read_only (required)")
	jsonOut := fs.Bool("json", false, "print the created user and its key as JSON")
	if err := fs.ParseNoArgs(args); err != nil {
		return err
	}
	nu := store.NewUser{Email: strings.TrimSpace(*email), OrgRef: strings.TrimSpace(*orgRef), RoleRef: strings.TrimSpace(*roleRef)}
	switch {
	case nu.Email == "":
		return usagef("--email EMAIL is required; run 'mispdesk user add -h' for usage")
	case nu.OrgRef == "":
		return usagef("--org NAME|UUID|ID is required; run 'mispdesk user add -h' for usage")
	case nu.RoleRef == "":
		return usagef("--role ROLE is required (admin, org_admin, user, publisher, sync or read_only)")
	}
	if err := checkEmail(nu.Email); err != nil {
		return usagef("--email %q: %v", nu.Email, err)
	}
	s, _, err := openInitialised(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	if _, err := s.ResolveOrg(ctx, nu.OrgRef); errors.Is(err, store.ErrNotFound) {
		return inputf("unknown organisation %q: give its name, UUID or id (see mispdesk org list)", nu.OrgRef)
	} else if err != nil {
		return err
	}
	if _, err := s.ResolveRole(ctx, nu.RoleRef); errors.Is(err, store.ErrNotFound) {
		return inputf("unknown role %q: want %s", nu.RoleRef, roleNames(ctx, s))
	} else if err != nil {
		return err
	}
	u, key, err := s.AddUser(ctx, nu)
	if err != nil {
		return storeErr(err)
	}
	if *jsonOut {
		return printJSON(env, newUserJSON{User: *u, AuthKey: key})
	}
	fmt.Fprintf(env.Stdout, "Added user %q (id %d) of %q with role %s; its auth key, shown this once:\n%s\n",
		safe(u.Email), u.ID, safe(u.Org.Name), safe(u.Role.Name), key)
	return nil
}

// roleNames lists the roles for an error message: "admin, …, sync or read_only".
func roleNames(ctx context.Context, s *store.Store) string {
	roles, err := s.Roles(ctx)
	if err != nil || len(roles) == 0 {
		return "admin, org_admin, user, publisher, sync or read_only"
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = r.Name
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func runUserList(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("user list", userListSynopsis)
	jsonOut := fs.Bool("json", false, "print a JSON array of users, with their organisation and role")
	s, _, err := openNoArgs(ctx, env, fs, args)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	users, err := s.Users(ctx)
	if err != nil {
		return err
	}
	if *jsonOut {
		if users == nil {
			users = []store.User{}
		}
		return printJSON(env, users)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tORG\tROLE\tSTATUS")
	for _, u := range users {
		status := "enabled"
		if u.Disabled {
			status = "disabled"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", u.ID, safe(u.Email), safe(u.Org.Name), safe(u.Role.Name), status)
	}
	return tw.Flush()
}
