package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer"
	"mispdesk/syncer/feed"
)

const (
	feedSynopsis      = "feed add|list|show|edit|rm|fetch|cache ..."
	feedFlagsSynopsis = "[--provider P] [--enabled] [--caching] [--distribution 0-5] [--sharing-group SG] [--tag TAG]" +
		" [--rules JSON] [--header 'Key: value']... [--schedule DURATION] [--json]"
	feedAddSynopsis   = "feed add (--name NAME --url URL|DIR | --default NAME) " + feedFlagsSynopsis
	feedListSynopsis  = "feed list [--json]"
	feedShowSynopsis  = "feed show FEED [--json]"
	feedEditSynopsis  = "feed edit FEED [--name NAME] [--url URL|DIR] " + feedFlagsSynopsis
	feedRmSynopsis    = "feed rm FEED [--yes]"
	feedFetchSynopsis = "feed fetch [FEED|--all] [--json]"
	feedCacheSynopsis = "feed cache [FEED|--all] [--json]"
)

var feedCommands = []*command{
	{"add", feedAddSynopsis, "add a MISP-format feed (an http(s) URL or a directory), or one of MISP's default feeds by name (disabled)", runFeedAdd},
	{"list", feedListSynopsis, "list the feeds with their last fetch", runFeedList},
	{"show", feedShowSynopsis, "show every field of a feed (header values masked)", runFeedShow},
	{"edit", feedEditSynopsis, "change the fields given (booleans as --enabled=false), keep the others", runFeedEdit},
	{"rm", feedRmSynopsis, "delete a feed and its cache; the events it brought stay (asks on a terminal, else needs --yes)", runFeedRm},
	{"fetch", feedFetchSynopsis, "fetch a feed now, or every enabled feed with --all: new and newer events only", runFeedFetch},
	{"cache", feedCacheSynopsis, "refresh a feed's cache of value hashes (hashes.csv, or its events hashed), or every caching feed with --all", runFeedCache},
}

func runFeed(ctx context.Context, env *Env, args []string) error {
	return group("feed", feedSynopsis, feedCommands)(ctx, env, args)
}

// headerFlags collects repeated --header flags.
type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, "; ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

type feedFlags struct {
	fs                                  *Flags
	name, url, provider, sg, tag, rules *string
	def                                 *string
	enabled, caching, jsonOut           *bool
	distribution                        *int
	schedule                            *time.Duration
	headers                             headerFlags
}

func newFeedFlags(env *Env, name, synopsis string, add bool) *feedFlags {
	fs := env.Flags(name, synopsis)
	f := &feedFlags{fs: fs}
	f.name = fs.String("name", "", "the feed's `NAME` (unique)")
	f.url = fs.String("url", "", "the feed's http(s) `URL`, or a DIRectory holding manifest.json (a local feed)")
	f.provider = fs.String("provider", "", "who publishes the feed (`TEXT`)")
	f.enabled = fs.Bool("enabled", false, "fetch the feed (by hand, and on its schedule)")
	f.caching = fs.Bool("caching", false, "keep the feed's value hashes, to show which of your attributes it holds")
	f.distribution = fs.Int("distribution", 0, "`N`, the distribution of the feed's events here: 0 org, 1 community, 2 connected, 3 all, 4 sharing group, 5 keep the event's own (none: 0)")
	f.sg = fs.String("sharing-group", "", "the sharing group (`SG` id, UUID or name) for --distribution 4")
	f.tag = fs.String("tag", "", "a `TAG` to add to every event of the feed (\"\" none)")
	f.rules = fs.String("rules", "", "MISP's feed rules as `JSON`, e.g. {\"tags\":{\"OR\":[],\"NOT\":[\"tlp:red\"]},\"orgs\":{\"OR\":[],\"NOT\":[]}}")
	fs.Var(&f.headers, "header", "a request header `'Key: value'` to send (repeat for more; on edit the given ones replace all)")
	f.schedule = fs.Duration("schedule", 0, "fetch from the daemon every `DURATION` (e.g. 6h; 0: by hand only)")
	f.jsonOut = fs.Bool("json", false, "print the feed as JSON")
	if add {
		f.def = fs.String("default", "", "add one of MISP's default feeds by `NAME` (disabled unless --enabled): "+defaultFeedNames())
	}
	return f
}

