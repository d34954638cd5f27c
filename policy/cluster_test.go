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
		for src := misp.Distribution(0); src <= 4; src++ {
			d, got := inst.PullCluster(srv, src)
			if want := tc.pull[src]; (want == no) == d.Allowed || (d.Allowed && got != want) {
				t.Errorf("%s pull of %d: allowed %v as %d, want %d (%s)", tc.name, src, d.Allowed, got, want, d.Reason())
			}
			d, got = inst.PushCluster(srv, src)
			if want := tc.push[src]; (want == no) == d.Allowed || (d.Allowed && got != want) {
				t.Errorf("%s push of %d: allowed %v as %d, want %d (%s)", tc.name, src, d.Allowed, got, want, d.Reason())
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
