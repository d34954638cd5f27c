package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/store/misp"
)

// Visible and CanSee against an oracle written out here from MISP's rules, without Reach,
// CanSee or any other helper of policy: every element of an event carries a token (its
// UUID, a tag's name, the creator's address), the oracle says for each viewer which tokens
// MISP would give, and the event Visible returns, encoded as MISP JSON, must hold exactly
// those — nothing the viewer may not see, nothing it may see left out.

// hereURL is the address of the instance of these tests, hosted by orgA.
const hereURL = "https://here.example"

// visShare is a distribution, with its sharing group when it is 4.
type visShare struct {
	name string
	dist misp.Distribution
	sg   *misp.SharingGroup
}

var (
	// sgAB lists orgA and orgB.
	sgAB = group("ab1", false, []misp.Org{orgA, orgB})
	// sgHereAll lists orgA, and this instance with "all orgs": every organisation here.
	sgHereAll = group("here2", false, []misp.Org{orgA}, misp.SharingGroupServer{ServerID: 0, AllOrgs: true})
	// sgAC lists orgA and orgC, and this instance without "all orgs".
	sgAC = group("ac3", false, []misp.Org{orgA, orgC}, misp.SharingGroupServer{ServerID: 0})
	// sgFarAll gives "all orgs" to another instance only.
	sgFarAll = group("far4", false, []misp.Org{orgA}, sgServer(9, "https://elsewhere.example", true))
	// sgHereByURL names this instance by its address, with "all orgs".
	sgHereByURL = group("url5", false, []misp.Org{orgC}, sgServer(7, hereURL+"/", true))
)

var (
	visEventShares = []visShare{
		{"org only", misp.OrgOnly, nil}, {"community", misp.CommunityOnly, nil}, {"all", misp.AllCommunities, nil},
		{"sg ab", misp.SharingGroupDist, sgAB}, {"sg here-all", misp.SharingGroupDist, sgHereAll},
		{"sg ac", misp.SharingGroupDist, sgAC}, {"sg far-all", misp.SharingGroupDist, sgFarAll},
		{"sg without group", misp.SharingGroupDist, nil},
	}
	visChildShares = []visShare{
		{"org only", misp.OrgOnly, nil}, {"community", misp.CommunityOnly, nil}, {"connected", misp.ConnectedCommunity, nil},
		{"all", misp.AllCommunities, nil}, {"inherit", misp.InheritEvent, nil},
		{"sg ab", misp.SharingGroupDist, sgAB}, {"sg here-all", misp.SharingGroupDist, sgHereAll},
		{"sg ac", misp.SharingGroupDist, sgAC}, {"sg far-all", misp.SharingGroupDist, sgFarAll},
		{"sg here-by-url", misp.SharingGroupDist, sgHereByURL}, {"sg without group", misp.SharingGroupDist, nil},
		{"unknown 9", misp.Distribution(9), nil},
	}
	visViewers = []struct {
		name string
		v    *Viewer
	}{
		{"owner orgA", viewerOf(orgA)},
		{"auditor of orgA", &Viewer{OrgID: int64(orgA.ID), OrgUUID: orgA.UUID, Audit: true}},
		{"auditor of orgB", &Viewer{OrgID: int64(orgB.ID), OrgUUID: orgB.UUID, Audit: true}},
		{"member orgB", viewerOf(orgB)},
		{"orgC", viewerOf(orgC)},
		{"orgX", viewerOf(orgX)},
		{"sync orgB", syncUserOf(orgB)},
		{"sync orgX", syncUserOf(orgX)},
		{"site admin of orgX", &Viewer{OrgID: int64(orgX.ID), OrgUUID: orgX.UUID, SiteAdmin: true}},
	}
)

// visPasses is MISP's rule for one level of an element's path: 1–3 everyone on this
// instance, 5 whatever its parent allows, 4 the group's member organisations and, when the
// group lists this instance with "all orgs", every organisation here; 0 and anything else
// only the owner (who never gets here).
func visPasses(v *Viewer, s visShare) bool {
	switch s.dist {
	case misp.CommunityOnly, misp.ConnectedCommunity, misp.AllCommunities, misp.InheritEvent:
		return true
	case misp.SharingGroupDist:
		if s.sg == nil {
			return false
		}
		for _, m := range s.sg.SharingGroupOrg {
			if m.Organisation != nil && m.Organisation.UUID == v.OrgUUID {
				return true
			}
		}
		for _, e := range s.sg.SharingGroupServer {
			url := ""
			if e.Server != nil {
				url = strings.TrimSuffix(e.Server.URL, "/")
			}
			if bool(e.AllOrgs) && ((e.ServerID == 0 && url == "") || url == hereURL) {
				return true
			}
		}
	}
	return false
}

