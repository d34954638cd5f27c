package mispapi

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"mispdesk/store"
)

// galaxy_clusters/edit as PyMISP's update_galaxy_cluster calls it, and galaxy_clusters/delete:
// the creator organisation's galaxy editor changes the cluster (a new version, unpublished,
// elements and authors replaced); another organisation's editor that sees it is refused
// with MISP's 405; one that may not see it gets the 404 of a cluster that does not exist;
// a default cluster is not editable; a read-only key is refused.
func TestGalaxyClusterEdit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	key := func(email, org string, readOnly bool) string {
		t.Helper()
		u, k, err := e.st.AddUser(ctx, store.NewUser{Email: email, OrgRef: org, RoleRef: "org_admin"})
		if err != nil {
			t.Fatal(err)
		}
		if readOnly {
			if _, k, err = e.st.AddAuthKey(ctx, u.ID, store.AuthKeyOptions{ReadOnly: true}); err != nil {
				t.Fatal(err)
			}
		}
		return k
	}
	editor, outsider, readOnly := key("oa@host.test", "HOSTORG", false), key("oa@other.test", "OTHERORG", false), key("oa2@host.test", "HOSTORG", true)
	r := e.do("POST", "/galaxies/add", e.admin, map[string]any{"name": "Shared galaxy", "namespace": "test", "distribution": 3})
	wantStatus(t, r, 200)
	gid := get[string](t, r.obj(t), "Galaxy", "id")
	add := func(value, dist string) (string, string) {
		t.Helper()
		r := e.do("POST", "/galaxy_clusters/add/"+gid, editor, map[string]any{"GalaxyCluster": map[string]any{"value": value, "distribution": dist,
			"authors": []string{"first"}, "GalaxyElement": []map[string]string{{"key": "country", "value": "FR"}}}})
		wantStatus(t, r, 200)
		return get[string](t, r.obj(t), "GalaxyCluster", "id"), get[string](t, r.obj(t), "GalaxyCluster", "uuid")
	}
	shared, sharedUUID := add("Shared actor", "3")
	_, hidden := add("Hidden actor", "0")
	wantStatus(t, e.do("POST", "/galaxy_clusters/publish/"+shared, editor, nil), 200)
	r = e.do("GET", "/galaxy_clusters/view/"+shared, editor, nil)
	before, _ := strconv.ParseInt(get[string](t, r.obj(t), "GalaxyCluster", "version"), 10, 64)

	r = e.do("POST", "/galaxyClusters/edit/"+sharedUUID, editor, map[string]any{"GalaxyCluster": map[string]any{
		"value": "Renamed actor", "description": "seen again", "authors": "alice, bob", "distribution": "2",
		"GalaxyElement": []map[string]string{{"key": "country", "value": "BE"}, {"key": "synonyms", "value": "RA"}}}})
	wantStatus(t, r, 200)
	cl := r.obj(t)
	if get[string](t, cl, "GalaxyCluster", "value") != "Renamed actor" || get[string](t, cl, "GalaxyCluster", "description") != "seen again" ||
		get[string](t, cl, "GalaxyCluster", "distribution") != "2" || get[bool](t, cl, "GalaxyCluster", "published") {
		t.Fatalf("edit: %s", r.body)
	}
	if v, _ := strconv.ParseInt(get[string](t, cl, "GalaxyCluster", "version"), 10, 64); v <= before {
		t.Errorf("version %d not after %d", v, before)
	}
	if a := get[[]any](t, cl, "GalaxyCluster", "authors"); len(a) != 2 || a[1] != "bob" {
		t.Errorf("authors: %v", a)
	}
	if el := get[[]any](t, cl, "GalaxyCluster", "GalaxyElement"); len(el) != 2 || el[0].(map[string]any)["value"] != "BE" {
		t.Errorf("elements: %v", el)
	}

	// another organisation's editor sees the cluster but did not create it
	wantStatus(t, e.do("GET", "/galaxy_clusters/view/"+shared, outsider, nil), 200)
	for _, path := range []string{"/galaxy_clusters/edit/" + shared, "/galaxy_clusters/delete/" + shared} {
		wantEnvelope(t, e.do("POST", path, outsider, map[string]any{"value": "taken"}), 405, "Only the creator organisation can modify the galaxy cluster")
	}
	// nor may it tell a cluster it may not see from one that does not exist
	for _, ref := range []string{hidden, "00000000-0000-4000-8000-00000000dead"} {
		wantEnvelope(t, e.do("POST", "/galaxy_clusters/edit/"+ref, outsider, map[string]any{"value": "x"}), 404, "Invalid galaxy cluster")
		wantEnvelope(t, e.do("POST", "/galaxy_clusters/delete/"+ref, outsider, nil), 404, "Invalid galaxy cluster")
	}
	wantEnvelope(t, e.do("POST", "/galaxy_clusters/edit/"+shared, readOnly, map[string]any{"value": "ro"}), 403, msgNoPerm)
	wantEnvelope(t, e.do("POST", "/galaxy_clusters/edit/"+shared, e.sameOrgUser, map[string]any{"value": "no perm"}), 403, msgNoPerm)
	wantStatus(t, e.do("POST", "/galaxy_clusters/edit/"+shared, editor, map[string]any{"value": " "}), 403)
	wantStatus(t, e.do("POST", "/galaxy_clusters/edit/"+shared, editor, map[string]any{"value": "x", "distribution": "4", "sharing_group_id": "999"}), 405)

	// a library cluster is not editable, not even by the site admin
	if _, err := e.st.UpsertGalaxyCluster(ctx, []byte(`{"uuid":"00000000-0000-4000-8000-0000000c1a00","type":"threat-actor",
		"value":"Library Actor","version":"1","default":true,"distribution":"3",
		"Galaxy":{"uuid":"698774c7-8022-42c4-917f-8d6e4f06ada3","name":"Threat Actor","type":"threat-actor"}}`)); err != nil {
		t.Fatal(err)
	}
	wantEnvelope(t, e.do("POST", "/galaxy_clusters/edit/00000000-0000-4000-8000-0000000c1a00", e.admin, map[string]any{"value": "x"}), 405,
		"Default galaxy cluster cannot be edited")
	wantEnvelope(t, e.do("POST", "/galaxy_clusters/edit/00000000-0000-4000-8000-0000000c1a00", editor, map[string]any{"value": "x"}), 405,
		"Only the creator organisation can modify the galaxy cluster")

	// the site admin edits another organisation's cluster; the creator deletes it
	r = e.do("POST", "/galaxy_clusters/edit/"+shared, e.admin, map[string]any{"value": "Moderated actor"})
	wantStatus(t, r, 200)
	if get[string](t, r.obj(t), "GalaxyCluster", "value") != "Moderated actor" {
		t.Errorf("site admin's edit: %s", r.body)
	}
	wantStatus(t, e.do("POST", "/galaxy_clusters/delete/"+shared, editor, nil), 200)
	wantStatus(t, e.do("GET", "/galaxy_clusters/view/"+shared, editor, nil), 404)
}

