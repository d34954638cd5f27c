package policy

import (
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