// visPath is whether every level of a path lets the viewer through.
func visPath(v *Viewer, path ...visShare) bool {
	for _, s := range path {
		if !visPasses(v, s) {
			return false
		}
	}
	return true
}

// visPrivileged is the event's owner organisation or a site admin, who see every element.
func visPrivileged(v *Viewer) bool { return v.SiteAdmin || v.OrgUUID == orgA.UUID }

// feedWide is whether data shared along path goes into a feed of narrowest distribution
// min: anyone who has a feed reads it, so every level must be one of 1–3 and at least
// min (5 takes its parent's), never a sharing group; a feed of 0 is the admin's export of
// everything.
func feedWide(min misp.Distribution, path ...visShare) bool {
	if min == misp.OrgOnly {
		return true
	}
	for _, s := range path {
		if s.dist != misp.InheritEvent && (s.dist < min || s.dist > misp.AllCommunities) {
			return false
		}
	}
	return true
}

// visRule says who is given a token: view, a viewer of the event (Visible; the event's own
// visibility is judged apart); feed, a feed of a narrowest distribution (FeedPayload; the
// event's own distribution judged apart), nil for what FeedPayload leaves to its caller
// (sightings, proposals, tags, the creator's address).
type visRule struct {
	view func(*Viewer) bool
	feed func(misp.Distribution) bool
}

var visAlways = visRule{view: func(*Viewer) bool { return true }, feed: func(misp.Distribution) bool { return true }}

// visPathRule is the rule of an element shared along path.
func visPathRule(path ...visShare) visRule {
	return visRule{
		view: func(v *Viewer) bool { return visPrivileged(v) || visPath(v, path...) },
		feed: func(m misp.Distribution) bool { return feedWide(m, path...) },
	}
}

// visViewOnly is a rule for what only Visible judges.
func visViewOnly(view func(*Viewer) bool) visRule { return visRule{view: view} }

// visNotInFeed is the rule of what a published feed never carries, sightings and
// proposals (PyMISP's feed generator writes neither), while its viewers get it; the
// admin's export of the whole instance (a feed of 0) keeps it with its element.
func visNotInFeed(view func(*Viewer) bool, elem visRule) visRule {
	return visRule{view: view, feed: func(m misp.Distribution) bool { return m == misp.OrgOnly && elem.feed(m) }}
}

// visDerived is the rule of this instance's own records nested in an element: its owner
// sees them, nobody else, and no feed.
func visDerived(elem visRule) visRule {
	return visRule{
		view: func(v *Viewer) bool { return elem.view(v) && visPrivileged(v) },
		feed: func(misp.Distribution) bool { return false },
	}
}

// visBuilder makes the event of one case, recording for every token who is given it.
type visBuilder struct {
	t     *testing.T
	n     int
	rules map[string]visRule
	whats map[string]string
	id    misp.Int
}

func (b *visBuilder) token(what string, rule visRule) string {
	b.n++
	tok := fmt.Sprintf("7e570000-0000-4000-8000-%012d", b.n)
	b.rules[tok], b.whats[tok] = rule, what
	return tok
}

func (b *visBuilder) raw(v any) jsontext.Value {
	out, err := json.Marshal(v)
	if err != nil {
		b.t.Fatal(err)
	}
	return out
}

func groupID(sg *misp.SharingGroup) misp.Int {
	if sg == nil {
		return 0
	}
	return misp.Int(sg.UUID[len(sg.UUID)-1] - '0')
}

