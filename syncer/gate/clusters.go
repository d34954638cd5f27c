package gate

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// FeedEvent trims a stored event (the caller's copy) to what a feed of the given narrowest
// distribution may carry (policy.FeedPayload), its clusters' relations first given this
// instance's sharing groups and tag flags as for any viewer; nil when the event is
// narrower than the feed.
func (g *Gate) FeedEvent(ctx context.Context, ev *misp.Event, min misp.Distribution) (*misp.Event, policy.Decision, error) {
	if err := g.For(ctx, nil, nil).localClusterGroups(ev); err != nil {
		return nil, policy.Decision{}, err
	}
	out, d := policy.FeedPayload(ev, min)
	return out, d, nil
}

// localClusterGroups gives each cluster and cluster relation shared with a sharing group
// the local group of that UUID, so that its members see it, and each relation's tags this
// instance's flags (clusterSharing).
func (c *Check) localClusterGroups(ev *misp.Event) error {
	fix := func(gs []misp.Galaxy) error {
		for i := range gs {
			for j := range gs[i].GalaxyCluster {
				if err := c.clusterSharing(&gs[i].GalaxyCluster[j]); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := fix(ev.Galaxy); err != nil {
		return err
	}
	for i := range ev.Attribute {
		if err := fix(ev.Attribute[i].Galaxy); err != nil {
			return err
		}
	}
	for i := range ev.Object {
		for j := range ev.Object[i].Attribute {
			if err := fix(ev.Object[i].Attribute[j].Galaxy); err != nil {
				return err
			}
		}
	}
	return nil
}

// clusterSharing replaces the SharingGroup member of a cluster, and of each of its
// relations, shared with a sharing group by the local group of that UUID (or removes it
// when there is none here), and narrows its relations' tags by this instance's (localTags).
// A cluster or relation names its group by the sender's id otherwise, which means nothing
// here: one left without a group is seen only by the cluster's organisation.
func (c *Check) clusterSharing(cl *misp.GalaxyCluster) error {
	for i := range cl.GalaxyClusterRelation {
		r := &cl.GalaxyClusterRelation[i]
		if err := c.localTags(r.Tag); err != nil {
			return err
		}
		if r.Distribution != misp.SharingGroupDist || r.SharingGroup == nil {
			continue
		}
		sg, err := c.localGroup(r.SharingGroup.UUID)
		if err != nil {
			return err
		}
		r.SharingGroup = sg
	}
	s := cl.Sharing()
	if s.Distribution != misp.SharingGroupDist || s.SharingGroup == nil {
		return nil
	}
	sg, err := c.localGroup(s.SharingGroup.UUID)
	if err != nil {
		return err
	}
	return misp.SetClusterSharingGroup(cl, sg)
}

// localTags narrows the tags of a cluster relation, which carry their flags in the
// cluster's stored JSON, by this instance's tags of the same names: a tag that is not
// exportable here is not exportable on the relation, and a tag that may only be local
// here is local on it, whatever the relation's copy says (MISP's relation tags are its
// tag rows).
func (c *Check) localTags(tags []misp.Tag) error {
	for i := range tags {
		t := &tags[i]
		row, seen := c.tags[t.Name]
		if !seen {
			var err error
			row, err = c.g.st.TagByName(c.ctx, t.Name)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			c.tags[t.Name] = row
		}
		if row == nil {
			continue
		}
		if !row.Exportable {
			t.Exportable = misp.OptBool{Set: true, Value: false}
		}
		if row.LocalOnly {
			t.Local = true
		}
	}
	return nil
}

// localGroup is this instance's sharing group of a UUID a peer names (never its id
// there); nil when there is none.
func (c *Check) localGroup(uuid string) (*misp.SharingGroup, error) {
	if !misp.IsUUID(uuid) {
		return nil, nil
	}
	id, err := c.g.st.ResolveSharingGroup(c.ctx, uuid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return c.SharingGroup(id)
}

// Cluster reports whether the viewer may see a stored cluster (GalaxyClusterJSON's shape):
// by its own sharing and, when it names its stored galaxy (galaxy_id), that galaxy's. When
// it may, cl is trimmed in place to what the viewer may see of it: its relations each by
// their own sharing (policy.Instance.TrimClusterRelations). cl is the caller's copy to
// answer with; a write goes from the stored cluster, never from it.
func (c *Check) Cluster(cl map[string]any) (bool, error) {
	mc, err := store.ClusterModel(cl)
	if err != nil {
		return false, err
	}
	ok, err := c.cluster(mc)
	if err != nil || !ok {
		return false, err
	}
	c.inst.TrimClusterRelations(c.Viewer, mc)
	localRelationIDs(cl, mc)
	setRelations(cl, mc)
	return true, nil
}

// localRelationIDs gives each relation of a stored cluster shown to a viewer this
// instance's ids (store.ClusterRelationID, and its cluster's), in place of the ids a
// sender gave it. The local id of the cluster it refers to is not shown: the viewer may
// not be allowed to know that one is stored here.
func localRelationIDs(cl map[string]any, mc *misp.GalaxyCluster) {
	clusterID, _ := json.Marshal(fmt.Sprint(cl["id"]))
	clusterUUID, _ := json.Marshal(mc.UUID)
	for i := range mc.GalaxyClusterRelation {
		r := &mc.GalaxyClusterRelation[i]
		if r.Extra == nil {
			r.Extra = misp.Extra{}
		}
		r.Extra["id"] = jsontext.Value(strconv.Quote(strconv.FormatInt(store.ClusterRelationID(mc.UUID, r), 10)))
		r.Extra["galaxy_cluster_id"] = clusterID
		r.Extra["galaxy_cluster_uuid"] = clusterUUID
		delete(r.Extra, "referenced_galaxy_cluster_id")
	}
}

func (c *Check) cluster(cl *misp.GalaxyCluster) (bool, error) {
	if err := c.clusterSharing(cl); err != nil {
		return false, err
	}
	if !c.inst.CanSeeCluster(c.Viewer, cl) {
		return false, nil
	}
	if cl.GalaxyID == 0 {
		return true, nil
	}
	g, err := c.g.st.Galaxy(c.ctx, store.GalaxyID(cl.GalaxyID))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return c.Galaxy(g)
}

// PushCluster trims a stored cluster (GalaxyClusterJSON's shape, the caller's copy) that
// policy lets go to srv to what goes with it: its relations as
// policy.Instance.PushClusterRelations says, each judged with this instance's sharing group
// of its group's UUID.
func (c *Check) PushCluster(srv *policy.Server, cl map[string]any) (policy.Decision, error) {
	mc, err := store.ClusterModel(cl)
	if err != nil {
		return policy.Decision{}, err
	}
	if err := c.clusterSharing(mc); err != nil {
		return policy.Decision{}, err
	}
	d := c.inst.PushClusterRelations(srv, mc)
	setRelations(cl, mc)
	return d, nil
}

// setRelations writes a cluster's relations as policy left them back into the stored
// shape; the relations of other clusters to it are never answered from a stored copy.
func setRelations(cl map[string]any, mc *misp.GalaxyCluster) {
	delete(cl, "TargetingClusterRelation")
	if mc.GalaxyClusterRelation == nil {
		delete(cl, "GalaxyClusterRelation")
		return
	}
	cl["GalaxyClusterRelation"] = mc.GalaxyClusterRelation
}

// Galaxy reports whether the viewer may see a stored galaxy: a library galaxy always, a
// custom one by its own distribution (its sharing group read here).
func (c *Check) Galaxy(g *store.GalaxyRow) (bool, error) {
	s := g.Sharing()
	if s.Distribution == misp.SharingGroupDist {
		sg, err := c.SharingGroup(g.SharingGroupID)
		if err != nil {
			return false, err
		}
		s.SharingGroup = sg
	}
	return c.inst.CanSeeGalaxy(c.Viewer, s), nil
}