func defaultFeedNames() string {
	var names []string
	for _, d := range feed.DefaultFeeds {
		names = append(names, fmt.Sprintf("%q", d.Name))
	}
	return strings.Join(names, ", ")
}

// apply writes the flags given into spec (on add, the defaults too).
func (f *feedFlags) apply(spec *store.FeedSpec, all bool) error {
	given := func(name string) bool { return all || f.fs.Given(name) }
	if given("name") {
		spec.Name = strings.TrimSpace(*f.name)
		if spec.Name == "" {
			return usagef("--name NAME is required and may not be blank")
		}
	}
	if given("url") {
		u := strings.TrimSpace(*f.url)
		if u == "" {
			return usagef("--url URL|DIR is required")
		}
		lower := strings.ToLower(u)
		switch {
		case strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://"):
			spec.InputSource = store.FeedNetwork
		case strings.Contains(u, "://"):
			return usagef("--url %q: want an http(s) URL or a directory", u)
		default:
			abs, err := filepath.Abs(u)
			if err != nil {
				return inputf("--url %s: %v", u, err)
			}
			if info, err := os.Stat(abs); err == nil && !info.IsDir() {
				return inputf("--url %s: not a directory (a local feed is a directory holding manifest.json)", u)
			}
			u, spec.InputSource = abs, store.FeedLocal
		}
		spec.URL = u
	}
	if given("provider") {
		spec.Provider = *f.provider
	}
	if given("enabled") {
		spec.Enabled = *f.enabled
	}
	if given("caching") {
		spec.Caching = *f.caching
	}
	if given("distribution") {
		if *f.distribution < 0 || *f.distribution > 5 {
			return usagef("--distribution %d: want 0-5", *f.distribution)
		}
		spec.Distribution = misp.Distribution(*f.distribution)
	}
	if given("sharing-group") {
		spec.SharingGroupRef = strings.TrimSpace(*f.sg)
	}
	if spec.Distribution == misp.SharingGroupDist && spec.SharingGroupRef == "" {
		return usagef("--distribution 4 needs --sharing-group SG")
	}
	if given("tag") {
		spec.Tag = strings.TrimSpace(*f.tag)
	}
	if given("rules") {
		text := strings.TrimSpace(*f.rules)
		rules, err := policy.ParseRules(policy.RulesKind("rules"), text)
		if err != nil {
			return inputf("--rules: %v", err)
		}
		for _, k := range rules.Ignored {
			return inputf("--rules: unknown key %q (a feed's rules have tags and orgs)", k)
		}
		if !strings.HasPrefix(text, "{") {
			text = ""
		}
		spec.Rules = text
	}
	if given("header") {
		spec.Headers = strings.Join(f.headers, "\n")
	}
	if given("schedule") {
		if *f.schedule < 0 || (*f.schedule > 0 && *f.schedule < time.Minute) {
			return usagef("--schedule %s: want 0 (by hand) or at least 1m", *f.schedule)
		}
		spec.ScheduleSeconds = int64(*f.schedule / time.Second)
	}
	return nil
}

