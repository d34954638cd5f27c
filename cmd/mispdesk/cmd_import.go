package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/feed"
)

const (
	importSynopsis = "import PATH... [--json]"
	exportSynopsis = "export --out DIR [--feed [--distribution N] [--unpublished]] [--json]"
)

// importJSON is import --json's output: the summary line's counts and every
// failed file.
type importJSON struct {
	Imported   int             `json:"imported"`
	Updated    int             `json:"updated"`
	Skipped    int             `json:"skipped"`
	Failed     int             `json:"failed"`
	Attributes int             `json:"attributes"`
	Skips      map[string]int  `json:"skip_reasons"`
	Errors     []importErrJSON `json:"errors"`
}

// importErrorsJSON lists the files an import could not store, never null.
func importErrorsJSON(errs []feed.FileError) []importErrJSON {
	out := make([]importErrJSON, 0, len(errs))
	for _, fe := range errs {
		out = append(out, importErrJSON{Path: fe.Path, Error: fe.Err.Error()})
	}
	return out
}

type importErrJSON struct {
	Path  string `json:"path"`
	Error string `json:"error"`
}

// topSkips is how many skip reasons import lists on a terminal.
const topSkips = 5

func runImport(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("import", importSynopsis)
	jsonOut := fs.Bool("json", false, "print the counts and the failed files as a JSON object")
	paths, err := fs.Parse(args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usagef("no PATH: give event files, directories or feed directories; run 'mispdesk import -h' for usage")
	}
	s, _, err := openInitialised(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)

	prog := newProgress(env.Stderr, env.IsTerminal)
	printed := 0 // failed files already reported on stderr
	reportErrors := func(errs []feed.FileError) {
		if len(errs) <= printed {
			return
		}
		prog.clear()
		for _, fe := range errs[printed:] {
			fmt.Fprintf(env.Stderr, "mispdesk import: %s\n", oneLine(fe.Error()))
		}
		printed = len(errs)
	}
	im := &feed.Importer{
		Store: s,
		// The events become the host org's; one that arrives without a distribution
		// gets MISP's default for new events, this community only.
		Options: store.UpsertOptions{DefaultDistribution: misp.CommunityOnly},
		Progress: func(p feed.Progress) {
			reportErrors(p.Summary.Errors)
			events := p.Summary.Imported + p.Summary.Updated + p.Summary.Skipped
			prog.update(fmt.Sprintf("import: %d of %d files, %d events, %s events/s, %d failed",
				p.Done, p.Total, events, rate(events, p.Elapsed), p.Summary.Failed), p.Done == p.Total)
		},
	}
	sum, runErr := im.ImportPaths(ctx, paths)
	reportErrors(sum.Errors)
	prog.clear()

	if *jsonOut {
		out := importJSON{Imported: sum.Imported, Updated: sum.Updated, Skipped: sum.Skipped, Failed: sum.Failed,
			Attributes: sum.Attributes, Skips: skipReasons(sum.Skips), Errors: importErrorsJSON(sum.Errors)}
		if err := printJSON(env, out); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(env.Stdout, sum.String())
		if env.IsTerminal {
			printSkips(env, skipReasons(sum.Skips))
		}
	}
	if runErr != nil {
		return fmt.Errorf("import stopped: %w", runErr)
	}
	if sum.Failed > 0 {
		return inputErr(errReported) // each failed file has had its line
	}
	return nil
}

// skipReasons groups the store's skip reasons by what they say, without the
// particulars in brackets ("not newer than the local copy (local timestamp …)").
func skipReasons(skips map[string]int) map[string]int {
	out := map[string]int{}
	for text, n := range skips {
		if i := strings.Index(text, " ("); i > 0 && strings.HasSuffix(text, ")") {
			text = text[:i]
		}
		out[text] += n
	}
	return out
}

// printSkips lists the commonest reasons events were skipped, with counts.
func printSkips(env *Env, skips map[string]int) {
	type reason struct {
		text string
		n    int
	}
	var rs []reason
	for text, n := range skips {
		rs = append(rs, reason{text, n})
	}
	slices.SortFunc(rs, func(a, b reason) int {
		return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.text, b.text))
	})
	for i, r := range rs {
		if i == topSkips {
			rest := 0
			for _, r := range rs[i:] {
				rest += r.n
			}
			fmt.Fprintf(env.Stdout, "  skipped %d for %d other reasons\n", rest, len(rs)-i)
			break
		}
		fmt.Fprintf(env.Stdout, "  skipped %d: %s\n", r.n, safe(r.text))
	}
}

// exportJSON is export --json's output.
type exportJSON struct {
	Events     int    `json:"events"`
	Attributes int    `json:"attributes"`
	Hashes     int    `json:"hashes,omitempty"`
	Feed       bool   `json:"feed"`
	Dir        string `json:"dir"`
}

func runExport(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("export", exportSynopsis)
	out := fs.String("out", "", "the `DIR`ectory to write to (created when missing; files in it are replaced)")
	asFeed := fs.Bool("feed", false, "write MISP's feed layout: manifest.json, one {uuid}.json per event, hashes.csv")
	unpublished := fs.Bool("unpublished", false, "with --feed, include unpublished events (MISP's feeds leave them out)")
	dist := fs.Int("distribution", 1, "with --feed, the narrowest distribution `N` written: 3 writes only All communities data "+
		"(events at 3, and inside them only what is at 3 or inherits it), 2 adds Connected communities, 1 (the default) "+
		"This community; 0 writes everything, org-only and sharing-group data too, and must be asked for. Local tags never leave")
	jsonOut := fs.Bool("json", false, "print the counts as a JSON object")
	if err := fs.ParseNoArgs(args); err != nil {
		return err
	}
	switch {
	case fs.Given("distribution") && !*asFeed:
		return usagef("--distribution goes with --feed (a plain export writes every event as it is)")
	case *dist < 0 || *dist > 3:
		return usagef("--distribution %d: want 0, 1, 2 or 3", *dist)
	case strings.TrimSpace(*out) == "":
		return usagef("--out DIR is required; run 'mispdesk export -h' for usage")
	case *unpublished && !*asFeed:
		return usagef("--unpublished goes with --feed (a plain export writes every event)")
	}
	s, _, err := openInitialised(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)

	prog := newProgress(env.Stderr, env.IsTerminal)
	start := time.Now()
	sum, err := feed.Export(ctx, s, *out, feed.ExportOptions{
		Feed:         *asFeed,
		Unpublished:  *unpublished,
		Distribution: misp.Distribution(*dist),
		Progress: func(done, total int) {
			prog.update(fmt.Sprintf("export: %d of %d events, %s events/s", done, total, rate(done, time.Since(start))), done == total)
		},
	})
	prog.clear()
	if err != nil {
		return err
	}
	if *jsonOut {
		return printJSON(env, exportJSON{Events: sum.Events, Attributes: sum.Attributes, Hashes: sum.Hashes, Feed: *asFeed, Dir: *out})
	}
	if *asFeed {
		fmt.Fprintf(env.Stdout, "exported %d events (%d attributes, %d hashes) to %s\n", sum.Events, sum.Attributes, sum.Hashes, safe(*out))
	} else {
		fmt.Fprintf(env.Stdout, "exported %d events (%d attributes) to %s\n", sum.Events, sum.Attributes, safe(*out))
	}
	return nil
}
