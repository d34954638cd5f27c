package main

import (
	"context"
	"fmt"

	"mispdesk/store"
	"mispdesk/syncer/feed"
	"mispdesk/syncer/galaxylib"
)

// MISP's galaxy library (a misp-galaxy checkout) loaded into the instance, as MISP's
// galaxies/update loads its copy.

const (
	galaxySynopsis       = "galaxy import DIR [--json]"
	galaxyImportSynopsis = "galaxy import DIR [--json]"
)

var galaxyCommands = []*command{
	{"import", galaxyImportSynopsis, "store the galaxies and clusters of a misp-galaxy checkout (galaxies/*.json, clusters/*.json); " +
		"a newer version replaces a stored one", runGalaxyImport},
}

func runGalaxy(ctx context.Context, env *Env, args []string) error {
	return group("galaxy", galaxySynopsis, galaxyCommands)(ctx, env, args)
}

// libraryCountsJSON is one kind's counts in galaxy import --json.
type libraryCountsJSON struct {
	Added     int `json:"added"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Kept      int `json:"kept_custom"`
}

func newLibraryCountsJSON(c store.LibraryCounts) libraryCountsJSON {
	return libraryCountsJSON{Added: c.Added, Updated: c.Updated, Unchanged: c.Unchanged, Kept: c.Kept}
}

// galaxyImportJSON is galaxy import --json's output.
type galaxyImportJSON struct {
	Galaxies  libraryCountsJSON `json:"galaxies"`
	Clusters  libraryCountsJSON `json:"clusters"`
	Files     int               `json:"files"`
	Failed    int               `json:"failed"`
	Unmatched int               `json:"unmatched_cluster_files"`
	Errors    []importErrJSON   `json:"errors"`
}

func runGalaxyImport(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("galaxy import", galaxyImportSynopsis)
	jsonOut := fs.Bool("json", false, "print the counts and the failed files as a JSON object")
	rest, err := fs.Parse(args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("want one DIR, a misp-galaxy checkout; run 'mispdesk galaxy import -h' for usage")
	}
	s, _, err := openInitialised(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	sum, runErr := galaxylib.Import(ctx, s, rest[0], func(fe feed.FileError) {
		fmt.Fprintf(env.Stderr, "mispdesk galaxy import: %s\n", oneLine(fe.Error()))
	})
	if runErr != nil && sum.Files == 0 {
		return inputErr(runErr)
	}
	if *jsonOut {
		out := galaxyImportJSON{Galaxies: newLibraryCountsJSON(sum.Galaxies), Clusters: newLibraryCountsJSON(sum.Clusters),
			Files: sum.Files, Failed: sum.Failed, Unmatched: sum.Unmatched, Errors: importErrorsJSON(sum.Errors)}
		if err := printJSON(env, out); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(env.Stdout, sum.String())
	}
	if runErr != nil {
		return fmt.Errorf("galaxy import stopped: %w", runErr)
	}
	if sum.Failed > 0 {
		return inputErr(errReported) // each failed file has had its line
	}
	return nil
}
