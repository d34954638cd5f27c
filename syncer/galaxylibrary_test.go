package syncer

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/syncer/galaxylib"
)

// galaxyClusterUUIDs lists a Galaxy member as galaxy UUID → its clusters' UUIDs.
func galaxyClusterUUIDs(galaxies any) map[string][]string {
	out := map[string][]string{}
	list, _ := galaxies.([]any)
	for _, g := range list {
		gm, _ := g.(map[string]any)
		cs, _ := gm["GalaxyCluster"].([]any)
		u := fmt.Sprint(gm["uuid"])
		out[u] = []string{}
		for _, c := range cs {
			cm, _ := c.(map[string]any)
			out[u] = append(out[u], fmt.Sprint(cm["uuid"]))
		}
	}
	return out
}

// MISP sends an event with its misp-galaxy tags and no clusters (a push strips them, a
// pull asks with excludeGalaxy) and the receiver shows the clusters its galaxy library
// has for those tags. A, without the library, has an event tagged with the threat actor
// APT1 and an attribute tagged with the tool Mimikatz; B pulls it and A pushes it to C,
// both with the library: their events/view and restSearch carry the library's galaxies
// and clusters, A's carry none.
func TestLibraryClustersFromTagsAfterPullAndPush(t *testing.T) {
	a, b, c := newNode(t, "A"), newNode(t, "B"), newNode(t, "C")
	for _, n := range []*node{b, c} {
		sum, err := galaxylib.Import(ctx, n.st, "../testdata/galaxy-library", nil)
		if err != nil || sum.Failed != 0 || sum.Clusters.Added != 6 {
			t.Fatalf("%s: library import %+v, %v", n.name, sum, err)
		}
	}
	keys := map[*node]string{}
	for _, n := range []*node{a, b, c} {
		keys[n] = userKey(t, n, "admin2@"+n.name+".test", n.host.UUID, "admin")
	}
	ev := rest(t, a, keys[a], "POST", "/events/add", map[string]any{"Event": map[string]any{"info": "tagged with library clusters",
		"distribution": 3, "Tag": []any{map[string]any{"name": `misp-galaxy:threat-actor="APT1"`}},
		"Attribute": []any{map[string]any{"type": "domain", "category": "Network activity", "value": "library.example",
			"Tag": []any{map[string]any{"name": `misp-galaxy:tool="Mimikatz"`}}}}}})
	eventUUID := fmt.Sprint(ev["Event"].(map[string]any)["uuid"])
	if _, err := a.st.Publish(ctx, testsupport.LocalEvent(t, a.st, eventUUID)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.eng.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}

	connect(t, b, a, store.ServerOptions{Pull: true})
	if _, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	connect(t, a, c, store.ServerOptions{Push: true})
	if _, err := a.eng.Push(ctx, a.serverID("C"), RunOptions{}); err != nil {
		t.Fatal(err)
	}

	wantEvent := map[string][]string{"698774c7-8022-42c4-917f-8d6e4f06ada3": {"1cb7e1cc-d695-42b1-92f4-fd0112a3c9be"}}
	wantAttr := map[string][]string{"9b8037f7-bc8f-4de1-a797-37266619bc0b": {"7f3a035d-d83a-45b8-8111-412aa8ade802"}}
	none := map[string][]string{}
	check := func(n *node, wantEvent, wantAttr map[string][]string) {
		t.Helper()
		view := rest(t, n, keys[n], "GET", "/events/view/"+eventUUID, nil)
		code, raw := restStatus(t, n, keys[n], "POST", "/events/restSearch", map[string]any{"returnFormat": "json", "eventid": eventUUID})
		var search struct {
			Response []map[string]any `json:"response"`
		}
		if code != http.StatusOK || json.Unmarshal(raw, &search) != nil || len(search.Response) != 1 {
			t.Fatalf("%s restSearch: %d %s", n.name, code, raw)
		}
		for call, e := range map[string]any{"events/view": view["Event"], "restSearch": search.Response[0]["Event"]} {
			em, _ := e.(map[string]any)
			if got := galaxyClusterUUIDs(em["Galaxy"]); !reflect.DeepEqual(got, wantEvent) {
				t.Errorf("%s %s: event Galaxy %v, want %v", n.name, call, got, wantEvent)
			}
			attrs, _ := em["Attribute"].([]any)
			if len(attrs) != 1 {
				t.Fatalf("%s %s: %d attributes", n.name, call, len(attrs))
			}
			if got := galaxyClusterUUIDs(attrs[0].(map[string]any)["Galaxy"]); !reflect.DeepEqual(got, wantAttr) {
				t.Errorf("%s %s: attribute Galaxy %v, want %v", n.name, call, got, wantAttr)
			}
		}
	}
	check(a, none, none)
	check(b, wantEvent, wantAttr)
	check(c, wantEvent, wantAttr)

	// The cluster as the event embeds it on B: the library's, default, with its tag.
	view := rest(t, b, keys[b], "GET", "/events/view/"+eventUUID, nil)
	g := view["Event"].(map[string]any)["Galaxy"].([]any)[0].(map[string]any)
	cl := g["GalaxyCluster"].([]any)[0].(map[string]any)
	for k, v := range map[string]any{"tag_name": `misp-galaxy:threat-actor="APT1"`, "value": "APT1", "default": true,
		"distribution": "3", "version": "349", "local": false} {
		if cl[k] != v {
			t.Errorf("B's embedded cluster %s = %v, want %v", k, cl[k], v)
		}
	}
	for k, v := range map[string]any{"name": "Threat Actor", "default": true, "enabled": true, "distribution": "3"} {
		if g[k] != v {
			t.Errorf("B's embedded galaxy %s = %v, want %v", k, g[k], v)
		}
	}
}

