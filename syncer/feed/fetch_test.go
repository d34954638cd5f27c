package feed

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
)

const fixtureFeeds = "../../testdata/feeds"

// fixtureFeedNames are the fixture feeds the fetch tests read whole; the race pass of
// make test (go test -race -short) leaves out osint-mixed, which holds most of their bytes.
func fixtureFeedNames() []string {
	names := []string{"osint-mixed", "chrome-mal-ids", "crowdsec-threat-feed", "act-workers-circl"}
	if testing.Short() {
		return names[1:]
	}
	return names
}

// subFeed is a feed directory holding only the given events of the fixture feed name,
// with their manifest entries.
func subFeed(t testing.TB, name string, uuids ...string) string {
	t.Helper()
	src := filepath.Join(fixtureFeeds, name)
	raw, err := os.ReadFile(filepath.Join(src, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	keep := map[string]json.RawMessage{}
	for _, u := range uuids {
		if keep[u] = all[u]; keep[u] == nil {
			t.Fatalf("%s lists no event %s", name, u)
		}
		b, err := os.ReadFile(filepath.Join(src, u+".json"))
		if err == nil {
			err = os.WriteFile(filepath.Join(dst, u+".json"), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	m, _ := json.Marshal(keep)
	if err := os.WriteFile(filepath.Join(dst, "manifest.json"), m, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// feedServer serves a directory like a static web server, counting requests by file
// name; fault, when it returns true, has answered the request itself.
type feedServer struct {
	*httptest.Server
	mu     sync.Mutex
	hits   map[string]int
	fault  func(w http.ResponseWriter, r *http.Request, name string) bool
	noVals bool // strip ETag and Last-Modified (a server without validators)
}

func serveFeed(t testing.TB, dir string) *feedServer {
	fs := &feedServer{hits: map[string]int{}}
	files := http.FileServer(http.Dir(dir))
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		fs.mu.Lock()
		fs.hits[name]++
		fault, noVals := fs.fault, fs.noVals
		fs.mu.Unlock()
		if fault != nil && fault(w, r, name) {
			return
		}
		if noVals {
			r.Header.Del("If-Modified-Since")
			r.Header.Del("If-None-Match")
			w = noValidators{w}
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(fs.Close)
	return fs
}

type noValidators struct{ http.ResponseWriter }

func (n noValidators) WriteHeader(code int) {
	n.Header().Del("Last-Modified")
	n.Header().Del("ETag")
	n.ResponseWriter.WriteHeader(code)
}

func (n noValidators) Write(b []byte) (int, error) {
	n.Header().Del("Last-Modified")
	return n.ResponseWriter.Write(b)
}

func (fs *feedServer) requests() (total int, byName map[string]int) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	byName = map[string]int{}
	for k, v := range fs.hits {
		byName[k] = v
		total += v
	}
	fs.hits = map[string]int{}
	return total, byName
}

func addFeed(t testing.TB, s *store.Store, spec store.FeedSpec) *store.Feed {
	t.Helper()
	if spec.Name == "" {
		spec.Name = "test feed"
	}
	f, err := s.AddFeed(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// fetch runs a fetch with short timeouts and re-reads the feed record afterwards.
func fetch(t testing.TB, s *store.Store, name string) *FetchSummary {
	t.Helper()
	ctx := context.Background()
	f, err := s.Feed(ctx, testsupport.FeedID(s, name))
	if err != nil {
		t.Fatal(err)
	}
	ft := &Fetcher{Store: s, Client: ClientOptions{Timeout: 2 * time.Second, Retries: 1, RetryWait: 10 * time.Millisecond}}
	sum, err := ft.Fetch(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func manifestOf(t testing.TB, dir string) Manifest {
	t.Helper()
	m, err := ReadManifest(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func feedLog(t testing.TB, s *store.Store) []store.LogEntry {
	t.Helper()
	entries, err := s.LogSince(context.Background(), 0, 100000, store.LogFilter{Direction: "feed"})
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// Every fixture feed arrives whole over HTTP; a second fetch reads the manifest only
// (and gets a 304), or, from a server without validators, reads only the manifest.
func TestFetchFixtureFeedsOverHTTP(t *testing.T) {
	for _, name := range fixtureFeedNames() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dir := filepath.Join(fixtureFeeds, name)
			want := manifestOf(t, dir)
			srv := serveFeed(t, dir)
			s := newStore(t)
			addFeed(t, s, store.FeedSpec{Name: name, URL: srv.URL, Enabled: true, Distribution: misp.InheritEvent, Tag: "feed:" + name})
			sum := fetch(t, s, name)
			if sum.Failed != 0 || sum.Created != len(want) || sum.Listed != len(want) {
				t.Fatalf("%s; errors %v", sum.Line(), sum.Errors)
			}
			if n, _ := s.CountEvents(ctx, store.EventFilter{}); n != len(want) {
				t.Errorf("store holds %d events, manifest lists %d", n, len(want))
			}
			if n, _ := s.CountEvents(ctx, store.EventFilter{Tag: "feed:" + name}); n != len(want) {
				t.Errorf("%d events carry the feed's tag, want %d", n, len(want))
			}
			total, byName := srv.requests()
			if total != len(want)+1 || byName["manifest.json"] != 1 {
				t.Errorf("first fetch: %d requests, want manifest + %d events", total, len(want))
			}
			again := fetch(t, s, name)
			total, byName = srv.requests()
			if !again.NotModified || total != 1 || byName["manifest.json"] != 1 {
				t.Errorf("second fetch: %s, %d requests %v; want the manifest only, not modified", again.Line(), total, byName)
			}
			f, _ := s.Feed(ctx, testsupport.FeedID(s, name))
			if f.LastFetched == 0 || !strings.Contains(f.LastResult, "manifest unchanged") || f.ETag == "" {
				t.Errorf("feed record after fetch: %+v", f)
			}
			// A server that sends no validators: the manifest is read in full once (no
			// event is newer, nothing else is asked for), then found unchanged by its content.
			srv.noVals = true
			third := fetch(t, s, name)
			total, _ = srv.requests()
			if third.NotModified || third.Unchanged != len(want) || third.Candidates != 0 || total != 1 {
				t.Errorf("fetch without validators: %s, %d requests", third.Line(), total)
			}
			fourth := fetch(t, s, name)
			total, _ = srv.requests()
			if !fourth.NotModified || total != 1 {
				t.Errorf("second fetch without validators: %s, %d requests", fourth.Line(), total)
			}
		})
	}
}

// The same feeds from a directory, as on an air-gapped box; an unchanged manifest file is
// not even read.
func TestFetchFromDirectory(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	total := 0
	for _, name := range fixtureFeedNames() {
		dir, _ := filepath.Abs(filepath.Join(fixtureFeeds, name))
		total += len(manifestOf(t, dir))
		addFeed(t, s, store.FeedSpec{Name: name, URL: dir, Distribution: misp.InheritEvent})
		sum := fetch(t, s, name)
		if sum.Failed != 0 || sum.Created != sum.Listed {
			t.Fatalf("%s: %v", sum.Line(), sum.Errors)
		}
		if again := fetch(t, s, name); !again.NotModified {
			t.Errorf("second fetch from a directory: %s", again.Line())
		}
		f, _ := s.Feed(ctx, testsupport.FeedID(s, name))
		if f.InputSource != store.FeedLocal || !strings.HasPrefix(f.ETag, "file:") {
			t.Errorf("feed = %+v", f)
		}
	}
	if n, _ := s.CountEvents(ctx, store.EventFilter{}); n != total {
		t.Errorf("store holds %d events, the feeds list %d", n, total)
	}
	log := feedLog(t, s)
	if len(log) < total {
		t.Errorf("%d feed log entries for %d events", len(log), total)
	}
	last := log[len(log)-1]
	if last.Direction != "feed" || last.ServerName != "act-workers-circl" || last.Outcome != "finished" {
		t.Errorf("last log entry %+v", last)
	}
	progress := 0
	for _, e := range log {
		if e.Outcome == "fetched" && e.Total > 0 && e.Done >= 1 && e.Done <= e.Total && e.EventUUID != "" {
			progress++
		}
	}
	if progress != total {
		t.Errorf("%d fetched entries with n of m, want %d", progress, total)
	}
}

func copyFeed(t testing.TB, name string) string {
	dst := filepath.Join(t.TempDir(), name)
	copyDir(t, filepath.Join(fixtureFeeds, name), dst)
	return dst
}

var tsRE = regexp.MustCompile(`"timestamp": ?"?1474460824"?`)

// An event rewritten with a newer timestamp (and its manifest entry) is fetched again,
// and only it.
func TestFetchUpdatedEvent(t *testing.T) {
	ctx := context.Background()
	dir := copyFeed(t, "act-workers-circl")
	srv := serveFeed(t, dir)
	s := newStore(t)
	addFeed(t, s, store.FeedSpec{Name: "circl", URL: srv.URL, Distribution: misp.InheritEvent})
	if sum := fetch(t, s, "circl"); sum.Created != 2 {
		t.Fatal(sum.Line())
	}
	srv.requests()
	const u = "57e27c3d-17a8-4c3b-8195-493e950d210f"
	for _, file := range []string{u + ".json", "manifest.json"} {
		p := filepath.Join(dir, file)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !tsRE.Match(b) {
			t.Fatalf("%s: no timestamp 1474460824 to bump", file)
		}
		b = tsRE.ReplaceAll(b, []byte(`"timestamp": "1474461824"`))
		b = []byte(strings.Replace(string(b), "E-TICKET", "E-TICKET (updated)", 1))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, time.Now().Add(time.Minute), time.Now().Add(time.Minute))
	}
	sum := fetch(t, s, "circl")
	total, byName := srv.requests()
	if sum.Updated != 1 || sum.Created != 0 || sum.Unchanged != 1 || total != 2 || byName[u+".json"] != 1 {
		t.Errorf("%s; requests %v", sum.Line(), byName)
	}
	e, err := s.Event(ctx, testsupport.LocalEvent(t, s, u))
	if err != nil || e.Timestamp != 1474461824 || !strings.Contains(e.Info, "(updated)") {
		t.Errorf("event after update: %v %v", e.Info, err)
	}
}

// Faults cost only the event they touch, each logged with its reason; the rest of the
// feed comes in, and a flaky 503 is retried.
func TestFetchFaultsCostOnlyTheBadEvent(t *testing.T) {
	ctx := context.Background()
	dir := copyFeed(t, "chrome-mal-ids")
	m := manifestOf(t, dir)
	var uuids []string
	for u := range m {
		uuids = append(uuids, u)
	}
	missing, truncated, wrong, hangs, flaky := uuids[0], uuids[1], uuids[2], uuids[3], uuids[4]
	b, _ := os.ReadFile(filepath.Join(dir, truncated+".json"))
	os.WriteFile(filepath.Join(dir, truncated+".json"), b[:len(b)/2], 0o644)
	other, _ := os.ReadFile(filepath.Join(dir, uuids[5]+".json"))
	os.WriteFile(filepath.Join(dir, wrong+".json"), other, 0o644)
	srv := serveFeed(t, dir)
	var flakyOnce sync.Once
	srv.fault = func(w http.ResponseWriter, r *http.Request, name string) bool {
		switch name {
		case missing + ".json":
			http.NotFound(w, r)
			return true
		case hangs + ".json":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return true
		case flaky + ".json":
			served := true
			flakyOnce.Do(func() {
				http.Error(w, "try later", http.StatusServiceUnavailable)
				served = false
			})
			return !served
		}
		return false
	}
	s := newStore(t)
	f := addFeed(t, s, store.FeedSpec{Name: "chrome", URL: srv.URL, Distribution: misp.InheritEvent})
	ft := &Fetcher{Store: s, Client: ClientOptions{Timeout: 300 * time.Millisecond, Retries: 1, RetryWait: 5 * time.Millisecond}}
	sum, err := ft.Fetch(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed != 4 || sum.Created != len(m)-4 {
		t.Fatalf("%s: %v", sum.Line(), sum.Errors)
	}
	byUUID := map[string]string{}
	for _, e := range feedLog(t, s) {
		if e.Level == "error" && e.EventUUID != "" {
			byUUID[e.EventUUID] = e.Message
		}
	}
	for u, want := range map[string]string{missing: "404", truncated: "unexpected EOF", wrong: "but the manifest lists it as", hangs: "timed out"} {
		if !strings.Contains(byUUID[u], want) {
			t.Errorf("log line for %s = %q, want it to say %q", u, byUUID[u], want)
		}
	}
	if _, err := s.Event(ctx, testsupport.LocalEvent(t, s, flaky)); err != nil {
		t.Errorf("the event behind a single 503 did not arrive: %v", err)
	}
	if got, _ := s.Feed(ctx, testsupport.FeedID(s, "chrome")); got.ETag != "" || !strings.Contains(got.LastResult, "failed 4") {
		t.Errorf("after a fetch with failures: etag %q, result %q; want no etag kept", got.ETag, got.LastResult)
	}
	// The next fetch tries exactly the failed ones again.
	srv.fault = nil
	srv.requests()
	again, _ := ft.Fetch(ctx, f)
	if again.Candidates != 4 || again.Failed != 2 || again.Created != 2 {
		t.Errorf("retry fetch: %s (the truncated and the wrong file stay bad)", again.Line())
	}
}

// A dead URL and a corrupt manifest are one clear error, and the fetch is recorded.
func TestFetchDeadURLAndBadManifest(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	f := addFeed(t, s, store.FeedSpec{Name: "dead", URL: dead.URL})
	ft := &Fetcher{Store: s, Client: ClientOptions{Timeout: time.Second, Retries: -1}}
	if _, err := ft.Fetch(ctx, f); err == nil || !strings.Contains(err.Error(), "manifest") {
		t.Errorf("dead URL: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"not-a-uuid":{}}`), 0o644)
	g := addFeed(t, s, store.FeedSpec{Name: "bad", URL: dir})
	if _, err := ft.Fetch(ctx, g); err == nil || !strings.Contains(err.Error(), "not an event UUID") {
		t.Errorf("bad manifest: %v", err)
	}
	got, _ := s.Feed(ctx, testsupport.FeedID(s, "dead"))
	if !strings.HasPrefix(got.LastResult, "failed: manifest") {
		t.Errorf("last result %q", got.LastResult)
	}
	errs := 0
	for _, e := range feedLog(t, s) {
		if e.Level == "error" {
			errs++
		}
	}
	if errs < 2 {
		t.Errorf("%d error lines in the log", errs)
	}
}

// Feed::__prepareEvent: a feed with distribution 5 keeps an event's own distribution and makes a missing
// one 0; any other distribution becomes the event's and every child inherits it.
func TestFetchDistribution(t *testing.T) {
	ctx := context.Background()
	// Events of the fixture with and without a distribution of their own.
	const withDist = "13cb1207-0674-4a54-a999-df5ff8e35c1a"
	const noDist = "57c4445b-c548-4654-af0b-4be3950d210f"
	dir := subFeed(t, "osint-mixed", withDist, noDist)
	raw, _ := os.ReadFile(filepath.Join(dir, withDist+".json"))
	orig, err := misp.ParseEvent(raw)
	if err != nil || orig.Distribution == misp.DistributionUnknown {
		t.Fatalf("fixture %s has no distribution: %v", withDist, err)
	}
	raw, _ = os.ReadFile(filepath.Join(dir, noDist+".json"))
	if e, _ := misp.ParseEvent(raw); e.Distribution != misp.DistributionUnknown {
		t.Fatalf("fixture %s has a distribution", noDist)
	}

	s := newStore(t)
	addFeed(t, s, store.FeedSpec{Name: "inherit", URL: dir, Distribution: misp.InheritEvent})
	fetch(t, s, "inherit")
	if e, _ := s.Event(ctx, testsupport.LocalEvent(t, s, withDist)); e.Distribution != orig.Distribution {
		t.Errorf("feed 5, event with distribution %d: stored %d", orig.Distribution, e.Distribution)
	}
	if e, _ := s.Event(ctx, testsupport.LocalEvent(t, s, noDist)); e.Distribution != misp.OrgOnly {
		t.Errorf("feed 5, event without distribution: stored %d, want 0", e.Distribution)
	}

	for _, tc := range []struct {
		dist misp.Distribution
		sg   bool
	}{{misp.ConnectedCommunity, false}, {misp.SharingGroupDist, true}} {
		s := newStore(t)
		spec := store.FeedSpec{Name: "f", URL: dir, Distribution: tc.dist}
		var sgID int64
		if tc.sg {
			sg, err := s.AddSharingGroup(ctx, store.NewSharingGroup{Name: "Feed readers"})
			if err != nil {
				t.Fatal(err)
			}
			spec.SharingGroupRef, sgID = sg.UUID, int64(sg.ID)
		}
		addFeed(t, s, spec)
		if sum := fetch(t, s, "f"); sum.Failed != 0 {
			t.Fatal(sum.Errors)
		}
		for _, u := range []string{withDist, noDist} {
			e, err := s.Event(ctx, testsupport.LocalEvent(t, s, u))
			if err != nil {
				t.Fatal(err)
			}
			if e.Distribution != tc.dist || (tc.sg && int64(e.SharingGroupID) != sgID) {
				t.Errorf("feed %d: event %s stored with %d/%d", tc.dist, u, e.Distribution, e.SharingGroupID)
			}
			bad := 0
			for _, a := range e.Attribute {
				if a.Distribution != misp.InheritEvent {
					bad++
				}
			}
			for _, o := range e.Object {
				if o.Distribution != misp.InheritEvent {
					bad++
				}
				for _, a := range o.Attribute {
					if a.Distribution != misp.InheritEvent {
						bad++
					}
				}
			}
			if bad > 0 || len(e.Attribute)+len(e.Object) == 0 {
				t.Errorf("feed %d: event %s has %d children not inheriting", tc.dist, u, bad)
			}
		}
	}
}

// The feed's rules block by tag and by creator org, before anything but the manifest is
// read.
func TestFetchRules(t *testing.T) {
	if testing.Short() {
		t.Skip("a whole feed, twice: the non-race pass of make test runs it")
	}
	ctx := context.Background()
	dir := filepath.Join(fixtureFeeds, "osint-mixed")
	m := manifestOf(t, dir)
	circl := 0
	for _, e := range m {
		if e.Orgc != nil && e.Orgc.Name == "CIRCL" {
			circl++
		}
	}
	srv := serveFeed(t, dir)
	s := newStore(t)
	addFeed(t, s, store.FeedSpec{Name: "no circl", URL: srv.URL, Rules: `{"orgs":{"OR":[],"NOT":["55f6ea5e-2c60-40e5-964f-47a8950d210f"]}}`})
	sum := fetch(t, s, "no circl")
	total, _ := srv.requests()
	if sum.Skipped != circl || sum.Created != len(m)-circl || total != len(m)-circl+1 {
		t.Errorf("orgs NOT CIRCL: %s, %d requests; %d CIRCL events", sum.Line(), total, circl)
	}
	if n, _ := s.CountEvents(ctx, store.EventFilter{Org: "CIRCL"}); n != 0 {
		t.Errorf("%d CIRCL events stored", n)
	}

	s2 := newStore(t)
	addFeed(t, s2, store.FeedSpec{Name: "ransom only", URL: srv.URL, Rules: `{"tags":{"OR":["ms-caro-malware:malware-type=\"Ransom\""],"NOT":[]}}`})
	sum = fetch(t, s2, "ransom only")
	if sum.Created == 0 || sum.Created >= len(m) {
		t.Errorf("tags OR Ransom: %s", sum.Line())
	}
	if n, _ := s2.CountEvents(ctx, store.EventFilter{Tag: `ms-caro-malware:malware-type="Ransom"`}); n != sum.Created {
		t.Errorf("%d events with the tag, %d fetched", n, sum.Created)
	}
}

// With caching on, a fetch fills the feed cache from hashes.csv (either column order) or
// from the events when hashes.csv is not MISP's layout, and FeedHits answers from it.
func TestFetchCache(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		from string
	}{{"osint-mixed", "hashes.csv"}, {"crowdsec-threat-feed", "hashes.csv"}, {"chrome-mal-ids", "events"}, {"act-workers-circl", "events"}} {
		if !slices.Contains(fixtureFeedNames(), tc.name) {
			continue
		}
		dir, _ := filepath.Abs(filepath.Join(fixtureFeeds, tc.name))
		s := newStore(t)
		addFeed(t, s, store.FeedSpec{Name: tc.name, URL: dir, Caching: true, Distribution: misp.InheritEvent})
		sum := fetch(t, s, tc.name)
		if sum.Cached <= 0 {
			t.Errorf("%s: cached %d", tc.name, sum.Cached)
			continue
		}
		var msg string
		for _, e := range feedLog(t, s) {
			if e.Outcome == "cached" {
				msg = e.Message
			}
		}
		if !strings.Contains(msg, tc.from) {
			t.Errorf("%s: cache log %q, want it from %s", tc.name, msg, tc.from)
		}
		// Every attribute of a fetched event hits this feed.
		u := ""
		for k := range manifestOf(t, dir) {
			u = k
			break
		}
		hits, err := s.FeedHits(ctx, testsupport.LocalEvent(t, s, u))
		if err != nil {
			t.Fatal(err)
		}
		e, _ := s.Event(ctx, testsupport.LocalEvent(t, s, u))
		if len(e.Attribute) > 0 && (len(hits) == 0 || hits[0].Feeds[0].FeedName != tc.name) {
			t.Errorf("%s: hits %+v", tc.name, hits)
		}
		// Cache by hand, without fetching events: the same count.
		f, _ := s.Feed(ctx, testsupport.FeedID(s, tc.name))
		n, err := (&Fetcher{Store: s}).Cache(ctx, f)
		if err != nil || int64(n) < f.CacheCount-1 || n == 0 {
			t.Errorf("%s: Cache = %d, %v; record says %d", tc.name, n, err, f.CacheCount)
		}
	}
}

func TestParseHashes(t *testing.T) {
	u := "57c4445b-c548-4654-af0b-4be3950d210f"
	h := strings.Repeat("ab", 16)
	if got, ok := ParseHashes([]byte(h + "," + u + "\n\n" + u + "," + strings.ToUpper(h) + "\n")); !ok || len(got) != 2 || got[1].MD5 != h {
		t.Errorf("MISP and swapped layout: %v %v", got, ok)
	}
	if _, ok := ParseHashes([]byte(u + ".json," + h + "," + strings.Repeat("c", 40) + "\n")); ok {
		t.Error("chrome-mal-ids' file,md5,sha1 layout taken for a value cache")
	}
}
