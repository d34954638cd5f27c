package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
)

// A cluster stored before clusters stopped keeping their reader's analyst data loses it
// when the database is opened by this version; the cluster itself stays whole.
func TestMigrationDropsClusterReaderAnalystData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Init(ctx, InitOptions{OrgName: "HOSTORG"}); err != nil {
		t.Fatal(err)
	}
	const uuid = "0b6c3f1e-8d2a-4c5b-9e7f-1a2b3c4d5e01"
	if _, err := s.UpsertGalaxyCluster(ctx, []byte(`{"uuid":"`+uuid+`","type":"threat-actor","value":"Old Actor","version":"1",
		"description":"stored long ago","GalaxyElement":[{"key":"synonyms","value":"Elder"}],
		"Galaxy":{"uuid":"698774c7-8022-42c4-917f-8d6e4f06ada3","name":"Threat Actor","type":"threat-actor"}}`)); err != nil {
		t.Fatal(err)
	}
	// as an earlier version stored it, with the analyst data galaxy_clusters/view showed
	if _, err := s.write.ExecContext(ctx, `UPDATE galaxy_clusters SET extra = json_set(extra,
		'$.Note', json('[{"uuid":"0b6c3f1e-8d2a-4c5b-9e7f-1a2b3c4d5e02","note":"org-only words","distribution":"0"}]'),
		'$.RelationshipInbound', json('[{"uuid":"0b6c3f1e-8d2a-4c5b-9e7f-1a2b3c4d5e03","related_object":{"Attribute":{"value":"198.51.100.9"}}}]'))
		WHERE uuid = ?`, uuid); err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, "PRAGMA user_version = 8"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id, err := s.ResolveCluster(ctx, uuid)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := s.GalaxyClusterJSON(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(cl)
	for _, gone := range []string{"org-only words", "198.51.100.9", "RelationshipInbound", `"Note"`} {
		if strings.Contains(string(b), gone) {
			t.Errorf("the migrated cluster still carries %s: %s", gone, b)
		}
	}
	if !strings.Contains(string(b), "Elder") || !strings.Contains(string(b), "stored long ago") {
		t.Errorf("the migration lost the cluster's own members: %s", b)
	}
}