// analyst gives an element (given as elem says) a note of org with share s, and under the
// note an opinion of orgB with share nested. Analyst data goes by its own distribution:
// its organisation always, and as for elements, except that MISP's rule for analyst data
// (AnalystData::buildConditions) names levels 1–3 and 4 only: an item with 5 is its own
// organisation's alone.
func (b *visBuilder) analyst(x *misp.Extra, where string, elem visRule, org misp.Org, s, nested visShare) {
	own := func(s visShare) visShare {
		if s.dist == misp.InheritEvent {
			return visShare{"org only", misp.OrgOnly, nil}
		}
		return s
	}
	note := visRule{
		view: func(v *Viewer) bool {
			return elem.view(v) && (v.SiteAdmin || v.OrgUUID == org.UUID || visPasses(v, own(s)))
		},
		feed: func(m misp.Distribution) bool { return elem.feed(m) && feedWide(m, own(s)) },
	}
	opinion := visRule{
		view: func(v *Viewer) bool {
			return note.view(v) && (v.SiteAdmin || v.OrgUUID == orgB.UUID || visPasses(v, own(nested)))
		},
		feed: func(m misp.Distribution) bool { return note.feed(m) && feedWide(m, own(nested)) },
	}
	data := misp.AnalystData{
		UUID:    b.token(fmt.Sprintf("note of %s (%s) on %s", org.Name, s.name, where), note),
		OrgUUID: org.UUID, OrgcUUID: org.UUID, Distribution: s.dist, SharingGroupID: groupID(s.sg), SharingGroup: s.sg,
	}
	data.Analyst.Opinion = []misp.AnalystData{{
		UUID:    b.token(fmt.Sprintf("opinion of orgB (%s) on that note", nested.name), opinion),
		OrgUUID: orgB.UUID, OrgcUUID: orgB.UUID, Distribution: nested.dist, SharingGroupID: groupID(nested.sg), SharingGroup: nested.sg,
	}}
	if err := misp.PutAnalystSet(x, misp.AnalystSet{Note: []misp.AnalystData{data}}); err != nil {
		b.t.Fatal(err)
	}
}

// galaxy is a library cluster and a custom cluster of org with share s on an element
// (given as elem says). A custom cluster goes by its own distribution, where 5 means
// nothing (a cluster has no element to inherit from): only its organisation, and no feed
// but the whole export. A cluster's distribution is read from JSON, where an unknown level
// does not decode, so s is a valid one.
func (b *visBuilder) galaxy(where string, elem visRule, org misp.Org, s visShare) []misp.Galaxy {
	if !s.dist.Valid() {
		s = visChildShares[0]
	}
	custom := misp.GalaxyCluster{
		UUID: b.token(fmt.Sprintf("custom cluster of %s (%s) on %s", org.Name, s.name, where), visRule{
			view: func(v *Viewer) bool {
				return elem.view(v) && (v.SiteAdmin || v.OrgUUID == org.UUID || (s.dist != misp.InheritEvent && visPasses(v, s)))
			},
			feed: func(m misp.Distribution) bool {
				return elem.feed(m) && (m == misp.OrgOnly || (s.dist != misp.InheritEvent && feedWide(m, s)))
			},
		}),
		Type: "threat-actor", Value: "custom actor", TagName: "misp-galaxy:threat-actor=\"custom\"",
		Extra: misp.Extra{"default": b.raw(false), "distribution": b.raw(fmt.Sprint(int(s.dist))),
			"orgc_uuid": b.raw(org.UUID), "org_uuid": b.raw(org.UUID)},
	}
	if s.sg != nil {
		custom.Extra["SharingGroup"] = b.raw(s.sg)
	}
	library := misp.GalaxyCluster{
		UUID: b.token("library cluster on "+where, elem),
		Type: "threat-actor", Value: "library actor", TagName: "misp-galaxy:threat-actor=\"library\"",
	}
	return []misp.Galaxy{{UUID: "698774c7-8022-42c4-917f-8d6e4f06ada3", Name: "Threat Actor", Type: "threat-actor", Version: "3",
		GalaxyCluster: []misp.GalaxyCluster{library, custom}}}
}

