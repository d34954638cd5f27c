package mispapi

// A galaxy cluster's relations to other clusters (MISP's GalaxyClusterRelationsController:
// galaxy_cluster_relations/index, view, add, edit, delete). A relation lives in its
// cluster's stored JSON and is named by its local id (store.ClusterRelationID). What a
// caller sees of one is what the gate shows of its cluster (gate.Check.Cluster): the
// cluster visible, the relation by its own sharing. A change is the cluster creator's
// (or a site admin's), needs a referenced cluster the caller may see, and makes a new,
// unpublished version of the cluster, as MISP touches and unpublishes it.

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/store"
	"mispdesk/store/misp"
)

func (a *API) registerClusterRelations() {
	a.handle("galaxy_cluster_relations/index", methodsGetPost, permAuth, (*call).clusterRelationsIndex)
	a.handle("galaxy_cluster_relations/view", methodsGet, permAuth, (*call).clusterRelationView)
	a.handleWrite("galaxy_cluster_relations/add", methodsPost, permGalaxy, (*call).clusterRelationsAdd)
	a.handleWrite("galaxy_cluster_relations/edit", methodsPost, permGalaxy, (*call).clusterRelationsEdit)
	a.handleWrite("galaxy_cluster_relations/delete", methodsDelete, permGalaxy, (*call).clusterRelationsDelete)
}

// visibleRelation finds the relation of local id ref that the caller may see, in its
// cluster as the caller may see it; 404 msg otherwise, as for one that does not exist.
func (c *call) visibleRelation(ref, msg string) (*misp.ClusterRelation, map[string]any, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(ref), 10, 64)
	if err != nil {
		return nil, nil, notFound(msg)
	}
	cid, err := c.a.st.ClusterOfRelation(c.ctx, id)
	if err != nil {
		return nil, nil, notFoundOr(err, msg)
	}
	cl, err := c.visibleCluster(itoa(int64(cid)))
	var apiErr *apiError
	if errors.As(err, &apiErr) && apiErr.status == http.StatusNotFound {
		return nil, nil, notFound(msg)
	}
	if err != nil {
		return nil, nil, err
	}
	rs, _ := cl["GalaxyClusterRelation"].(misp.ClusterRelations)
	for i := range rs {
		if store.ClusterRelationID(scalar(cl["uuid"]), &rs[i]) == id {
			return &rs[i], cl, nil
		}
	}
	return nil, nil, notFound(msg)
}

// relationRecord is a relation as MISP's view and index answer one: its columns under
// GalaxyClusterRelation, its tags and sharing group beside them.
func relationRecord(r *misp.ClusterRelation) (map[string]any, error) {
	b, err := json.Marshal(r, json.Deterministic(true))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, k := range []string{"Tag", "SharingGroup"} {
		if v, ok := m[k]; ok {
			out[k] = v
			delete(m, k)
		}
	}
	out["GalaxyClusterRelation"] = m
	return out, nil
}

// clusterRelationView is GET /galaxy_cluster_relations/view/<id>.
func (c *call) clusterRelationView() error {
	r, _, err := c.visibleRelation(c.path.Arg(0), "Invalid cluster relation")
	if err != nil {
		return err
	}
	rec, err := relationRecord(r)
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, rec)
}

