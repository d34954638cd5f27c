package policy

import (
	"reflect"
	"testing"

	"mispdesk/store/misp"
)

func TestPullTransformOfFixture(t *testing.T) {
	b := instance(orgB, "https://b.example")
	srv := link(4, "https://a.example", orgB, orgA, false)
	srv.PullRules.TypeObjects.NOT = []string{"688c46fb-5edb-40a3-8273-1af7923e2215"} // file
	srv.PullRules.TypeAttributes.NOT = []string{"link"}
	remote := loadEvent(t, "pymisp-existing_event.json")
	remote.Published = true
	remote.Distribution = misp.DistributionUnknown // as CIRCL feed events come
	remote.Tag = append(remote.Tag, misp.Tag{Name: "remote-local", Local: true})
	before := mustEncode(t, remote)

	res := b.Pull(srv, remote, nil, Blocklists{})
	if !res.Allowed {
		t.Fatalf("%s", res.Decision)
	}
	if mustEncode(t, remote) != before {
		t.Fatal("Pull changed its input")
	}
	out := res.Event
	// Missing distribution → 1, then downgraded to 0 (non-internal).
	if out.Distribution != dOrg || !bool(out.Locked) || out.OrgID != orgB.ID || out.Org.UUID != orgB.UUID {
		t.Fatalf("event: dist %s locked %v org %d", out.Distribution, out.Locked, out.OrgID)
	}
	for _, tag := range out.Tag {
		if bool(tag.Local) {
			t.Fatal("local tag kept from a non-internal server")
		}
	}
	for _, o := range out.Object {
		if o.TemplateUUID == "688c46fb-5edb-40a3-8273-1af7923e2215" {
			t.Fatal("filtered object template kept")
		}
	}
	for _, a := range out.Attribute {
		if a.Type == "link" {
			t.Fatal("filtered attribute type kept")
		}
	}
	t.Logf("\n%s", res.Decision)
}

func TestPullDowngradesEveryLevel(t *testing.T) {
	b := instance(orgB, "https://b.example")
	srv := link(4, "https://a.example", orgB, orgA, false)
	ev := event(orgA, dConnected)
	ev.Attribute[0].Distribution = dCommunity
	ev.Object = []misp.Object{object("0b000000-0000-4000-8000-0000000000ee", dConnected, attribute("a0000000-0000-4000-8000-0000000000ee", dConnected))}
	ev.EventReport = []misp.EventReport{{UUID: "0e000000-0000-4000-8000-0000000000ee", Name: "r", Distribution: dCommunity}}
	out := b.Pull(srv, ev, nil, Blocklists{}).Event
	got := []misp.Distribution{out.Distribution, out.Attribute[0].Distribution, out.Object[0].Distribution, out.Object[0].Attribute[0].Distribution, out.EventReport[0].Distribution}
	want := []misp.Distribution{dCommunity, dOrg, dCommunity, dCommunity, dOrg}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("element %d: got %s, want %s", i, got[i], want[i])
		}
	}
}

func TestPullLocalCopy(t *testing.T) {
	b := instance(orgB, "https://b.example")
	srv := link(4, "https://a.example", orgB, orgA, false)
	row := IndexRow{UUID: "eeeeeeee-0000-4000-8000-000000000001", Timestamp: 100, Published: true}
	cases := []struct {
		name     string
		local    *LocalCopy
		internal bool
		want     bool
	}{
		{"new", nil, false, true},
		{"synced copy older", &LocalCopy{Timestamp: 99, Locked: true}, false, true},
		{"synced copy equal", &LocalCopy{Timestamp: 100, Locked: true}, false, false},
		{"synced copy newer", &LocalCopy{Timestamp: 101, Locked: true}, false, false},
		{"created here", &LocalCopy{Timestamp: 1, Locked: false}, false, false},
		{"created here, internal server", &LocalCopy{Timestamp: 1, Locked: false}, true, true},
	}
	for _, c := range cases {
		srv.Internal = c.internal
		if d := b.PullCandidate(srv, row, c.local, Blocklists{}); d.Allowed != c.want {
			t.Errorf("%s: allowed %v\n%s", c.name, d.Allowed, d)
		}
	}
	srv.Internal = false
	unpublished := row
	unpublished.Published = false
	if b.PullCandidate(srv, unpublished, nil, Blocklists{}).Allowed {
		t.Error("unpublished row pulled")
	}
	blocked := row
	blocked.OrgcUUID = orgX.UUID
	if b.PullCandidate(srv, blocked, nil, Blocklists{Orgs: NewUUIDSet(orgX.UUID)}).Allowed {
		t.Error("blocklisted org pulled")
	}
}

func TestPullEmptyEventAndRules(t *testing.T) {
	b := instance(orgB, "https://b.example")
	srv := link(4, "https://a.example", orgB, orgA, false)
	srv.PullRules.TypeAttributes.NOT = []string{"ip-dst"}
	if res := b.Pull(srv, event(orgA, dAll), nil, Blocklists{}); res.Allowed || res.BlockedBy().Rule != "empty_event" {
		t.Fatalf("want empty event refused\n%s", res.Decision)
	}
	srv.PullRules = Rules{Tags: Filter{NOT: []string{"tlp:red"}}}
	ev := event(orgA, dAll)
	ev.Tag = []misp.Tag{{Name: "tlp:red"}}
	if res := b.Pull(srv, ev, nil, Blocklists{}); res.Allowed {
		t.Fatal("a peer ignoring the index filter got round the pull rules")
	}
}

