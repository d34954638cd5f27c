package mispapi

// Galaxies and their clusters: MISP's library galaxies and custom ones with their own
// distribution (galaxies/add, edit, view, index, delete), custom clusters
// (galaxy_clusters/*), cluster sync (galaxies/pushCluster) and attaching a cluster to an
// event or attribute. What a caller may see is the gate's answer (gate.Check.Galaxy and
// Cluster).

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"

	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/galaxylib"
)

func (a *API) registerGalaxies() {
	a.handle("galaxies/index", methodsGetPost, permAuth, (*call).galaxiesIndex)
	a.handle("galaxies/view", methodsGet, permAuth, (*call).galaxiesView)
	a.handleWrite("galaxies/add", methodsPost, permGalaxy, (*call).galaxiesAdd)
	a.handleWrite("galaxies/edit", methodsPost, permGalaxy, (*call).galaxiesEdit)
	a.handleWrite("galaxies/delete", methodsDelete, permGalaxy, (*call).galaxiesDelete)
	a.handleWrite("galaxies/attachCluster", methodsPost, permTagger, (*call).galaxiesAttachCluster)
	a.handle("galaxies/pushCluster", methodsPost, permGalaxyPush, (*call).pushCluster)
	a.handleWrite("galaxies/update", methodsPost, permSiteAdmin, (*call).galaxiesUpdate)
	a.handleWrite("galaxy_clusters/add", methodsPost, permGalaxy, (*call).galaxyClustersAdd)
	a.handle("galaxy_clusters/view", methodsGet, permAuth, (*call).galaxyClusterView)
	a.handle("galaxy_clusters/restSearch", methodsGetPost, permAuth, (*call).galaxyClustersRestSearch)
	a.handleWrite("galaxy_clusters/publish", methodsPost, permGalaxy, (*call).galaxyClustersPublish)
	a.handle("galaxy_clusters/index", methodsGetPost, permAuth, (*call).galaxyClustersIndex)
	a.handleWrite("galaxy_clusters/delete", methodsDelete, permGalaxy, (*call).galaxyClustersDelete)
	a.handleWrite("galaxy_clusters/edit", methodsPost, permGalaxy, (*call).galaxyClustersEdit)
}

// visibleGalaxy finds a galaxy by id or UUID that the caller may see; 404 "Invalid galaxy"
// otherwise, as for one that does not exist.
func (c *call) visibleGalaxy(ref string) (*store.GalaxyRow, error) {
	g, err := store.ReadByRef(c.ctx, c.a.st.ResolveGalaxy, c.a.st.Galaxy, ref)
	if err != nil {
		return nil, notFoundOr(err, "Invalid galaxy")
	}
	chk, err := c.check()
	if err != nil {
		return nil, err
	}
	ok, err := chk.Galaxy(g)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("Invalid galaxy")
	}
	return g, nil
}

// galaxiesIndex is GET /galaxies/index (or POST with {"value"}: name, namespace,
// description or UUID containing it): [{"Galaxy":{…}},…], the galaxies the caller may see
// in the order they were stored.
func (c *call) galaxiesIndex() error {
	params, err := c.indexParams()
	if err != nil {
		return err
	}
	needle := strings.ToLower(scalar(params["value"]))
	gs, err := c.a.st.Galaxies(c.ctx)
	if err != nil {
		return err
	}
	chk, err := c.check()
	if err != nil {
		return err
	}
	out := []any{}
	for i := range gs {
		g := &gs[i]
		if ok, err := chk.Galaxy(g); err != nil {
			return err
		} else if !ok {
			continue
		}
		if needle != "" && !strings.Contains(strings.ToLower(g.Name+"\x00"+g.Namespace+"\x00"+g.Description+"\x00"+g.UUID), needle) {
			continue
		}
		out = append(out, map[string]any{"Galaxy": store.GalaxyJSON(g)})
	}
	return c.reply(http.StatusOK, out)
}

// galaxiesView is GET /galaxies/view/<id|uuid>: {"Galaxy":{…},"GalaxyCluster":[…]}, the
// clusters the caller may see.
func (c *call) galaxiesView() error {
	g, err := c.visibleGalaxy(c.path.Arg(0))
	if err != nil {
		return err
	}
	clusters, err := c.galaxyClusters(g, nil)
	if err != nil {
		return err
	}
	for _, cl := range clusters {
		delete(cl, "Galaxy")
	}
	return c.reply(http.StatusOK, map[string]any{"Galaxy": store.GalaxyJSON(g), "GalaxyCluster": clusters})
}

