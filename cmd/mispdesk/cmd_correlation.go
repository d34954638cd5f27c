package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"mispdesk/store"
)

// Correlation administration: MISP's correlation exclusion list, its top correlations and
// over-correlating values, and a full re-correlation (after turning on advanced
// correlations, or on a database from before correlation existed). The settings are under
// 'mispdesk settings' (MISP.enable_advanced_correlations, MISP.correlation_limit,
// MISP.max_correlations_per_event, MISP.completely_disable_correlation).

const (
	correlationSynopsis        = "correlation exclude|list|rm|clean|top|rebuild ..."
	correlationExcludeSynopsis = "correlation exclude VALUE [--comment TEXT] [--json]"
	correlationListSynopsis    = "correlation list [--json]"
	correlationRmSynopsis      = "correlation rm VALUE|ID"
	correlationCleanSynopsis   = "correlation clean"
	correlationTopSynopsis     = "correlation top [--limit N] [--json]"
	correlationRebuildSynopsis = "correlation rebuild"
)

var correlationCommands = []*command{
	{"exclude", correlationExcludeSynopsis, "never correlate VALUE (% at either end: any text there); stored correlations go with 'clean'", runCorrelationExclude},
	{"list", correlationListSynopsis, "list the correlation exclusion list", runCorrelationList},
	{"rm", correlationRmSynopsis, "remove an exclusion; its value correlates again at once", runCorrelationRm},
	{"clean", correlationCleanSynopsis, "delete the stored correlations of every excluded value", runCorrelationClean},
	{"top", correlationTopSynopsis, "the most correlated values, then the over-correlating ones", runCorrelationTop},
	{"rebuild", correlationRebuildSynopsis, "drop every correlation and correlate every stored event again", runCorrelationRebuild},
}

func runCorrelation(ctx context.Context, env *Env, args []string) error {
	return group("correlation", correlationSynopsis, correlationCommands)(ctx, env, args)
}

func runCorrelationExclude(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("correlation exclude", correlationExcludeSynopsis)
	comment := fs.String("comment", "", "why the value is excluded")
	jsonOut := fs.Bool("json", false, "print the entry as JSON")
	pos, err := fs.Parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("correlation exclude takes one VALUE; run 'mispdesk correlation exclude -h' for usage")
	}
	s, _, err := openInitialised(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	x, err := s.AddCorrelationExclusion(ctx, pos[0], *comment)
	if errors.Is(err, store.ErrExclusionExists) || errors.Is(err, store.ErrInvalidEvent) {
		return inputErr(err)
	}
	if err != nil {
		return err
	}
	if *jsonOut {
		return printJSON(env, x)
	}
	fmt.Fprintf(env.Stdout, "excluded %s (id %d)\n", safe(x.Value), x.ID)
	return nil
}

func runCorrelationList(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("correlation list", correlationListSynopsis)
	jsonOut := fs.Bool("json", false, "print a JSON array")
	s, _, err := openNoArgs(ctx, env, fs, args)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	xs, err := s.CorrelationExclusions(ctx)
	if err != nil {
		return err
	}
	if *jsonOut {
		return printJSON(env, xs)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tVALUE\tCOMMENT")
	for _, x := range xs {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", x.ID, safe(x.Value), safe(x.Comment))
	}
	return tw.Flush()
}

func runCorrelationRm(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("correlation rm", correlationRmSynopsis)
	pos, err := fs.Parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("correlation rm takes one VALUE or ID; run 'mispdesk correlation rm -h' for usage")
	}
	s, _, err := openInitialised(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	id, err := s.ResolveCorrelationExclusion(ctx, pos[0])
	if err == nil {
		err = s.DeleteCorrelationExclusion(ctx, id)
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return inputErr(err)
		}
		return err
	}
	fmt.Fprintf(env.Stdout, "removed %s; it correlates again\n", safe(pos[0]))
	return nil
}

func runCorrelationClean(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("correlation clean", correlationCleanSynopsis)
	s, _, err := openNoArgs(ctx, env, fs, args)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	n, err := s.CleanCorrelationExclusions(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "removed %d correlations of excluded values\n", n)
	return nil
}

func runCorrelationTop(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("correlation top", correlationTopSynopsis)
	limit := fs.Int("limit", 20, "how many values of each kind")
	jsonOut := fs.Bool("json", false, "print a JSON array")
	s, _, err := openNoArgs(ctx, env, fs, args)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	if *limit < 1 {
		return usagef("correlation top: --limit must be at least 1")
	}
	top, err := s.TopCorrelations(ctx, *limit)
	if err != nil {
		return err
	}
	if *jsonOut {
		return printJSON(env, top)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "COUNT\tVALUE\tNOTE")
	for _, c := range top {
		note := ""
		if c.Over {
			note = "over-correlating: no longer correlated"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", c.Count, safe(c.Value), note)
	}
	return tw.Flush()
}

func runCorrelationRebuild(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("correlation rebuild", correlationRebuildSynopsis)
	s, _, err := openNoArgs(ctx, env, fs, args)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	n, err := s.Recorrelate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "correlated %d events\n", n)
	return nil
}