// PullOwned decides and transforms exactly as Pull does.
func TestPullOwnedMatchesPull(t *testing.T) {
	b := instance(orgB, "https://b.example")
	bToA := link(1, "https://a.example", orgB, orgA, false)
	for d := dOrg; d <= misp.SharingGroupDist; d++ {
		ev := event(orgA, d)
		ev.Object = []misp.Object{object("0b000000-0000-4000-8000-000000000001", dConnected, attribute("a0000000-0000-4000-8000-000000000001", misp.InheritEvent))}
		want := b.Pull(bToA, ev, nil, Blocklists{})
		got := b.PullOwned(bToA, cloneEvent(ev), nil, Blocklists{})
		if want.Allowed != got.Allowed || want.Reason() != got.Reason() {
			t.Fatalf("%s: Pull %v %q, PullOwned %v %q", d, want.Allowed, want.Reason(), got.Allowed, got.Reason())
		}
		if want.Event != nil && !reflect.DeepEqual(want.Event, got.Event) {
			t.Errorf("%s: PullOwned made a different event", d)
		}
	}
}

// A refusal's code carries no per-event detail: two events refused for one rule count
// under one code, whatever their timestamps.
func TestDecisionCodeIsStable(t *testing.T) {
	inst := &Instance{}
	srv := &Server{Name: "B", Pull: true}
	a := inst.PullCandidate(srv, IndexRow{UUID: "a", Timestamp: 10, Published: true}, &LocalCopy{Timestamp: 20, Locked: true}, Blocklists{})
	b := inst.PullCandidate(srv, IndexRow{UUID: "b", Timestamp: 30, Published: true}, &LocalCopy{Timestamp: 31, Locked: true}, Blocklists{})
	if a.Reason() == b.Reason() {
		t.Fatalf("reasons should differ by timestamp: %q", a.Reason())
	}
	if a.Code() != "local copy newer" || b.Code() != a.Code() {
		t.Errorf("codes %q and %q, want both %q", a.Code(), b.Code(), "local copy newer")
	}
	c := inst.PullCandidate(srv, IndexRow{UUID: "c", Timestamp: 30}, nil, Blocklists{})
	if c.Code() != "not published" {
		t.Errorf("unpublished: code %q", c.Code())
	}
	if ok := inst.PullCandidate(srv, IndexRow{UUID: "d", Timestamp: 30, Published: true}, nil, Blocklists{}); ok.Code() != "" {
		t.Errorf("allowed decision has code %q", ok.Code())
	}
}

// A pulled event's custom galaxy keeps its own distribution downgraded as its clusters'
// (2 becomes 1, 1 becomes 0, 3 stays; a sharing group, which does not travel, becomes 0);
// a library galaxy, which says nothing of its sharing, is left as it came.
func TestPullDowngradesCustomGalaxies(t *testing.T) {
	b := instance(orgB, "https://b.example")
	srv := link(4, "https://a.example", orgB, orgA, false)
	cluster := misp.GalaxyCluster{UUID: "c2000000-0000-4000-8000-000000000001", Type: "t", Value: "v",
		Extra: misp.Extra{"default": []byte("false"), "distribution": []byte(`"3"`)}}
	for in, want := range map[string]string{`"2"`: `"1"`, `"1"`: `"0"`, `"3"`: `"3"`, `"4"`: `"0"`, "": ""} {
		remote := &misp.Event{UUID: "e2000000-0000-4000-8000-000000000001", Info: "galaxy", Date: "2026-01-02", Distribution: misp.AllCommunities,
			Published: true, Timestamp: 1700000000, Orgc: &orgA,
			Attribute: []misp.Attribute{{UUID: "a2000000-0000-4000-8000-000000000001", Type: "domain", Category: "Network activity",
				Value: "g.example", Distribution: misp.InheritEvent, Timestamp: 1700000000}}}
		g := misp.Galaxy{UUID: "d2000000-0000-4000-8000-000000000001", Name: "g", Type: "t", GalaxyCluster: []misp.GalaxyCluster{cluster}}
		if in != "" {
			g.Extra = misp.Extra{"default": []byte("false"), "distribution": []byte(in)}
		}
		remote.Galaxy = []misp.Galaxy{g}
		res := b.Pull(srv, remote, nil, Blocklists{})
		if !res.Allowed || len(res.Event.Galaxy) != 1 {
			t.Fatalf("galaxy distribution %s: %s %+v", in, res.Decision, res.Event)
		}
		if got := string(res.Event.Galaxy[0].Extra["distribution"]); got != want {
			t.Errorf("a custom galaxy pulled at distribution %s arrives at %s, want %s", in, got, want)
		}
		if in != "" && string(remote.Galaxy[0].Extra["distribution"]) != in {
			t.Errorf("Pull changed its input galaxy")
		}
	}
}
