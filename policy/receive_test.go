package policy

import (
	"fmt"
	"strings"
	"testing"

	"mispdesk/store/misp"
)

// What a push to this instance (Receive) refuses, each by its rule, and the one it takes:
// only a sync account (or a site admin) pushes; a blocklisted event or creator
// organisation is never stored; an event created here is never replaced by a push of
// another organisation, nor any copy by one that is not newer.
func TestReceiveRefusals(t *testing.T) {
	b := instance(orgB, "https://b.example")
	pushed := func() *misp.Event {
		ev := event(orgA, dAll)
		ev.Timestamp = 200
		return ev
	}
	cases := []struct {
		name   string
		sender *Viewer
		local  *LocalCopy
		bl     Blocklists
		rule   string // "" when stored
	}{
		{"a sync account of orgA", syncUserOf(orgA), nil, Blocklists{}, ""},
		{"a site admin", &Viewer{OrgID: int64(orgA.ID), OrgUUID: orgA.UUID, SiteAdmin: true}, nil, Blocklists{}, ""},
		{"a user without sync permission", viewerOf(orgA), nil, Blocklists{}, "perm_sync"},
		{"an event on the event blocklist", syncUserOf(orgA), nil, Blocklists{Events: NewUUIDSet("EEEEEEEE-0000-4000-8000-000000000001")}, "event_blocklist"},
		{"a creator on the organisation blocklist", syncUserOf(orgA), nil, Blocklists{Orgs: NewUUIDSet(orgA.UUID)}, "org_blocklist"},
		{"another organisation's blocklisted", syncUserOf(orgA), nil, Blocklists{Orgs: NewUUIDSet(orgX.UUID)}, ""},
		{"an older synced copy", syncUserOf(orgA), &LocalCopy{Timestamp: 199, Locked: true}, Blocklists{}, ""},
		{"a synced copy as new", syncUserOf(orgA), &LocalCopy{Timestamp: 200, Locked: true}, Blocklists{}, "local_copy"},
		{"an event created here, pushed by another organisation", syncUserOf(orgX), &LocalCopy{Timestamp: 1}, Blocklists{}, "local_copy"},
	}
	for _, c := range cases {
		res := b.Receive(c.sender, nil, pushed(), c.local, c.bl)
		switch {
		case c.rule == "" && !res.Allowed:
			t.Errorf("%s: refused, want stored\n%s", c.name, res.Decision)
		case c.rule == "" && (res.Event == nil || res.Event.Org == nil || res.Event.Org.UUID != c.sender.OrgUUID):
			t.Errorf("%s: stored without the sender's organisation as owner", c.name)
		case c.rule != "" && (res.Allowed || res.Event != nil):
			t.Errorf("%s: stored, want refused by %s\n%s", c.name, c.rule, res.Decision)
		case c.rule != "" && res.BlockedBy().Rule != c.rule:
			t.Errorf("%s: refused by %s, want %s\n%s", c.name, res.BlockedBy().Rule, c.rule, res.Decision)
		}
	}
}

// A pushed event's analyst data keeps its own distribution, except that items shared with
// a sharing group are removed at every level (event, attribute, object, report, nested):
// their group does not travel with embedded analyst data.
func TestReceiveDropsGroupAnalystData(t *testing.T) {
	b := instance(orgB, "https://b.example")
	sg := group("sg1", false, []misp.Org{orgA, orgB})
	n := 0
	var kept, dropped []string
	set := func() misp.Extra {
		n++
		community := fmt.Sprintf("a0a1a000-0000-4000-8000-%012d", n)
		grouped := fmt.Sprintf("a0a1a000-0000-4000-9000-%012d", n)
		nested := fmt.Sprintf("a0a1a000-0000-4000-a000-%012d", n)
		kept, dropped = append(kept, community), append(dropped, grouped, nested)
		note := misp.AnalystData{UUID: community, OrgUUID: orgA.UUID, OrgcUUID: orgA.UUID, Distribution: dCommunity}
		note.Analyst.Opinion = []misp.AnalystData{{UUID: nested, OrgUUID: orgA.UUID, OrgcUUID: orgA.UUID, Distribution: misp.SharingGroupDist, SharingGroup: sg}}
		var x misp.Extra
		if err := misp.PutAnalystSet(&x, misp.AnalystSet{Note: []misp.AnalystData{note,
			{UUID: grouped, OrgUUID: orgA.UUID, OrgcUUID: orgA.UUID, Distribution: misp.SharingGroupDist, SharingGroup: sg}}}); err != nil {
			t.Fatal(err)
		}
		return x
	}
	ev := event(orgA, dAll)
	ev.Extra = set()
	ev.Attribute[0].Extra = set()
	obj := object("0b000000-0000-4000-8000-000000000001", dAll, attribute("0a000000-0000-4000-8000-000000000001", misp.InheritEvent))
	obj.Extra = set()
	ev.Object = []misp.Object{obj}
	ev.EventReport = []misp.EventReport{{UUID: "0c000000-0000-4000-8000-000000000001", Name: "r", Content: "c", Distribution: misp.InheritEvent, Timestamp: 100, Extra: set()}}

	res := b.Receive(syncUserOf(orgA), nil, ev, nil, Blocklists{})
	if !res.Allowed {
		t.Fatalf("refused\n%s", res.Decision)
	}
	stored := mustEncode(t, res.Event)
	for _, u := range kept {
		if !strings.Contains(stored, u) {
			t.Errorf("community note %s not stored", u)
		}
	}
	for _, u := range dropped {
		if strings.Contains(stored, u) {
			t.Errorf("analyst data %s shared with a sharing group stored", u)
		}
	}
}
