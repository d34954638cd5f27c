package policy

import (
	"fmt"

	"mispdesk/store/misp"
)

// PullCluster decides whether a custom galaxy cluster fetched from srv may be stored here
// and at which distribution (GalaxyCluster::pullGalaxyClusters: locked and downgraded
// exactly like events, app/Model/GalaxyCluster.php): community becomes organisation only and connected
// communities community, unless the link is internal. Clusters shared with a sharing
// group do not travel: cluster sync here carries no sharing group.
func (inst *Instance) PullCluster(srv *Server, dist misp.Distribution) (Decision, misp.Distribution) {
	d := newDecision("pull")
	if !srv.PullGalaxyClusters {
		d.block("server.pull_galaxy_clusters", fmt.Sprintf("galaxy cluster pull is off for server %q", srv.Name))
		return d, dist
	}
	if !validClusterDistribution(&d, dist) {
		return d, dist
	}
	if inst.pullInternal(&d, srv) {
		d.pass("distribution", fmt.Sprintf("distribution '%s' is kept from an internal server", dist))
		return d, dist
	}
	out := pullDowngrade(dist)
	if out != dist {
		d.change("distribution", fmt.Sprintf("distribution '%s' becomes '%s' here", dist, out))
	} else {
		d.pass("distribution", fmt.Sprintf("distribution '%s' stays '%s'", dist, dist))
	}
	return d, out
}

// PushCluster decides whether a custom published cluster may go to srv and at which
// distribution: the book's event push table applied to the cluster's distribution.
func (inst *Instance) PushCluster(srv *Server, dist misp.Distribution) (Decision, misp.Distribution) {
	d := newDecision("push")
	if !srv.PushGalaxyClusters {
		d.block("server.push_galaxy_clusters", fmt.Sprintf("galaxy cluster push is off for server %q", srv.Name))
		return d, dist
	}
	if !validClusterDistribution(&d, dist) {
		return d, dist
	}
	internal := inst.pushInternal(&d, srv)
	if !inst.checkPushDistribution(&d, srv, internal, &misp.Event{Distribution: dist}, Scheduled) {
		return d, dist
	}
	if dist == misp.ConnectedCommunity && !internal {
		return d, misp.CommunityOnly
	}
	return d, dist
}

func validClusterDistribution(d *Decision, dist misp.Distribution) bool {
	switch dist {
	case misp.OrgOnly, misp.CommunityOnly, misp.ConnectedCommunity, misp.AllCommunities:
		return true
	case misp.SharingGroupDist:
		d.block("sharing_group", "a cluster shared with a sharing group is not synced (its group does not travel with it)")
	default:
		d.block("distribution", fmt.Sprintf("distribution %d is not valid for a galaxy cluster", dist))
	}
	return false
}
