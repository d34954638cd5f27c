package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mattn/go-runewidth"

	"mispdesk/store/misp"
)

// imported is the database every fixture event is imported into once per test
// binary (by the import command, as TestImportFixtures checks); importedT hands
// each test its own copy.
var imported struct {
	once sync.Once
	dir  string
	err  error
}

// importedT is a copy of a database holding every fixture event.
func importedT(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("every fixture file: the non-race pass of make test runs it")
	}
	imported.once.Do(func() {
		if imported.dir, imported.err = os.MkdirTemp("", "mispdesk-cmd-test-"); imported.err != nil {
			return
		}
		db := filepath.Join(imported.dir, "m.db")
		var out, errOut strings.Builder
		if code := run(context.Background(), []string{"init", "--db", db, "--org", "Host Org"}, strings.NewReader(""), &out, &errOut); code != 0 {
			imported.err = fmt.Errorf("init: exit %d: %s", code, errOut.String())
			return
		}
		if code := run(context.Background(), append([]string{"import", "--db", db}, fixtures...), strings.NewReader(""), &out, &errOut); code != 0 {
			imported.err = fmt.Errorf("import: exit %d: %s", code, errOut.String())
		}
	})
	if imported.err != nil {
		t.Fatal(imported.err)
	}
	dir := t.TempDir()
	files, err := filepath.Glob(filepath.Join(imported.dir, "m.db*")) // the database, and a WAL if one was left
	if err != nil || len(files) == 0 {
		t.Fatalf("fixture database: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "m.db")
}

func TestEventListJSONContract(t *testing.T) {
	db := importedT(t)
	code, stdout, stderr := runT(t, "event", "list", "--db", db, "--json")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, %q", code, stderr)
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != countEvents(t, db) {
		t.Errorf("%d events listed of %d", len(list), countEvents(t, db))
	}
	for _, e := range list {
		for _, k := range []string{"uuid", "info", "distribution", "published", "orgc", "org", "timestamp", "attribute_count"} {
			if _, ok := e[k]; !ok {
				t.Fatalf("event lacks %q: %v", k, e)
			}
		}
	}
	// Filters: published only, a tag, a limit, an org.
	var pub []struct {
		Published bool
		Tags      []string
		Orgc      struct{ Name string }
	}
	code, stdout, _ = runT(t, "event", "list", "--db", db, "--json", "--published", "--tag", "tlp:white", "--limit", "5", "--org", "chrome-mal-ids")
	if err := json.Unmarshal([]byte(stdout), &pub); err != nil || code != 0 || len(pub) != 5 {
		t.Fatalf("filtered list: exit %d, %q", code, stdout)
	}
	for _, e := range pub {
		if !e.Published || !strings.Contains(strings.Join(e.Tags, ","), "tlp:white") || e.Orgc.Name != "chrome-mal-ids" {
			t.Errorf("filtered list holds %+v", e)
		}
	}
	code, stdout, _ = runT(t, "event", "list", "--db", db, "--json", "--text", "no event has this info")
	if code != 0 || stdout != "[]\n" {
		t.Errorf("empty list: exit %d, %q", code, stdout)
	}
}

func TestEventListTableFits80Columns(t *testing.T) {
	db := importedT(t)
	code, stdout, stderr := runT(t, "event", "list", "--db", db)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != countEvents(t, db)+1 || strings.Join(strings.Fields(lines[0]), " ") != "ID DATE ORG DIST PUB ATTRS INFO" {
		t.Fatalf("table:\n%s", stdout)
	}
	cut := false
	for _, l := range lines {
		if w := runewidth.StringWidth(l); w > 80 {
			t.Errorf("line %d columns wide: %q", w, l)
		}
		cut = cut || strings.HasSuffix(l, "…")
	}
	if !cut {
		t.Error("no long info was cut with …")
	}
}

func TestEventListUsage(t *testing.T) {
	db, _ := initT(t)
	for _, tc := range []struct {
		args   []string
		prefix string
	}{
		{[]string{"--published", "--unpublished"}, "mispdesk event: --published and --unpublished exclude each other"},
		{[]string{"--distribution", "7"}, `mispdesk event: --distribution "7": want 0`},
		{[]string{"--from", "yesterday"}, `mispdesk event: --from "yesterday" is not a date`},
		{[]string{"--sort", "size"}, `mispdesk event: --sort "size": want timestamp`},
		{[]string{"--limit", "-1"}, "mispdesk event: --limit -1"},
		{[]string{"--org", "Nobody"}, `mispdesk event: --org "Nobody": no such organisation`},
	} {
		code, stdout, stderr := runT(t, append([]string{"event", "list", "--db", db}, tc.args...)...)
		if code != 2 || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q", tc.args, code, stdout)
		}
		wantOneLine(t, stderr, tc.prefix)
	}
}

