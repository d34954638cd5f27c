package policy

import (
	"testing"

	"mispdesk/store/misp"
)

func TestClusterDistributions(t *testing.T) {
	inst := instance(orgA, "https://a.example")
	const no = misp.Distribution(-1)
	cases := []struct {
		name     string
		internal bool
		pull     [5]misp.Distribution // by source 0..4; no: refused
		push     [5]misp.Distribution
	}{
		{"usual", false, [5]misp.Distribution{0, 0, 1, 3, no}, [5]misp.Distribution{no, no, 1, 3, no}},
		{"internal", true, [5]misp.Distribution{0, 1, 2, 3, no}, [5]misp.Distribution{no, 1, 2, 3, no}},
	}
	for _, tc := range cases {
		remote := orgB
		if tc.internal {
			remote = orgA
		}
		srv := link(1, "https://b.example", orgA, remote, tc.internal)
		srv.PullGalaxyClusters, srv.PushGalaxyClusters = true, true
		// A galaxy's own distribution follows the cluster table (issue 11: 0 stays, 1
		// becomes 0 on pull, 2 becomes 1, 3 is kept).
		kinds := []struct {
			what       string
			pull, push func(*Server, misp.Distribution) (Decision, misp.Distribution)
		}{{"cluster", inst.PullCluster, inst.PushCluster}, {"galaxy", inst.PullGalaxy, inst.PushGalaxy}}
		for _, k := range kinds {
			for src := misp.Distribution(0); src <= 4; src++ {
				d, got := k.pull(srv, src)
				if want := tc.pull[src]; (want == no) == d.Allowed || (d.Allowed && got != want) {
					t.Errorf("%s %s pull of %d: allowed %v as %d, want %d (%s)", tc.name, k.what, src, d.Allowed, got, want, d.Reason())
				}
				d, got = k.push(srv, src)
				if want := tc.push[src]; (want == no) == d.Allowed || (d.Allowed && got != want) {
					t.Errorf("%s %s push of %d: allowed %v as %d, want %d (%s)", tc.name, k.what, src, d.Allowed, got, want, d.Reason())
				}
			}
		}
	}
	off := link(1, "https://b.example", orgA, orgB, false)
	if d, _ := inst.PullCluster(off, misp.AllCommunities); d.Allowed {
		t.Error("pull allowed with pull_galaxy_clusters off")
	}
	if d, _ := inst.PushCluster(off, misp.AllCommunities); d.Allowed {
		t.Error("push allowed with push_galaxy_clusters off")
	}
}

// A custom galaxy is seen by its organisations, by everyone here at levels 1-3, by the
// members of its group at 4; a library galaxy by all.
func TestCanSeeGalaxy(t *testing.T) {
	inst := instance(orgA, "https://a.example")
	sg := group("G", false, []misp.Org{orgA, orgB})
	for _, tc := range []struct {
		s          misp.ClusterSharing
		owner, sgM bool // seen by orgA (owner), by orgB (group member)
		other      bool // seen by orgC
	}{
		{misp.ClusterSharing{Default: true}, true, true, true},
		{misp.ClusterSharing{Distribution: misp.OrgOnly, OrgUUID: orgA.UUID}, true, false, false},
		{misp.ClusterSharing{Distribution: misp.OrgOnly, OrgcUUID: orgA.UUID}, true, false, false},
		{misp.ClusterSharing{Distribution: misp.CommunityOnly, OrgUUID: orgA.UUID}, true, true, true},
		{misp.ClusterSharing{Distribution: misp.SharingGroupDist, SharingGroup: sg, OrgUUID: orgA.UUID}, true, true, false},
		{misp.ClusterSharing{Distribution: misp.SharingGroupDist, OrgUUID: orgA.UUID}, true, false, false},
	} {
		for i, v := range []misp.Org{orgA, orgB, orgC} {
			want := []bool{tc.owner, tc.sgM, tc.other}[i]
			if got := inst.CanSeeGalaxy(viewerOf(v), tc.s); got != want {
				t.Errorf("galaxy %+v seen by %s: %v, want %v", tc.s, v.Name, got, want)
			}
		}
	}
}