// attribute is an attribute shared along path with every kind of child: sightings and
// proposals of orgA and orgB, a local and a global tag, a note with a nested opinion,
// clusters, and a nested record of this instance's own (RelatedAttribute).
func (b *visBuilder) attribute(where string, i int, path ...visShare) (misp.Attribute, visRule) {
	s := path[len(path)-1]
	seen := visPathRule(path...)
	b.id++
	a := misp.Attribute{
		ID: b.id, UUID: b.token(fmt.Sprintf("attribute (%s) %s", s.name, where), seen),
		Type: "ip-dst", Category: "Network activity", Value: "198.51.100.7", Timestamp: 100,
		Distribution: s.dist, SharingGroupID: groupID(s.sg), SharingGroup: s.sg,
	}
	where = fmt.Sprintf("attribute (%s) %s", s.name, where)
	for _, o := range []misp.Org{orgA, orgB} {
		by := visNotInFeed(func(v *Viewer) bool { return seen.view(v) && (visPrivileged(v) || v.OrgUUID == o.UUID) }, seen)
		a.Sighting = append(a.Sighting, misp.Sighting{UUID: b.token("sighting of "+o.Name+" on "+where, by),
			OrgID: o.ID, Organisation: orgPtr(o), DateSighting: 100, Source: "test"})
		// Proposals go with their attribute, whoever made them (MISP's fetchEvent).
		a.ShadowAttribute = append(a.ShadowAttribute, misp.ShadowAttribute{UUID: b.token("proposal of "+o.Name+" on "+where, visNotInFeed(seen.view, seen)),
			OldID: a.ID, OrgID: o.ID, Org: orgPtr(o), Type: "ip-dst", Category: "Network activity", Value: "198.51.100.8"})
	}
	a.Tag = []misp.Tag{
		{Name: b.token("local tag on "+where, visViewOnly(func(v *Viewer) bool { return seen.view(v) && (!v.PermSync || v.SiteAdmin) })), Local: true},
		{Name: b.token("non-exportable tag on "+where, visViewOnly(func(v *Viewer) bool { return seen.view(v) && (!v.PermSync || v.SiteAdmin) })),
			Exportable: misp.OptBool{Set: true, Value: false}},
		{Name: b.token("global tag on "+where, visViewOnly(seen.view))},
	}
	n := len(visChildShares)
	b.analyst(&a.Extra, where, seen, []misp.Org{orgA, orgC}[i%2], visChildShares[i%n], visChildShares[(i+5)%n])
	a.Extra["RelatedAttribute"] = b.raw([]map[string]string{{"uuid": b.token("derived related attribute on "+where, visDerived(seen))}})
	a.Galaxy = b.galaxy(where, seen, []misp.Org{orgA, orgC}[(i/2)%2], visChildShares[(i+3)%n])
	return a, seen
}

// visObject is the rule of an object shared along path holding attributes with the rules
// attrs: it goes with at least one of them.
func visObject(attrs []visRule, path ...visShare) visRule {
	own := visPathRule(path...)
	return visRule{
		view: func(v *Viewer) bool {
			return own.view(v) && slices.ContainsFunc(attrs, func(r visRule) bool { return r.view(v) })
		},
		feed: func(m misp.Distribution) bool {
			return own.feed(m) && slices.ContainsFunc(attrs, func(r visRule) bool { return r.feed(m) })
		},
	}
}

