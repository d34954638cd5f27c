package policy

import (
	"testing"

	"mispdesk/store/misp"
)

func sgEvent(owner misp.Org, sg *misp.SharingGroup) *misp.Event {
	ev := event(owner, misp.SharingGroupDist)
	ev.SharingGroup = sg
	return ev
}

func TestGroupOrgOutsideNeverSees(t *testing.T) {
	a := instance(orgA, "https://a.example")
	sg := group("g-1", false, []misp.Org{orgA, orgB})
	ev := sgEvent(orgA, sg)
	if a.CanSeeEvent(viewerOf(orgX), ev).Allowed {
		t.Fatal("an organisation outside the group sees the event")
	}
	if !a.CanSeeEvent(viewerOf(orgB), ev).Allowed {
		t.Fatal("a member does not see the event")
	}
	// A group child of a community event: the outsider sees the event, not the child.
	ev = event(orgA, dAll)
	child := attribute("a0000000-0000-4000-8000-0000000000aa", misp.SharingGroupDist)
	child.SharingGroup = sg
	ev.Attribute = append(ev.Attribute, child)
	seen, _ := a.Visible(viewerOf(orgX), ev)
	if seen == nil || findAttribute(seen, child.UUID) != nil {
		t.Fatalf("outsider: want the event without the group attribute, got %v", seen)
	}
	if seen, _ := a.Visible(viewerOf(orgB), ev); findAttribute(seen, child.UUID) == nil {
		t.Fatal("member does not see the group attribute")
	}
	// A community child of a group event: nobody outside the group sees it.
	ev = sgEvent(orgA, sg)
	ev.Attribute[0].Distribution = dAll
	if seen, _ := a.Visible(viewerOf(orgX), ev); seen != nil {
		t.Fatal("outsider sees a community attribute of a group event")
	}
	if len(ev.Attribute) != 1 {
		t.Fatal("Visible changed its input")
	}
}

func TestGroupAllOrgsForThisInstance(t *testing.T) {
	a := instance(orgA, "https://a.example")
	for _, entry := range []misp.SharingGroupServer{sgServer(0, "", true), sgServer(7, "https://A.example/", true)} {
		ev := sgEvent(orgA, group("g-2", false, []misp.Org{orgA}, entry))
		if !a.CanSeeEvent(viewerOf(orgX), ev).Allowed {
			t.Errorf("all orgs on this instance (%+v): outsider should see", entry)
		}
	}
	for _, entry := range []misp.SharingGroupServer{sgServer(0, "", false), sgServer(7, "https://other.example", true)} {
		ev := sgEvent(orgA, group("g-3", false, []misp.Org{orgA}, entry))
		if a.CanSeeEvent(viewerOf(orgX), ev).Allowed {
			t.Errorf("entry %+v gives all orgs elsewhere or not at all: outsider must not see", entry)
		}
	}
}

func TestGroupServerNotInGroupNeverGets(t *testing.T) {
	a := instance(orgA, "https://a.example")
	toB := link(5, "https://b.example", orgA, orgB, false)
	cases := []struct {
		name string
		sg   *misp.SharingGroup
		want bool
	}{
		{"server and org listed", group("g-1", false, []misp.Org{orgA, orgB}, sgServer(5, "https://b.example", false)), true},
		{"server listed by URL only", group("g-2", false, []misp.Org{orgA, orgB}, sgServer(99, "https://b.example/", false)), true},
		{"server not listed", group("g-3", false, []misp.Org{orgA, orgB}, sgServer(6, "https://c.example", false)), false},
		{"no server listed, not roaming", group("g-4", false, []misp.Org{orgA, orgB}), false},
		{"roaming, org listed", group("g-5", true, []misp.Org{orgA, orgB}), true},
		{"roaming, org not listed", group("g-6", true, []misp.Org{orgA, orgC}), false},
		// MISP's final payload check requires the remote org even when the server entry
		// has all_orgs (Event::__prepareForPushToServer).
		{"server listed with all orgs, org not listed", group("g-7", false, []misp.Org{orgA}, sgServer(5, "https://b.example", true)), false},
		{"group missing", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := a.Push(toB, sgEvent(orgA, c.sg), OnPublish, Blocklists{})
			if res.Allowed != c.want {
				t.Fatalf("event level: allowed %v, want %v\n%s", res.Allowed, c.want, res.Decision)
			}
			ev := event(orgA, dAll)
			child := attribute("a0000000-0000-4000-8000-0000000000bb", misp.SharingGroupDist)
			child.SharingGroup = c.sg
			ev.Attribute = append(ev.Attribute, child)
			res = a.Push(toB, ev, OnPublish, Blocklists{})
			if got := findAttribute(res.Event, child.UUID) != nil; got != c.want {
				t.Fatalf("attribute level: sent %v, want %v\n%s", got, c.want, res.Decision)
			}
		})
	}
}

func TestGroupInternalSkipsServerList(t *testing.T) {
	a := instance(orgA, "https://a.example")
	toB := link(5, "https://b.example", orgA, orgA, true)
	if !a.Push(toB, sgEvent(orgX, group("g-1", false, []misp.Org{orgA})), OnPublish, Blocklists{}).Allowed {
		t.Fatal("internal link with the host org in the group should get it")
	}
}

