package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"mispdesk/store"
)

// Everything under testdata: four feeds and the REST-shaped event files.
var fixtures = []string{"../../testdata/feeds", "../../testdata/events"}

// countEvents is how many events the database at db holds.
func countEvents(t *testing.T, db string) int {
	t.Helper()
	n, err := openT(t, db).CountEvents(context.Background(), store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var summaryRE = regexp.MustCompile(`^imported (\d+), updated (\d+), skipped (\d+), failed (\d+)$`)

// summary parses import's summary line: imported, updated, skipped, failed.
func summary(t *testing.T, stdout string) [4]int {
	t.Helper()
	m := summaryRE.FindStringSubmatch(lastLine(t, stdout))
	if m == nil {
		t.Fatalf("no summary line in %q", stdout)
	}
	var n [4]int
	for i := range n {
		for _, c := range m[i+1] {
			n[i] = n[i]*10 + int(c-'0')
		}
	}
	return n
}

func TestImportFixtures(t *testing.T) {
	if testing.Short() {
		t.Skip("every fixture file: the non-race pass of make test runs it")
	}
	db, _ := initT(t)
	code, stdout, stderr := runT(t, append([]string{"import", "--db", db}, fixtures...)...)
	if code != 0 || stderr != "" {
		t.Fatalf("import: exit %d, stderr %q", code, stderr)
	}
	if strings.Count(stdout, "\n") != 1 {
		t.Errorf("piped import printed more than its summary line: %q", stdout)
	}
	got := summary(t, stdout)
	n := countEvents(t, db)
	if got[0] != n || n < 160 || got[1] != 0 || got[3] != 0 || got[2] < 1 {
		t.Errorf("summary %q; the database holds %d events", stdout, n)
	}

	// Again: nothing new, everything skipped.
	code, stdout, stderr = runT(t, append([]string{"import", "--db", db}, fixtures...)...)
	if code != 0 || stderr != "" {
		t.Fatalf("re-import: exit %d, stderr %q", code, stderr)
	}
	if again := summary(t, stdout); again != [4]int{0, 0, got[0] + got[1] + got[2], 0} {
		t.Errorf("re-import: %q after %v", stdout, got)
	}

	// --json: the same counts, the reasons grouped.
	code, stdout, _ = runT(t, append([]string{"import", "--json", "--db", db}, fixtures...)...)
	var js struct {
		Imported, Updated, Skipped, Failed *int
		SkipReasons                        map[string]int `json:"skip_reasons"`
		Errors                             []struct{ Path, Error string }
	}
	if err := json.Unmarshal([]byte(stdout), &js); err != nil || code != 0 {
		t.Fatalf("import --json: exit %d, %q (%v)", code, stdout, err)
	}
	if js.Imported == nil || *js.Imported != 0 || *js.Skipped != got[0]+got[1]+got[2] || *js.Failed != 0 || js.Errors == nil || len(js.Errors) != 0 {
		t.Errorf("import --json: %s", stdout)
	}
	if js.SkipReasons["not newer than the local copy"] != *js.Skipped {
		t.Errorf("skip reasons: %v", js.SkipReasons)
	}
}

func TestImportBadFile(t *testing.T) {
	db, _ := initT(t)
	dir := t.TempDir()
	good := `{"Event":{"uuid":"6a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f","info":"fine","Attribute":[{"type":"domain","value":"ok.example"}]}}`
	bad := `{"Event":{"uuid":"5a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f","info":"x","timestamp":"soon"}}`
	os.WriteFile(filepath.Join(dir, "a-good.json"), []byte(good), 0o644)
	os.WriteFile(filepath.Join(dir, "b-bad.json"), []byte(bad), 0o644)
	os.WriteFile(filepath.Join(dir, "c-truncated.json"), []byte(good[:40]), 0o644)

	code, stdout, stderr := runT(t, "import", "--db", db, dir, "../../testdata/feeds/crowdsec-threat-feed")
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if got := summary(t, stdout); got != [4]int{4, 0, 0, 2} {
		t.Errorf("summary %q, want 4 imported (a-good and the feed's 3), 2 failed", stdout)
	}
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("stderr %q: want one line per failed file", stderr)
	}
	for i, want := range []string{
		"mispdesk import: " + filepath.Join(dir, "b-bad.json") + ": at /Event/timestamp (byte ",
		"mispdesk import: " + filepath.Join(dir, "c-truncated.json") + ": at ",
	} {
		if !strings.HasPrefix(lines[i], want) || !strings.Contains(lines[i], "byte ") {
			t.Errorf("stderr line %q, want it to start %q and give the byte offset", lines[i], want)
		}
	}
	if n := countEvents(t, db); n != 4 {
		t.Errorf("%d events stored, want 4", n)
	}

	// --json lists them too; the exit status is the same.
	code, stdout, _ = runT(t, "import", "--db", db, dir, "--json")
	var js struct {
		Failed int
		Errors []struct{ Path, Error string }
	}
	if err := json.Unmarshal([]byte(stdout), &js); err != nil || code != 2 || js.Failed != 2 || len(js.Errors) != 2 {
		t.Fatalf("import --json: exit %d, %q (%v)", code, stdout, err)
	}
	if js.Errors[0].Path != filepath.Join(dir, "b-bad.json") || !strings.HasPrefix(js.Errors[0].Error, "at /Event/timestamp") {
		t.Errorf("errors %+v", js.Errors)
	}
}

func TestImportUsage(t *testing.T) {
	db, _ := initT(t)
	code, _, stderr := runT(t, "import", "--db", db)
	if code != 2 {
		t.Errorf("no path: exit %d", code)
	}
	wantOneLine(t, stderr, "mispdesk import: no PATH")
	code, stdout, stderr := runT(t, "import", "--db", db, filepath.Join(t.TempDir(), "nope"))
	if code != 2 || summary(t, stdout) != [4]int{0, 0, 0, 1} {
		t.Errorf("missing path: exit %d, %q", code, stdout)
	}
	wantOneLine(t, stderr, "mispdesk import: ")
}

func TestExportFeedThenImport(t *testing.T) {
	a := importedT(t)
	out := filepath.Join(t.TempDir(), "feed")
	code, stdout, stderr := runT(t, "export", "--db", a, "--out", out, "--feed", "--unpublished", "--distribution", "0")
	if code != 0 || stderr != "" {
		t.Fatalf("export: exit %d, %q", code, stderr)
	}
	n := countEvents(t, a)
	if !regexp.MustCompile(`^exported \d+ events \(\d+ attributes, \d+ hashes\) to `+regexp.QuoteMeta(out)+"\n$").MatchString(stdout) ||
		!strings.HasPrefix(stdout, "exported "+strconv.Itoa(n)+" events") {
		t.Errorf("export printed %q; %d events", stdout, n)
	}
	for _, f := range []string{"manifest.json", "hashes.csv"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	b, _ := initT(t)
	code, stdout, stderr = runT(t, "import", "--db", b, out)
	if code != 0 || stderr != "" {
		t.Fatalf("import of the export: exit %d, %q", code, stderr)
	}
	if got := summary(t, stdout); got != [4]int{n, 0, 0, 0} || countEvents(t, b) != n {
		t.Errorf("import of the export: %q, want %d imported", stdout, n)
	}

	// Plain export, JSON counts.
	code, stdout, _ = runT(t, "export", "--db", a, "--out", t.TempDir(), "--json")
	var js struct{ Events, Attributes int }
	if err := json.Unmarshal([]byte(stdout), &js); err != nil || code != 0 || js.Events != n || js.Attributes == 0 {
		t.Errorf("export --json: exit %d, %q", code, stdout)
	}
	for _, args := range [][]string{{"export", "--db", a}, {"export", "--db", a, "--out", "x", "--unpublished"}, {"export", "--db", a, "--out", "x", "y"}} {
		if code, _, stderr := runT(t, args...); code != 2 {
			t.Errorf("%v: exit %d, %q", args, code, stderr)
		}
	}
}

func TestProgressLine(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1000, 0)
	p := newProgress(&buf, true)
	p.now = func() time.Time { return now }
	p.update("import: 1 of 9 files", false)
	p.update("import: 2 of 9 files", false) // too soon: dropped
	now = now.Add(progressEvery)
	p.update("import: 3 of 9", false)
	p.update("done \x1b[2J", true) // forced, and escaped
	p.clear()
	want := "\rimport: 1 of 9 files" + "\rimport: 3 of 9      \rimport: 3 of 9" + "\rdone \\x1b[2J  \rdone \\x1b[2J" + "\r" + strings.Repeat(" ", 12) + "\r"
	if got := buf.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	buf.Reset()
	off := newProgress(&buf, false)
	off.update("x", true)
	off.clear()
	if buf.Len() != 0 {
		t.Errorf("progress off wrote %q", buf.String())
	}
}
