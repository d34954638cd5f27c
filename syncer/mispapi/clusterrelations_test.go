package mispapi

import (
	"context"
	"strings"
	"testing"

	"mispdesk/store"
)

// galaxy_cluster_relations/* as PyMISP's add_, update_ and delete_galaxy_cluster_relation
// call them: the creator organisation's galaxy editor adds a relation to a cluster it may
// see, once; another organisation's editor may not change it; a relation kept to the
// organisation is invisible to others (view, index) until edited to the community; its
// id stays through the edit; delete removes it.
func TestClusterRelationsREST(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	key := func(email, org string) string {
		t.Helper()
		_, k, err := e.st.AddUser(ctx, store.NewUser{Email: email, OrgRef: org, RoleRef: "org_admin"})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	editor, outsider := key("oa@host.test", "HOSTORG"), key("oa@other.test", "OTHERORG")
	r := e.do("POST", "/galaxies/add", e.admin, map[string]any{"name": "Related galaxy", "namespace": "test", "distribution": 3})
	wantStatus(t, r, 200)
	gid := get[string](t, r.obj(t), "Galaxy", "id")
	add := func(who, value, dist string) string {
		t.Helper()
		r := e.do("POST", "/galaxy_clusters/add/"+gid, who, map[string]any{"GalaxyCluster": map[string]any{"value": value, "distribution": dist}})
		wantStatus(t, r, 200)
		return get[string](t, r.obj(t), "GalaxyCluster", "uuid")
	}
	source, target, hidden := add(editor, "Source", "3"), add(editor, "Target", "3"), add(outsider, "Hidden", "0")
	version := func() string {
		t.Helper()
		return get[string](t, e.do("GET", "/galaxy_clusters/view/"+source, editor, nil).obj(t), "GalaxyCluster", "version")
	}
	before := version()
	rel := map[string]any{"galaxy_cluster_uuid": source, "referenced_galaxy_cluster_uuid": target,
		"referenced_galaxy_cluster_type": "similar", "distribution": "0"}
	wantEnvelope(t, e.do("POST", "/galaxyClusterRelations/add", editor, map[string]any{"GalaxyClusterRelation": rel}), 200, "GalaxyClusterRelation added")
	wantEnvelope(t, e.do("POST", "/galaxy_cluster_relations/add", editor, rel), 403, "Could not add GalaxyClusterRelation")
	r = e.do("POST", "/galaxy_cluster_relations/add", editor, map[string]any{"galaxy_cluster_uuid": source, "referenced_galaxy_cluster_uuid": hidden,
		"referenced_galaxy_cluster_type": "similar", "distribution": "3"})
	if r.status != 403 || !strings.Contains(string(r.body), "Invalid referenced galaxy cluster") {
		t.Errorf("a relation to a cluster the editor may not see: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/galaxy_cluster_relations/add", outsider, map[string]any{"galaxy_cluster_uuid": source, "referenced_galaxy_cluster_uuid": target,
		"referenced_galaxy_cluster_type": "uses", "distribution": "3"})
	if r.status != 403 || !strings.Contains(string(r.body), "Only the creator organisation can modify the galaxy cluster") {
		t.Errorf("another organisation's editor adds: %d %s", r.status, r.body)
	}
	wantEnvelope(t, e.do("POST", "/galaxy_cluster_relations/add", e.sameOrgUser, rel), 403, msgNoPerm)
	// nor may the editor attach the cluster it may not see to its own event
	r = e.do("POST", "/events/add", editor, map[string]any{"Event": map[string]any{"info": "mine", "distribution": 0,
		"Attribute": []any{map[string]any{"type": "text", "value": "a"}}}})
	wantStatus(t, r, 200)
	eid := get[string](t, r.obj(t), "Event", "id")
	wantEnvelope(t, e.do("POST", "/galaxies/attachCluster/"+eid+"/event/local:0", editor, map[string]any{"Galaxy": map[string]any{"target_id": hidden}}),
		404, "Invalid Galaxy cluster.")
	wantStatus(t, e.do("POST", "/galaxies/attachCluster/"+eid+"/event/local:0", editor, map[string]any{"Galaxy": map[string]any{"target_id": target}}), 200)
	// a cluster added with its relations is held to the same rules
	r = e.do("POST", "/galaxy_clusters/add/"+gid, editor, map[string]any{"value": "With relations", "GalaxyClusterRelation": []any{
		map[string]any{"referenced_galaxy_cluster_uuid": hidden, "referenced_galaxy_cluster_type": "similar", "distribution": "3"}}})
	if r.status != 403 || !strings.Contains(string(r.body), "Invalid referenced galaxy cluster") {
		t.Errorf("galaxy_clusters/add with a relation to a cluster the editor may not see: %d %s", r.status, r.body)
	}

	r = e.do("GET", "/galaxy_clusters/view/"+source, editor, nil)
	rels := get[[]any](t, r.obj(t), "GalaxyCluster", "GalaxyClusterRelation")
	if len(rels) != 1 {
		t.Fatalf("the source cluster's relations: %s", r.body)
	}
	id, _ := rels[0].(map[string]any)["id"].(string)
	if id == "" || get[bool](t, r.obj(t), "GalaxyCluster", "published") || version() <= before {
		t.Fatalf("after add: relation id %q, cluster %s", id, r.body)
	}
	r = e.do("GET", "/galaxy_cluster_relations/view/"+id, editor, nil)
	wantStatus(t, r, 200)
	if get[string](t, r.obj(t), "GalaxyClusterRelation", "referenced_galaxy_cluster_uuid") != target ||
		get[string](t, r.obj(t), "GalaxyClusterRelation", "distribution") != "0" {
		t.Errorf("view: %s", r.body)
	}
	sees := func(who string) bool {
		t.Helper()
		v := e.do("GET", "/galaxy_cluster_relations/view/"+id, who, nil)
		idx := e.do("GET", "/galaxy_cluster_relations/index", who, nil)
		wantStatus(t, idx, 200)
		inIndex := strings.Contains(string(idx.body), target)
		if (v.status == 200) != inIndex {
			t.Errorf("view answers %d but the index lists it %v", v.status, inIndex)
		}
		return inIndex
	}
	if !sees(editor) || sees(e.other) || sees(e.syncKey) {
		t.Error("an organisation-only relation: seen by its organisation only")
	}
	wantEnvelope(t, e.do("GET", "/galaxy_cluster_relations/view/"+id, e.other, nil), 404, "Invalid cluster relation")

	r = e.do("POST", "/galaxy_cluster_relations/edit/"+id, outsider, map[string]any{"distribution": "3"})
	if r.status != 404 {
		t.Errorf("an editor who may not see the relation edits it: %d %s", r.status, r.body)
	}
	wantEnvelope(t, e.do("POST", "/galaxy_cluster_relations/edit/"+id, editor, map[string]any{"GalaxyClusterRelation": map[string]any{
		"distribution": "3", "tags": "tlp:green, estimative-language:likelihood-probability=\"likely\""}}), 200, "GalaxyClusterRelation edited")
	if !sees(e.other) {
		t.Error("the relation edited to the community is not seen by another organisation")
	}
	r = e.do("GET", "/galaxy_cluster_relations/view/"+id, e.other, nil)
	if tags := get[[]any](t, r.obj(t), "Tag"); len(tags) != 2 || tags[0].(map[string]any)["name"] != "tlp:green" {
		t.Errorf("the edited relation's tags: %s", r.body)
	}
	wantEnvelope(t, e.do("POST", "/galaxy_cluster_relations/edit/"+id, outsider, map[string]any{"distribution": "0"}), 403, "Could not edit GalaxyClusterRelation")

	// shared with a group of OTHERORG: its users see it, a third organisation's do not
	r = e.do("POST", "/sharing_groups/add", e.admin, map[string]any{"SharingGroup": map[string]any{"name": "with other", "releasability": "other"}})
	wantStatus(t, r, 200)
	sgID := get[string](t, r.obj(t), "SharingGroup", "id")
	wantStatus(t, e.do("POST", "/sharing_groups/addOrg/"+sgID+"/"+itoa(int64(e.otherOrg.ID)), e.admin, nil), 200)
	if _, err := e.st.AddOrg(ctx, store.Org{Name: "THIRDORG", Local: true}); err != nil {
		t.Fatal(err)
	}
	_, third, err := e.st.AddUser(ctx, store.NewUser{Email: "user@third.test", OrgRef: "THIRDORG", RoleRef: "user"})
	if err != nil {
		t.Fatal(err)
	}
	wantEnvelope(t, e.do("POST", "/galaxy_cluster_relations/edit/"+id, editor, map[string]any{"distribution": "4", "sharing_group_id": "999"}),
		405, "Invalid Sharing Group or not authorised.")
	wantEnvelope(t, e.do("POST", "/galaxy_cluster_relations/edit/"+id, editor, map[string]any{"distribution": "4", "sharing_group_id": sgID}),
		200, "GalaxyClusterRelation edited")
	if !sees(e.other) || sees(third) {
		t.Error("a relation shared with a group: seen by the group's members only")
	}
	if get[string](t, e.do("GET", "/galaxy_cluster_relations/view/"+id, e.other, nil).obj(t), "SharingGroup", "id") != sgID {
		t.Error("a member does not see the relation's group")
	}
	wantEnvelope(t, e.do("POST", "/galaxy_cluster_relations/delete/"+id, outsider, nil), 405, "Only the creator organisation can modify the galaxy cluster")
	wantEnvelope(t, e.do("POST", "/galaxy_cluster_relations/delete/"+id, editor, nil), 200, "GalaxyClusterRelation deleted")
	wantEnvelope(t, e.do("POST", "/galaxy_cluster_relations/delete/"+id, editor, nil), 404, "Relation not found.")
	if rels := get[[]any](t, e.do("GET", "/galaxy_clusters/view/"+source, editor, nil).obj(t), "GalaxyCluster", "GalaxyClusterRelation"); len(rels) != 0 {
		t.Errorf("after delete the cluster has relations %v", rels)
	}
}
