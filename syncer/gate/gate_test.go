package gate_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"mispdesk/internal/testsupport"
	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/gate"
)

// Row remembers its decisions by what they depend on (ownership, distribution, sharing
// group, published). Whatever order an index lists its rows in, each row must get the
// answer it gets alone: a memo keyed on too little would hand one row's answer to another.
func TestRowAnswersDoNotDependOnOrder(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "gate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Init(ctx, store.InitOptions{OrgName: "HOSTORG"}); err != nil {
		t.Fatal(err)
	}
	other, err := st.AddOrg(ctx, store.Org{Name: "OTHERORG", Local: true})
	if err != nil {
		t.Fatal(err)
	}
	with, err := st.AddSharingGroup(ctx, store.NewSharingGroup{Name: "with other"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddSharingGroupOrg(ctx, testsupport.SharingGroupID(st, with.UUID), testsupport.OrgID(st, "OTHERORG"), false); err != nil {
		t.Fatal(err)
	}
	without, err := st.AddSharingGroup(ctx, store.NewSharingGroup{Name: "without other"})
	if err != nil {
		t.Fatal(err)
	}

	// The events and whether OTHERORG's user may see each: its own organisation-only event,
	// not the host's; the group it is in, not the other; a community event either way.
	type row struct {
		name    string
		owner   int64 // 0: the host organisation
		dist    misp.Distribution
		sg      *misp.SharingGroup
		visible bool
	}
	rows := []row{
		{"OTHERORG's own, org only", int64(other.ID), misp.OrgOnly, nil, true},
		{"HOSTORG's, org only", 0, misp.OrgOnly, nil, false},
		{"HOSTORG's, group with OTHERORG", 0, misp.SharingGroupDist, with, true},
		{"HOSTORG's, group without OTHERORG", 0, misp.SharingGroupDist, without, false},
		{"HOSTORG's, community", 0, misp.CommunityOnly, nil, true},
	}
	index := make([]*store.IndexRow, len(rows))
	for i, r := range rows {
		ev := &misp.Event{
			UUID: fmt.Sprintf("6a7e0000-0000-4000-8000-%012d", i+1), Info: r.name, Date: "2026-01-02", Published: true, Timestamp: 1767312000,
			Distribution: r.dist, ThreatLevelID: 2,
			Attribute: []misp.Attribute{{UUID: fmt.Sprintf("6a7e0000-0000-4000-9000-%012d", i+1), Type: "domain", Category: "Network activity",
				Value: "example.org", Distribution: misp.InheritEvent, Timestamp: 1767312000}},
		}
		if r.sg != nil {
			ev.SharingGroupID = r.sg.ID
		}
		if _, err := st.UpsertEvent(ctx, ev, store.UpsertOptions{OwnerOrgID: store.OrgID(r.owner), LocalIDs: true}); err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		if index[i], err = st.EventRow(ctx, testsupport.LocalEvent(t, st, ev.UUID)); err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		if index[i].Distribution != r.dist {
			t.Fatalf("%s stored with distribution %d", r.name, index[i].Distribution)
		}
	}

	inst, err := gate.Instance(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	g := gate.New(st)
	viewer := &policy.Viewer{OrgID: int64(other.ID), OrgUUID: other.UUID}
	// Every order of the rows, each with a fresh check as a request has.
	var permute func(order []int, rest []int)
	orders := 0
	permute = func(order, rest []int) {
		if len(rest) == 0 {
			orders++
			check := g.For(ctx, inst, viewer)
			for _, i := range order {
				ok, err := check.Row(index[i])
				if err != nil {
					t.Fatal(err)
				}
				if ok != rows[i].visible {
					t.Errorf("order %v: %s: visible %v, want %v", order, rows[i].name, ok, rows[i].visible)
				}
			}
			return
		}
		for j := range rest {
			permute(slices.Concat(order, rest[j:j+1]), slices.Concat(rest[:j], rest[j+1:]))
		}
	}
	all := make([]int, len(rows))
	for i := range all {
		all[i] = i
	}
	permute(nil, all)
	if orders != 120 {
		t.Fatalf("%d orders checked, want 120", orders)
	}
}

// A proposal is seen only with the attribute it would change: OTHERORG's own proposal on
// a community attribute is its to see, the same on an attribute since made organisation
// only is not (it would show the attribute's UUID and a value for it).
func TestProposalNeedsItsAttribute(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "gate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Init(ctx, store.InitOptions{OrgName: "HOSTORG"}); err != nil {
		t.Fatal(err)
	}
	other, err := st.AddOrg(ctx, store.Org{Name: "OTHERORG", Local: true})
	if err != nil {
		t.Fatal(err)
	}
	const open, hidden = "6a7e0000-0000-4000-9000-000000000001", "6a7e0000-0000-4000-9000-000000000002"
	ev := &misp.Event{
		UUID: "6a7e0000-0000-4000-8000-000000000001", Info: "proposals", Date: "2026-01-02", Published: true, Timestamp: 1767312000,
		Distribution: misp.CommunityOnly, ThreatLevelID: 2,
		Attribute: []misp.Attribute{
			{UUID: open, Type: "domain", Category: "Network activity", Value: "open.example", Distribution: misp.InheritEvent, Timestamp: 1767312000},
			{UUID: hidden, Type: "domain", Category: "Network activity", Value: "hidden.example", Distribution: misp.OrgOnly, Timestamp: 1767312000},
		},
	}
	if _, err := st.UpsertEvent(ctx, ev, store.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	row, err := st.EventRow(ctx, testsupport.LocalEvent(t, st, ev.UUID))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := gate.Instance(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	check := gate.New(st).For(ctx, inst, &policy.Viewer{OrgID: int64(other.ID), OrgUUID: other.UUID})
	for _, c := range []struct {
		attr    string
		visible bool
	}{{open, true}, {hidden, false}} {
		id, err := st.AddProposal(ctx, row.ID, c.attr, other.ID, misp.ShadowAttribute{Type: "domain", Category: "Network activity", Value: "changed.example"})
		if err != nil {
			t.Fatal(err)
		}
		pr, _, err := st.Proposal(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		err = check.Proposal(pr)
		if c.visible && err != nil {
			t.Errorf("OTHERORG's proposal on the attribute it sees: %v", err)
		}
		if !c.visible && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("OTHERORG's proposal on an organisation-only attribute: %v, want not found", err)
		}
	}
}

// The most correlated values count every event's values: MISP shows them to site admins
// only (correlations/top); anyone else is refused, whatever they may see.
func TestTopCorrelationsSiteAdminOnly(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "gate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	res, err := st.Init(ctx, store.InitOptions{OrgName: "HOSTORG"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := st.AddOrg(ctx, store.Org{Name: "OTHERORG", Local: true})
	if err != nil {
		t.Fatal(err)
	}
	dists := []misp.Distribution{misp.CommunityOnly, misp.CommunityOnly, misp.OrgOnly}
	for i, uuid := range []string{"6a7e0000-0000-4000-8000-000000000011", "6a7e0000-0000-4000-8000-000000000012", "6a7e0000-0000-4000-8000-000000000013"} {
		ev := &misp.Event{UUID: uuid, Info: fmt.Sprint("shares ", i), Date: "2026-01-02", Timestamp: 1767312000, Published: true, Distribution: dists[i], ThreatLevelID: 2,
			Attribute: []misp.Attribute{{UUID: fmt.Sprintf("6a7e0000-0000-4000-9000-00000000001%d", i), Type: "domain", Category: "Network activity",
				Value: "shared.example", Distribution: misp.InheritEvent, Timestamp: 1767312000}}}
		if _, err := st.UpsertEvent(ctx, ev, store.UpsertOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	inst, err := gate.Instance(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	g := gate.New(st)
	top, err := g.For(ctx, inst, &policy.Viewer{OrgID: int64(res.Org.ID), OrgUUID: res.Org.UUID, SiteAdmin: true}).TopCorrelations(10)
	if err != nil || len(top) != 1 || top[0].Value != "shared.example" {
		t.Fatalf("site admin: %+v, %v", top, err)
	}
	top, err = g.For(ctx, inst, &policy.Viewer{OrgID: int64(res.Org.ID), OrgUUID: res.Org.UUID}).TopCorrelations(10)
	if !errors.Is(err, gate.ErrSiteAdminOnly) || top != nil {
		t.Errorf("a user of the host organisation: %+v, %v; want refused", top, err)
	}
	// Where the value is found: only the events whose attribute the viewer sees.
	for _, c := range []struct {
		who    string
		viewer *policy.Viewer
		want   int
	}{
		{"site admin", &policy.Viewer{OrgID: int64(res.Org.ID), OrgUUID: res.Org.UUID, SiteAdmin: true}, 3},
		{"another organisation", &policy.Viewer{OrgID: int64(other.ID), OrgUUID: other.UUID}, 2},
	} {
		rows, err := g.For(ctx, inst, c.viewer).ValueEvents("shared.example")
		if err != nil || len(rows) != c.want {
			t.Errorf("%s: %d events hold the value (%v), want %d", c.who, len(rows), err, c.want)
		}
		for _, r := range rows {
			if c.want == 2 && r.Distribution == misp.OrgOnly {
				t.Errorf("%s is shown the organisation-only event %q", c.who, r.Info)
			}
		}
	}
}
