package policy

import (
	"fmt"
	"maps"
	"strings"

	"mispdesk/store/misp"
)

// A galaxy cluster's relations to other clusters (MISP's GalaxyClusterRelation) are each
// shared by their own distribution and sharing group, never by the cluster's: a community
// cluster may carry a relation its organisation keeps to itself. The functions here trim a
// cluster's relations for a viewer, for a push to a server and for a pull from one, as
// app/Model/GalaxyClusterRelation.php (buildConditions) and app/Model/GalaxyCluster.php
// (__prepareRelationsForSync, updatePulledClusterBeforeInsert) do.
//
// TargetingClusterRelation, the relations of other clusters to this one, is this
// instance's own view (MISP computes it from the other clusters): a copy a cluster carries
// from elsewhere is never passed on.

// TrimClusterRelations keeps, of a cluster the viewer may see, the relations the viewer
// may see: every one for a site admin or the organisation that owns the cluster here;
// otherwise those of distribution 1–3 and those shared with a sharing group the viewer is
// in (or that gives this instance "all orgs"). A relation keeps its SharingGroup only when
// shared with one, and only for a viewer who may see that group; the records MISP nests
// in one (TargetCluster…) are removed; a sync account gets no local tag nor one that may not leave this instance. c is the
// caller's own copy.
func (inst *Instance) TrimClusterRelations(v *Viewer, c *misp.GalaxyCluster) {
	inst.trimRelations(v, c, &tally{})
}

func (inst *Instance) trimRelations(v *Viewer, c *misp.GalaxyCluster, t *tally) {
	delete(c.Extra, "TargetingClusterRelation")
	owner := v.SiteAdmin || v.isOrg(c.Sharing().OrgUUID)
	c.GalaxyClusterRelation = sieveRelations(c.GalaxyClusterRelation, t, func(r *misp.ClusterRelation) verdict {
		if !owner && !inst.canSeeRelation(v, r) {
			return drop("relation.distribution", "its distribution does not include the viewer")
		}
		if r.SharingGroup != nil && !inst.CanSeeSharingGroup(v, r.SharingGroup) {
			r.SharingGroup = nil // the owner sees the relation, but not a group it is not in
		}
		r.Tag = v.SharedTags(r.Tag)
		return keep()
	})
}

// canSeeRelation is the rule for a viewer who does not own the cluster.
func (inst *Instance) canSeeRelation(v *Viewer, r *misp.ClusterRelation) bool {
	switch r.Distribution {
	case misp.CommunityOnly, misp.ConnectedCommunity, misp.AllCommunities:
		return true
	case misp.SharingGroupDist:
		return r.SharingGroup != nil && inst.viewerInGroup(r.SharingGroup, v)
	}
	return false
}

// PushClusterRelations turns the relations of a cluster about to be pushed to srv into
// what goes: on a link that is not internal, distributions 0 and 1 stay here and 2 goes as
// 1; a relation shared with a sharing group goes only when the group admits the server
// (and then with this instance's entry addressed); distribution 5 has nothing to inherit
// from and stays here. A relation goes without this instance's ids and without the tags
// that may not leave (non-exportable ones, local ones unless the link is internal). c is
// the caller's own copy.
func (inst *Instance) PushClusterRelations(srv *Server, c *misp.GalaxyCluster) Decision {
	d := newDecision("push")
	internal := inst.pushInternal(&d, srv)
	var t tally
	delete(c.Extra, "TargetingClusterRelation")
	c.GalaxyClusterRelation = sieveRelations(c.GalaxyClusterRelation, &t, func(r *misp.ClusterRelation) verdict {
		if r.Distribution == misp.InheritEvent {
			return drop("relation.distribution", fmt.Sprintf("distribution '%s' is not one a relation may have", r.Distribution))
		}
		// A relation's table does not depend on what started the push (OnPublish: its
		// distribution 0 reaches an internal link, as MISP sends it).
		v := inst.pushElementDistribution(srv, internal, OnPublish, &r.Distribution, r.SharingGroup)
		if v.drop {
			return v
		}
		r.Tag = sendableTags(r.Tag, internal, &t)
		dropRelationIDs(r)
		if r.Distribution == misp.SharingGroupDist {
			r.SharingGroup = inst.SendableGroup(r.SharingGroup)
		}
		return v
	})
	t.steps(&d)
	return d
}