// galaxies/index lists the library's galaxies as MISP's does (default: true, the attack
// pattern galaxy with its kill_chain_order), and galaxy_clusters/index a library
// galaxy's clusters, to any user.
func TestLibraryGalaxiesIndex(t *testing.T) {
	a := newNode(t, "A")
	if _, err := galaxylib.Import(ctx, a.st, "../testdata/galaxy-library", nil); err != nil {
		t.Fatal(err)
	}
	key := userKey(t, a, "reader@a.test", a.host.UUID, "read_only")
	code, raw := restStatus(t, a, key, "GET", "/galaxies/index", nil)
	var index []struct {
		Galaxy map[string]any `json:"Galaxy"`
	}
	if code != http.StatusOK || json.Unmarshal(raw, &index) != nil {
		t.Fatalf("galaxies/index: %d %s", code, raw)
	}
	got := map[string]bool{}
	for _, g := range index {
		if g.Galaxy["default"] != true {
			t.Errorf("library galaxy %v: default %v", g.Galaxy["uuid"], g.Galaxy["default"])
		}
		got[fmt.Sprint(g.Galaxy["uuid"])] = true
		if g.Galaxy["uuid"] == "c4e851fa-775f-11e7-8163-b774922098cd" {
			kco, _ := g.Galaxy["kill_chain_order"].(map[string]any)
			if pre, _ := kco["attack-PRE"].([]any); len(pre) != 2 || pre[0] != "reconnaissance" {
				t.Errorf("attack pattern kill_chain_order %v", g.Galaxy["kill_chain_order"])
			}
		}
	}
	want := map[string]bool{"698774c7-8022-42c4-917f-8d6e4f06ada3": true, "9b8037f7-bc8f-4de1-a797-37266619bc0b": true,
		"c4e851fa-775f-11e7-8163-b774922098cd": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("galaxies/index lists %v, want %v", got, want)
	}
	code, raw = restStatus(t, a, key, "GET", "/galaxy_clusters/index/698774c7-8022-42c4-917f-8d6e4f06ada3", nil)
	var clusters []struct {
		GalaxyCluster map[string]any `json:"GalaxyCluster"`
	}
	if code != http.StatusOK || json.Unmarshal(raw, &clusters) != nil {
		t.Fatalf("galaxy_clusters/index: %d %s", code, raw)
	}
	var values []any
	for _, c := range clusters {
		values = append(values, c.GalaxyCluster["value"])
	}
	if !reflect.DeepEqual(values, []any{"APT1", "Conference Crew"}) {
		t.Errorf("galaxy_clusters/index lists %v, want APT1 and Conference Crew", values)
	}
	// A cluster pull asks for custom clusters only: the library's are not among them.
	for body, want := range map[string]int{`{"custom":1}`: 0, `{"custom":0}`: 6, `{}`: 6} {
		var q map[string]any
		json.Unmarshal([]byte(body), &q)
		code, raw := restStatus(t, a, key, "POST", "/galaxy_clusters/restSearch", q)
		var found struct {
			Response []any `json:"response"`
		}
		if code != http.StatusOK || json.Unmarshal(raw, &found) != nil || len(found.Response) != want {
			t.Errorf("galaxy_clusters/restSearch %s: %d, %d clusters; want %d", body, code, len(found.Response), want)
		}
	}
}
