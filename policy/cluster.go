package policy

import (
	"fmt"

	"mispdesk/store/misp"
)

// CanSeeCluster decides whether the viewer may see a galaxy cluster: library clusters
// always; custom ones by their own distribution, as events (their organisation, levels 1–3
// everyone here, 4 the group's members).
func (inst *Instance) CanSeeCluster(v *Viewer, c *misp.GalaxyCluster) bool {
	return inst.canSeeShared(v, c.Sharing())
}

// CanSeeGalaxy decides whether the viewer may see a galaxy (s: its sharing, the members a
// cluster has too): library galaxies always, custom ones by their own distribution.
func (inst *Instance) CanSeeGalaxy(v *Viewer, s misp.ClusterSharing) bool {
	return inst.canSeeShared(v, s)
}

func (inst *Instance) canSeeShared(v *Viewer, s misp.ClusterSharing) bool {
	if s.Default || v.SiteAdmin || v.isOrg(s.OrgUUID) || v.isOrg(s.OrgcUUID) {
		return true
	}
	if s.Distribution == misp.InheritEvent {
		return false // galaxies and clusters have no element to inherit from
	}
	return inst.reachIncludes(v, Reach{Level: misp.AllCommunities}.Child(s.Distribution, s.SharingGroup))
}

// PullCluster decides whether a custom galaxy cluster fetched from srv may be stored here
// and at which distribution (GalaxyCluster::pullGalaxyClusters: locked and downgraded
// exactly like events, app/Model/GalaxyCluster.php): community becomes organisation only and connected
// communities community, unless the link is internal. Clusters shared with a sharing
// group do not travel: cluster sync here carries no sharing group.
func (inst *Instance) PullCluster(srv *Server, dist misp.Distribution) (Decision, misp.Distribution) {
	return inst.pullGalaxyPart(srv, "galaxy cluster", dist)
}

// PullGalaxy decides whether the custom galaxy of a cluster fetched from srv may be stored
// here and at which distribution: the galaxy's own distribution downgraded as a
// cluster's (0 is never served to a peer; 1 becomes 0, 2 becomes 1, 3 is kept).
func (inst *Instance) PullGalaxy(srv *Server, dist misp.Distribution) (Decision, misp.Distribution) {
	return inst.pullGalaxyPart(srv, "galaxy", dist)
}

func (inst *Instance) pullGalaxyPart(srv *Server, what string, dist misp.Distribution) (Decision, misp.Distribution) {
	d := newDecision("pull")
	if !srv.PullGalaxyClusters {
		d.block("server.pull_galaxy_clusters", fmt.Sprintf("galaxy cluster pull is off for server %q", srv.Name))
		return d, dist
	}
	if !validClusterDistribution(&d, what, dist) {
		return d, dist
	}
	if inst.pullInternal(&d, srv) {
		d.pass("distribution", fmt.Sprintf("%s distribution '%s' is kept from an internal server", what, dist))
		return d, dist
	}
	out := pullDowngrade(dist)
	if out != dist {
		d.change("distribution", fmt.Sprintf("%s distribution '%s' becomes '%s' here", what, dist, out))
	} else {
		d.pass("distribution", fmt.Sprintf("%s distribution '%s' stays '%s'", what, dist, dist))
	}
	return d, out
}

// PushCluster decides whether a custom published cluster may go to srv and at which
// distribution: the book's event push table applied to the cluster's distribution.
func (inst *Instance) PushCluster(srv *Server, dist misp.Distribution) (Decision, misp.Distribution) {
	return inst.pushGalaxyPart(srv, "galaxy cluster", dist)
}

// PushGalaxy decides whether a custom galaxy may go to srv with its clusters and at which
// distribution: the event push table applied to the galaxy's own distribution (0 and 1
// stay here, 2 becomes 1, 3 is kept). A cluster goes only with a galaxy that may go.
func (inst *Instance) PushGalaxy(srv *Server, dist misp.Distribution) (Decision, misp.Distribution) {
	return inst.pushGalaxyPart(srv, "galaxy", dist)
}

func (inst *Instance) pushGalaxyPart(srv *Server, what string, dist misp.Distribution) (Decision, misp.Distribution) {
	d := newDecision("push")
	if !srv.PushGalaxyClusters {
		d.block("server.push_galaxy_clusters", fmt.Sprintf("galaxy cluster push is off for server %q", srv.Name))
		return d, dist
	}
	if !validClusterDistribution(&d, what, dist) {
		return d, dist
	}
	internal := inst.pushInternal(&d, srv)
	if !inst.checkPushDistribution(&d, srv, internal, &misp.Event{Distribution: dist}, Scheduled) {
		return d, dist
	}
	if dist == misp.ConnectedCommunity && !internal {
		d.change("distribution", fmt.Sprintf("%s distribution '%s' goes as '%s'", what, dist, misp.CommunityOnly))
		return d, misp.CommunityOnly
	}
	return d, dist
}

func validClusterDistribution(d *Decision, what string, dist misp.Distribution) bool {
	switch dist {
	case misp.OrgOnly, misp.CommunityOnly, misp.ConnectedCommunity, misp.AllCommunities:
		return true
	case misp.SharingGroupDist:
		d.block("sharing_group", fmt.Sprintf("a %s shared with a sharing group is not synced (its group does not travel with it)", what))
	default:
		d.block("distribution", fmt.Sprintf("distribution %d is not valid for a %s", dist, what))
	}
	return false
}
