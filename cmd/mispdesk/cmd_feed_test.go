package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFeedCommands(t *testing.T) {
	db, _ := initT(t)
	dir, _ := filepath.Abs("../../testdata/feeds/act-workers-circl")
	code, stdout, stderr := runT(t, "feed", "add", "--db", db, "--name", "circl usb", "--url", dir, "--enabled",
		"--distribution", "5", "--tag", "source:usb", "--caching", "--header", "X-Key: secretvalue123", "--schedule", "6h", "--json")
	if code != 0 {
		t.Fatalf("feed add: exit %d, %q", code, stderr)
	}
	var added map[string]any
	if err := json.Unmarshal([]byte(stdout), &added); err != nil {
		t.Fatal(err)
	}
	if added["input_source"] != "local" || added["url"] != dir || added["tag"] != "source:usb" || added["schedule_seconds"] != float64(21600) ||
		strings.Contains(stdout, "secretvalue123") {
		t.Errorf("feed add --json: %s", stdout)
	}

	code, stdout, stderr = runT(t, "feed", "fetch", "--db", db, "circl usb")
	if code != 0 || stdout != "circl usb: fetched 2 (2 new, 0 updated), unchanged 0, skipped 0, failed 0\n" {
		t.Errorf("feed fetch: exit %d, %q, %q", code, stdout, stderr)
	}
	code, stdout, _ = runT(t, "feed", "fetch", "--db", db, "--all", "--json")
	var runs []map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &runs) != nil || len(runs) != 1 || runs[0]["not_modified"] != true {
		t.Errorf("second fetch --all --json: exit %d, %s", code, stdout)
	}
	code, stdout, _ = runT(t, "feed", "cache", "--db", db, "--all")
	if code != 0 || !strings.HasPrefix(stdout, "circl usb: cache holds ") {
		t.Errorf("feed cache: exit %d, %q", code, stdout)
	}
	code, stdout, _ = runT(t, "feed", "show", "--db", db, "1")
	if code != 0 || !strings.Contains(stdout, "source:usb") || !strings.Contains(stdout, "X-Key: secr…e123") || strings.Contains(stdout, "secretvalue123") {
		t.Errorf("feed show: %q", stdout)
	}

	// A default feed by name, disabled; a dead one fails the --all fetch with exit 1.
	code, stdout, stderr = runT(t, "feed", "add", "--db", db, "--default", "circl osint feed")
	if code != 0 || !strings.Contains(stdout, `"CIRCL OSINT Feed"`) || !strings.Contains(stdout, "disabled") {
		t.Errorf("feed add --default: exit %d, %q %q", code, stdout, stderr)
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	defer dead.Close()
	runT(t, "feed", "add", "--db", db, "--name", "dead", "--url", dead.URL, "--enabled")
	code, stdout, stderr = runT(t, "feed", "fetch", "--db", db, "--all")
	if code != 1 || !strings.Contains(stdout, "circl usb: manifest unchanged") || !strings.Contains(stderr, "dead") || !strings.Contains(stderr, "404") {
		t.Errorf("fetch --all with a dead feed: exit %d, %q, %q", code, stdout, stderr)
	}
	code, stdout, _ = runT(t, "feed", "list", "--db", db, "--json")
	var list []map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &list) != nil || len(list) != 3 || list[1]["enabled"] != false || list[1]["default"] != true {
		t.Errorf("feed list --json: %s", stdout)
	}
	code, stdout, _ = runT(t, "feed", "list", "--db", db)
	if code != 0 || !strings.Contains(stdout, "circl usb") || !strings.Contains(stdout, "6h0m0s") {
		t.Errorf("feed list: %q", stdout)
	}
	code, stdout, _ = runT(t, "feed", "edit", "--db", db, "dead", "--enabled=false", "--distribution", "3")
	if code != 0 || !strings.Contains(stdout, "disabled") || !strings.Contains(stdout, "distribution 3") {
		t.Errorf("feed edit: %q", stdout)
	}
	code, stdout, _ = runT(t, "feed", "rm", "--db", db, "dead", "--yes")
	if code != 0 || !strings.HasPrefix(stdout, `Deleted feed "dead"`) {
		t.Errorf("feed rm: %q", stdout)
	}

	for _, args := range [][]string{
		{"feed", "add", "--db", db, "--name", "x"},                                        // no url
		{"feed", "add", "--db", db, "--default", "nope"},                                  // unknown default
		{"feed", "add", "--db", db, "--name", "circl usb", "--url", dir},                  // name taken
		{"feed", "add", "--db", db, "--name", "y", "--url", dir, "--distribution", "4"},   // no sharing group
		{"feed", "add", "--db", db, "--name", "y", "--url", dir, "--rules", `{"tagz":1}`}, // unknown key
		{"feed", "add", "--db", db, "--name", "y", "--url", filepath.Join(dir, "manifest.json")},
		{"feed", "fetch", "--db", db},
		{"feed", "fetch", "--db", db, "nope"},
		{"feed", "rm", "--db", db, "circl usb"}, // needs --yes when piped
		{"export", "--db", db, "--out", t.TempDir(), "--distribution", "3"},
		{"export", "--db", db, "--out", t.TempDir(), "--feed", "--distribution", "4"},
	} {
		if code, _, stderr := runT(t, args...); code != 2 || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, %q; want 2 and one line", args[1:], code, stderr)
		}
	}
}

// export --feed leaves org-only events home unless --distribution 0 asks for them.
func TestExportFeedDistribution(t *testing.T) {
	db := importedT(t)
	count := func(args ...string) int {
		out := t.TempDir()
		code, _, stderr := runT(t, append([]string{"export", "--db", db, "--out", out, "--feed", "--unpublished"}, args...)...)
		if code != 0 {
			t.Fatal(stderr)
		}
		entries, _ := os.ReadDir(out)
		return len(entries) - 2
	}
	all, def, three := count("--distribution", "0"), count(), count("--distribution", "3")
	if !(all > def && def >= three && three > 0) {
		t.Errorf("events exported: everything %d, default %d, --distribution 3 %d", all, def, three)
	}
}