// The book: "When pulling in data you can only see due to the 'all orgs' flag being set in
// the sharing group, your organisation will be added to the sharing group when creating
// the data locally."
func TestGroupAllOrgsPullAddsLocalOrg(t *testing.T) {
	a, b := instance(orgA, "https://a.example"), instance(orgB, "https://b.example")
	bToA := link(3, "https://a.example", orgB, orgA, false)
	// On A: members OrgA only; servers: A itself, and B with all orgs.
	sg := group("g-1", false, []misp.Org{orgA}, sgServer(0, "", false), sgServer(9, "https://b.example", true))
	ev := sgEvent(orgA, sg)
	ev.SharingGroup.SharingGroupServer[0].Server = nil
	// B's sync user on A is not a member and A has no all-orgs entry for itself, so A may
	// not serve it; A's own site admin may see it — the pull path uses what A serves.
	if got, _ := pullRow(a, b, syncUserOf(orgB), bToA, ev); got != nil {
		t.Fatal("pulled an event the sync user cannot see")
	}
	// Give A's own entry all orgs: the sync user sees it, and B adds its organisation.
	ev.SharingGroup.SharingGroupServer[0].AllOrgs = true
	got, d := pullRow(a, b, syncUserOf(orgB), bToA, ev)
	if got == nil {
		t.Fatalf("not pulled\n%s", d)
	}
	g := got.SharingGroup
	if !hasOrg(g, 0, orgB.UUID) {
		t.Fatalf("OrgB not added to the group\n%s", d)
	}
	// On B: B's entry (by URL) became server_id 0; A's bare entry became the link to A.
	if e := b.localEntry(g); e == nil || !bool(e.AllOrgs) {
		t.Fatalf("B's entry not mapped to this instance: %+v", g.SharingGroupServer)
	}
	if e := serverEntry(g, bToA); e == nil || e.Server.URL != "https://a.example" {
		t.Fatalf("A's entry not mapped to the link: %+v", g.SharingGroupServer)
	}
	if !b.CanSeeEvent(viewerOf(orgX), got).Allowed {
		t.Fatal("all orgs on B: a local org of B should see it")
	}
	if hasOrg(sg, 0, orgB.UUID) || len(sg.SharingGroupServer) != 2 || sg.SharingGroupServer[1].ServerID != 9 {
		t.Fatal("Pull changed its input")
	}
}

// A group the receiving organisation is not in and that does not give this instance all
// orgs cannot be captured: the element falls back to 'Your organisation only'.
func TestGroupNotCapturableFallsBackToOrgOnly(t *testing.T) {
	b := instance(orgB, "https://b.example")
	ev := event(orgA, dAll)
	child := attribute("a0000000-0000-4000-8000-0000000000cc", misp.SharingGroupDist)
	child.SharingGroup = group("g-1", true, []misp.Org{orgA, orgC})
	ev.Attribute = append(ev.Attribute, child)
	res := b.Pull(link(1, "https://a.example", orgB, orgA, false), ev, nil, Blocklists{})
	a := findAttribute(res.Event, child.UUID)
	if a == nil || a.Distribution != dOrg || a.SharingGroup != nil {
		t.Fatalf("want org only, got %+v\n%s", a, res.Decision)
	}
	if b.CanSee(viewerOf(orgC), res.Event, EventReach(res.Event).Child(a.Distribution, a.SharingGroup)) {
		t.Fatal("OrgC sees it on B")
	}
}

// A bare server_id 0 entry in a pushed group means the sender; were it kept as sent, it
// would mean the receiver and open the group to every organisation there.
func TestGroupSenderEntryIsNotTheReceiver(t *testing.T) {
	a := instance(orgA, "https://a.example")
	b := instance(orgB, "https://b.example")
	toB := link(5, "https://b.example", orgA, orgB, false)
	sg := group("g-1", true, []misp.Org{orgA, orgB}, sgServer(0, "", true))
	sg.SharingGroupServer[0].Server = nil
	res := a.Push(toB, sgEvent(orgA, sg), OnPublish, Blocklists{})
	if !res.Allowed {
		t.Fatalf("%s", res.Decision)
	}
	if u := res.Event.SharingGroup.SharingGroupServer[0].Server; u == nil || u.URL != "https://a.example" {
		t.Fatalf("sender entry not addressed: %+v", res.Event.SharingGroup.SharingGroupServer)
	}
	got := b.Receive(syncUserOf(orgA), nil, res.Event, nil, Blocklists{})
	if b.CanSeeEvent(viewerOf(orgX), got.Event).Allowed {
		t.Fatal("a local org of B outside the group sees the event")
	}
	noURL := instance(orgA, "")
	res = noURL.Push(toB, sgEvent(orgA, sg), OnPublish, Blocklists{})
	if len(res.Event.SharingGroup.SharingGroupServer) != 0 {
		t.Fatal("an entry for an instance without a URL must not be sent")
	}
}

func TestCanSeeSharingGroup(t *testing.T) {
	a := instance(orgA, "https://a.example")
	made := group("sg-1", false, []misp.Org{orgB})
	made.Organisation, made.OrgID = orgPtr(orgC), orgC.ID
	allOrgs := group("sg-2", false, nil, sgServer(0, "", true))
	cases := []struct {
		name string
		v    *Viewer
		sg   *misp.SharingGroup
		want bool
	}{
		{"member", viewerOf(orgB), made, true},
		{"creator", viewerOf(orgC), made, true},
		{"outsider", viewerOf(orgX), made, false},
		{"site admin", &Viewer{OrgID: int64(orgX.ID), OrgUUID: orgX.UUID, SiteAdmin: true}, made, true},
		{"all orgs of this instance", viewerOf(orgX), allOrgs, true},
	}
	for _, c := range cases {
		if got := a.CanSeeSharingGroup(c.v, c.sg); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
