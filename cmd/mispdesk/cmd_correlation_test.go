package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCorrelationCommands(t *testing.T) {
	db := importedT(t) // the fixture feeds hold events that share values: rebuild finds their correlations
	code, stdout, stderr := runT(t, "correlation", "rebuild", "--db", db)
	if code != 0 || !strings.HasPrefix(stdout, "correlated ") {
		t.Fatalf("rebuild: exit %d %q %q", code, stdout, stderr)
	}
	code, stdout, _ = runT(t, "correlation", "exclude", "--db", db, "%.example.com", "--comment", "docs", "--json")
	var x struct {
		ID    int64  `json:"id"`
		Value string `json:"value"`
	}
	if err := json.Unmarshal([]byte(stdout), &x); code != 0 || err != nil || x.Value != "%.example.com" {
		t.Fatalf("exclude: exit %d %q", code, stdout)
	}
	if code, _, stderr = runT(t, "correlation", "exclude", "--db", db, "%.example.com"); code != 2 || !strings.Contains(stderr, "already in the exclusion list") {
		t.Fatalf("duplicate: exit %d %q", code, stderr)
	}
	if code, stdout, _ = runT(t, "correlation", "list", "--db", db); code != 0 || !strings.Contains(stdout, "%.example.com") {
		t.Fatalf("list: exit %d %q", code, stdout)
	}
	if code, _, _ = runT(t, "correlation", "top", "--db", db, "--json"); code != 0 {
		t.Fatalf("top: exit %d", code)
	}
	if code, _, _ = runT(t, "correlation", "rm", "--db", db, "%.example.com"); code != 0 {
		t.Fatalf("rm: exit %d", code)
	}
	if code, _, stderr = runT(t, "correlation", "rm", "--db", db, "%.example.com"); code != 2 {
		t.Fatalf("rm of a missing entry: exit %d %q", code, stderr)
	}
	if code, stdout, _ = runT(t, "settings", "set", "--db", db, "MISP.enable_advanced_correlations", "true"); code != 0 {
		t.Fatalf("settings set: exit %d %q", code, stdout)
	}
	if code, _, stderr = runT(t, "settings", "set", "--db", db, "MISP.correlation_limit", "-3"); code != 2 {
		t.Fatalf("a negative limit: exit %d %q", code, stderr)
	}
}