// visEvent is an event of orgA with share es and children of every share: attributes,
// objects holding attributes of every share, a hollow object (nothing in it any other
// organisation may see), references, reports, proposals at event level, tags, notes,
// clusters, and the creator's address.
func visEvent(t *testing.T, es visShare, published bool) (*misp.Event, *visBuilder) {
	b := &visBuilder{t: t, rules: map[string]visRule{}, whats: map[string]string{}}
	n := len(visChildShares)
	ev := &misp.Event{
		UUID: b.token("the event", visAlways), Info: "visibility matrix", Published: misp.Bool(published), Timestamp: 100,
		Distribution: es.dist, SharingGroupID: groupID(es.sg), SharingGroup: es.sg,
		OrgID: orgA.ID, OrgcID: orgA.ID, Org: orgPtr(orgA), Orgc: orgPtr(orgA),
	}
	// MISP shows the creator's address to site admins and to auditors of the creator
	// organisation only (not to its other users).
	ev.EventCreatorEmail = b.token("creator's address", visViewOnly(func(v *Viewer) bool {
		return v.SiteAdmin || (v.Audit && v.OrgUUID == orgA.UUID)
	})) + "@example.org"
	ev.Tag = []misp.Tag{
		{Name: b.token("local event tag", visViewOnly(func(v *Viewer) bool { return !v.PermSync || v.SiteAdmin })), Local: true},
		{Name: b.token("non-exportable event tag", visViewOnly(func(v *Viewer) bool { return !v.PermSync || v.SiteAdmin })),
			Exportable: misp.OptBool{Set: true, Value: false}},
		{Name: b.token("global event tag", visViewOnly(visAlways.view))},
	}
	ev.Galaxy = b.galaxy("the event", visAlways, orgC, visChildShares[n-4])
	b.analyst(&ev.Extra, "the event", visAlways, orgC, visShare{"org only", misp.OrgOnly, nil}, visShare{"all", misp.AllCommunities, nil})
	ev.Extra["Feed"] = b.raw([]map[string]string{{"uuid": b.token("feed hit (derived)", visDerived(visAlways))}})

	top := make([]visRule, n)
	for i, s := range visChildShares {
		a, seen := b.attribute("in the event", i, es, s)
		ev.Attribute = append(ev.Attribute, a)
		top[i] = seen
		// Proposals at event level: of orgB, about this attribute.
		ev.ShadowAttribute = append(ev.ShadowAttribute, misp.ShadowAttribute{
			UUID:  b.token(fmt.Sprintf("event-level proposal of orgB about the attribute (%s)", s.name), visNotInFeed(seen.view, seen)),
			OldID: a.ID, OrgID: orgB.ID, Org: orgPtr(orgB), Type: "ip-dst", Category: "Network activity", Value: "198.51.100.9"})
	}
	ev.ShadowAttribute = append(ev.ShadowAttribute, misp.ShadowAttribute{
		UUID:  b.token("new attribute proposed by orgC", visNotInFeed(visAlways.view, visAlways)),
		OrgID: orgC.ID, Org: orgPtr(orgC), Type: "domain", Category: "Network activity", Value: "proposed.example"})

	for i, os := range visChildShares {
		where := fmt.Sprintf("in object (%s)", os.name)
		o := misp.Object{Name: "domain-ip", TemplateUUID: "43b3b146-77eb-4931-b4cc-b66c60f28734", Timestamp: 100,
			Distribution: os.dist, SharingGroupID: groupID(os.sg), SharingGroup: os.sg}
		// Four attributes, every share once over the objects.
		var attrs []visRule
		for j, s := range []visShare{visChildShares[1], visChildShares[i], visChildShares[(i+4)%n], visChildShares[(i+8)%n]} {
			a, r := b.attribute(where, i+j, es, os, s)
			o.Attribute = append(o.Attribute, a)
			attrs = append(attrs, r)
		}
		obj := visObject(attrs, es, os)
		o.UUID = b.token(fmt.Sprintf("object (%s)", os.name), obj)
		target := top[i]
		o.ObjectReference = []misp.ObjectReference{{
			UUID: b.token(fmt.Sprintf("reference from object (%s) to the attribute (%s)", os.name, visChildShares[i].name), visRule{
				view: func(v *Viewer) bool { return obj.view(v) && target.view(v) },
				feed: func(m misp.Distribution) bool { return obj.feed(m) && target.feed(m) },
			}),
			ReferencedUUID: ev.Attribute[i].UUID, RelationshipType: "related-to", Timestamp: 100,
		}}
		b.analyst(&o.Extra, where, obj, orgC, visChildShares[(i+1)%n], visChildShares[(i+7)%n])
		ev.Object = append(ev.Object, o)
	}
	// The hollow object: community-wide, but nothing in it anyone but its owner may see.
	all := visShare{"all", misp.AllCommunities, nil}
	hollow := misp.Object{Name: "domain-ip", TemplateUUID: "43b3b146-77eb-4931-b4cc-b66c60f28734", Timestamp: 100, Distribution: all.dist}
	var hollowAttrs []visRule
	for _, s := range []visShare{visChildShares[0], visChildShares[n-2]} {
		a, r := b.attribute("in the hollow object", 0, es, all, s)
		hollow.Attribute = append(hollow.Attribute, a)
		hollowAttrs = append(hollowAttrs, r)
	}
	hollow.UUID = b.token("hollow object", visObject(hollowAttrs, es, all))
	ev.Object = append(ev.Object, hollow)

	for i, s := range visChildShares {
		seen := visPathRule(es, s)
		r := misp.EventReport{UUID: b.token(fmt.Sprintf("report (%s)", s.name), seen), Name: "report", Content: "text", Timestamp: 100,
			Distribution: s.dist, SharingGroupID: groupID(s.sg), SharingGroup: s.sg}
		b.analyst(&r.Extra, fmt.Sprintf("report (%s)", s.name), seen, orgA, visChildShares[(i+2)%n], visChildShares[(i+9)%n])
		ev.EventReport = append(ev.EventReport, r)
	}
	return ev, b
}

// visToken finds the tokens in an encoded event.
var visToken = regexp.MustCompile(`7e570000-0000-4000-8000-[0-9]{12}`)

// visGiven is the set of tokens an event, encoded as MISP JSON, holds.
func visGiven(t *testing.T, ev *misp.Event) map[string]bool {
	given := map[string]bool{}
	for _, tok := range visToken.FindAllString(mustEncode(t, ev), -1) {
		given[tok] = true
	}
	return given
}

