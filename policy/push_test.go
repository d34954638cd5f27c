package policy

import (
	"reflect"
	"strings"
	"testing"

	"mispdesk/store/misp"
)

func TestPushPayloadOfFixture(t *testing.T) {
	a := instance(orgA, "https://a.example")
	toB := link(1, "https://b.example", orgA, orgB, false)
	ev := loadEvent(t, "pymisp-existing_event.json")
	ev.Published = true
	ev.OrgID, ev.Org = orgA.ID, orgPtr(orgA)
	ev.Tag = append(ev.Tag, misp.Tag{Name: "local-only-note", Local: true}, misp.Tag{Name: "secret", Exportable: misp.OptBool{Set: true, Value: false}})
	// Make one object org-only: it and references to it must go.
	target := ev.Object[1].UUID
	ev.Object[1].Distribution = dOrg
	ev.Object[0].ObjectReference = append(ev.Object[0].ObjectReference, misp.ObjectReference{UUID: "0f000000-0000-4000-8000-000000000001", ReferencedUUID: target, RelationshipType: "related-to"})
	before := mustEncode(t, ev)

	res := a.Push(toB, ev, Scheduled, Blocklists{})
	if !res.Allowed {
		t.Fatalf("%s", res.Decision)
	}
	if mustEncode(t, ev) != before {
		t.Fatal("Push changed its input")
	}
	out := res.Event
	if !bool(out.Locked) || out.Org != nil || out.OrgID != 0 || out.OrgcID != 0 || out.Orgc == nil || out.RelatedEvent != nil || out.Galaxy != nil {
		t.Fatalf("payload fields: locked %v org %v org_id %d orgc_id %d", out.Locked, out.Org, out.OrgID, out.OrgcID)
	}
	for _, tag := range out.Tag {
		if tag.Name == "local-only-note" || tag.Name == "secret" {
			t.Fatalf("tag %q sent", tag.Name)
		}
	}
	if findObject(out, target) != nil {
		t.Fatal("org-only object sent")
	}
	for _, o := range out.Object {
		for _, r := range o.ObjectReference {
			if r.ReferencedUUID == target {
				t.Fatal("reference to a removed object sent")
			}
		}
	}
	if len(out.Object) != len(ev.Object)-1 {
		t.Fatalf("objects: %d of %d", len(out.Object), len(ev.Object))
	}
	if !strings.Contains(res.Decision.String(), "1 object removed: distribution 'Your organisation only' is never pushed to a non-internal server") {
		t.Fatalf("decision does not explain the removal:\n%s", res.Decision)
	}
}

func TestPushUnpublishAndSightings(t *testing.T) {
	a := instance(orgA, "https://a.example")
	toB := link(1, "https://b.example", orgA, orgB, false)
	ev := event(orgA, dAll)
	ev.Attribute[0].Sighting = []misp.Sighting{{UUID: "51000000-0000-4000-8000-000000000001", OrgID: 1},
		{UUID: "51000000-0000-4000-8000-000000000002", Organisation: &orgB}}
	res := a.Push(toB, ev, OnPublish, Blocklists{})
	if !bool(res.Event.Published) || res.Event.Attribute[0].Sighting != nil {
		t.Fatal("want published, without sightings")
	}
	// with push_sightings, the sightings the remote organisation may see under the
	// default policy (event owner): its own, not OrgA's
	toB.UnpublishEvent, toB.PushSightings = true, true
	res = a.Push(toB, ev, OnPublish, Blocklists{})
	if got := res.Event.Attribute[0].Sighting; bool(res.Event.Published) || len(got) != 1 || got[0].UUID != "51000000-0000-4000-8000-000000000002" {
		t.Fatalf("want unpublished, with OrgB's sighting only: %+v", got)
	}
	// policy 2 with anonymisation: every sighting, OrgA's without its organisation
	a.Sightings = SightingsPolicy{Rule: SightingsEveryone, Anonymise: true}
	res = a.Push(toB, ev, OnPublish, Blocklists{})
	if got := res.Event.Attribute[0].Sighting; len(got) != 2 || got[0].Organisation != nil || got[0].OrgID != 0 || got[1].Organisation == nil {
		t.Fatalf("want both sightings, OrgA's anonymised: %+v", got)
	}
}

