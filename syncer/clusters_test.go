package syncer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"mispdesk/internal/testsupport"
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
	if _, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := testsupport.ClusterJSON(b.st, uuid); err == nil {
		t.Fatal("an unpublished cluster was pulled")
	}
	rest(t, a, adminKey, "POST", "/galaxy_clusters/publish/"+uuid, nil)

	if _, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := testsupport.ClusterJSON(b.st, uuid)
	if err != nil {
		t.Fatalf("B lacks the cluster after its pull: %v", err)
	}
	if store.ClusterInt(got["distribution"]) != 1 || !store.ClusterFlag(got["locked"]) || got["value"] != "Custom Actor" {
		t.Errorf("pulled cluster: distribution %v locked %v value %v; want 1 (downgraded from 2), locked, the value", got["distribution"], got["locked"], got["value"])
	}
	if _, err := testsupport.ClusterJSON(b.st, "00000000-0000-4000-8000-0000000c1a00"); err == nil {
		t.Error("a default cluster was pulled; only custom ones sync")
	}

	connect(t, a, c, store.ServerOptions{Push: true, PushGalaxyClusters: true})
	if _, err := a.eng.Push(ctx, a.serverID("C"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err = testsupport.ClusterJSON(c.st, uuid)
	if err != nil {
		t.Fatalf("C lacks the cluster after A's push: %v", err)
	}
	if store.ClusterInt(got["distribution"]) != 1 {
		t.Errorf("pushed cluster's distribution %v, want 1", got["distribution"])
	}

	// Edited on A (galaxy_clusters/edit, PyMISP's update_galaxy_cluster), the cluster is
	// unpublished: B's pull keeps the old one until A publishes the edit, which then
	// reaches B by pull and C by push.
	rest(t, a, adminKey, "POST", "/galaxy_clusters/edit/"+uuid, map[string]any{"GalaxyCluster": map[string]any{"value": "Renamed Actor", "distribution": "2"}})
	held := func(n *node) any {
		t.Helper()
		got, err := testsupport.ClusterJSON(n.st, uuid)
		if err != nil {
			t.Fatalf("%s: %v", n.name, err)
		}
		return got["value"]
	}
	if _, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if v := held(b); v != "Custom Actor" {
		t.Errorf("B pulled an unpublished edit: %v", v)
	}
	rest(t, a, adminKey, "POST", "/galaxy_clusters/publish/"+uuid, nil)
	if _, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.eng.Push(ctx, a.serverID("C"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*node{b, c} {
		if v := held(n); v != "Renamed Actor" {
			t.Errorf("%s holds %v after the edit was published", n.name, v)
		}
	}

	// Flags off: neither a pull nor a push moves it.
	connect(t, d, a, store.ServerOptions{Pull: true})
	connect(t, a, d, store.ServerOptions{Push: true})
	if _, err := d.eng.Pull(ctx, d.serverID("A"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.eng.Push(ctx, a.serverID("D"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := testsupport.ClusterJSON(d.st, uuid); err == nil {
		t.Error("the cluster reached D over links without the cluster flags")
	}
}

// restStatus calls a node's REST API with key and returns the status and the answer.
func restStatus(t *testing.T, n *node, key, method, path string, body any) (int, []byte) {
	t.Helper()
	return restStatusHeader(t, n, key, method, path, body, "")
}

func userKey(t *testing.T, n *node, email, org, role string) string {
	t.Helper()
	_, key, err := n.st.AddUser(ctx, store.NewUser{Email: email, OrgRef: org, RoleRef: role})
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// Issue 10 point 4: a cluster pushed to galaxies/pushCluster names its organisations by
// the sender's numeric ids, which here are other organisations. B's host organisation has
// id 1, as A's has on A: an org-only cluster of A's pushed to B must be owned by A's
// organisation (by UUID), hidden from B's own users and seen by A's users on B.
func TestPushedClusterOwnedByUUIDNotSenderIDs(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	srv := connect(t, a, b, store.ServerOptions{Push: true, PushGalaxyClusters: true})
	if a.host.ID != b.host.ID {
		t.Fatalf("the test needs both host organisations at one id: A %d, B %d", a.host.ID, b.host.ID)
	}
	const cu = "5b9c2d1e-0000-4000-8000-00000000c0a1"
	cluster := map[string]any{"GalaxyCluster": map[string]any{
		"uuid": cu, "type": "threat-actor", "value": "A's private actor", "version": "7", "default": false, "published": true,
		"distribution": "0", "org_id": "1", "orgc_id": "1",
		"Org":    map[string]any{"id": "1", "uuid": a.host.UUID, "name": a.host.Name},
		"Orgc":   map[string]any{"id": "1", "uuid": a.host.UUID, "name": a.host.Name},
		"Galaxy": map[string]any{"uuid": "698774c7-8022-42c4-917f-8d6e4f06ada3", "name": "Threat Actor", "type": "threat-actor"},
	}}
	// A's sync user on B, as A's engine would push.
	if st, raw := restStatus(t, b, srv.Authkey, "POST", "/galaxies/pushCluster", []any{cluster}); st != http.StatusOK {
		t.Fatalf("pushCluster: %d %s", st, raw)
	}
	got, err := testsupport.ClusterJSON(b.st, cu)
	if err != nil {
		t.Fatal(err)
	}
	aOnB, err := b.st.OrgByUUID(ctx, a.host.UUID)
	if err != nil {
		t.Fatal(err)
	}
	var org struct {
		UUID string `json:"uuid"`
	}
	orgRaw, _ := json.Marshal(got["Org"])
	json.Unmarshal(orgRaw, &org)
	if store.ClusterInt(got["org_id"]) != int(aOnB.ID) || store.ClusterInt(got["orgc_id"]) != int(aOnB.ID) || org.UUID != a.host.UUID {
		t.Errorf("stored cluster org_id %v orgc_id %v Org %s; want A's organisation here (id %d, %s)", got["org_id"], got["orgc_id"], orgRaw, aOnB.ID, a.host.UUID)
	}

	bUser := userKey(t, b, "user@b.test", b.host.UUID, "user")
	aUser := userKey(t, b, "user-of-a@b.test", a.host.UUID, "user")
	if st, raw := restStatus(t, b, bUser, "GET", "/galaxy_clusters/view/"+cu, nil); st != http.StatusNotFound {
		t.Errorf("B's own user (org id %d, the sender's id of A) sees A's org-only cluster: %d %s", b.host.ID, st, raw)
	}
	if st, raw := restStatus(t, b, aUser, "GET", "/galaxy_clusters/view/"+cu, nil); st != http.StatusOK {
		t.Errorf("a user of A's organisation on B does not see A's cluster: %d %s", st, raw)
	}
	// A peer's copy never replaces a cluster made here.
	adminB := userKey(t, b, "admin2@b.test", b.host.UUID, "admin")
	galaxy := rest(t, b, adminB, "POST", "/galaxies/add", map[string]any{"name": "B's galaxy", "distribution": 3})
	gid := galaxy["Galaxy"].(map[string]any)["uuid"].(string)
	local := rest(t, b, adminB, "POST", "/galaxy_clusters/add/"+gid, map[string]any{"GalaxyCluster": map[string]any{"value": "B's own", "distribution": "3"}})
	lu := local["GalaxyCluster"].(map[string]any)["uuid"].(string)
	hostile := map[string]any{"GalaxyCluster": map[string]any{"uuid": lu, "type": gid, "value": "overwritten", "version": "99999999999",
		"distribution": "3", "default": false, "Orgc": map[string]any{"uuid": a.host.UUID, "name": a.host.Name}}}
	restStatus(t, b, srv.Authkey, "POST", "/galaxies/pushCluster", []any{hostile})
	if kept, err := testsupport.ClusterJSON(b.st, lu); err != nil || kept["value"] != "B's own" {
		t.Errorf("a pushed copy replaced a cluster made on B: %v %v", kept["value"], err)
	}
}

// Issue 11 point 7, as MISP's synchronisation suite checks it (test_sync_distribution.py,
// testGalaxy*): custom galaxies made with galaxies/add at each distribution, each with a
// published cluster at each distribution, reach C by A's push and B by B's pull with their
// galaxy, downgraded (0 stays, 1 becomes 0 on pull, 2 becomes 1, 3 kept).
func TestCustomGalaxiesByPushAndPull(t *testing.T) {
	a, b, c := newNode(t, "A"), newNode(t, "B"), newNode(t, "C")
	orgAdmin := userKey(t, a, "orgadmin@a.test", a.host.UUID, "org_admin")
	type made struct {
		galaxy   string
		clusters [4]string
	}
	var all [4]made
	for gd := 0; gd < 4; gd++ {
		added := rest(t, a, orgAdmin, "POST", "/galaxies/add", map[string]any{"name": fmt.Sprintf("Galaxy Dist %d", gd),
			"namespace": "MISP Test", "distribution": gd, "description": "test"})
		// PyMISP's galaxies()[-1]: the new galaxy is listed last.
		var index []map[string]map[string]any
		_, raw := restStatus(t, a, orgAdmin, "GET", "/galaxies/index", nil)
		if err := json.Unmarshal(raw, &index); err != nil || len(index) == 0 {
			t.Fatalf("galaxies/index: %v %s", err, raw)
		}
		last := index[len(index)-1]["Galaxy"]
		if last["uuid"] != added["Galaxy"].(map[string]any)["uuid"] || last["distribution"] != fmt.Sprint(gd) {
			t.Fatalf("galaxies/index lists last %v, want the new galaxy at distribution %d", last, gd)
		}
		all[gd].galaxy = last["uuid"].(string)
		for cd := 0; cd < 4; cd++ {
			cl := rest(t, a, orgAdmin, "POST", "/galaxy_clusters/add/"+all[gd].galaxy, map[string]any{"GalaxyCluster": map[string]any{
				"value": fmt.Sprintf("Cluster Dist %d for Galaxy %d", cd, gd), "authors": []string{"CIRCL"}, "distribution": cd}})
			all[gd].clusters[cd] = cl["GalaxyCluster"].(map[string]any)["uuid"].(string)
			rest(t, a, orgAdmin, "POST", "/galaxy_clusters/publish/"+all[gd].clusters[cd], nil)
		}
	}
	connect(t, a, c, store.ServerOptions{Push: true, PushGalaxyClusters: true})
	connect(t, b, a, store.ServerOptions{Pull: true, PullGalaxyClusters: true})
	if _, err := a.eng.Push(ctx, a.serverID("C"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	const no = -1
	check := func(n *node, how string, galaxyWant [4]int, clusterWant [4][4]int) {
		t.Helper()
		admin := userKey(t, n, "admin-"+how+"@"+n.name+".test", n.host.UUID, "admin")
		for gd, m := range all {
			st, raw := restStatus(t, n, admin, "GET", "/galaxies/view/"+m.galaxy, nil)
			if galaxyWant[gd] == no {
				if st != http.StatusNotFound {
					t.Errorf("%s: galaxy of distribution %d reached %s: %d %s", how, gd, n.name, st, raw)
				}
				continue
			}
			var view struct {
				Galaxy map[string]any
			}
			json.Unmarshal(raw, &view)
			if st != http.StatusOK || view.Galaxy["distribution"] != fmt.Sprint(galaxyWant[gd]) {
				t.Errorf("%s: galaxy of distribution %d on %s: %d distribution %v, want %d", how, gd, n.name, st, view.Galaxy["distribution"], galaxyWant[gd])
				continue
			}
			// PyMISP's search_galaxy_clusters.
			var list []map[string]map[string]any
			_, raw = restStatus(t, n, admin, "POST", "/galaxy_clusters/index/"+m.galaxy, map[string]any{"context": "all"})
			if err := json.Unmarshal(raw, &list); err != nil {
				t.Fatalf("galaxy_clusters/index: %v %s", err, raw)
			}
			found := map[string]string{}
			for _, e := range list {
				found[e["GalaxyCluster"]["uuid"].(string)] = fmt.Sprint(e["GalaxyCluster"]["distribution"])
			}
			for cd, u := range m.clusters {
				got, ok := found[u]
				want := clusterWant[gd][cd]
				if (want == no) == ok || (ok && got != fmt.Sprint(want)) {
					t.Errorf("%s: cluster %d of galaxy %d on %s: present %v distribution %s, want %d", how, cd, gd, n.name, ok, got, want)
				}
			}
		}
	}
	check(c, "push", [4]int{no, no, 1, 3}, [4][4]int{{}, {}, {no, no, 1, 3}, {no, no, 1, 3}})
	check(b, "pull", [4]int{no, 0, 1, 3}, [4][4]int{{}, {no, 0, 1, 3}, {no, 0, 1, 3}, {no, 0, 1, 3}})

	// Pulled galaxies are owned by B's link organisation and created by A's, by UUID.
	g, err := testsupport.Galaxy(b.st, all[3].galaxy)
	if err != nil {
		t.Fatal(err)
	}
	if g.Orgc.UUID != a.host.UUID || !g.Locked || g.Default {
		t.Errorf("pulled galaxy: creator %s locked %v default %v; want A's organisation, locked, custom", g.Orgc.UUID, g.Locked, g.Default)
	}
	// A user of another organisation on A sees neither the org-only galaxy nor its clusters.
	other := userKey(t, a, "other@a.test", mustOrg(t, a, "Other"), "user")
	if st, _ := restStatus(t, a, other, "GET", "/galaxies/view/"+all[0].galaxy, nil); st != http.StatusNotFound {
		t.Errorf("another organisation sees an org-only galaxy: %d", st)
	}
	if st, _ := restStatus(t, a, other, "GET", "/galaxy_clusters/view/"+all[0].clusters[3], nil); st != http.StatusNotFound {
		t.Errorf("another organisation sees a cluster of an org-only galaxy: %d", st)
	}
	if st, _ := restStatus(t, a, other, "POST", "/galaxies/edit/"+all[3].galaxy, map[string]any{"distribution": 0}); st != http.StatusForbidden {
		t.Errorf("another organisation's user edits a galaxy: %d", st)
	}
}

func mustOrg(t *testing.T, n *node, name string) string {
	t.Helper()
	o, err := n.st.AddOrg(ctx, store.Org{Name: name, Local: true})
	if err != nil {
		t.Fatal(err)
	}
	return o.UUID
}

// A published event carries the custom clusters its galaxy tags name: publishing pushes
// them first to a server with push_galaxy_clusters (a link made after the cluster was
// published, so only the event's publication can carry it), and the receiver shows them
// in the event's Galaxy by its tags, as MISP attaches clusters.
func TestPublishedEventCarriesItsClusters(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	_, key, err := a.st.AddUser(ctx, store.NewUser{Email: "admin2@a.test", OrgRef: a.host.UUID, RoleRef: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	g := rest(t, a, key, "POST", "/galaxies/add", map[string]any{"name": "Own galaxy", "namespace": "test", "distribution": 3, "description": "made on A"})
	added := rest(t, a, key, "POST", "/galaxy_clusters/add/"+fmt.Sprint(g["Galaxy"].(map[string]any)["uuid"]),
		map[string]any{"GalaxyCluster": map[string]any{"value": "Own actor", "description": "made on A", "distribution": 3}})
	cl, _ := added["GalaxyCluster"].(map[string]any)
	uuid, tagName := fmt.Sprint(cl["uuid"]), fmt.Sprint(cl["tag_name"])
	rest(t, a, key, "POST", "/galaxy_clusters/publish/"+uuid, nil)

	connect(t, a, b, store.ServerOptions{Push: true, PushGalaxyClusters: true})
	ev := rest(t, a, key, "POST", "/events/add", map[string]any{"Event": map[string]any{"info": "carries a cluster", "distribution": 3,
		"Attribute": []any{map[string]any{"type": "domain", "category": "Network activity", "value": "carrier.example"}},
		"Tag":       []any{map[string]any{"name": tagName}}}})
	eventUUID := fmt.Sprint(ev["Event"].(map[string]any)["uuid"])
	if _, err := a.st.Publish(ctx, testsupport.LocalEvent(t, a.st, eventUUID)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.eng.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := testsupport.ClusterJSON(b.st, uuid); err != nil {
		t.Fatalf("B lacks the cluster after the event's publication: %v", err)
	}
	got := b.event(t, eventUUID)
	found := false
	for _, g := range got.Galaxy {
		for _, c := range g.GalaxyCluster {
			found = found || c.UUID == uuid
		}
	}
	if !found {
		t.Errorf("the event on B does not show the cluster its tag %s names: %+v", tagName, got.Galaxy)
	}
}

// An event added on B by a sync account (PyMISP's add_event with the JSON A shows its site admin) that embeds
// a cluster of a custom galaxy B does not have captures the galaxy as MISP's captureGalaxy
// and captureCluster do: custom, locked, by UUID, owned by the sync account's organisation
// and created by A's (captured by UUID), with the distribution it states (here 0): so B's
// other organisations see neither galaxy nor cluster, the owner's users see both. A pull
// or push carries no Galaxy member (excludeGalaxy, as MISP), only the tags.
func TestEventEmbedsUnknownCustomGalaxy(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	key := userKey(t, a, "admin2@a.test", a.host.UUID, "admin")
	g := rest(t, a, key, "POST", "/galaxies/add", map[string]any{"name": "A's own", "namespace": "test", "distribution": 0, "description": "made on A"})
	galaxyUUID := fmt.Sprint(g["Galaxy"].(map[string]any)["uuid"])
	added := rest(t, a, key, "POST", "/galaxy_clusters/add/"+galaxyUUID,
		map[string]any{"GalaxyCluster": map[string]any{"value": "A's actor", "description": "made on A", "distribution": 1}})
	cl := added["GalaxyCluster"].(map[string]any)
	clusterUUID, tagName := fmt.Sprint(cl["uuid"]), fmt.Sprint(cl["tag_name"])
	ev := rest(t, a, key, "POST", "/events/add", map[string]any{"Event": map[string]any{"info": "embeds a custom cluster", "distribution": 3,
		"Attribute": []any{map[string]any{"type": "domain", "category": "Network activity", "value": "embed.example"}},
		"Tag":       []any{map[string]any{"name": tagName}}}})
	eventUUID := fmt.Sprint(ev["Event"].(map[string]any)["uuid"])
	st, shown := restStatus(t, a, key, "GET", "/events/view/"+eventUUID, nil)
	if st != http.StatusOK || !bytes.Contains(shown, []byte(clusterUUID)) {
		t.Fatalf("A's events/view does not embed the cluster: %d %s", st, shown)
	}
	var body map[string]any
	if err := json.Unmarshal(shown, &body); err != nil {
		t.Fatal(err)
	}

	body["Event"].(map[string]any)["locked"] = true // a push, as a sync account sends it
	ownerOrg := mustOrg(t, b, "Copier")
	copier := userKey(t, b, "copier@b.test", ownerOrg, "sync")
	rest(t, b, copier, "POST", "/events/add", body)
	got, err := testsupport.Galaxy(b.st, galaxyUUID)
	if err != nil {
		t.Fatalf("B lacks the galaxy the added event embeds: %v", err)
	}
	if got.Default || !got.Locked || got.Distribution != 0 || got.Orgc.UUID != a.host.UUID || got.Org.UUID != ownerOrg {
		t.Errorf("captured galaxy: default %v locked %v distribution %d org %s orgc %s; want custom, locked, 0, owned by the adder's organisation %s, created by A's %s",
			got.Default, got.Locked, got.Distribution, got.Org.UUID, got.Orgc.UUID, ownerOrg, a.host.UUID)
	}
	c, err := testsupport.ClusterJSON(b.st, clusterUUID)
	if err != nil {
		t.Fatalf("B lacks the cluster: %v", err)
	}
	owner, _ := b.st.OrgByUUID(ctx, ownerOrg)
	if store.ClusterInt(c["distribution"]) != 1 || !store.ClusterFlag(c["locked"]) || store.OrgID(store.ClusterInt(c["org_id"])) != owner.ID {
		t.Errorf("captured cluster: distribution %v locked %v org_id %v; want 1, locked, owned by %d", c["distribution"], c["locked"], c["org_id"], owner.ID)
	}
	elsewhere := userKey(t, b, "user@b.test", mustOrg(t, b, "Elsewhere"), "user")
	for who, k := range map[string]string{"another organisation": elsewhere, "the owner": copier} {
		want := map[string]int{"another organisation": http.StatusNotFound, "the owner": http.StatusOK}[who]
		for _, path := range []string{"/galaxies/view/" + galaxyUUID, "/galaxy_clusters/view/" + clusterUUID} {
			if st, raw := restStatus(t, b, k, "GET", path, nil); st != want {
				t.Errorf("%s on B: GET %s = %d, want %d: %s", who, path, st, want, raw)
			}
		}
	}
}

// relationsOf lists the relations of a stored cluster as "referenced uuid:distribution",
// in their order, and their tags by name.
func relationsOf(t *testing.T, cl map[string]any) string {
	t.Helper()
	b, err := json.Marshal(cl["GalaxyClusterRelation"])
	if err != nil {
		t.Fatal(err)
	}
	var rs []struct {
		UUID string `json:"referenced_galaxy_cluster_uuid"`
		Dist string `json:"distribution"`
		Tag  []struct {
			Name string `json:"name"`
		} `json:"Tag"`
	}
	if err := json.Unmarshal(b, &rs); err != nil {
		t.Fatalf("relations %s: %v", b, err)
	}
	var out []string
	for _, r := range rs {
		s := r.UUID[len(r.UUID)-2:] + ":" + r.Dist
		for _, tg := range r.Tag {
			s += "+" + tg.Name
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

// A community cluster's relations travel each by its own distribution, as MISP's
// GalaxyClusterRelation rules say. A's cluster has relations at 0, 1, 2 and 3 (the last
// with an exportable tag and one that A's tag list makes non-exportable). B's pull gets what A shows B's sync user
// (1–3), downgraded (1 becomes 0, 2 becomes 1); A's push to C sends 2 as 1 and 3, never 0
// or 1, nor the non-exportable tag. On B a user of another organisation then sees neither
// the relation that became organisation-only there nor, of course, A's.
func TestClusterRelationsTravelByTheirOwnDistribution(t *testing.T) {
	a, b, c := newNode(t, "A"), newNode(t, "B"), newNode(t, "C")
	admin := userKey(t, a, "admin2@a.test", a.host.UUID, "admin")
	if _, err := a.st.UpsertGalaxyCluster(ctx, []byte(`{"uuid":"00000000-0000-4000-8000-0000000c1a00","type":"threat-actor",
		"value":"Default Actor","version":"1","default":true,"distribution":"3",
		"Galaxy":{"uuid":"698774c7-8022-42c4-917f-8d6e4f06ada3","name":"Threat Actor","type":"threat-actor"}}`)); err != nil {
		t.Fatal(err)
	}
	// the relation names the tag only: that it may not leave is this instance's tag's flag
	if _, err := a.st.AddTag(ctx, store.TagRow{Name: "internal:note", Colour: "#000000", Exportable: false}); err != nil {
		t.Fatal(err)
	}
	rel := func(n, dist string, tags ...string) map[string]any {
		r := map[string]any{"referenced_galaxy_cluster_uuid": "00000000-0000-4000-8000-0000000ee0" + n,
			"referenced_galaxy_cluster_type": "similar", "distribution": dist}
		if len(tags) > 0 {
			var ts []any
			for _, tg := range tags {
				ts = append(ts, map[string]any{"name": tg})
			}
			r["Tag"] = ts
		}
		return r
	}
	for _, n := range []string{"00", "01", "02", "03"} { // the clusters related to, on A only
		rest(t, a, admin, "POST", "/galaxy_clusters/add/698774c7-8022-42c4-917f-8d6e4f06ada3",
			map[string]any{"uuid": "00000000-0000-4000-8000-0000000ee0" + n, "value": "Target " + n, "distribution": "3"})
	}
	added := rest(t, a, admin, "POST", "/galaxy_clusters/add/698774c7-8022-42c4-917f-8d6e4f06ada3",
		map[string]any{"GalaxyCluster": map[string]any{"value": "Related Actor", "distribution": "3", "GalaxyClusterRelation": []any{
			rel("00", "0"), rel("01", "1"), rel("02", "2"), rel("03", "3", "tlp:green", "internal:note")}}})
	uuid, _ := added["GalaxyCluster"].(map[string]any)["uuid"].(string)
	rest(t, a, admin, "POST", "/galaxy_clusters/publish/"+uuid, nil)

	connect(t, b, a, store.ServerOptions{Pull: true, PullGalaxyClusters: true})
	if _, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	connect(t, a, c, store.ServerOptions{Push: true, PushGalaxyClusters: true})
	if _, err := a.eng.Push(ctx, a.serverID("C"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		n    *node
		want string
	}{
		{a, "00:0 01:1 02:2 03:3+tlp:green+internal:note"},
		// A's answer to a pull leaves the tag out, as an element's (decision 25); MISP's
		// cluster view would give it to the peer's sync account
		{b, "01:0 02:1 03:3+tlp:green"},
		{c, "02:1 03:3+tlp:green"},
	} {
		got, err := testsupport.ClusterJSON(tc.n.st, uuid)
		if err != nil {
			t.Fatalf("%s: %v", tc.n.name, err)
		}
		if r := relationsOf(t, got); r != tc.want {
			t.Errorf("%s holds relations %q, want %q", tc.n.name, r, tc.want)
		}
	}

	mustOrg(t, b, "Other")
	other := userKey(t, b, "user@other.b.test", "Other", "user")
	view := rest(t, b, other, "GET", "/galaxy_clusters/view/"+uuid, nil)
	if r := relationsOf(t, view["GalaxyCluster"].(map[string]any)); r != "02:1 03:3+tlp:green" {
		t.Errorf("another organisation on B sees relations %q", r)
	}
}
