package policy

import (
	"testing"

	"mispdesk/store/misp"
)

// A proposal made on one instance about an event created on another reaches the creator
// organisation (which reviews it) and its proposer, and nobody else who is not the owner.
func TestProposalsReachTheirReviewers(t *testing.T) {
	host := misp.Org{ID: 1, UUID: "00000000-0000-4000-8000-0000000000a1", Name: "host"}
	creator := misp.Org{ID: 2, UUID: "00000000-0000-4000-8000-0000000000a2", Name: "creator"}
	proposer := misp.Org{ID: 3, UUID: "00000000-0000-4000-8000-0000000000a3", Name: "proposer"}
	bystander := misp.Org{ID: 4, UUID: "00000000-0000-4000-8000-0000000000a4", Name: "bystander"}
	inst := instance(host, "https://here.example")
	ev := &misp.Event{UUID: "eeeeeeee-0000-4000-8000-0000000000a1", Published: true, Distribution: misp.AllCommunities,
		OrgID: host.ID, Org: orgPtr(host), Orgc: orgPtr(creator), Timestamp: 1,
		Attribute: []misp.Attribute{{ID: 7, UUID: "a0000000-0000-4000-8000-0000000000a1", Type: "domain", Value: "x.example",
			Distribution: misp.InheritEvent,
			ShadowAttribute: []misp.ShadowAttribute{{UUID: "5a000000-0000-4000-8000-0000000000a1", OldID: 7, Value: "y.example",
				Org: orgPtr(proposer), OrgID: proposer.ID}}}},
		ShadowAttribute: []misp.ShadowAttribute{{UUID: "5a000000-0000-4000-8000-0000000000a2", Value: "z.example",
			Org: orgPtr(proposer), OrgID: proposer.ID}},
	}
	for _, c := range []struct {
		who  string
		v    *Viewer
		sees bool
	}{
		{"the owner here", viewerOf(host), true},
		{"the creator's sync account", syncUserOf(creator), true},
		{"the creator's users", viewerOf(creator), true},
		{"the proposer", viewerOf(proposer), true},
		{"another organisation", viewerOf(bystander), false},
		{"another organisation's sync account", syncUserOf(bystander), false},
	} {
		out, _ := inst.Visible(c.v, ev)
		if out == nil {
			t.Fatalf("%s: the event is not visible", c.who)
		}
		got := len(out.ShadowAttribute) == 1 && len(out.Attribute[0].ShadowAttribute) == 1
		none := len(out.ShadowAttribute) == 0 && len(out.Attribute[0].ShadowAttribute) == 0
		if c.sees && !got || !c.sees && !none {
			t.Errorf("%s: event proposals %v, attribute proposals %v", c.who, out.ShadowAttribute, out.Attribute[0].ShadowAttribute)
		}
		for _, p := range append(out.ShadowAttribute, out.Attribute[0].ShadowAttribute...) {
			if inst.CanSeeProposal(c.v, ev, &p) != c.sees {
				t.Errorf("%s: CanSeeProposal disagrees with Visible on %s", c.who, p.UUID)
			}
		}
	}
}