// clusterRelationsIndex is GET|POST /galaxy_cluster_relations/index {"context":
// "all"|"default"|"custom", "searchall"}: every relation the caller may see, of the
// clusters it may see; searchall matches the relation's type and its cluster's value or
// tag name.
func (c *call) clusterRelationsIndex() error {
	params, err := c.indexParams()
	if err != nil {
		return err
	}
	context, needle := strings.ToLower(scalar(params["context"])), strings.ToLower(scalar(params["searchall"]))
	ids, err := c.a.st.ClustersWithRelations(c.ctx)
	if err != nil {
		return err
	}
	out := []any{}
	for _, id := range ids {
		cl, err := c.a.st.GalaxyClusterJSON(c.ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if ok, err := c.clusterVisible(cl); err != nil {
			return err
		} else if !ok {
			continue
		}
		rs, _ := cl["GalaxyClusterRelation"].(misp.ClusterRelations)
		for i := range rs {
			r := &rs[i]
			if def := store.ClusterFlag(r.Extra["default"]); (context == "default" && !def) || (context == "custom" && def) {
				continue
			}
			if needle != "" && !strings.Contains(strings.ToLower(r.ReferencedType+"\x00"+scalar(cl["value"])+"\x00"+scalar(cl["tag_name"])), needle) {
				continue
			}
			rec, err := relationRecord(r)
			if err != nil {
				return err
			}
			out = append(out, rec)
		}
	}
	return c.reply(http.StatusOK, out)
}

// clusterRelationsAdd is POST /galaxy_cluster_relations/add {"galaxy_cluster_uuid",
// "referenced_galaxy_cluster_uuid", "referenced_galaxy_cluster_type", "distribution",
// "sharing_group_id", "tags"} (bare or under GalaxyClusterRelation), PyMISP's
// add_galaxy_cluster_relation.
func (c *call) clusterRelationsAdd() error {
	f, err := c.fields("GalaxyClusterRelation")
	if err != nil {
		return err
	}
	fail := func(msg string) error { return saveFail(c, "Could not add GalaxyClusterRelation", nil, msg) }
	cl, err := c.storedCluster(f.str("galaxy_cluster_uuid"))
	if err != nil {
		return fail("Invalid galaxy cluster")
	}
	if err := c.mayModifyCluster(cl); err != nil {
		return failWith(err, fail)
	}
	rs, err := storedRelations(cl)
	if err != nil {
		return err
	}
	r := misp.ClusterRelation{Distribution: misp.OrgOnly}
	if err := c.relationFields(&r, f, fail); err != nil {
		return err
	}
	for i := range rs {
		if sameRelation(&rs[i], &r) {
			return fail("Relation already exists")
		}
	}
	if err := c.saveRelations(cl, append(rs, r)); err != nil {
		return fail(err.Error())
	}
	return c.reply(http.StatusOK, saveSuccess(c, "GalaxyClusterRelation added", "GalaxyClusterRelation added", nil))
}

// clusterRelationsEdit is POST /galaxy_cluster_relations/edit/<id>: the fields given
// change (tags are replaced by those sent), the rest stay. A library relation is not
// editable.
func (c *call) clusterRelationsEdit() error {
	old, shown, err := c.visibleRelation(c.path.Arg(0), "Invalid cluster relation")
	if err != nil {
		return err
	}
	if store.ClusterFlag(old.Extra["default"]) {
		return httpError(http.StatusMethodNotAllowed, "Default cluster relation cannot be edited")
	}
	f, err := c.fields("GalaxyClusterRelation")
	if err != nil {
		return err
	}
	fail := func(msg string) error { return saveFail(c, "Could not edit GalaxyClusterRelation", c.path.Arg(0), msg) }
	cl, err := c.storedCluster(scalar(shown["id"]))
	if err != nil {
		return err
	}
	if err := c.mayModifyCluster(cl); err != nil {
		return failWith(err, fail)
	}
	rs, err := storedRelations(cl)
	if err != nil {
		return err
	}
	at := -1
	for i := range rs {
		if sameRelation(&rs[i], old) {
			at = i
		}
	}
	if at < 0 {
		return notFound("Invalid cluster relation")
	}
	r := rs[at]
	r.Tag = nil
	if err := c.relationFields(&r, f, fail); err != nil {
		return err
	}
	for i := range rs {
		if i != at && sameRelation(&rs[i], &r) {
			return fail("Relation already exists")
		}
	}
	rs[at] = r
	if err := c.saveRelations(cl, rs); err != nil {
		return fail(err.Error())
	}
	return c.reply(http.StatusOK, saveSuccess(c, "GalaxyClusterRelation edited", "GalaxyClusterRelation edited", nil))
}

// clusterRelationsDelete is POST|DELETE /galaxy_cluster_relations/delete/<id>.
func (c *call) clusterRelationsDelete() error {
	old, shown, err := c.visibleRelation(c.path.Arg(0), "Relation not found.")
	if err != nil {
		return err
	}
	cl, err := c.storedCluster(scalar(shown["id"]))
	if err != nil {
		return err
	}
	if err := c.mayModifyCluster(cl); err != nil {
		return err
	}
	rs, err := storedRelations(cl)
	if err != nil {
		return err
	}
	kept := rs[:0]
	for _, r := range rs {
		if !sameRelation(&r, old) {
			kept = append(kept, r)
		}
	}
	if err := c.saveRelations(cl, kept); err != nil {
		return err
	}
	return c.reply(http.StatusOK, saveSuccess(c, "GalaxyClusterRelation deleted", "GalaxyClusterRelation deleted", c.path.Arg(0)))
}

// relationFields sets a relation's fields from an add or edit body (over what r has): a
// referenced cluster the caller may see and a type (both needed), a distribution from 0
// to 4 and for 4 a sharing group the caller may use (kept as the gate reads it), and tags
// (a list, or names separated by commas).
func (c *call) relationFields(r *misp.ClusterRelation, f fields, fail func(string) error) error {
	if r.Extra == nil {
		r.Extra = misp.Extra{}
	}
	if f.has("referenced_galaxy_cluster_uuid") {
		r.ReferencedUUID = strings.ToLower(strings.TrimSpace(f.str("referenced_galaxy_cluster_uuid")))
	}
	if f.has("referenced_galaxy_cluster_type") {
		r.ReferencedType = strings.TrimSpace(f.str("referenced_galaxy_cluster_type"))
	}
	if r.ReferencedUUID == "" {
		return fail("referenced_galaxy_cluster_uuid not provided")
	}
	if r.ReferencedType == "" {
		return fail("referenced_galaxy_cluster_type: must not be empty")
	}
	if !misp.IsUUID(r.ReferencedUUID) {
		return fail("Invalid referenced galaxy cluster")
	}
	if _, err := c.visibleCluster(r.ReferencedUUID); err != nil {
		return failWith(err, func(string) error { return fail("Invalid referenced galaxy cluster") })
	}
	if f.has("distribution") {
		d, err := strconv.Atoi(strings.TrimSpace(f.str("distribution")))
		if err != nil || d < 0 || d > 4 {
			return fail("Options: Your organisation only, This community only, Connected communities, All communities, Sharing group")
		}
		r.Distribution = misp.Distribution(d)
	}
	sgID := store.ClusterInt(r.Extra["sharing_group_id"])
	if f.has("sharing_group_id") {
		sgID = store.ClusterInt(f["sharing_group_id"])
	}
	r.SharingGroup, r.Extra["sharing_group_id"] = nil, []byte("null")
	if r.Distribution == misp.SharingGroupDist {
		sg, err := c.usableSharingGroup(misp.Int(sgID), nil)
		if err != nil {
			return err
		}
		r.SharingGroup, r.Extra["sharing_group_id"] = sg, []byte(strconv.Quote(itoa(int64(sg.ID))))
	}
	var names []string
	if v, ok := f["tags"]; ok && json.Unmarshal(v, &names) != nil {
		names = append(names, strings.Split(f.str("tags"), ",")...)
	}
	var tags []misp.Tag
	if v, ok := f["Tag"]; ok {
		if err := json.Unmarshal(v, &tags); err != nil {
			return fail("Tag: " + err.Error())
		}
	}
	for _, n := range names {
		if n = strings.TrimSpace(n); n != "" {
			tags = append(tags, misp.Tag{Name: n})
		}
	}
	if len(tags) > 0 {
		r.Tag = tags
	}
	r.Extra["default"] = []byte("false")
	return nil
}

// relationsFrom reads the relations a galaxy_clusters/add body gives the new cluster
// (its GalaxyClusterRelation list), each as galaxy_cluster_relations/add takes one
// (relationFields), and never two of the same referenced cluster and type.
func (c *call) relationsFrom(v jsontext.Value, fail func(string) error) (misp.ClusterRelations, error) {
	var items []fields
	if err := json.Unmarshal(v, &items); err != nil {
		return nil, fail("GalaxyClusterRelation: a list of relations")
	}
	rs := make(misp.ClusterRelations, 0, len(items))
	for _, f := range items {
		r := misp.ClusterRelation{Distribution: misp.OrgOnly}
		if err := c.relationFields(&r, f, fail); err != nil {
			return nil, err
		}
		for i := range rs {
			if sameRelation(&rs[i], &r) {
				return nil, fail("Relation already exists")
			}
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// sameRelation reports whether a and b are one relation as MISP counts them: the same
// referenced cluster and type (within one cluster).
func sameRelation(a, b *misp.ClusterRelation) bool {
	return strings.EqualFold(a.ReferencedUUID, b.ReferencedUUID) && a.ReferencedType == b.ReferencedType
}

// storedRelations are the relations of a stored cluster, as stored.
func storedRelations(cl map[string]any) (misp.ClusterRelations, error) {
	mc, err := store.ClusterModel(cl)
	if err != nil {
		return nil, err
	}
	return mc.GalaxyClusterRelation, nil
}

// saveRelations stores the cluster cl (as stored) with the relations rs, as a new version
// left unpublished until its creator publishes it again.
func (c *call) saveRelations(cl map[string]any, rs misp.ClusterRelations) error {
	cl["GalaxyClusterRelation"] = rs
	newClusterVersion(cl)
	raw, err := json.Marshal(cl, json.Deterministic(true))
	if err != nil {
		return err
	}
	_, err = c.a.st.UpsertGalaxyCluster(c.ctx, raw)
	return err
}

// failWith answers a refusal as a failed save (MISP's add and edit report an unauthorised
// cluster in their answer, not by status).
func failWith(err error, fail func(string) error) error {
	var apiErr *apiError
	if errors.As(err, &apiErr) {
		return fail(apiErr.msg)
	}
	return err
}