func TestVisibleMatchesOracleForEveryChildKind(t *testing.T) {
	if testing.Short() {
		t.Skip("every share of every child kind: the non-race pass of make test runs it")
	}
	inst := instance(orgA, hereURL)
	checked := 0
	for _, es := range visEventShares {
		for _, published := range []bool{true, false} {
			ev, b := visEvent(t, es, published)
			before := mustEncode(t, ev)
			for _, vw := range visViewers {
				name := fmt.Sprintf("event (%s, published %v) for %s", es.name, published, vw.name)
				wantEvent := visPrivileged(vw.v) || ((published || !vw.v.PermSync) && visPasses(vw.v, es))
				out, d := inst.Visible(vw.v, ev)
				if d.Allowed != wantEvent || (out != nil) != wantEvent {
					t.Errorf("%s: allowed %v (event returned: %v), the oracle says %v\n%s", name, d.Allowed, out != nil, wantEvent, d)
					continue
				}
				if out == nil {
					continue
				}
				given := visGiven(t, out)
				for tok, rule := range b.rules {
					if want := rule.view(vw.v); given[tok] != want {
						t.Errorf("%s: %s: given %v, the oracle says %v", name, b.whats[tok], given[tok], want)
					}
					checked++
				}
			}
			if mustEncode(t, ev) != before {
				t.Fatalf("event (%s, published %v): Visible changed the event it was given", es.name, published)
			}
		}
	}
	t.Logf("%d tokens checked", checked)
}

// TestCanSeeAlongPaths checks the reach of elements two and three levels deep (an
// attribute, an object, an attribute in an object), as the gate builds it for a write
// that targets an element: every level must let the viewer through.
func TestCanSeeAlongPaths(t *testing.T) {
	inst := instance(orgA, hereURL)
	for _, es := range visEventShares {
		ev := event(orgA, es.dist)
		ev.SharingGroup = es.sg
		for _, vw := range visViewers {
			if got, want := inst.CanSeeEvent(vw.v, ev).Allowed, visPrivileged(vw.v) || visPasses(vw.v, es); got != want {
				t.Errorf("event (%s) for %s: CanSeeEvent %v, the oracle says %v", es.name, vw.name, got, want)
			}
			for _, os := range visChildShares {
				r := EventReach(ev).Child(os.dist, os.sg)
				if got, want := inst.CanSee(vw.v, ev, r), visPrivileged(vw.v) || visPath(vw.v, es, os); got != want {
					t.Errorf("(%s) under event (%s) for %s: CanSee %v, the oracle says %v", os.name, es.name, vw.name, got, want)
				}
				for _, as := range visChildShares {
					if got, want := inst.CanSee(vw.v, ev, r.Child(as.dist, as.sg)), visPrivileged(vw.v) || visPath(vw.v, es, os, as); got != want {
						t.Errorf("(%s) in (%s) under event (%s) for %s: CanSee %v, the oracle says %v", as.name, os.name, es.name, vw.name, got, want)
					}
				}
			}
		}
	}
}

// TestFeedPayloadMatchesOracle checks what a feed of each narrowest distribution carries of
// events of every share: elements by their reach, analyst data and custom clusters by
// their own distributions, nothing shared with a sharing group, no derived records.
func TestFeedPayloadMatchesOracle(t *testing.T) {
	checked := 0
	for _, es := range visEventShares {
		for min := misp.OrgOnly; min <= misp.AllCommunities; min++ {
			ev, b := visEvent(t, es, true)
			name := fmt.Sprintf("event (%s) in a feed of '%s'", es.name, min)
			want := feedWide(min, es)
			out, d := FeedPayload(ev, min)
			if d.Allowed != want || (out != nil) != want {
				t.Errorf("%s: allowed %v (event returned: %v), the oracle says %v\n%s", name, d.Allowed, out != nil, want, d)
				continue
			}
			if out == nil {
				continue
			}
			given := visGiven(t, out)
			for tok, rule := range b.rules {
				if rule.feed == nil {
					continue
				}
				if want := rule.feed(min); given[tok] != want {
					t.Errorf("%s: %s: carried %v, the oracle says %v", name, b.whats[tok], given[tok], want)
				}
				checked++
			}
		}
	}
	t.Logf("%d tokens checked", checked)
}