// galaxyClusters lists the clusters of g that the caller may see and keep accepts (nil:
// all).
func (c *call) galaxyClusters(g *store.GalaxyRow, keep func(map[string]any) bool) ([]map[string]any, error) {
	ids, err := c.a.st.GalaxyClusterRefs(c.ctx, store.ClusterQuery{GalaxyID: g.ID})
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, id := range ids {
		cl, err := c.a.st.GalaxyClusterJSON(c.ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if ok, err := c.clusterVisible(cl); err != nil {
			return nil, err
		} else if ok && (keep == nil || keep(cl)) {
			out = append(out, cl)
		}
	}
	return out, nil
}

// galaxySpec reads a galaxy's fields from a galaxies/add or edit body over old (nil on
// add), checking that the caller may use the sharing group it names.
func (c *call) galaxySpec(f fields, old *store.GalaxyRow) (store.GalaxySpec, error) {
	var s store.GalaxySpec
	if old != nil {
		s = store.GalaxySpec{Name: old.Name, Namespace: old.Namespace, Description: old.Description, Icon: old.Icon,
			Version: old.Version, Distribution: old.Distribution, SharingGroupID: old.SharingGroupID}
	}
	for k, p := range map[string]*string{"name": &s.Name, "namespace": &s.Namespace, "description": &s.Description, "icon": &s.Icon, "version": &s.Version} {
		if f.has(k) {
			*p = f.str(k)
		}
	}
	if f.has("distribution") {
		d, err := strconv.Atoi(strings.TrimSpace(f.str("distribution")))
		if err != nil || d < 0 || d > 4 {
			return s, fmt.Errorf("distribution: %q is not one of 0-4", f.str("distribution"))
		}
		s.Distribution = misp.Distribution(d)
	}
	if f.has("sharing_group_id") {
		s.SharingGroupID = store.SharingGroupID(atoi64(f.str("sharing_group_id")))
	}
	if s.Distribution != misp.SharingGroupDist {
		s.SharingGroupID = 0
		return s, nil
	}
	if err := c.mayUseSharingGroup(&misp.Event{Distribution: s.Distribution, SharingGroupID: misp.Int(s.SharingGroupID)}); err != nil {
		return s, err
	}
	return s, nil
}

// galaxiesAdd is POST /galaxies/add {"name","namespace","description","icon","distribution",
// "sharing_group_id"} (bare or under "Galaxy"): a custom galaxy owned and created by the
// caller's organisation. It answers {"Galaxy":{…}}.
func (c *call) galaxiesAdd() error {
	const failName = "Could not add Galaxy"
	f, err := c.fields("Galaxy")
	if err != nil {
		return err
	}
	spec, err := c.galaxySpec(f, nil)
	var apiErr *apiError
	if errors.As(err, &apiErr) {
		return err
	}
	if err == nil {
		spec.UUID, spec.Type, spec.OrgID = f.str("uuid"), f.str("type"), c.who.User.OrgID
		var g *store.GalaxyRow
		if g, err = c.a.st.AddGalaxy(c.ctx, spec); err == nil {
			return c.reply(http.StatusOK, map[string]any{"Galaxy": store.GalaxyJSON(g)})
		}
	}
	return saveFail(c, failName, nil, map[string][]string{"Galaxy": {err.Error()}})
}

// mayChangeGalaxy refuses a change to a galaxy the caller's organisation did not create
// (site admins may change any; library galaxies only they may delete).
func (c *call) mayChangeGalaxy(g *store.GalaxyRow) error {
	if c.who.User.Role.PermSiteAdmin {
		return nil
	}
	if g.Default || g.Locked || !strings.EqualFold(g.Orgc.UUID, c.who.User.Org.UUID) {
		return forbidden("You don't have the permission to do that.")
	}
	return nil
}

// galaxiesEdit is POST /galaxies/edit/<id|uuid>: the fields given change, the rest stay.
func (c *call) galaxiesEdit() error {
	const failName = "Could not edit Galaxy"
	g, err := c.visibleGalaxy(c.path.Arg(0))
	if err != nil {
		return err
	}
	if err := c.mayChangeGalaxy(g); err != nil {
		return err
	}
	f, err := c.fields("Galaxy")
	if err != nil {
		return err
	}
	spec, err := c.galaxySpec(f, g)
	var apiErr *apiError
	if errors.As(err, &apiErr) {
		return err
	}
	if err == nil {
		if g, err = c.a.st.EditGalaxy(c.ctx, g.ID, spec); err == nil {
			return c.reply(http.StatusOK, map[string]any{"Galaxy": store.GalaxyJSON(g)})
		}
	}
	if errors.Is(err, store.ErrNotEditable) {
		return forbidden("Default or synchronised galaxies cannot be edited.")
	}
	return saveFail(c, failName, itoa(g.ID), map[string][]string{"Galaxy": {err.Error()}})
}

// galaxiesDelete is POST|DELETE /galaxies/delete/<id|uuid>: the galaxy and its clusters.
func (c *call) galaxiesDelete() error {
	g, err := c.visibleGalaxy(c.path.Arg(0))
	if err != nil {
		return err
	}
	if err := c.mayChangeGalaxy(g); err != nil {
		return err
	}
	if err := c.a.st.DeleteGalaxy(c.ctx, g.ID); err != nil {
		return notFoundOr(err, "Invalid galaxy")
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Galaxy deleted", "Galaxy deleted", itoa(g.ID)))
}

// galaxyClustersIndex is GET|POST /galaxy_clusters/index/<galaxy id|uuid> {"context",
// "searchall"}: [{"GalaxyCluster":{…}},…], the galaxy's clusters the caller may see
// (PyMISP's search_galaxy_clusters). Without a galaxy it is restSearch.
func (c *call) galaxyClustersIndex() error {
	if c.path.Arg(0) == "" {
		return c.galaxyClustersRestSearch()
	}
	g, err := c.visibleGalaxy(c.path.Arg(0))
	if err != nil {
		return err
	}
	params, err := c.indexParams()
	if err != nil {
		return err
	}
	context, needle := strings.ToLower(scalar(params["context"])), strings.ToLower(scalar(params["searchall"]))
	org := c.who.User.Org.UUID
	keep := func(cl map[string]any) bool {
		mc, err := store.ClusterModel(cl)
		if err != nil {
			return false
		}
		s := mc.Sharing()
		switch context {
		case "default":
			if !s.Default {
				return false
			}
		case "custom":
			if s.Default {
				return false
			}
		case "org":
			if !strings.EqualFold(s.OrgUUID, org) {
				return false
			}
		case "orgc":
			if !strings.EqualFold(s.OrgcUUID, org) {
				return false
			}
		case "deleted":
			if !store.ClusterFlag(cl["deleted"]) {
				return false
			}
		}
		if needle == "" {
			return true
		}
		return strings.Contains(strings.ToLower(mc.Value), needle) || strings.Contains(strings.ToLower(mc.Description), needle) ||
			strings.EqualFold(mc.UUID, needle)
	}
	clusters, err := c.galaxyClusters(g, keep)
	if err != nil {
		return err
	}
	out := make([]any, 0, len(clusters))
	for _, cl := range clusters {
		out = append(out, map[string]any{"GalaxyCluster": cl})
	}
	return c.reply(http.StatusOK, out)
}

// galaxyClustersAdd is POST /galaxy_clusters/add/<galaxy id|uuid>: a custom cluster.
func (c *call) galaxyClustersAdd() error {
	const failName = "Could not add GalaxyCluster"
	g, err := c.visibleGalaxy(c.path.Arg(0))
	if err != nil {
		return err
	}
	f, err := c.fields("GalaxyCluster")
	if err != nil {
		return err
	}
	value := strings.TrimSpace(f.str("value"))
	if value == "" {
		return saveFail(c, failName, nil, map[string][]string{"value": {"A cluster needs a value."}})
	}
	m := map[string]any{}
	for k, v := range f {
		m[k] = v
	}
	if err := c.setClusterSharing(m, f, func(msg string) error { return saveFail(c, failName, nil, msg) }); err != nil {
		return err
	}
	if f.has("GalaxyClusterRelation") {
		rs, err := c.relationsFrom(f["GalaxyClusterRelation"], func(msg string) error { return saveFail(c, failName, nil, msg) })
		if err != nil {
			return err
		}
		m["GalaxyClusterRelation"] = rs
	}
	u := strings.ToLower(f.str("uuid"))
	if !misp.IsUUID(u) {
		u = uuid.NewString()
	}
	m["uuid"], m["value"], m["type"] = u, value, g.Type
	m["tag_name"] = fmt.Sprintf(`misp-galaxy:%s="%s"`, g.Type, u)
	m["version"] = itoa(time.Now().Unix())
	m["default"], m["locked"], m["published"] = false, false, false
	m["orgc_id"], m["org_id"] = itoa(c.who.User.OrgID), itoa(c.who.User.OrgID)
	// the organisations by UUID too: only a UUID means the same organisation everywhere
	org := map[string]string{"id": itoa(c.who.User.OrgID), "name": c.who.User.Org.Name, "uuid": c.who.User.Org.UUID}
	m["Org"], m["Orgc"] = org, org
	m["Galaxy"] = store.GalaxyJSON(g)
	delete(m, "id")
	raw, err := json.Marshal(m, json.Deterministic(true))
	if err != nil {
		return err
	}
	if _, err := c.a.st.UpsertGalaxyCluster(c.ctx, raw); err != nil {
		return saveFail(c, failName, nil, map[string][]string{"GalaxyCluster": {err.Error()}})
	}
	cl, err := c.visibleCluster(u)
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, map[string]any{"GalaxyCluster": cl})
}

// galaxyClustersRestSearch is POST /galaxy_clusters/restSearch {"value","uuid","galaxy_id",
// "limit"}: {"response":[{"GalaxyCluster":{…}},…]}.
func (c *call) galaxyClustersRestSearch() error {
	params, err := c.indexParams()
	if err != nil {
		return err
	}
	q := store.ClusterQuery{Value: scalar(params["value"]), Limit: atoiDefault(scalar(params["limit"]), 0)}
	if q.Value == "" {
		q.Value = scalar(params["searchall"])
	}
	if g := scalar(params["galaxy_id"]); g != "" {
		gr, err := store.ReadByRef(c.ctx, c.a.st.ResolveGalaxy, c.a.st.Galaxy, g)
		if err != nil {
			return c.reply(http.StatusOK, map[string]any{"response": []any{}})
		}
		q.GalaxyID = gr.ID
	}
	if gu := scalar(params["galaxy_uuid"]); gu != "" {
		gr, err := store.ReadByRef(c.ctx, c.a.st.ResolveGalaxy, c.a.st.Galaxy, gu)
		if err != nil {
			return c.reply(http.StatusOK, map[string]any{"response": []any{}})
		}
		q.GalaxyID = gr.ID
	}
	q.UUIDs = values(params["uuid"]).or
	published, custom, minimal := scalar(params["published"]), scalar(params["custom"]), truthy(scalar(params["minimal"]))
	q.NotDefault = custom != "" && truthy(custom)
	ids, err := c.a.st.GalaxyClusterRefs(c.ctx, q)
	if err != nil {
		return err
	}
	out := []any{}
	for _, id := range ids {
		cl, err := c.a.st.GalaxyClusterJSON(c.ctx, id)
		if err != nil {
			continue
		}
		if ok, err := c.clusterVisible(cl); err != nil {
			return err
		} else if !ok {
			continue
		}
		if published != "" && truthy(published) != store.ClusterFlag(cl["published"]) {
			continue
		}
		if custom != "" && truthy(custom) == store.ClusterFlag(cl["default"]) {
			continue
		}
		if minimal {
			cl = map[string]any{"id": cl["id"], "uuid": cl["uuid"], "version": cl["version"]}
		}
		out = append(out, map[string]any{"GalaxyCluster": cl})
	}
	return c.reply(http.StatusOK, map[string]any{"response": out})
}

// clusterVisible reports whether the caller may see a stored cluster, and trims cl to
// what the caller may see of it (the gate).
func (c *call) clusterVisible(cl map[string]any) (bool, error) {
	chk, err := c.check()
	if err != nil {
		return false, err
	}
	return chk.Cluster(cl)
}

// mayModifyCluster is MISP's GalaxyCluster::fetchIfAuthorized for edit and delete: a
// site admin, or the organisation that created the cluster (MISP's 405 otherwise).
func (c *call) mayModifyCluster(cl map[string]any) error {
	if c.who.User.Role.PermSiteAdmin {
		return nil
	}
	mc, err := store.ClusterModel(cl)
	if err != nil {
		return err
	}
	if s := mc.Sharing(); s.Default || !strings.EqualFold(s.OrgcUUID, c.who.User.Org.UUID) {
		return httpError(http.StatusMethodNotAllowed, "Only the creator organisation can modify the galaxy cluster")
	}
	return nil
}

// galaxyClustersEdit is POST /galaxy_clusters/edit/<id|uuid> (GalaxyClustersController::
// edit, GalaxyCluster::editCluster), PyMISP's update_galaxy_cluster: the creator
// organisation or a site admin sets value, description, source, authors (a list, JSON or
// comma separated; none clears them), elements (GalaxyElement, or elements as JSON; none
// clears them, as MISP's does), distribution and sharing group. A default cluster is not
// editable. The cluster gets a new version and is unpublished until published again,
// which is what carries the edit to peers. The answer is the cluster, {"GalaxyCluster":{…}}.
func (c *call) galaxyClustersEdit() error {
	cl, err := c.storedCluster(c.path.Arg(0))
	if err != nil {
		return err
	}
	if err := c.mayModifyCluster(cl); err != nil {
		return err
	}
	if store.ClusterFlag(cl["default"]) {
		return httpError(http.StatusMethodNotAllowed, "Default galaxy cluster cannot be edited")
	}
	id, _ := cl["id"].(string)
	f, err := c.fields("GalaxyCluster")
	if err != nil {
		return err
	}
	fail := func(msg string) error { return saveFail(c, "Could not edit GalaxyCluster", id, msg) }
	for _, k := range []string{"value", "description", "source"} {
		if f.has(k) {
			cl[k] = f.str(k)
		}
	}
	if strings.TrimSpace(fmt.Sprint(cl["value"])) == "" {
		return fail("A cluster needs a value.")
	}
	authors, err := clusterAuthors(f["authors"])
	if err != nil {
		return fail(err.Error())
	}
	cl["authors"] = authors
	elements, err := clusterElements(f)
	if err != nil {
		return fail(err.Error())
	}
	cl["GalaxyElement"] = elements
	if err := c.setClusterSharing(cl, f, fail); err != nil {
		return err
	}
	newClusterVersion(cl)
	cl["default"] = false
	raw, err := json.Marshal(cl, json.Deterministic(true))
	if err != nil {
		return err
	}
	if _, err := c.a.st.UpsertGalaxyCluster(c.ctx, raw); err != nil {
		return fail(err.Error())
	}
	saved, err := c.visibleCluster(id)
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, map[string]any{"GalaxyCluster": saved})
}

