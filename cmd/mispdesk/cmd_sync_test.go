package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mispdesk/store"
	"mispdesk/syncer"
	"mispdesk/syncer/mispapi"
)

const (
	// gelsemium is published with distribution "all communities": it travels.
	gelsemium     = "../../testdata/feeds/osint-mixed/3b9c73b1-e5a0-4fd8-a939-f8580f71f44b.json"
	gelsemiumUUID = "3b9c73b1-e5a0-4fd8-a939-f8580f71f44b"
	// sunorcal has no distribution; tests give it one.
	sunorcal = "../../testdata/feeds/osint-mixed/5a0a9aa9-23a4-4607-b6df-41a9950d210f.json"
)

// instance is one mispdesk instance of a test: its database, host org and admin key.
type instance struct {
	db, orgName, orgUUID, adminKey string
}

func initInstance(t *testing.T, org string) instance {
	t.Helper()
	db := filepath.Join(t.TempDir(), strings.ToLower(org)+".db")
	code, stdout, stderr := runT(t, "init", "--db", db, "--org", org, "--json")
	if code != 0 {
		t.Fatalf("init %s: %s", org, stderr)
	}
	var out struct {
		Org struct {
			UUID string `json:"uuid"`
		} `json:"org"`
		Authkey string `json:"authkey"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatal(err)
	}
	return instance{db: db, orgName: org, orgUUID: out.Org.UUID, adminKey: out.Authkey}
}

// mustRun runs a command that must succeed and returns its stdout.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := runT(t, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	return stdout
}

// serveAPI serves inst's MISP API (and its engine, for servers/pull and the
// like) on 127.0.0.1 for the test, as mispdesk serve would, and returns its URL.
func serveAPI(t *testing.T, inst instance) string {
	t.Helper()
	st := openT(t, inst.db)
	eng := syncer.New(st, syncer.Options{})
	t.Cleanup(eng.Close)
	srv := httptest.NewServer(mispapi.New(mispapi.Config{Store: st, Syncer: syncer.APIRunner{Engine: eng}}))
	t.Cleanup(srv.Close)
	if err := st.SetBaseURL(context.Background(), srv.URL); err != nil {
		t.Fatal(err)
	}
	return srv.URL
}

// link sets up, with the command line, what `from` needs to sync with `to`
// (served at url): from's host org and a sync user on `to`, to's host org and
// a server record named name on `from`. It returns the sync user's key.
func link(t *testing.T, from, to instance, url, name string) string {
	t.Helper()
	mustRun(t, "org", "add", "--db", to.db, "--name", from.orgName, "--uuid", from.orgUUID, "--local")
	out := mustRun(t, "user", "add", "--db", to.db, "--email", "sync-"+strings.ToLower(from.orgName)+"@example.test",
		"--org", from.orgUUID, "--role", "sync", "--json")
	var u struct {
		Authkey string `json:"authkey"`
	}
	if err := json.Unmarshal([]byte(out), &u); err != nil || !store.IsAuthKey(u.Authkey) {
		t.Fatalf("user add: %q, %v", out, err)
	}
	mustRun(t, "org", "add", "--db", from.db, "--name", to.orgName, "--uuid", to.orgUUID, "--external")
	mustRun(t, "server", "add", "--db", from.db, "--name", name, "--url", url, "--org", to.orgUUID,
		"--authkey", u.Authkey, "--push", "--pull")
	return u.Authkey
}

// withEvent writes a copy of the event file src with its distribution and
// published flag set, and returns its path.
func withEvent(t *testing.T, src, distribution string, published bool) string {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc["Event"]["distribution"] = distribution
	doc["Event"]["published"] = published
	out, _ := json.Marshal(doc)
	path := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func hasEvent(t *testing.T, db, uuid string) bool {
	t.Helper()
	_, err := openT(t, db).ResolveEvent(context.Background(), uuid)
	return err == nil
}

// pair is two instances, A and B; B's API is served; A has B as server "B"
// (push and pull); B holds gelsemium.
func pair(t *testing.T) (a, b instance, bURL string) {
	t.Helper()
	a, b = initInstance(t, "OrgA"), initInstance(t, "OrgB")
	mustRun(t, "import", "--db", b.db, gelsemium)
	bURL = serveAPI(t, b)
	link(t, a, b, bURL, "B")
	return a, b, bURL
}

func TestPullAndPush(t *testing.T) {
	a, b, _ := pair(t)

	code, stdout, stderr := runT(t, "pull", "B", "--db", a.db)
	if code != 0 || stderr != "" {
		t.Fatalf("pull: exit %d, stderr %q", code, stderr)
	}
	if !strings.HasPrefix(stdout, "B: pulled 1 of 1 (1 new, 0 updated), skipped 0, failed 0") {
		t.Errorf("pull printed %q", stdout)
	}
	if !hasEvent(t, a.db, gelsemiumUUID) {
		t.Fatal("A lacks the pulled event")
	}

	// A second pull finds nothing new.
	code, stdout, _ = runT(t, "pull", "--all", "--db", a.db)
	if code != 0 || !strings.HasPrefix(stdout, "B: pulled 0") {
		t.Errorf("second pull: exit %d, %q", code, stdout)
	}

	// A's own event goes to B by push.
	sun := withEvent(t, sunorcal, "3", true)
	mustRun(t, "import", "--db", a.db, sun)
	code, stdout, stderr = runT(t, "push", "B", "--db", a.db, "--json")
	if code != 0 || stderr != "" {
		t.Fatalf("push: exit %d, stderr %q", code, stderr)
	}
	var sums []struct {
		Server      string         `json:"server"`
		Direction   string         `json:"direction"`
		Candidates  int            `json:"candidates"`
		Done        int            `json:"done"`
		Skipped     int            `json:"skipped"`
		Failed      int            `json:"failed"`
		SkipReasons map[string]int `json:"skip_reasons"`
		Error       string         `json:"error"`
	}
	if err := json.Unmarshal([]byte(stdout), &sums); err != nil || len(sums) != 1 {
		t.Fatalf("push --json: %q, %v", stdout, err)
	}
	if s := sums[0]; s.Server != "B" || s.Direction != "push" || s.Done != 1 || s.Failed != 0 || s.Error != "" {
		t.Errorf("push summary %+v", s)
	}
	// The summary adds up: every published event here was pushed, skipped (the pulled
	// one is the remote's already, under its code) or failed.
	if s := sums[0]; s.Candidates != 2 || s.Done+s.Skipped+s.Failed != s.Candidates || s.SkipReasons["remote has this version"] != 1 {
		t.Errorf("push summary does not add up: %+v", s)
	}
	if !hasEvent(t, b.db, "5a0a9aa9-23a4-4607-b6df-41a9950d210f") {
		t.Error("B lacks the pushed event")
	}

	// The log shows the pull's steps, one line each.
	code, stdout, _ = runT(t, "log", "--db", a.db, "--direction", "pull")
	if code != 0 || !strings.Contains(stdout, " B pull connected ") || !strings.Contains(stdout, " B pull finished B: pulled 1") ||
		!strings.Contains(stdout, gelsemiumUUID[:8]) || strings.Contains(stdout, " push ") {
		t.Errorf("log --direction pull: exit %d:\n%s", code, stdout)
	}
	code, stdout, _ = runT(t, "log", "--db", a.db, "--json", "--limit", "0")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 0 || len(lines) < 4 {
		t.Fatalf("log --json: exit %d, %d lines", code, len(lines))
	}
	for _, l := range lines {
		var e store.LogEntry
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.ID == 0 || e.ServerName != "B" {
			t.Errorf("log --json line %q: %v", l, err)
		}
	}
	code, stdout, _ = runT(t, "log", "--db", a.db, "--limit", "2")
	if code != 0 || strings.Count(stdout, "\n") != 2 || !strings.Contains(stdout, "push finished") {
		t.Errorf("log --limit 2: exit %d:\n%s", code, stdout)
	}
}

func TestPullDryRun(t *testing.T) {
	a, _, _ := pair(t)
	code, stdout, _ := runT(t, "pull", "B", "--db", a.db, "--dry-run")
	if code != 0 || !strings.HasPrefix(stdout, "B: would pull 1 of 1, skipped 0\n") || !strings.Contains(stdout, "  would pull "+gelsemiumUUID+"\n") {
		t.Errorf("dry run: exit %d, %q", code, stdout)
	}
	if hasEvent(t, a.db, gelsemiumUUID) {
		t.Error("a dry run stored the event")
	}
}

func TestPullFailures(t *testing.T) {
	a, _, bURL := pair(t)
	// A second link to B with a key B does not know.
	mustRun(t, "server", "add", "--db", a.db, "--name", "Wrong key", "--url", bURL, "--org", "OrgB",
		"--authkey", "Zz3dEfGhIjKlMnOpQrStUvWxYz0123456789wxyz", "--pull")

	code, stdout, stderr := runT(t, "pull", "Wrong key", "--db", a.db)
	if code != 1 || stdout != "" {
		t.Errorf("wrong key: exit %d, stdout %q", code, stdout)
	}
	wantOneLine(t, stderr, "mispdesk pull: Wrong key: ")
	if strings.Contains(stderr, "Zz3d") {
		t.Errorf("the key shows: %q", stderr)
	}
	// The refusal is the server's health now, for server show and list to tell.
	_, stdout, _ = runT(t, "server", "show", "Wrong key", "--db", a.db)
	if !strings.Contains(stdout, "Health:                auth failing since ") || !strings.Contains(stdout, "authentication failed") {
		t.Errorf("server show after a refused key:\n%s", stdout)
	}

	// --all runs both: B succeeds, the wrong key fails, the exit says so.
	code, stdout, stderr = runT(t, "pull", "--all", "--db", a.db, "--json")
	var sums []runJSON
	if err := json.Unmarshal([]byte(stdout), &sums); err != nil || len(sums) != 2 {
		t.Fatalf("--all --json: %q, %v", stdout, err)
	}
	if code != 1 || sums[0].Error != "" || sums[0].Done != 1 || !strings.HasPrefix(sums[1].Error, "Wrong key: ") || stderr != "" {
		t.Errorf("--all: exit %d, %+v, stderr %q", code, sums, stderr)
	}

	for _, tc := range []struct {
		args   []string
		prefix string
	}{
		{[]string{"pull", "Nope"}, `mispdesk pull: no server "Nope"`},
		{[]string{"push", "Nope"}, `mispdesk push: no server "Nope"`},
		{[]string{"test-connection", "Nope"}, `mispdesk test-connection: no server "Nope"`},
		{[]string{"explain", gelsemiumUUID, "Nope"}, `mispdesk explain: no server "Nope"`},
		{[]string{"log", "--server", "Nope"}, `mispdesk log: no server "Nope"`},
		{[]string{"pull"}, "mispdesk pull: which server"},
		{[]string{"pull", "B", "--all"}, "mispdesk pull: give SERVER or --all"},
		{[]string{"pull", "B", "--technique", "sometimes"}, `mispdesk pull: --technique "sometimes"`},
		{[]string{"push", "Wrong key"}, `mispdesk push: server "Wrong key" does not have push enabled`},
		{[]string{"push", "B", "--technique", "full"}, "mispdesk push: flag provided but not defined"},
		{[]string{"explain", "no-such-event", "B"}, `mispdesk explain: no event "no-such-event"`},
		{[]string{"explain", "42", "B", "--pull"}, "mispdesk explain: explain --pull: give the event's UUID"},
		{[]string{"log", "--level", "loud"}, `mispdesk log: --level "loud"`},
	} {
		code, stdout, stderr := runT(t, append(tc.args, "--db", a.db)...)
		if code != 2 || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q", tc.args, code, stdout)
		}
		wantOneLine(t, stderr, tc.prefix)
	}
}

func TestTestConnection(t *testing.T) {
	a, _, _ := pair(t)
	code, stdout, stderr := runT(t, "test-connection", "B", "--db", a.db)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q\n%s", code, stderr, stdout)
	}
	t.Logf("test-connection:\n%s", stdout)
	for _, want := range []string{"MISP version", "mispdesk version", "Instance uuid", "Request encodings", "Status:", "1 OK",
		"Compatibility:", "POST test:", "TLS:", "none (plain HTTP)", "Round trip:", "Verdict:"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("lacks %q:\n%s", want, stdout)
		}
	}
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(line, "MISP version") && strings.Count(line, "2.5.1") != 2 {
			t.Errorf("versions not side by side: %q", line)
		}
		if strings.HasPrefix(line, "Sync ") && !strings.HasSuffix(strings.TrimSpace(line), "yes") {
			t.Errorf("the sync user lacks perm_sync: %q", line)
		}
		if strings.HasPrefix(line, "Analyst data ") && !strings.HasSuffix(strings.TrimSpace(line), "yes") {
			t.Errorf("a sync role has analyst data on mispdesk, the test says %q", line)
		}
		if w := len([]rune(line)); w > 79 {
			t.Errorf("line of %d columns: %q", w, line)
		}
	}

	code, stdout, _ = runT(t, "test-connection", "B", "--db", a.db, "--json")
	var ct struct {
		Status int `json:"status"`
		Local  struct {
			MISPVersion string `json:"misp_version"`
		} `json:"local"`
		Remote struct {
			Version  string `json:"version"`
			PermSync bool   `json:"perm_sync"`
		} `json:"remote"`
		Verdict string `json:"verdict"`
	}
	if err := json.Unmarshal([]byte(stdout), &ct); err != nil || code != 0 {
		t.Fatalf("--json: exit %d, %q, %v", code, stdout, err)
	}
	if ct.Status != 1 || ct.Local.MISPVersion != "2.5.1" || ct.Remote.Version != "2.5.1" || !ct.Remote.PermSync || ct.Verdict == "" {
		t.Errorf("--json: %+v", ct)
	}
}

func TestTestConnectionWrongKey(t *testing.T) {
	a, _, bURL := pair(t)
	mustRun(t, "server", "add", "--db", a.db, "--name", "Wrong key", "--url", bURL, "--org", "OrgB",
		"--authkey", "Zz3dEfGhIjKlMnOpQrStUvWxYz0123456789wxyz", "--pull")
	code, stdout, _ := runT(t, "test-connection", "Wrong key", "--db", a.db)
	if code != 1 || !strings.Contains(stdout, "Verdict:") || strings.Contains(stdout, "1 OK") {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
}

func TestExplain(t *testing.T) {
	a, _, _ := pair(t)
	orgOnly := withEvent(t, sunorcal, "0", true)
	mustRun(t, "import", "--db", a.db, orgOnly)
	const uuid = "5a0a9aa9-23a4-4607-b6df-41a9950d210f"

	code, stdout, stderr := runT(t, "explain", uuid, "B", "--db", a.db)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if !strings.HasPrefix(lines[0], "would not be pushed to B: ") || len(lines) < 2 || !strings.Contains(stdout, "distribution") {
		t.Errorf("explain printed:\n%s", stdout)
	}

	code, stdout, _ = runT(t, "explain", uuid, "B", "--db", a.db, "--json")
	var ex syncer.Explanation
	if err := json.Unmarshal([]byte(stdout), &ex); err != nil || code != 0 {
		t.Fatalf("--json: exit %d, %q, %v", code, stdout, err)
	}
	if ex.Event != uuid || ex.Server != "B" || ex.Direction != "push" || ex.Decision.Allowed || len(ex.Decision.Steps) == 0 ||
		ex.Decision.BlockedBy() == nil || !strings.Contains(ex.Decision.BlockedBy().Rule, "distribution") {
		t.Errorf("--json: %+v", ex)
	}

	// A pull is explained from the remote's copy.
	code, stdout, stderr = runT(t, "explain", gelsemiumUUID, "B", "--pull", "--db", a.db)
	if code != 0 || !strings.HasPrefix(stdout, "would be pulled from B\n") {
		t.Errorf("--pull: exit %d, %q, %q", code, stdout, stderr)
	}
}

func TestLogFollow(t *testing.T) {
	a, _, _ := pair(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"log", "--follow", "--db", a.db}, strings.NewReader(""), pw, io.Discard)
		pw.Close()
	}()
	// A pull in this process writes the log; the follower reads it from the file.
	mustRun(t, "pull", "B", "--db", a.db)
	r := bufio.NewReader(pr)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("follow ended: %v", err)
		}
		if strings.Contains(line, " pull finished ") {
			break
		}
	}
	cancel()
	go io.Copy(io.Discard, pr)
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("log --follow did not stop")
	}
}

func TestMultiProgress(t *testing.T) {
	var b strings.Builder
	servers := []store.Server{{Name: "B"}, {Name: "C\x1b]0;x\a"}}
	p := newMultiProgress(&b, true, servers)
	p.set(0, syncer.Progress{Server: "B", Direction: "pull", Done: 1, Total: 4, Elapsed: time.Second})
	p.set(1, syncer.Progress{Server: "C", Direction: "pull", Done: 2, Total: 2, Failed: 1, Elapsed: time.Second})
	p.clear()
	out := b.String()
	for _, want := range []string{"pull B: 1 of 4 events, 1.0 events/s, ETA 3s, 0 failed", `C\x1b]0;x\a`, "2 of 2 events, 2.0 events/s, 1 failed", "\x1b[1A\r\x1b[J"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress output lacks %q: %q", want, out)
		}
	}
	if strings.Contains(out, "\x1b]0") {
		t.Errorf("a server name reached the terminal unescaped: %q", out)
	}

	var off strings.Builder
	p = newMultiProgress(&off, false, servers)
	p.set(0, syncer.Progress{Done: 1, Total: 1})
	p.clear()
	if off.Len() != 0 {
		t.Errorf("piped progress printed %q", off.String())
	}
}

// push and pull --json of 200 mixed events (each distribution level, a fifth unpublished,
// a seventh tagged tlp:red against push rules that refuse it): pushed or pulled + skipped
// + failed = candidates, the skip reasons are few codes that add up, and the --dry-run's
// verdicts are the real run's, event by event: what it would move is what moved.
func TestRunJSONAddsUpAndDryRunMatches(t *testing.T) {
	a, b, c := initInstance(t, "OrgA"), initInstance(t, "OrgB"), initInstance(t, "OrgC")
	link(t, a, b, serveAPI(t, b), "B")
	mustRun(t, "server", "edit", "B", "--db", a.db, "--push-rules", `{"tags":{"OR":[],"NOT":["tlp:red"]}}`)
	events := 200
	if testing.Short() {
		events = 40 // the race pass of make test; the non-race pass moves 200
	}
	importEvents(t, a.db, "mixed", events, func(i int, ev map[string]any) {
		ev["distribution"] = strconv.Itoa(i % 4)
		ev["published"] = i%5 != 0
		if i%7 == 0 {
			ev["Tag"] = []map[string]any{{"name": "tlp:red"}}
		}
	})
	checkRunJSON(t, a.db, b.db, "push", "B")
	// C pulls from A what A's rules give C's sync user.
	link(t, c, a, serveAPI(t, a), "A")
	checkRunJSON(t, c.db, c.db, "pull", "A")
}

// checkRunJSON runs dir (push or pull) of server from db, dry then real, with --json, and
// holds the summaries to their promises; to is the database the moved events land in.
func checkRunJSON(t *testing.T, db, to, dir, server string) {
	t.Helper()
	type summary struct {
		syncer.Counters
		Verdicts []syncer.Verdict `json:"verdicts"`
	}
	run := func(args ...string) summary {
		t.Helper()
		var sums []summary
		out := mustRun(t, append([]string{dir, server, "--db", db, "--json"}, args...)...)
		if err := json.Unmarshal([]byte(out), &sums); err != nil || len(sums) != 1 {
			t.Fatalf("%s --json %v: %q, %v", dir, args, out, err)
		}
		return sums[0]
	}
	dry := run("--dry-run")
	real := run()
	t.Logf("%s %s: candidates %d, done %d, skipped %d %v", dir, server, real.Candidates, real.Done, real.Skipped, real.SkipReasons)
	if real.Candidates == 0 || real.Done+real.Skipped+real.Failed != real.Candidates || real.Failed != 0 {
		t.Errorf("%s: done %d + skipped %d + failed %d != candidates %d", dir, real.Done, real.Skipped, real.Failed, real.Candidates)
	}
	reasons := 0
	for _, n := range real.SkipReasons {
		reasons += n
	}
	if reasons != real.Skipped || len(real.SkipReasons) > 10 {
		t.Errorf("%s: %d skip reasons summing to %d of %d skipped: %v", dir, len(real.SkipReasons), reasons, real.Skipped, real.SkipReasons)
	}
	if dry.Candidates != real.Candidates || len(dry.Verdicts) != dry.Candidates {
		t.Fatalf("%s: dry run %d verdicts of %d candidates, real run %d candidates", dir, len(dry.Verdicts), dry.Candidates, real.Candidates)
	}
	have := eventUUIDs(t, to)
	moved, skips := 0, map[string]int{}
	for _, v := range dry.Verdicts {
		switch v.Verdict {
		case dir:
			moved++
			if have[v.Event] != 1 {
				t.Errorf("%s: the dry run would move %s, the real run did not", dir, v.Event)
			}
		case "skip":
			skips[v.Code]++
			if dir == "pull" && have[v.Event] != 0 {
				t.Errorf("pull: the dry run skips %s (%s), the real run pulled it", v.Event, v.Code)
			}
		default:
			t.Errorf("%s: dry run verdict %+v", dir, v)
		}
	}
	if moved != real.Done || !maps.Equal(skips, real.SkipReasons) {
		t.Errorf("%s: the dry run would move %d and skip %v; the real run moved %d and skipped %v", dir, moved, skips, real.Done, real.SkipReasons)
	}
}