func TestEventShowJSONRoundTrips(t *testing.T) {
	db := importedT(t)
	src, err := os.ReadFile("../../testdata/events/eset-rest-export/misp-turla-crutch-event.json")
	if err != nil {
		t.Fatal(err)
	}
	events, err := misp.ParseEvents(src)
	if err != nil {
		t.Fatal(err)
	}
	want := events[0]
	for _, ref := range []string{want.UUID, strings.ToUpper(want.UUID)} {
		code, stdout, stderr := runT(t, "event", "show", ref, "--db", db, "--json")
		if code != 0 || stderr != "" {
			t.Fatalf("exit %d, %q", code, stderr)
		}
		if !strings.HasPrefix(stdout, `{"Event":{`) {
			t.Errorf("not MISP JSON: %.60q", stdout)
		}
		got, err := misp.ParseEvent([]byte(stdout))
		if err != nil {
			t.Fatal(err)
		}
		if got.UUID != want.UUID || got.Info != want.Info || len(got.Attribute) != len(want.Attribute) || len(got.Object) != len(want.Object) || len(got.Tag) != len(want.Tag) {
			t.Errorf("round trip: %s %q %d attributes %d objects; want %s %q %d %d", got.UUID, got.Info, len(got.Attribute), len(got.Object), want.UUID, want.Info, len(want.Attribute), len(want.Object))
		}
		// By id, the same event.
		code, byID, _ := runT(t, "event", "show", strconv.FormatInt(int64(got.ID), 10), "--db", db, "--json")
		if code != 0 || byID != stdout {
			t.Errorf("by id %d: exit %d, differs", got.ID, code)
		}
	}
	// The summary names what matters.
	code, stdout, _ := runT(t, "event", "show", want.UUID, "--db", db)
	if code != 0 || !strings.Contains(stdout, "Info:         "+want.Info) || !strings.Contains(stdout, "\nAttributes\n") {
		t.Errorf("event show:\n%s", stdout)
	}
	if len(want.Object) > 0 && !strings.Contains(stdout, "\nObject "+want.Object[0].Name) {
		t.Errorf("event show lacks object %q", want.Object[0].Name)
	}
}

func TestEventShowUnknown(t *testing.T) {
	db, _ := initT(t)
	for _, ref := range []string{"42", "5a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f"} {
		code, stdout, stderr := runT(t, "event", "show", ref, "--db", db)
		if code != 2 || stdout != "" {
			t.Errorf("%s: exit %d, %q", ref, code, stdout)
		}
		wantOneLine(t, stderr, `mispdesk event: no event "`+ref+`"`)
	}
	code, _, stderr := runT(t, "event", "show", "--db", db)
	if code != 2 {
		t.Errorf("no EVENT: exit %d", code)
	}
	wantOneLine(t, stderr, "mispdesk event: which event")
}

// Text from an event is shown as visible text, never as control sequences.
func TestEventShowEscapesControlCharacters(t *testing.T) {
	db, _ := initT(t)
	evil := `{"Event":{"uuid":"7a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f","info":"hello\u001b]0;pwned\u0007 \u001b[2J","date":"2024-01-02",
		"Orgc":{"name":"Evil\u001b[31m Org","uuid":"8a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f"},
		"Tag":[{"name":"tag\u001b[1m"}],
		"Attribute":[{"type":"text","value":"line1\nline2\u001b[A","to_ids":true}],
		"Object":[{"name":"file\u009b","Attribute":[{"type":"filename","object_relation":"filename","value":"a\rb.exe"}]}]}}`
	path := filepath.Join(t.TempDir(), "evil.json")
	os.WriteFile(path, []byte(evil), 0o644)
	if code, stdout, stderr := runT(t, "import", "--db", db, path); code != 0 {
		t.Fatalf("import: %s %s", stdout, stderr)
	}
	for _, args := range [][]string{{"event", "show", "7a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f"}, {"event", "list"}} {
		code, stdout, stderr := runT(t, append(args, "--db", db)...)
		if code != 0 || stderr != "" {
			t.Fatalf("%v: exit %d, %q", args, code, stderr)
		}
		for _, r := range stdout {
			if r != '\n' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)) {
				t.Errorf("%v prints the raw control character %U:\n%q", args, r, stdout)
				break
			}
		}
		if !strings.Contains(stdout, `hello\x1b]0;pwned\a`) {
			t.Errorf("%v does not show the escape as text:\n%s", args, stdout)
		}
	}
}
