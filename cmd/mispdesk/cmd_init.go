package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"mispdesk/store"
	"mispdesk/store/misp"
)

const initSynopsis = "init --org NAME [--org-uuid UUID] [--admin EMAIL] [--json]"

// initJSON is init's --json output, a contract (DESIGN.md):
// {"org":{"id":1,"uuid":"…","name":"…"},"admin":{"id":1,"email":"…"},"authkey":"…"}.
type initJSON struct {
	Org struct {
		ID   store.OrgID `json:"id"`
		UUID string      `json:"uuid"`
		Name string      `json:"name"`
	} `json:"org"`
	Admin struct {
		ID    store.UserID `json:"id"`
		Email string       `json:"email"`
	} `json:"admin"`
	AuthKey string `json:"authkey"`
}

func runInit(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("init", initSynopsis)
	orgName := fs.String("org", "", "the host organisation's `NAME` (required)")
	orgUUID := fs.String("org-uuid", "", "the host organisation's `UUID` (default: a random one)")
	admin := fs.String("admin", "", "the site admin's `EMAIL` (default "+store.DefaultAdminEmail+")")
	jsonOut := fs.Bool("json", false, "print what was created, and the key, as JSON")
	if err := fs.ParseNoArgs(args); err != nil {
		return err
	}
	opts := store.InitOptions{OrgName: strings.TrimSpace(*orgName), OrgUUID: strings.ToLower(strings.TrimSpace(*orgUUID)), AdminEmail: strings.TrimSpace(*admin)}
	if opts.OrgName == "" {
		return usagef("--org NAME is required: the host organisation's name; run 'mispdesk init -h' for usage")
	}
	if opts.OrgUUID != "" && !misp.IsUUID(opts.OrgUUID) {
		return usagef("--org-uuid %q is not a UUID", *orgUUID)
	}
	if opts.AdminEmail != "" {
		if err := checkEmail(opts.AdminEmail); err != nil {
			return usagef("--admin %q: %v", opts.AdminEmail, err)
		}
	}
	path, err := env.DBPath()
	if err != nil {
		return err
	}
	s, err := store.Open(ctx, path)
	if err != nil {
		return storeErr(err)
	}
	defer closeStore(s, &err)
	if inst, err := s.Instance(ctx); err == nil {
		return inputf("database %s is already initialised (host organisation %q); nothing changed", path, inst.HostOrg.Name)
	} else if !errors.Is(err, store.ErrNotInitialised) {
		return err
	}
	res, err := s.Init(ctx, opts)
	if err != nil {
		return storeErr(err)
	}
	if *jsonOut {
		var out initJSON
		out.Org.ID, out.Org.UUID, out.Org.Name = res.Org.ID, res.Org.UUID, res.Org.Name
		out.Admin.ID, out.Admin.Email = res.Admin.ID, res.Admin.Email
		out.AuthKey = res.AuthKey
		return printJSON(env, out)
	}
	fmt.Fprintf(env.Stdout, "Initialised %s: host organisation %q (id %d, uuid %s), site admin %s (id %d).\n",
		safe(path), safe(res.Org.Name), res.Org.ID, res.Org.UUID, safe(res.Admin.Email), res.Admin.ID)
	fmt.Fprintf(env.Stdout, "The admin's auth key, shown this once:\n%s\n", res.AuthKey)
	return nil
}