// galaxy_clusters/add with distribution 4 records the sharing group as edit does: a user of
// a member organisation sees the cluster (view, its galaxy's index, and in an event that
// carries it), one of an organisation outside the group does not; a group the caller may
// not use is refused.
func TestGalaxyClusterAddSharingGroup(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.st.AddOrg(ctx, store.Org{Name: "THIRDORG", Local: true}); err != nil {
		t.Fatal(err)
	}
	_, outsider, err := e.st.AddUser(ctx, store.NewUser{Email: "user@third.test", OrgRef: "THIRDORG", RoleRef: "user"})
	if err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", "/galaxies/add", e.admin, map[string]any{"name": "Group galaxy", "namespace": "test", "distribution": 3})
	wantStatus(t, r, 200)
	gid := get[string](t, r.obj(t), "Galaxy", "id")
	r = e.do("POST", "/sharing_groups/add", e.admin, map[string]any{"SharingGroup": map[string]any{"name": "with other", "releasability": "other"}})
	wantStatus(t, r, 200)
	sgID := get[string](t, r.obj(t), "SharingGroup", "id")
	wantStatus(t, e.do("POST", "/sharing_groups/addOrg/"+sgID+"/"+itoa(int64(e.otherOrg.ID)), e.admin, nil), 200)

	wantEnvelope(t, e.do("POST", "/galaxy_clusters/add/"+gid, e.admin, map[string]any{"value": "x", "distribution": "4", "sharing_group_id": "999"}),
		405, "Invalid Sharing Group or not authorised.")
	r = e.do("POST", "/galaxy_clusters/add/"+gid, e.admin, map[string]any{"GalaxyCluster": map[string]any{"value": "Group actor", "distribution": "4", "sharing_group_id": sgID}})
	wantStatus(t, r, 200)
	cid, cuuid := get[string](t, r.obj(t), "GalaxyCluster", "id"), get[string](t, r.obj(t), "GalaxyCluster", "uuid")
	if get[string](t, r.obj(t), "GalaxyCluster", "sharing_group_id") != sgID {
		t.Fatalf("stored without its group: %s", r.body)
	}
	r = e.do("POST", "/events/add", e.admin, map[string]any{"Event": map[string]any{"info": "carries the group cluster", "distribution": 3,
		"Attribute": []any{map[string]any{"type": "text", "value": "a"}}}})
	wantStatus(t, r, 200)
	eid := get[string](t, r.obj(t), "Event", "id")
	wantStatus(t, e.do("POST", "/galaxies/attachCluster/"+eid+"/event/local:0", e.admin, map[string]any{"Galaxy": map[string]any{"target_id": cid}}), 200)

	for _, c := range []struct {
		who, key string
		sees     bool
	}{{"member", e.other, true}, {"outsider", outsider, false}} {
		r := e.do("GET", "/galaxy_clusters/view/"+cuuid, c.key, nil)
		if want := map[bool]int{true: 200, false: 404}[c.sees]; r.status != want {
			t.Errorf("%s: view answers %d, want %d: %.300s", c.who, r.status, want, r.body)
		}
		r = e.do("GET", "/galaxy_clusters/index/"+gid, c.key, nil)
		wantStatus(t, r, 200)
		if got := strings.Contains(string(r.body), cuuid); got != c.sees {
			t.Errorf("%s: index lists the cluster %v, want %v: %.300s", c.who, got, c.sees, r.body)
		}
		r = e.do("GET", "/events/view/"+eid, c.key, nil)
		wantStatus(t, r, 200)
		if got := strings.Contains(string(r.body), "Group actor"); got != c.sees {
			t.Errorf("%s: the event carries the cluster %v, want %v: %.600s", c.who, got, c.sees, r.body)
		}
	}
}

