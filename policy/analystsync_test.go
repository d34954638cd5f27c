package policy

import (
	"strings"
	"testing"

	"mispdesk/store/misp"
)

// Standalone analyst data by each distribution, to a usual and an internal link: push as
// MISP's collectDataForPush and updateAnalystDataForSync (0 and 5 never, 1 only internal,
// 2→1 unless internal), pull as updatePulledBeforeInsert (1→0, 2→1 unless internal); a
// group item only to a server whose organisation is a member; nothing with the flags off.
func TestAnalystDataDistributions(t *testing.T) {
	inst := instance(orgA, "https://a.example")
	const no = misp.Distribution(-1)
	member := group("A and B", true, []misp.Org{orgA, orgB})
	cases := []struct {
		name     string
		internal bool
		push     [6]misp.Distribution // by source 0..5; no: refused
		pull     [6]misp.Distribution
	}{
		{"usual", false, [6]misp.Distribution{no, no, 1, 3, 4, no}, [6]misp.Distribution{0, 0, 1, 3, 4, 5}},
		{"internal", true, [6]misp.Distribution{no, 1, 2, 3, 4, no}, [6]misp.Distribution{0, 1, 2, 3, 4, 5}},
	}
	for _, tc := range cases {
		remote := orgB
		if tc.internal {
			remote = orgA
		}
		srv := link(1, "https://b.example", orgA, remote, tc.internal)
		srv.PushAnalystData, srv.PullAnalystData = true, true
		for src := misp.Distribution(0); src <= 5; src++ {
			a := &misp.AnalystData{UUID: "00000000-0000-4000-8000-000000000001", Distribution: src}
			if src == misp.SharingGroupDist {
				a.SharingGroup = member
			}
			d, got := inst.PushAnalystData(srv, a, &orgA)
			if want := tc.push[src]; (want == no) == d.Allowed || (d.Allowed && got != want) {
				t.Errorf("%s push of %d: allowed %v as %d, want %d (%s)", tc.name, src, d.Allowed, got, want, d.Reason())
			}
			d, got = inst.PullAnalystData(srv, src)
			if want := tc.pull[src]; (want == no) == d.Allowed || (d.Allowed && got != want) {
				t.Errorf("%s pull of %d: allowed %v as %d, want %d (%s)", tc.name, src, d.Allowed, got, want, d.Reason())
			}
		}
	}

	// A group that does not list the remote organisation keeps the item here.
	toC := link(2, "https://c.example", orgA, orgC, false)
	toC.PushAnalystData = true
	if d, _ := inst.PushAnalystData(toC, &misp.AnalystData{Distribution: misp.SharingGroupDist, SharingGroup: member}, &orgA); d.Allowed {
		t.Errorf("group item pushed to a non-member organisation's server: %s", d)
	}
	// The push rules' organisations apply to the creator.
	toC.PushRules.Orgs.NOT = []string{orgA.UUID}
	if d, _ := inst.PushAnalystData(toC, &misp.AnalystData{Distribution: misp.AllCommunities}, &orgA); d.Allowed {
		t.Errorf("item of a blocked creator pushed: %s", d)
	}
	// Flags off: nothing moves.
	off := link(3, "https://d.example", orgA, orgB, false)
	if d, _ := inst.PushAnalystData(off, &misp.AnalystData{Distribution: misp.AllCommunities}, &orgA); d.Allowed {
		t.Errorf("pushed with push_analyst_data off: %s", d)
	}
	if d, _ := inst.PullAnalystData(off, misp.AllCommunities); d.Allowed {
		t.Errorf("pulled with pull_analyst_data off: %s", d)
	}
}

// An arriving group item keeps its group when the receiving organisation is a member and
// becomes organisation-only when not; a blocklisted creator is refused.
func TestReceiveAnalystData(t *testing.T) {
	inst := instance(orgB, "https://b.example")
	a := &misp.AnalystData{Distribution: misp.SharingGroupDist, SharingGroup: group("A and B", true, []misp.Org{orgA, orgB})}
	if r := inst.ReceiveAnalystData(orgB, nil, a, orgA.UUID, Blocklists{}); !r.Allowed || r.Distribution != misp.SharingGroupDist || r.SharingGroup == nil {
		t.Errorf("member: %d %v (%s)", r.Distribution, r.SharingGroup, r.Reason())
	}
	if r := inst.ReceiveAnalystData(orgC, nil, a, orgA.UUID, Blocklists{}); !r.Allowed || r.Distribution != misp.OrgOnly || r.SharingGroup != nil {
		t.Errorf("non-member: %d %v (%s)", r.Distribution, r.SharingGroup, r.Reason())
	}
	if len(a.SharingGroup.SharingGroupOrg) != 2 {
		t.Errorf("the arriving item was changed")
	}
	if r := inst.ReceiveAnalystData(orgB, nil, a, orgA.UUID, Blocklists{Orgs: NewUUIDSet(orgA.UUID)}); r.Allowed {
		t.Errorf("blocklisted creator received: %s", r.Reason())
	}
	a.UUID = "00000000-0000-4000-8000-0000000de1e7"
	if r := inst.ReceiveAnalystData(orgB, nil, a, orgA.UUID, Blocklists{AnalystData: NewUUIDSet(strings.ToUpper(a.UUID))}); r.Allowed || r.Reason() != "Blocked by blocklist" {
		t.Errorf("an item deleted here received: %s", r.Reason())
	}
}
