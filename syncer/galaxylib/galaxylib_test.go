package galaxylib

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/feed"
)

const excerpt = "../../testdata/galaxy-library"

var ctx = context.Background()

// newStore opens a new instance's database whose clock stands at a fixed time.
func newStore(t *testing.T) *store.Store {
	t.Helper()
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "lib.db"), store.WithClock(func() time.Time { return at }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Init(ctx, store.InitOptions{OrgName: "Lib"}); err != nil {
		t.Fatal(err)
	}
	return st
}

func clusterCount(t *testing.T, st *store.Store) int {
	t.Helper()
	ids, err := st.GalaxyClusterRefs(ctx, store.ClusterQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return len(ids)
}

// normal is v through JSON, for comparing with a literal.
func normal(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The excerpt (3 galaxies, 2 clusters each) is stored as MISP's galaxies/update stores
// the library: the cluster APT1 as galaxy_clusters/view shows it, a default cluster at
// distribution 3 of no organisation, its meta as lists of text, its relation, the file's
// version (349) for a cluster that states none. A second import changes nothing.
func TestImportExcerpt(t *testing.T) {
	st := newStore(t)
	sum, err := Import(ctx, st, excerpt, func(fe feed.FileError) { t.Errorf("unexpected failure: %v", fe) })
	if err != nil {
		t.Fatal(err)
	}
	want := Summary{Galaxies: store.LibraryCounts{Added: 3}, Clusters: store.LibraryCounts{Added: 6}, Files: 6}
	if !reflect.DeepEqual(sum, want) {
		t.Fatalf("summary %+v, want %+v", sum, want)
	}
	if n := clusterCount(t, st); n != 6 {
		t.Fatalf("%d clusters stored, want 6", n)
	}

	got, err := testsupport.ClusterJSON(st, "1cb7e1cc-d695-42b1-92f4-fd0112a3c9be")
	if err != nil {
		t.Fatal(err)
	}
	galaxy, _ := got["Galaxy"].(map[string]any)
	for _, k := range []string{"id", "galaxy_id", "Galaxy"} {
		delete(got, k)
	}
	wantCluster := `{
		"uuid": "1cb7e1cc-d695-42b1-92f4-fd0112a3c9be",
		"collection_uuid": "7cdff317-a673-4474-84ec-4f1754947823",
		"type": "threat-actor",
		"value": "APT1",
		"tag_name": "misp-galaxy:threat-actor=\"APT1\"",
		"description": "PLA Unit 61398 (Chinese: 61398部队, Pinyin: 61398 bùduì) is the Military Unit Cover Designator (MUCD)[1] of a People's Liberation Army advanced persistent threat unit that has been alleged to be a …",
		"source": "MISP Project",
		"authors": ["Alexandre Dulaunoy", "Florian Roth", "Thomas Schreck"],
		"version": "349",
		"distribution": "3",
		"sharing_group_id": null,
		"org_id": "0",
		"orgc_id": "0",
		"default": true,
		"locked": false,
		"extends_uuid": "",
		"extends_version": "0",
		"published": false,
		"deleted": false,
		"meta": {
			"attribution-confidence": ["50"],
			"cfr-suspected-state-sponsor": ["China"],
			"cfr-suspected-victims": ["United States", "Taiwan"]
		},
		"GalaxyClusterRelation": [{
			"galaxy_cluster_uuid": "1cb7e1cc-d695-42b1-92f4-fd0112a3c9be",
			"referenced_galaxy_cluster_uuid": "6a2e693f-24e5-451a-9f88-b36a108e5662",
			"referenced_galaxy_cluster_type": "similar",
			"default": true,
			"distribution": "3",
			"sharing_group_id": null,
			"Tag": [{"name": "estimative-language:likelihood-probability=\"likely\""}]
		}],
		"Org": {"id": "0", "name": "MISP", "uuid": "0"},
		"Orgc": {"id": "0", "name": "MISP", "uuid": "0"}
	}`
	var wantMember any
	if err := json.Unmarshal([]byte(wantCluster), &wantMember); err != nil {
		t.Fatal(err)
	}
	if g := normal(t, got); !reflect.DeepEqual(g, wantMember) {
		b, _ := json.MarshalIndent(g, "", "  ")
		t.Errorf("APT1 as stored:\n%s\nwant:\n%s", b, wantCluster)
	}
	for k, v := range map[string]any{"uuid": "698774c7-8022-42c4-917f-8d6e4f06ada3", "name": "Threat Actor", "type": "threat-actor",
		"version": "3", "icon": "user-secret", "namespace": "misp", "default": true, "distribution": "3", "created": "2026-03-04 05:06:07"} {
		if galaxy[k] != v {
			t.Errorf("APT1's galaxy %s = %v, want %v", k, galaxy[k], v)
		}
	}
	attack, err := testsupport.Galaxy(st, "c4e851fa-775f-11e7-8163-b774922098cd")
	if err != nil {
		t.Fatal(err)
	}
	wantKCO := `{"attack-PRE":["reconnaissance","resource-development"],"mobile-attack-iOS":["initial-access","execution","persistence",` +
		`"privilege-escalation","defense-evasion","credential-access","discovery","lateral-movement","collection","command-and-control",` +
		`"exfiltration","impact","network-effects","remote-service-effects"]}`
	var kco, wantK any
	json.Unmarshal([]byte(attack.KillChainOrder), &kco)
	json.Unmarshal([]byte(wantKCO), &wantK)
	if !attack.Default || attack.Version != "15" || !reflect.DeepEqual(kco, wantK) {
		t.Errorf("attack pattern galaxy: default %v version %q kill_chain_order %s", attack.Default, attack.Version, attack.KillChainOrder)
	}

	again, err := Import(ctx, st, excerpt, nil)
	if err != nil {
		t.Fatal(err)
	}
	want = Summary{Galaxies: store.LibraryCounts{Unchanged: 3}, Clusters: store.LibraryCounts{Unchanged: 6}, Files: 6}
	if !reflect.DeepEqual(again, want) {
		t.Errorf("second import %+v, want %+v", again, want)
	}
	if n := clusterCount(t, st); n != 6 {
		t.Errorf("%d clusters after the second import, want 6", n)
	}
}

// copyExcerpt copies the excerpt to a new directory, to change a file in.
func copyExcerpt(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"galaxies", "clusters"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(excerpt, sub, "*.json"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, sub, filepath.Base(f)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func edit(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A newer version of a cluster file replaces its clusters; an older one is passed over.
func TestImportNewerVersionReplaces(t *testing.T) {
	st := newStore(t)
	dir := copyExcerpt(t)
	if _, err := Import(ctx, st, dir, nil); err != nil {
		t.Fatal(err)
	}
	tools := filepath.Join(dir, "clusters", "tool.json")
	edit(t, tools, `"version": 177`, `"version": 178`)
	edit(t, tools, `"description": "Banking Malware"`, `"description": "Banking malware, renamed"`)
	sum, err := Import(ctx, st, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Clusters != (store.LibraryCounts{Updated: 2, Unchanged: 4}) {
		t.Errorf("clusters %+v, want 2 updated and 4 unchanged", sum.Clusters)
	}
	got, err := testsupport.ClusterJSON(st, "75f53ead-1aee-4f91-8cb9-b4170d747cfc")
	if err != nil {
		t.Fatal(err)
	}
	if got["description"] != "Banking malware, renamed" || got["version"] != "178" {
		t.Errorf("Tinba after the newer file: description %v version %v", got["description"], got["version"])
	}
	edit(t, tools, `"version": 178`, `"version": 100`)
	edit(t, tools, `"description": "Banking malware, renamed"`, `"description": "older text"`)
	sum, err = Import(ctx, st, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Clusters != (store.LibraryCounts{Unchanged: 6}) {
		t.Errorf("clusters %+v after an older file, want 6 unchanged", sum.Clusters)
	}
	if got, _ := testsupport.ClusterJSON(st, "75f53ead-1aee-4f91-8cb9-b4170d747cfc"); got["description"] != "Banking malware, renamed" {
		t.Errorf("an older file replaced Tinba: %v", got["description"])
	}
}

// A cluster file with a bad cluster is reported on one line naming the file and the JSON
// pointer, and stores nothing of that file (its good first cluster neither); the other
// files still come in.
func TestImportMalformedClusterFile(t *testing.T) {
	for _, tc := range []struct {
		name, body, where string
	}{
		{"value not a string", `{"type":"tool","uuid":"0d821b68-9d82-4c6d-86a6-1071a9e0f79f","version":1,"values":[
			{"uuid":"00000000-0000-4000-8000-00000000aa01","value":"Good tool"},
			{"uuid":"00000000-0000-4000-8000-00000000aa02","value":["not","text"]}]}`, `/values/1/value`},
		{"uuid not a UUID", `{"type":"tool","version":1,"values":[
			{"uuid":"00000000-0000-4000-8000-00000000aa01","value":"Good tool"},
			{"uuid":"nope","value":"Bad tool"}]}`, `/values/1`},
		{"truncated", `{"type":"tool","version":1,"values":[
			{"uuid":"00000000-0000-4000-8000-00000000aa01","value":"Good tool"},
			{"uuid":"00000000-0000-4000-8000-00000000aa02","value":"Bad`, `/values/1/value`},
		{"text after the object", `{"type":"tool","version":1,"values":[
			{"uuid":"00000000-0000-4000-8000-00000000aa01","value":"Good tool"}]} {"more":1}`, `after the top-level object`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			dir := copyExcerpt(t)
			bad := filepath.Join(dir, "clusters", "tool-extra.json")
			if err := os.WriteFile(bad, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			var lines []string
			sum, err := Import(ctx, st, dir, func(fe feed.FileError) { lines = append(lines, fe.Error()) })
			if err != nil {
				t.Fatal(err)
			}
			if sum.Failed != 1 || len(lines) != 1 {
				t.Fatalf("failed %d, lines %q; want the one bad file", sum.Failed, lines)
			}
			line := lines[0]
			if !strings.HasPrefix(line, bad+": ") || !strings.Contains(line, tc.where) || strings.Contains(line, "\n") {
				t.Errorf("error %q: want one line naming %s and %s", line, bad, tc.where)
			}
			if _, err := testsupport.ClusterJSON(st, "00000000-0000-4000-8000-00000000aa01"); err == nil {
				t.Error("the bad file's first cluster was stored")
			}
			if n := clusterCount(t, st); n != 6 {
				t.Errorf("%d clusters stored, want the 6 of the good files", n)
			}
		})
	}
}

// An event stored from a file before the library was imported, carrying only the tag of a
// library cluster, shows the cluster once the library is here: the reader attaches the
// clusters an event's tags name, as MISP attaches them when it fetches an event.
func TestEventStoredBeforeImportShowsCluster(t *testing.T) {
	st := newStore(t)
	e, err := misp.ParseEvent([]byte(`{"Event":{"uuid":"00000000-0000-4000-8000-0000000e0001","info":"tagged","distribution":"3",
		"date":"2026-03-04","timestamp":"1772600000","Tag":[{"name":"misp-galaxy:tool=\"Tinba\""}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpsertEvent(ctx, e, store.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	galaxies := func() map[string][]string {
		t.Helper()
		got, err := st.Event(ctx, testsupport.LocalEvent(t, st, e.UUID))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, g := range got.Galaxy {
			for _, c := range g.GalaxyCluster {
				out[g.UUID] = append(out[g.UUID], c.UUID)
			}
		}
		return out
	}
	if g := galaxies(); len(g) != 0 {
		t.Fatalf("clusters before the library: %v", g)
	}
	if _, err := Import(ctx, st, excerpt, nil); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"9b8037f7-bc8f-4de1-a797-37266619bc0b": {"75f53ead-1aee-4f91-8cb9-b4170d747cfc"}}
	if g := galaxies(); !reflect.DeepEqual(g, want) {
		t.Errorf("clusters after the library import: %v, want %v", g, want)
	}
}

// A library galaxy first stored from an event that embedded it (at the library's version)
// is replaced by the import, so it gains the members only the library has (enabled,
// local_only); the others are added.
func TestImportReplacesGalaxyStoredFromEvent(t *testing.T) {
	st := newStore(t)
	e, err := misp.ParseEvent([]byte(`{"Event":{"uuid":"00000000-0000-4000-8000-0000000e0002","info":"embeds","distribution":"3",
		"date":"2026-03-04","timestamp":"1772600000","Tag":[{"name":"misp-galaxy:tool=\"Tinba\""}],
		"Galaxy":[{"uuid":"9b8037f7-bc8f-4de1-a797-37266619bc0b","name":"Tool","type":"tool","version":"3","icon":"optin-monster","description":"from the event",
			"GalaxyCluster":[{"uuid":"75f53ead-1aee-4f91-8cb9-b4170d747cfc","type":"tool","value":"Tinba","tag_name":"misp-galaxy:tool=\"Tinba\"",
				"version":"177","description":"Banking Malware"}]}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpsertEvent(ctx, e, store.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	sum, err := Import(ctx, st, excerpt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Galaxies != (store.LibraryCounts{Added: 2, Updated: 1}) {
		t.Errorf("galaxies %+v, want 2 added and the event's one updated", sum.Galaxies)
	}
	got, err := st.Event(ctx, testsupport.LocalEvent(t, st, e.UUID))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Galaxy) != 1 {
		t.Fatalf("event galaxies: %+v", got.Galaxy)
	}
	g := got.Galaxy[0]
	if g.Description == "from the event" || string(g.Extra["enabled"]) != "true" || string(g.Extra["default"]) != "true" {
		t.Errorf("the event's galaxy after the import: description %q enabled %s default %s", g.Description, g.Extra["enabled"], g.Extra["default"])
	}
}
