package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const galaxyExcerpt = "../../testdata/galaxy-library"

// galaxy import stores the excerpt and says so on one line; again, it changes nothing.
func TestGalaxyImport(t *testing.T) {
	db, _ := initT(t)
	for _, want := range []string{
		"galaxies: 3 added, 0 updated, 0 unchanged, 0 kept custom; clusters: 6 added, 0 updated, 0 unchanged, 0 kept custom; 6 files, 0 failed\n",
		"galaxies: 0 added, 0 updated, 3 unchanged, 0 kept custom; clusters: 0 added, 0 updated, 6 unchanged, 0 kept custom; 6 files, 0 failed\n",
	} {
		code, stdout, stderr := runT(t, "galaxy", "import", "--db", db, galaxyExcerpt)
		if code != 0 || stderr != "" || stdout != want {
			t.Errorf("galaxy import: exit %d, stdout %q, stderr %q; want %q", code, stdout, stderr, want)
		}
	}
}

// A bad cluster file is one line on stderr and exit 2; a directory that is not a
// misp-galaxy checkout is refused with exit 2.
func TestGalaxyImportBadInput(t *testing.T) {
	db, _ := initT(t)
	dir := t.TempDir()
	for _, sub := range []string{"galaxies", "clusters"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tool, err := os.ReadFile(filepath.Join(galaxyExcerpt, "galaxies", "tool.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "galaxies", "tool.json"), tool, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "clusters", "bad.json"), []byte(`{"type":"tool","values":[{"uuid":7}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runT(t, "galaxy", "import", "--db", db, dir)
	want := "mispdesk galaxy import: " + filepath.Join(dir, "clusters", "bad.json") + ": "
	if code != 2 || !strings.HasPrefix(stderr, want) || !strings.Contains(stderr, `"/values/0/uuid"`) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("bad file: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runT(t, "galaxy", "import", "--db", db, t.TempDir())
	if code != 2 || !strings.Contains(stderr, "not a misp-galaxy checkout") {
		t.Errorf("not a checkout: exit %d, stderr %q", code, stderr)
	}
}
