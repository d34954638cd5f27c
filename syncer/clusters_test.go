package syncer

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"mispdesk/store"
)

// rest calls a node's REST API with key and decodes the JSON answer.
func rest(t *testing.T, n *node, key, method, path string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, n.http.URL+path, bytes.NewReader(b))
	req.Header.Set("Authorization", key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	var out map[string]any
	json.Unmarshal(raw, &out)
	return out
}

// A custom cluster made on A through the REST API (galaxy_clusters/add, then publish)
// reaches B by B's pull and C by A's push when the links say so, downgraded as events
// are; a link without the flags moves nothing.
func TestGalaxyClustersByPullAndPush(t *testing.T) {
	a, b, c, d := newNode(t, "A"), newNode(t, "B"), newNode(t, "C"), newNode(t, "D")
	// A galaxy as MISP ships them, with one default cluster.
	if _, err := a.st.UpsertGalaxyCluster(ctx, []byte(`{"uuid":"00000000-0000-4000-8000-0000000c1a00","type":"threat-actor",
		"value":"Default Actor","version":"1","default":true,"published":true,"distribution":"3",
		"Galaxy":{"uuid":"698774c7-8022-42c4-917f-8d6e4f06ada3","name":"Threat Actor","type":"threat-actor"}}`)); err != nil {
		t.Fatal(err)
	}
	_, adminKey, err := a.st.AddUser(ctx, store.NewUser{Email: "admin2@a.test", OrgRef: a.host.UUID, RoleRef: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	added := rest(t, a, adminKey, "POST", "/galaxy_clusters/add/698774c7-8022-42c4-917f-8d6e4f06ada3",
		map[string]any{"GalaxyCluster": map[string]any{"value": "Custom Actor", "description": "made on A", "distribution": "2"}})
	cl, _ := added["GalaxyCluster"].(map[string]any)
	uuid, _ := cl["uuid"].(string)
	if uuid == "" {
		t.Fatalf("galaxy_clusters/add: %v", added)
	}

	// Not published yet: nothing goes.
	connect(t, b, a, store.ServerOptions{Pull: true, PullGalaxyClusters: true})
	if _, err := b.eng.Pull(ctx, "A", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.GalaxyClusterJSON(ctx, uuid); err == nil {
		t.Fatal("an unpublished cluster was pulled")
	}
	rest(t, a, adminKey, "POST", "/galaxy_clusters/publish/"+uuid, nil)

	if _, err := b.eng.Pull(ctx, "A", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := b.st.GalaxyClusterJSON(ctx, uuid)
	if err != nil {
		t.Fatalf("B lacks the cluster after its pull: %v", err)
	}
	if store.ClusterInt(got["distribution"]) != 1 || !store.ClusterFlag(got["locked"]) || got["value"] != "Custom Actor" {
		t.Errorf("pulled cluster: distribution %v locked %v value %v; want 1 (downgraded from 2), locked, the value", got["distribution"], got["locked"], got["value"])
	}
	if _, err := b.st.GalaxyClusterJSON(ctx, "00000000-0000-4000-8000-0000000c1a00"); err == nil {
		t.Error("a default cluster was pulled; only custom ones sync")
	}

	connect(t, a, c, store.ServerOptions{Push: true, PushGalaxyClusters: true})
	if _, err := a.eng.Push(ctx, "C", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err = c.st.GalaxyClusterJSON(ctx, uuid)
	if err != nil {
		t.Fatalf("C lacks the cluster after A's push: %v", err)
	}
	if store.ClusterInt(got["distribution"]) != 1 {
		t.Errorf("pushed cluster's distribution %v, want 1", got["distribution"])
	}

	// Flags off: neither a pull nor a push moves it.
	connect(t, d, a, store.ServerOptions{Pull: true})
	connect(t, a, d, store.ServerOptions{Push: true})
	if _, err := d.eng.Pull(ctx, "A", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.eng.Push(ctx, "D", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.st.GalaxyClusterJSON(ctx, uuid); err == nil {
		t.Error("the cluster reached D over links without the cluster flags")
	}
}