// A cluster's relations each have their own distribution (MISP's GalaxyClusterRelation):
// on a community cluster, a relation kept to the organisation reaches no other
// organisation, neither in galaxy_clusters/view, index and restSearch, galaxies/view, nor in
// an event that carries the cluster (events/view and restSearch); the organisation that
// owns the cluster and the site admin see both.
func TestClusterRelationsGated(t *testing.T) {
	e := newEnv(t)
	const (
		private = "00000000-0000-4000-8000-0000000ee001"
		public  = "00000000-0000-4000-8000-0000000ee002"
	)
	r := e.do("POST", "/galaxies/add", e.admin, map[string]any{"name": "Related galaxy", "namespace": "test", "distribution": 3})
	wantStatus(t, r, 200)
	gid := get[string](t, r.obj(t), "Galaxy", "id")
	for _, u := range []string{private, public} { // the clusters related to, seen by all
		wantStatus(t, e.do("POST", "/galaxy_clusters/add/"+gid, e.admin, map[string]any{"uuid": u, "value": "Target " + u, "distribution": "3"}), 200)
	}
	r = e.do("POST", "/galaxy_clusters/add/"+gid, e.admin, map[string]any{"GalaxyCluster": map[string]any{"value": "Related actor", "distribution": "3",
		"GalaxyClusterRelation": []any{
			map[string]any{"referenced_galaxy_cluster_uuid": private, "referenced_galaxy_cluster_type": "works-with", "distribution": "0"},
			map[string]any{"referenced_galaxy_cluster_uuid": public, "referenced_galaxy_cluster_type": "similar", "distribution": "3"},
		}}})
	wantStatus(t, r, 200)
	cid, cuuid := get[string](t, r.obj(t), "GalaxyCluster", "id"), get[string](t, r.obj(t), "GalaxyCluster", "uuid")
	r = e.do("POST", "/events/add", e.admin, map[string]any{"Event": map[string]any{"info": "carries the related cluster", "distribution": 3,
		"published": true, "Attribute": []any{map[string]any{"type": "text", "value": "a"}}}})
	wantStatus(t, r, 200)
	eid := get[string](t, r.obj(t), "Event", "id")
	wantStatus(t, e.do("POST", "/galaxies/attachCluster/"+eid+"/event/local:0", e.admin, map[string]any{"Galaxy": map[string]any{"target_id": cid}}), 200)
	wantStatus(t, e.do("POST", "/events/publish/"+eid, e.admin, nil), 200)

	reads := []struct {
		method, path string
		body         any
	}{
		{"GET", "/galaxy_clusters/view/" + cuuid, nil},
		{"GET", "/galaxy_clusters/index/" + gid, nil},
		{"POST", "/galaxy_clusters/restSearch", map[string]any{"uuid": cuuid}},
		{"GET", "/galaxies/view/" + gid, nil},
		{"GET", "/events/view/" + eid, nil},
		{"POST", "/events/restSearch", map[string]any{"eventid": eid}},
	}
	for _, who := range []struct {
		name, key   string
		seesPrivate bool
	}{{"owner", e.sameOrgUser, true}, {"site admin", e.admin, true}, {"other org", e.other, false}, {"peer sync", e.syncKey, false}} {
		for _, rd := range reads {
			r := e.do(rd.method, rd.path, who.key, rd.body)
			wantStatus(t, r, 200)
			if !strings.Contains(string(r.body), `"referenced_galaxy_cluster_uuid":"`+public+`"`) {
				t.Errorf("%s, %s: the community relation is missing: %.400s", who.name, rd.path, r.body)
			}
			if got := strings.Contains(string(r.body), `"referenced_galaxy_cluster_uuid":"`+private+`"`); got != who.seesPrivate {
				t.Errorf("%s, %s: the organisation-only relation shown %v, want %v: %.400s", who.name, rd.path, got, who.seesPrivate, r.body)
			}
		}
	}
}

