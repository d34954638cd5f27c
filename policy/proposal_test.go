package policy

import (
	"testing"

	"mispdesk/store/misp"
)

// Whoever sees an attribute sees every organisation's proposals on it, sync accounts too
// (MISP's fetchEvent and ShadowAttribute::buildConditions); a proposal about an attribute the
// viewer may not see is left out with it, and a proposed new attribute goes with the event.
func TestProposalsGoWithTheirAttribute(t *testing.T) {
	host := misp.Org{ID: 1, UUID: "00000000-0000-4000-8000-0000000000a1", Name: "host"}
	creator := misp.Org{ID: 2, UUID: "00000000-0000-4000-8000-0000000000a2", Name: "creator"}
	proposer := misp.Org{ID: 3, UUID: "00000000-0000-4000-8000-0000000000a3", Name: "proposer"}
	bystander := misp.Org{ID: 4, UUID: "00000000-0000-4000-8000-0000000000a4", Name: "bystander"}
	inst := instance(host, "https://here.example")
	proposal := func(u string, old misp.Int) misp.ShadowAttribute {
		return misp.ShadowAttribute{UUID: u, OldID: old, Value: "y.example", Org: orgPtr(proposer), OrgID: proposer.ID}
	}
	ev := &misp.Event{UUID: "eeeeeeee-0000-4000-8000-0000000000a1", Published: true, Distribution: misp.AllCommunities,
		OrgID: host.ID, Org: orgPtr(host), Orgc: orgPtr(creator), Timestamp: 1,
		Attribute: []misp.Attribute{
			{ID: 7, UUID: "a0000000-0000-4000-8000-0000000000a1", Type: "domain", Value: "x.example", Distribution: misp.InheritEvent,
				ShadowAttribute: []misp.ShadowAttribute{proposal("5a000000-0000-4000-8000-0000000000a1", 7)}},
			{ID: 8, UUID: "a0000000-0000-4000-8000-0000000000a2", Type: "domain", Value: "w.example", Distribution: misp.OrgOnly,
				ShadowAttribute: []misp.ShadowAttribute{proposal("5a000000-0000-4000-8000-0000000000a3", 8)}},
		},
		ShadowAttribute: []misp.ShadowAttribute{proposal("5a000000-0000-4000-8000-0000000000a2", 0)},
	}
	for _, c := range []struct {
		who         string
		v           *Viewer
		seesOrgOnly bool // the org-only attribute and so its proposal
	}{
		{"the owner here", viewerOf(host), true},
		{"the creator's sync account", syncUserOf(creator), false},
		{"the creator's users", viewerOf(creator), false},
		{"the proposer", viewerOf(proposer), false},
		{"another organisation", viewerOf(bystander), false},
		{"another organisation's sync account", syncUserOf(bystander), false},
	} {
		out, _ := inst.Visible(c.v, ev)
		if out == nil {
			t.Fatalf("%s: the event is not visible", c.who)
		}
		if len(out.ShadowAttribute) != 1 || len(out.Attribute[0].ShadowAttribute) != 1 {
			t.Errorf("%s: event proposals %v, attribute proposals %v; want the new attribute's and the visible attribute's", c.who, out.ShadowAttribute, out.Attribute[0].ShadowAttribute)
		}
		hidden := 0
		for _, a := range out.Attribute {
			if a.ID == 8 {
				hidden = len(a.ShadowAttribute)
				if hidden == 0 {
					t.Errorf("%s: the org-only attribute is shown without its proposal", c.who)
				}
			}
		}
		if (hidden > 0) != c.seesOrgOnly {
			t.Errorf("%s: proposal on the org-only attribute shown %v, want %v", c.who, hidden > 0, c.seesOrgOnly)
		}
	}
}