// newClusterVersion gives a stored cluster about to be changed its next version (now, or
// one past the stored one) and leaves it unpublished until it is published again.
func newClusterVersion(cl map[string]any) {
	old, _ := strconv.ParseInt(fmt.Sprint(cl["version"]), 10, 64)
	cl["version"] = itoa(max(time.Now().Unix(), old+1))
	cl["published"] = false
}

// setClusterSharing sets a cluster's distribution and sharing group (cl, as stored) from
// what galaxy_clusters/add or edit sends (f): a distribution from 0 to 4, and for 4 a group
// the caller may use (MISP's "Invalid Sharing Group or not authorised.", for every user as
// GalaxyCluster::saveCluster checks it), recorded as the SharingGroup member the gate reads
// a cluster's group by.
func (c *call) setClusterSharing(cl map[string]any, f fields, fail func(string) error) error {
	dist := misp.Distribution(store.ClusterInt(cl["distribution"]))
	if f.has("distribution") {
		d, err := strconv.Atoi(strings.TrimSpace(f.str("distribution")))
		if err != nil || d < 0 || d > 4 {
			return fail("Invalid distribution.")
		}
		dist = misp.Distribution(d)
	}
	sgID := int64(store.ClusterInt(cl["sharing_group_id"]))
	if f.has("sharing_group_id") {
		sgID = atoi64(f.str("sharing_group_id"))
	}
	if dist != misp.SharingGroupDist {
		sgID = 0
	}
	if err := c.mayUseSharingGroup(&misp.Event{Distribution: dist, SharingGroupID: misp.Int(sgID)}); err != nil {
		return err
	}
	cl["distribution"], cl["sharing_group_id"] = itoa(int64(dist)), itoa(sgID)
	delete(cl, "SharingGroup")
	if dist != misp.SharingGroupDist {
		return nil
	}
	chk, err := c.check()
	if err != nil {
		return err
	}
	sg, err := chk.SharingGroup(store.SharingGroupID(sgID))
	if err != nil {
		return err
	}
	cl["SharingGroup"] = sg
	return nil
}