func TestPushRefusals(t *testing.T) {
	a := instance(orgA, "https://a.example")
	cases := []struct {
		name string
		edit func(*Server, *misp.Event, *Blocklists)
		rule string
	}{
		{"push off", func(s *Server, _ *misp.Event, _ *Blocklists) { s.Push = false }, "server.push"},
		{"unpublished", func(_ *Server, e *misp.Event, _ *Blocklists) { e.Published = false }, "published"},
		{"event blocklisted", func(_ *Server, e *misp.Event, b *Blocklists) { b.Events = NewUUIDSet(strings.ToUpper(e.UUID)) }, "event_blocklist"},
		{"org blocklisted", func(_ *Server, _ *misp.Event, b *Blocklists) { b.Orgs = NewUUIDSet(orgA.UUID) }, "org_blocklist"},
		{"tags.NOT by name", func(s *Server, e *misp.Event, _ *Blocklists) {
			e.Tag = []misp.Tag{{ID: 7, Name: "tlp:red"}}
			s.PushRules.Tags.NOT = []string{"TLP:RED"}
		}, "push_rules.tags.NOT"},
		{"tags.NOT by local id", func(s *Server, e *misp.Event, _ *Blocklists) {
			e.Tag = []misp.Tag{{ID: 7, Name: "tlp:red"}}
			s.PushRules.Tags.NOT = []string{"7"}
		}, "push_rules.tags.NOT"},
		{"tags.OR missing", func(s *Server, _ *misp.Event, _ *Blocklists) { s.PushRules.Tags.OR = []string{"tlp:green"} }, "push_rules.tags.OR"},
		{"orgs.NOT by name", func(s *Server, _ *misp.Event, _ *Blocklists) { s.PushRules.Orgs.NOT = []string{"OrgA"} }, "push_rules.orgs.NOT"},
		{"orgs.OR by id", func(s *Server, _ *misp.Event, _ *Blocklists) { s.PushRules.Orgs.OR = []string{"3"} }, "push_rules.orgs.OR"},
		{"nothing left", func(s *Server, _ *misp.Event, _ *Blocklists) { s.PushRules.TypeAttributes.NOT = []string{"ip-dst"} }, "empty_event"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, ev, bl := link(1, "https://b.example", orgA, orgB, false), event(orgA, dAll), Blocklists{}
			c.edit(srv, ev, &bl)
			res := a.Push(srv, ev, OnPublish, bl)
			if res.Allowed || res.Event != nil || res.BlockedBy().Rule != c.rule {
				t.Fatalf("want blocked by %s\n%s", c.rule, res.Decision)
			}
		})
	}
}

// MISP's blockedAttributeTags: attributes carrying a push_rules.tags.NOT tag are removed.
func TestPushBlockedAttributeTags(t *testing.T) {
	a := instance(orgA, "https://a.example")
	srv := link(1, "https://b.example", orgA, orgB, false)
	srv.PushRules.Tags.NOT = []string{"tlp:red"}
	ev := event(orgA, dAll)
	red := attribute("a0000000-0000-4000-8000-0000000000dd", misp.InheritEvent)
	red.Tag = []misp.Tag{{Name: "tlp:red"}}
	ev.Object = []misp.Object{object("0b000000-0000-4000-8000-0000000000dd", misp.InheritEvent, red)}
	res := a.Push(srv, ev, OnPublish, Blocklists{})
	if !res.Allowed || len(res.Event.Object) != 0 || len(res.Event.Attribute) != 1 {
		t.Fatalf("want the red attribute and its emptied object removed\n%s", res.Decision)
	}
}