// TestGalaxyClusterTagCountIsTheCallers: a cluster's tag_count is, for each caller, the
// number of events carrying its tag that the caller may see (MISP's countForTag), never
// the count a peer's reader had when the cluster was pulled or pushed.
func TestGalaxyClusterTagCountIsTheCallers(t *testing.T) {
	e := newEnv(t)
	const uuid, tag = "0b8a5a9e-3c52-4b5e-9a47-3f0e8d1c2b71", `misp-galaxy:test-galaxy="counted"`
	body := `[{"GalaxyCluster":{"uuid":"` + uuid + `","type":"test-galaxy","value":"counted",
		"tag_name":"misp-galaxy:test-galaxy=\"counted\"","description":"d","version":"1","distribution":"3",
		"tag_count":"999","tag_id":"77",
		"Galaxy":{"uuid":"2f1f1b7c-1d2c-4e4b-9d8a-1d2c3b4a5e6f","name":"Test","type":"test-galaxy"}}}]`
	wantStatus(t, e.do("POST", "/galaxies/pushCluster", e.syncKey, body), 200)
	for _, dist := range []string{"0", "1"} {
		wantStatus(t, e.do("POST", "/events/add", e.sameOrgUser, map[string]any{"Event": map[string]any{
			"info": "tagged " + dist, "distribution": dist, "threat_level_id": "4", "analysis": "0",
			"Tag": []map[string]string{{"name": tag}}}}), 200)
	}
	for _, c := range []struct {
		who, key string
		want     float64
	}{{"the site admin", e.admin, 2}, {"the owner organisation", e.sameOrgUser, 2}, {"another organisation", e.other, 1}} {
		cl := e.do("GET", "/galaxy_clusters/view/"+uuid, c.key, nil).obj(t)["GalaxyCluster"].(map[string]any)
		if got, _ := cl["tag_count"].(float64); got != c.want {
			t.Errorf("%s: tag_count %v, want %v", c.who, cl["tag_count"], c.want)
		}
		if id, _ := cl["tag_id"].(string); id == "" || id == "77" {
			t.Errorf("%s: tag_id %q, want this instance's tag", c.who, id)
		}
	}
}