// clusterAuthors reads a cluster's authors as MISP's edit takes them: a list, a JSON list
// in a string, or names separated by commas; absent or empty is none.
func clusterAuthors(v jsontext.Value) ([]string, error) {
	out := []string{}
	if len(v) == 0 || v.Kind() == 'n' {
		return out, nil
	}
	if v.Kind() == '[' {
		if err := json.Unmarshal(v, &out); err != nil {
			return nil, fmt.Errorf("authors: %w", err)
		}
		return out, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, fmt.Errorf("authors: a list or a text, not %s", v.Kind())
	}
	if strings.TrimSpace(s) == "" || json.Unmarshal([]byte(s), &out) == nil {
		return out, nil
	}
	for _, a := range strings.Split(s, ",") {
		out = append(out, strings.TrimSpace(a))
	}
	return out, nil
}

// clusterElement is one of a cluster's elements (MISP's GalaxyElement).
type clusterElement struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// clusterElements reads a cluster's elements from GalaxyElement, or from elements as a
// JSON text (MISP's form field); absent is none.
func clusterElements(f fields) ([]clusterElement, error) {
	out := []clusterElement{}
	v := f["GalaxyElement"]
	if s := f.str("elements"); s != "" {
		v = jsontext.Value(s)
	}
	if len(v) == 0 || v.Kind() == 'n' {
		return out, nil
	}
	if err := json.Unmarshal(v, &out); err != nil {
		return nil, errors.New("elements: not a JSON list of {key, value}")
	}
	for _, e := range out {
		if strings.TrimSpace(e.Key) == "" {
			return nil, errors.New("elements: an element needs a key")
		}
	}
	return out, nil
}