func TestPushInternalFlagNeedsHostOrg(t *testing.T) {
	a := instance(orgA, "https://a.example")
	// Flag set, but the remote is run by OrgB: MISP forces the flag off; we ignore it.
	srv := link(1, "https://b.example", orgA, orgB, true)
	res := a.Push(srv, event(orgA, dCommunity), OnPublish, Blocklists{})
	if res.Allowed {
		t.Fatalf("community event pushed to a falsely internal server\n%s", res.Decision)
	}
	local := event(orgA, dAll)
	local.Tag = []misp.Tag{{Name: "local-only", Local: true}}
	if res := a.Push(srv, local, OnPublish, Blocklists{}); len(res.Event.Tag) != 0 {
		t.Fatal("local tag sent to a falsely internal server")
	}
	if res := a.Push(link(1, "https://b.example", orgA, orgA, true), local, OnPublish, Blocklists{}); len(res.Event.Tag) != 1 {
		t.Fatal("local tag not sent to an internal server")
	}
}

// PushCandidate, which sees only the event's own fields, never admits what Push refuses
// at event level, and never refuses what Push sends.
func TestPushCandidateAgreesWithPush(t *testing.T) {
	a := instance(orgA, "https://a.example")
	links := []*Server{link(1, "https://b.example", orgA, orgB, false), link(2, "https://a2.example", orgA, orgA, true)}
	links[0].PushRules, _ = ParseRules(PushRules, `{"tags":{"OR":[],"NOT":["tlp:red"]},"orgs":{"OR":[],"NOT":["OrgX"]}}`)
	groups := []*misp.SharingGroup{nil, group("sg-1", false, []misp.Org{orgA, orgB}), group("sg-2", true, []misp.Org{orgA})}
	n := 0
	for _, srv := range links {
		for _, owner := range []misp.Org{orgA, orgX} {
			for d := misp.OrgOnly; d <= misp.SharingGroupDist; d++ {
				for _, sg := range groups {
					for _, published := range []bool{true, false} {
						for _, tags := range [][]misp.Tag{nil, {{Name: "tlp:red"}}} {
							for _, trig := range []Trigger{OnPublish, Scheduled} {
								ev := event(owner, d)
								ev.SharingGroup, ev.Published, ev.Tag = sg, misp.Bool(published), tags
								meta := cloneEvent(ev)
								meta.Attribute, meta.Object = nil, nil
								cand := a.PushCandidate(srv, meta, trig, Blocklists{})
								full := a.Push(srv, ev, trig, Blocklists{})
								if full.Allowed && !cand.Allowed {
									t.Fatalf("Push sends what PushCandidate refuses:\n%s\n%s", cand, full.Decision)
								}
								if !cand.Allowed && cand.Reason() != full.Reason() {
									t.Fatalf("refusals differ: %q vs %q", cand.Reason(), full.Reason())
								}
								n++
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d combinations", n)
}

// PushOwned decides and prepares exactly as Push does.
func TestPushOwnedMatchesPush(t *testing.T) {
	a := instance(orgA, "https://a.example")
	for _, srv := range []*Server{link(1, "https://b.example", orgA, orgB, false), link(2, "https://a2.example", orgA, orgA, true)} {
		for d := dOrg; d <= misp.SharingGroupDist; d++ {
			ev := event(orgA, d)
			ev.Object = []misp.Object{object("0b000000-0000-4000-8000-000000000001", dConnected, attribute("a0000000-0000-4000-8000-000000000001", misp.InheritEvent))}
			want := a.Push(srv, ev, OnPublish, Blocklists{})
			got := a.PushOwned(srv, cloneEvent(ev), OnPublish, Blocklists{})
			if want.Allowed != got.Allowed || want.Reason() != got.Reason() || !reflect.DeepEqual(want.Event, got.Event) {
				t.Errorf("%s to %s: Push and PushOwned differ", d, srv.Name)
			}
		}
	}
}