// dropRelationIDs removes this instance's ids from a relation that leaves it.
func dropRelationIDs(r *misp.ClusterRelation) {
	for _, k := range []string{"id", "galaxy_cluster_id", "referenced_galaxy_cluster_id"} {
		delete(r.Extra, k)
	}
}

// PullClusterRelations is the pull table applied to the relations of a cluster fetched
// from srv, as to the cluster itself: unless the link is internal, community becomes
// organisation only and connected communities community. A relation shared with a sharing
// group keeps it, named by UUID: it is judged against this instance's group of that UUID,
// and only its owner sees it when there is none. c is the caller's own copy.
func (inst *Instance) PullClusterRelations(srv *Server, c *misp.GalaxyCluster) Decision {
	d := newDecision("pull")
	var t tally
	pullRelations(c, !inst.pullInternal(&d, srv), &t)
	t.steps(&d)
	return d
}

// pullRelations downgrades (when downgrade) the relations of a pulled cluster, removing
// those of distribution 5, which a relation cannot have, and those that name no
// referenced cluster (MISP's captureRelations refuses them).
func pullRelations(c *misp.GalaxyCluster, downgrade bool, t *tally) {
	delete(c.Extra, "TargetingClusterRelation")
	c.GalaxyClusterRelation = sieveRelations(c.GalaxyClusterRelation, t, func(r *misp.ClusterRelation) verdict {
		if strings.TrimSpace(r.ReferencedUUID) == "" {
			return drop("relation.referenced_galaxy_cluster_uuid", "it names no referenced cluster")
		}
		if r.Distribution == misp.InheritEvent {
			return drop("relation.distribution", fmt.Sprintf("distribution '%s' is not one a relation may have", r.Distribution))
		}
		if !downgrade {
			return keep()
		}
		if to := pullDowngrade(r.Distribution); to != r.Distribution {
			from := r.Distribution
			r.Distribution = to
			return keepChanged("relation.distribution", fmt.Sprintf("'%s' becomes '%s' here", from, to))
		}
		return keep()
	})
}

// sieveRelations applies judge to every relation (it may change one) and keeps those it
// does not drop. Every relation kept loses the records MISP nests in one (TargetCluster,
// SourceCluster, GalaxyCluster: other clusters, shared by their own rules) and its
// SharingGroup unless it is shared with one.
func sieveRelations(rs misp.ClusterRelations, t *tally, judge func(r *misp.ClusterRelation) verdict) misp.ClusterRelations {
	if rs == nil {
		return nil
	}
	kept := rs[:0]
	for _, r := range rs {
		if t.record("galaxy cluster relation", judge(&r)) {
			continue
		}
		r.Extra = withoutNestedRecords(r.Extra)
		if r.Distribution != misp.SharingGroupDist {
			r.SharingGroup = nil
		}
		kept = append(kept, r)
	}
	clear(rs[len(kept):])
	return kept
}

// cloneRelations copies a cluster's relations deeply enough for the sieve to change them.
func cloneRelations(rs misp.ClusterRelations) misp.ClusterRelations {
	if rs == nil {
		return nil
	}
	c := make(misp.ClusterRelations, len(rs))
	for i, r := range rs {
		r.Extra = maps.Clone(r.Extra)
		r.SharingGroup = cloneSharingGroup(r.SharingGroup)
		r.Tag = cloneTags(r.Tag)
		c[i] = r
	}
	return c
}