// galaxyClustersPublish is POST /galaxy_clusters/publish/<id|uuid>: the cluster becomes
// published (and so syncs), with a new version.
func (c *call) galaxyClustersPublish() error {
	cl, err := c.storedCluster(c.path.Arg(0))
	if err != nil {
		return err
	}
	if store.ClusterFlag(cl["default"]) {
		return forbidden("Default galaxy clusters cannot be published.")
	}
	newClusterVersion(cl)
	cl["published"] = true
	raw, err := json.Marshal(cl, json.Deterministic(true))
	if err != nil {
		return err
	}
	if _, err := c.a.st.PublishGalaxyCluster(c.ctx, raw); err != nil {
		return err
	}
	c.a.wake()
	id, _ := cl["id"].(string)
	return c.reply(http.StatusOK, saveSuccess(c, "Galaxy cluster published.", "Galaxy cluster published.", id))
}

func (c *call) galaxyClustersDelete() error {
	cl, err := c.visibleCluster(c.path.Arg(0))
	if err != nil {
		return err
	}
	if d, _ := cl["default"].(jsontext.Value); string(d) == "true" && !c.who.User.Role.PermSiteAdmin {
		return forbidden("Default galaxy clusters cannot be deleted.")
	}
	if err := c.mayModifyCluster(cl); err != nil {
		return err
	}
	id, _ := cl["id"].(string)
	if err := c.a.st.DeleteGalaxyCluster(c.ctx, store.ClusterID(atoi64(id))); err != nil {
		return notFoundOr(err, "Invalid galaxy cluster")
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Galaxy cluster deleted.", "Galaxy cluster deleted.", id))
}

// galaxiesAttachCluster is POST /galaxies/attachCluster/<target id|uuid>/<event|attribute>
// [/local:1] {"Galaxy":{"target_id":<cluster id|uuid>}} (PyMISP's attach_galaxy_cluster).
func (c *call) galaxiesAttachCluster() error {
	f, err := c.fields("Galaxy")
	if err != nil {
		return err
	}
	// a cluster the caller may not see is one that does not exist (MISP's
	// Galaxy::attachCluster fetches it with the caller's rights)
	cl, err := c.visibleCluster(f.str("target_id"))
	var apiErr *apiError
	if errors.As(err, &apiErr) && apiErr.status == http.StatusNotFound {
		return notFound("Invalid Galaxy cluster.")
	}
	if err != nil {
		return err
	}
	tagName, _ := cl["tag_name"].(string)
	target := c.path.Arg(0)
	if strings.EqualFold(c.path.Arg(1), "event") && !misp.IsUUID(strings.ToLower(target)) {
		if row, err := c.visibleRow(target); err == nil {
			target = row.UUID
		}
	}
	body, _ := json.Marshal(map[string]any{"uuid": target, "tag": tagName, "local": c.path.Flag("local")})
	c.r.Body = io.NopCloser(bytes.NewReader(body))
	c.r.Header.Del("Content-Encoding")
	if err := c.tagLink(true); err != nil {
		return err
	}
	return nil
}

// pushCluster is POST /galaxies/pushCluster: a list of {"GalaxyCluster":{…}} stored when
// newer by version.
func (c *call) pushCluster() error {
	b, err := c.body()
	if err != nil {
		return err
	}
	var raw []jsontext.Value
	if err := json.Unmarshal(b, &raw); err != nil {
		if !jsontext.Value(b).IsValid() {
			return httpError(http.StatusBadRequest, msgInvalidJSON)
		}
		raw = []jsontext.Value{jsontext.Value(b)}
	}
	saved, failed := 0, 0
	for _, r := range raw {
		var wrapped struct {
			GalaxyCluster jsontext.Value `json:"GalaxyCluster"`
		}
		cluster := r
		if json.Unmarshal(r, &wrapped) == nil && len(wrapped.GalaxyCluster) > 0 {
			cluster = wrapped.GalaxyCluster
		}
		// Owned here by the pushing user's organisation, its creator by Orgc's UUID.
		ok, err := c.a.st.CaptureGalaxyCluster(c.ctx, cluster, c.who.User.OrgID, 0)
		switch {
		case err != nil:
			c.a.log.Info("galaxy cluster refused", "err", err)
			failed++
		case ok:
			saved++
		}
	}
	if saved > 0 {
		c.a.wake() // a published cluster received is passed along
	}
	if saved == 0 && failed > 0 {
		return saveFail(c, "Could not save Galaxy Cluster", nil, itoa(int64(failed))+" galaxy clusters could not be saved.")
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Galaxy clusters pushed", itoa(int64(saved))+" clusters saved, "+itoa(int64(failed))+" failed.", nil))
}

// galaxyClusterView is GET /galaxy_clusters/view/<id|uuid>. As MISP's, it gives the
// cluster's tag (tag_id) and how many events carrying it the caller may see (tag_count),
// when a tag of the cluster's name is stored here.
func (c *call) galaxyClusterView() error {
	cl, err := c.visibleCluster(c.path.Arg(0))
	if err != nil {
		return err
	}
	name, _ := cl["tag_name"].(string)
	tag, err := c.a.st.TagByName(c.ctx, name)
	switch {
	case err == nil:
		one := []store.TagRow{*tag}
		if err := c.countVisible(one, tag.ID); err != nil {
			return err
		}
		cl["tag_count"], cl["tag_id"] = one[0].EventCount, itoa(int64(tag.ID))
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	return c.reply(http.StatusOK, map[string]any{"GalaxyCluster": cl})
}

// clusterByRef is the stored cluster (GalaxyClusterJSON) a request names by id or UUID.
func (c *call) clusterByRef(ref string) (map[string]any, error) {
	return store.ReadByRef(c.ctx, c.a.st.ResolveCluster, c.a.st.GalaxyClusterJSON, ref)
}

// storedCluster is the cluster a write changes: one the caller may see (visibleCluster),
// as stored, with what the caller may not see of it, which the write must keep.
func (c *call) storedCluster(ref string) (map[string]any, error) {
	cl, err := c.visibleCluster(ref)
	if err != nil {
		return nil, err
	}
	id, _ := cl["id"].(string)
	cl, err = c.clusterByRef(id)
	if err != nil {
		return nil, notFoundOr(err, "Invalid galaxy cluster")
	}
	return cl, nil
}

// visibleCluster finds a cluster by id or UUID that the caller may see (its own sharing
// and its galaxy's), trimmed to what the caller may see of it (its relations); 404
// "Invalid galaxy cluster" otherwise.
func (c *call) visibleCluster(ref string) (map[string]any, error) {
	cl, err := c.clusterByRef(ref)
	if err == nil {
		var ok bool
		if ok, err = c.clusterVisible(cl); err == nil && !ok {
			err = store.ErrNotFound
		}
	}
	if err != nil {
		return nil, notFoundOr(err, "Invalid galaxy cluster")
	}
	return cl, nil
}

func (c *call) isClusterTag(name string) bool {
	if !strings.HasPrefix(name, "misp-galaxy:") {
		return false
	}
	_, err := c.clusterByTag(name)
	return err == nil
}

// clusterByTag finds the stored cluster a galaxy tag names.
func (c *call) clusterByTag(tagName string) (map[string]any, error) {
	ids, err := c.a.st.GalaxyClusterRefs(c.ctx, store.ClusterQuery{Value: tagName})
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		cl, err := c.a.st.GalaxyClusterJSON(c.ctx, id)
		if err == nil && cl["tag_name"] == tagName {
			return cl, nil
		}
	}
	return nil, store.ErrNotFound
}

// addCluster puts a stored cluster (GalaxyClusterJSON) under its galaxy in gs.
func addCluster(gs []misp.Galaxy, cl map[string]any) []misp.Galaxy {
	b, err := json.Marshal(cl)
	if err != nil {
		return gs
	}
	var members map[string]jsontext.Value
	var mc misp.GalaxyCluster
	var g misp.Galaxy
	if json.Unmarshal(b, &members) != nil || json.Unmarshal(b, &mc) != nil || json.Unmarshal(members["Galaxy"], &g) != nil {
		return gs
	}
	delete(mc.Extra, "Galaxy")
	mc.ID, mc.GalaxyID = 0, 0
	for i := range gs {
		if gs[i].UUID == g.UUID {
			for _, have := range gs[i].GalaxyCluster {
				if have.TagName == mc.TagName {
					return gs
				}
			}
			gs[i].GalaxyCluster = append(gs[i].GalaxyCluster, mc)
			return gs
		}
	}
	g.ID = 0
	g.GalaxyCluster = []misp.GalaxyCluster{mc}
	return append(gs, g)
}

func dropCluster(gs []misp.Galaxy, tagName string) []misp.Galaxy {
	out := gs[:0]
	for _, g := range gs {
		cl := g.GalaxyCluster[:0]
		for _, c := range g.GalaxyCluster {
			if c.TagName != tagName {
				cl = append(cl, c)
			}
		}
		g.GalaxyCluster = cl
		if len(cl) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// galaxiesUpdate is POST /galaxies/update: load the galaxy library from the misp-galaxy
// checkout that MISP.galaxy_library_dir names (MISP loads the copy it ships with), then
// answer MISP's "Galaxies updated." save response. Files that could not be stored are
// counted in the message, with the first one's error; the rest of the library still
// comes in.
func (c *call) galaxiesUpdate() error {
	const failed = "Galaxies could not be updated."
	dir, err := c.a.st.GalaxyLibraryDir(c.ctx)
	if err != nil {
		return err
	}
	if dir == "" {
		return saveFail(c, failed, nil, "The setting "+store.SettingGalaxyLibraryDir+" is empty: set it to the directory of a misp-galaxy checkout.")
	}
	sum, err := galaxylib.Import(c.ctx, c.a.st, dir, nil)
	if err != nil {
		if c.ctx.Err() != nil {
			return err
		}
		return saveFail(c, failed, nil, fmt.Sprintf("The setting %s: %v", store.SettingGalaxyLibraryDir, err))
	}
	c.a.log.Info("galaxy library updated", "dir", dir, "summary", sum.String(), "by", c.who.User.Email)
	msg := "Galaxies updated."
	if sum.Failed > 0 {
		msg += fmt.Sprintf(" %d of %d files could not be stored; the first: %v", sum.Failed, sum.Files, sum.Errors[0])
	}
	return c.reply(http.StatusOK, saveSuccess(c, msg, msg, nil))
}