func runFeedAdd(ctx context.Context, env *Env, args []string) (err error) {
	f := newFeedFlags(env, "feed add", feedAddSynopsis, true)
	if err := f.fs.ParseNoArgs(args); err != nil {
		return err
	}
	var spec store.FeedSpec
	if f.fs.Given("default") {
		d, ok := feed.LookupDefault(*f.def)
		if !ok {
			return inputf("--default %q: not one of MISP's default feeds (%s)", *f.def, defaultFeedNames())
		}
		spec = d.Spec()
		// The default feed's settings, but for those given on the command line.
		if !f.fs.Given("distribution") {
			*f.distribution = int(spec.Distribution)
		}
		if !f.fs.Given("name") {
			*f.name = spec.Name
		}
		if !f.fs.Given("url") {
			*f.url = spec.URL
		}
		if !f.fs.Given("provider") {
			*f.provider = spec.Provider
		}
	} else if !f.fs.Given("name") || !f.fs.Given("url") {
		return usagef("--name and --url are required (or --default NAME); run 'mispdesk feed add -h' for usage")
	}
	if err := f.apply(&spec, true); err != nil {
		return err
	}
	s, _, err := openInitialised(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	fd, err := s.AddFeed(ctx, spec)
	if err != nil {
		return inputErr(err)
	}
	if spec.InputSource == store.FeedLocal {
		if _, err := os.Stat(filepath.Join(fd.URL, "manifest.json")); err != nil {
			fmt.Fprintf(env.Stderr, "mispdesk feed add: warning: %s has no manifest.json yet\n", safe(fd.URL))
		}
	}
	if *f.jsonOut {
		return printJSON(env, newFeedJSON(fd))
	}
	fmt.Fprintf(env.Stdout, "Added feed %q (id %d): %s, %s\n", safe(fd.Name), fd.ID, safe(fd.URL), feedState(fd))
	return nil
}

func runFeedEdit(ctx context.Context, env *Env, args []string) (err error) {
	f := newFeedFlags(env, "feed edit", feedEditSynopsis, false)
	s, _, old, err := openRecord(ctx, env, f.fs, args, feedRecord, findFeed)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	spec := old.Spec()
	if err := f.apply(&spec, false); err != nil {
		return err
	}
	fd, err := s.UpdateFeed(ctx, old.ID, spec)
	if err != nil {
		return inputErr(err)
	}
	if *f.jsonOut {
		return printJSON(env, newFeedJSON(fd))
	}
	fmt.Fprintf(env.Stdout, "Updated feed %q (id %d): %s, %s\n", safe(fd.Name), fd.ID, safe(fd.URL), feedState(fd))
	return nil
}

// findFeed finds a feed by id or name; an unknown one is bad input naming it.
func findFeed(ctx context.Context, s *store.Store, ref string) (*store.Feed, error) {
	id, err := s.ResolveFeed(ctx, ref)
	if err != nil {
		return nil, feedRecord.refErr(ref, err)
	}
	fd, err := s.Feed(ctx, id)
	return fd, feedRecord.refErr(ref, err)
}

// feedState says in a few words how a feed is set.
func feedState(fd *store.Feed) string {
	parts := []string{"disabled"}
	if fd.Enabled {
		parts[0] = "enabled"
	}
	if fd.ScheduleSeconds > 0 {
		parts = append(parts, "every "+(time.Duration(fd.ScheduleSeconds)*time.Second).String())
	} else {
		parts = append(parts, "by hand")
	}
	if fd.Caching {
		parts = append(parts, "caching")
	}
	parts = append(parts, "distribution "+strconv.Itoa(int(fd.Distribution)))
	return strings.Join(parts, ", ")
}

// feedJSON is a feed as the commands print it: header values masked (they often carry
// an API key).
type feedJSON struct {
	store.Feed
	Headers string `json:"headers"`
}

func newFeedJSON(fd *store.Feed) feedJSON {
	return feedJSON{Feed: *fd, Headers: maskHeaders(fd.Headers)}
}

func maskHeaders(text string) string {
	hs, err := parseHeaderLines(text)
	if err != nil {
		return "(unreadable)"
	}
	var lines []string
	for _, h := range hs {
		lines = append(lines, h[0]+": "+maskKey(h[1]))
	}
	return strings.Join(lines, "\n")
}

func parseHeaderLines(text string) ([][2]string, error) {
	fd := store.Feed{Headers: text}
	return fd.HeaderLines()
}

func runFeedList(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("feed list", feedListSynopsis)
	jsonOut := fs.Bool("json", false, "print a JSON array of feeds")
	s, _, err := openNoArgs(ctx, env, fs, args)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	feeds, err := s.Feeds(ctx)
	if err != nil {
		return err
	}
	if *jsonOut {
		out := []feedJSON{}
		for i := range feeds {
			out = append(out, newFeedJSON(&feeds[i]))
		}
		return printJSON(env, out)
	}
	if len(feeds) == 0 {
		fmt.Fprintln(env.Stdout, "no feeds (mispdesk feed add --name NAME --url URL|DIR, or --default \"CIRCL OSINT Feed\")")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tON\tSOURCE\tDIST\tSCHEDULE\tLAST FETCH\tRESULT")
	for _, fd := range feeds {
		on := "no"
		if fd.Enabled {
			on = "yes"
		}
		sched := "by hand"
		if fd.ScheduleSeconds > 0 {
			sched = (time.Duration(fd.ScheduleSeconds) * time.Second).String()
		}
		last := "never"
		if fd.LastFetched > 0 {
			last = time.Unix(fd.LastFetched, 0).Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", fd.ID, cut(safe(fd.Name), 28), on, fd.InputSource, fd.Distribution,
			sched, last, cut(safe(fd.LastResult), 40))
	}
	return tw.Flush()
}

func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func runFeedShow(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("feed show", feedShowSynopsis)
	jsonOut := fs.Bool("json", false, "print the feed as JSON")
	s, _, fd, err := openRecord(ctx, env, fs, args, feedRecord, findFeed)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	if *jsonOut {
		return printJSON(env, newFeedJSON(fd))
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 8, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%s\n", k, safe(fmt.Sprint(v))) }
	row("id", fd.ID)
	row("name", fd.Name)
	row("provider", fd.Provider)
	row("url", fd.URL)
	row("input source", fd.InputSource)
	row("source format", fd.SourceFormat)
	row("enabled", fd.Enabled)
	row("caching", fd.Caching)
	row("distribution", fmt.Sprintf("%d (%s)", fd.Distribution, fd.Distribution))
	if fd.SharingGroupID != 0 {
		row("sharing group", fmt.Sprintf("%s (id %d)", fd.SharingGroupName, fd.SharingGroupID))
	}
	row("tag", fd.Tag)
	row("rules", fd.Rules)
	row("headers", maskHeaders(fd.Headers))
	row("schedule", feedState(fd))
	row("default", fd.Default)
	last := "never"
	if fd.LastFetched > 0 {
		last = time.Unix(fd.LastFetched, 0).Format(time.RFC3339)
	}
	row("last fetch", last)
	row("last result", fd.LastResult)
	if fd.CacheTimestamp > 0 {
		row("cache", fmt.Sprintf("%d hashes, %s", fd.CacheCount, time.Unix(fd.CacheTimestamp, 0).Format(time.RFC3339)))
	}
	return tw.Flush()
}

func runFeedRm(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("feed rm", feedRmSynopsis)
	yes := fs.Bool("yes", false, "delete without asking (required when not on a terminal)")
	s, _, fd, err := openRecord(ctx, env, fs, args, feedRecord, findFeed)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	question := fmt.Sprintf("Delete feed %q (id %d, %s) and its cache? The events it brought stay.", safe(fd.Name), fd.ID, safe(fd.URL))
	if err := confirmDelete(env, *yes, feedRecord, fd.Name, question); err != nil {
		return err
	}
	if err := s.DeleteFeed(ctx, fd.ID); err != nil {
		return storeErr(err)
	}
	fmt.Fprintf(env.Stdout, "Deleted feed %q (id %d)\n", safe(fd.Name), fd.ID)
	return nil
}

// feedTargets resolves FEED or --all (every feed passing keep).
func feedTargets(ctx context.Context, s *store.Store, sub string, args []string, all bool, keep func(*store.Feed) bool) ([]store.Feed, error) {
	if err := feedRecord.oneOrAllArgs("feed "+sub, args, all); err != nil {
		return nil, err
	}
	if !all {
		fd, err := findFeed(ctx, s, args[0])
		if err != nil {
			return nil, err
		}
		return []store.Feed{*fd}, nil
	}
	feeds, err := s.Feeds(ctx)
	if err != nil {
		return nil, err
	}
	return only(feeds, keep), nil
}

// feedRunJSON is one feed's fetch in feed fetch --json.
type feedRunJSON struct {
	*feed.FetchSummary
	Error string `json:"error,omitempty"`
}

func runFeedFetch(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("feed fetch", feedFetchSynopsis)
	all := fs.Bool("all", false, "every enabled feed, one after another")
	jsonOut := fs.Bool("json", false, "print a JSON array of fetch summaries")
	args, err = fs.Parse(args)
	if err != nil {
		return err
	}
	s, _, err := openInitialised(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	feeds, err := feedTargets(ctx, s, "fetch", args, *all, func(f *store.Feed) bool { return f.Enabled })
	if err != nil {
		return err
	}
	if *all && len(feeds) == 0 {
		fmt.Fprintln(env.Stderr, "mispdesk feed fetch: no feed is enabled (mispdesk feed edit FEED --enabled)")
	}
	eng := syncer.New(s, syncer.Options{})
	defer eng.Close()
	prog := newProgress(env.Stderr, env.IsTerminal)
	results := []feedRunJSON{}
	failed := 0
	for _, fd := range feeds {
		sum, err := eng.FetchFeed(ctx, fd.ID, func(p feed.FetchProgress) {
			prog.update(fmt.Sprintf("%s: %d of %d events, %s events/s, %d failed", cut(safe(p.Feed), 30), p.Done, p.Total,
				rate(p.Done, p.Elapsed), p.Failed), p.Done == p.Total)
		})
		prog.clear()
		if sum == nil {
			sum = &feed.FetchSummary{Feed: fd.Name}
		}
		r := feedRunJSON{FetchSummary: sum}
		if err != nil {
			r.Error = err.Error()
		}
		if err != nil || sum.Failed > 0 {
			failed++
		}
		results = append(results, r)
		if *jsonOut {
			continue
		}
		if err != nil {
			fmt.Fprintf(env.Stderr, "mispdesk feed fetch: %s\n", oneLine(err.Error()))
			continue
		}
		fmt.Fprintln(env.Stdout, safe(sum.Line()))
		for _, e := range sum.Errors {
			fmt.Fprintf(env.Stderr, "mispdesk feed fetch: %s: %s\n", safe(fd.Name), oneLine(e))
		}
		if env.IsTerminal {
			for _, r := range sum.TopSkipReasons(3) {
				fmt.Fprintf(env.Stdout, "  skipped %s\n", safe(r))
			}
		}
	}
	if *jsonOut {
		if err := printJSON(env, results); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d feeds failed or lost events (see mispdesk log --direction feed)", failed, len(feeds))
	}
	return nil
}

func runFeedCache(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("feed cache", feedCacheSynopsis)
	all := fs.Bool("all", false, "every feed with caching on")
	jsonOut := fs.Bool("json", false, "print a JSON array of {feed, hashes, error}")
	args, err = fs.Parse(args)
	if err != nil {
		return err
	}
	s, _, err := openInitialised(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	feeds, err := feedTargets(ctx, s, "cache", args, *all, func(f *store.Feed) bool { return f.Caching })
	if err != nil {
		return err
	}
	eng := syncer.New(s, syncer.Options{})
	defer eng.Close()
	type cacheJSON struct {
		Feed   string `json:"feed"`
		Hashes int    `json:"hashes"`
		Error  string `json:"error,omitempty"`
	}
	out := []cacheJSON{}
	failed := 0
	for _, fd := range feeds {
		n, err := eng.CacheFeed(ctx, fd.ID)
		c := cacheJSON{Feed: fd.Name, Hashes: n}
		if err != nil {
			failed++
			c.Error = err.Error()
		}
		out = append(out, c)
		if *jsonOut {
			continue
		}
		if err != nil {
			fmt.Fprintf(env.Stderr, "mispdesk feed cache: %s\n", oneLine(err.Error()))
		} else {
			fmt.Fprintf(env.Stdout, "%s: cache holds %d hashes\n", safe(fd.Name), n)
		}
	}
	if *jsonOut {
		if err := printJSON(env, out); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d feeds could not be cached (see mispdesk log)", failed, len(feeds))
	}
	return nil
}
