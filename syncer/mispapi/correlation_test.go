package mispapi

import (
	"context"
	"slices"
	"strings"
	"testing"

	"mispdesk/store"
	"mispdesk/store/misp"
)

const (
	corrA = "c0000000-0000-4000-8000-00000000000a" // everyone here sees it
	corrB = "c0000000-0000-4000-8000-00000000000b" // the host organisation only (event)
	corrC = "c0000000-0000-4000-8000-00000000000c" // everyone, but the shared attribute is the host's only
	corrD = "c0000000-0000-4000-8000-00000000000d" // everyone
)

// corrFixture holds four events sharing one value (shared.example), tagged so that
// RelatedTags tells which were seen: each event's tags and its attribute's name the event.
func corrFixture(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	add := func(uuid string, dist, attrDist misp.Distribution, evTags, attrTags []misp.Tag) {
		ev := testEvent(uuid, dist, true, 1767312000)
		ev.Attribute[0].Value, ev.Attribute[0].Type, ev.Attribute[0].Distribution = "shared.example", "domain", attrDist
		ev.Tag, ev.Attribute[0].Tag = evTags, attrTags
		if _, err := e.st.UpsertEvent(context.Background(), ev, store.UpsertOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tags := func(names ...string) []misp.Tag {
		var out []misp.Tag
		for _, n := range names {
			_, local := strings.CutSuffix(n, "(local)")
			out = append(out, misp.Tag{Name: strings.TrimSuffix(n, "(local)"), Local: misp.Bool(local)})
		}
		return out
	}
	add(corrA, misp.CommunityOnly, misp.InheritEvent, tags("a:event"), tags("a:attribute"))
	add(corrB, misp.OrgOnly, misp.InheritEvent, tags("b:event"), tags("b:attribute"))
	add(corrC, misp.CommunityOnly, misp.OrgOnly, tags("c:event"), tags("c:attribute"))
	add(corrD, misp.CommunityOnly, misp.InheritEvent, tags("tlp:green", "d:local(local)"), tags("d:attribute"))
	return e
}

// relatedTagNames lists the names in the first attribute's RelatedTags, sorted.
func relatedTagNames(t *testing.T, ev map[string]any) []string {
	t.Helper()
	var out []string
	list, _ := ev["Attribute"].([]any)[0].(map[string]any)["RelatedTags"].([]any)
	for _, x := range list {
		tag := x.(map[string]any)
		wantKeys(t, tag, "id", "name", "colour", "numerical_value")
		out = append(out, tag["name"].(string))
	}
	slices.Sort(out)
	return out
}

// includeRelatedTags names the tags of the events and attributes an attribute correlates
// with, only those the viewer may see: a user of another organisation sees neither the
// host's organisation-only event B nor C's organisation-only attribute (so not C's event
// tags either), a sync account no local tag; excludeLocalTags leaves local ones out.
func TestCorrelationRelatedTagsByViewer(t *testing.T) {
	e := corrFixture(t)
	const view = "/events/view/" + corrA + "/includeRelatedTags:1"
	for _, c := range []struct {
		who, key, path string
		want           []string
	}{
		{"site admin", e.admin, view, []string{"b:attribute", "b:event", "c:attribute", "c:event", "d:attribute", "d:local", "tlp:green"}},
		{"user of another organisation", e.other, view, []string{"d:attribute", "d:local", "tlp:green"}},
		{"user of another organisation, excludeLocalTags", e.other, view + "/excludeLocalTags:1", []string{"d:attribute", "tlp:green"}},
		{"sync user", e.syncKey, view, []string{"d:attribute", "tlp:green"}},
	} {
		r := e.do("GET", c.path, c.key, nil)
		wantStatus(t, r, 200)
		ev := r.obj(t)["Event"].(map[string]any)
		if got := relatedTagNames(t, ev); !slices.Equal(got, c.want) {
			t.Errorf("%s: RelatedTags %v, want %v", c.who, got, c.want)
		}
		// includeRelatedTags implies includeGranularCorrelations, as in MISP
		if rel, _ := ev["Attribute"].([]any)[0].(map[string]any)["RelatedAttribute"].([]any); len(rel) == 0 {
			t.Errorf("%s: no RelatedAttribute with includeRelatedTags", c.who)
		}
	}
	r := e.do("POST", "/events/restSearch", e.other, map[string]any{"eventid": corrA, "includeRelatedTags": 1})
	wantStatus(t, r, 200)
	evs := r.obj(t)["response"].([]any)
	if got, want := relatedTagNames(t, evs[0].(map[string]any)["Event"].(map[string]any)), []string{"d:attribute", "d:local", "tlp:green"}; !slices.Equal(got, want) {
		t.Errorf("restSearch: RelatedTags %v, want %v", got, want)
	}
	for _, path := range []string{"/events/view/" + corrA + "/includeGranularCorrelations:1", "/events/view/" + corrA} {
		if r := e.do("GET", path, e.admin, nil); strings.Contains(string(r.body), "RelatedTags") {
			t.Errorf("%s: RelatedTags without includeRelatedTags", path)
		}
	}
}

func relatedUUIDs(t *testing.T, ev map[string]any) []string {
	t.Helper()
	var out []string
	list, _ := ev["RelatedEvent"].([]any)
	for _, r := range list {
		out = append(out, r.(map[string]any)["Event"].(map[string]any)["uuid"].(string))
	}
	slices.Sort(out)
	return out
}

// A viewer sees a related event only when it may see the event and the attribute that
// correlates: the gate's rule, over HTTP.
func TestCorrelationRelatedEventByViewer(t *testing.T) {
	e := corrFixture(t)
	for who, c := range map[string]struct {
		key  string
		want []string
	}{
		"site admin":                   {e.admin, []string{corrB, corrC, corrD}},
		"user of another organisation": {e.other, []string{corrD}},
		"sync user":                    {e.syncKey, []string{corrD}},
	} {
		r := e.do("GET", "/events/view/"+corrA+"/includeGranularCorrelations:1", c.key, nil)
		wantStatus(t, r, 200)
		ev := r.obj(t)["Event"].(map[string]any)
		if got := relatedUUIDs(t, ev); !slices.Equal(got, c.want) {
			t.Errorf("%s: RelatedEvent %v, want %v", who, got, c.want)
		}
		rel, _ := ev["Attribute"].([]any)[0].(map[string]any)["RelatedAttribute"].([]any)
		if len(rel) != len(c.want) {
			t.Errorf("%s: RelatedAttribute %v, want %d", who, rel, len(c.want))
		}
		var eventIDs []any
		for _, r := range ev["RelatedEvent"].([]any) {
			eventIDs = append(eventIDs, r.(map[string]any)["Event"].(map[string]any)["id"])
		}
		for _, x := range rel {
			wantKeys(t, x.(map[string]any), "id", "attribute_id", "value", "org_id", "info", "date")
			if id := x.(map[string]any)["id"]; !slices.Contains(eventIDs, id) { // MISP's id is the related event's
				t.Errorf("%s: RelatedAttribute id %v is none of the related events %v", who, id, eventIDs)
			}
		}
		if who != "site admin" && (strings.Contains(string(r.body), corrB) || strings.Contains(string(r.body), corrC)) {
			t.Errorf("%s: the answer names an event it may not see", who)
		}
	}
	// A puller asks without correlations, as MISP's pull does.
	r := e.do("GET", "/events/view/"+corrA+"/includeEventCorrelations:0", e.syncKey, nil)
	if _, ok := r.obj(t)["Event"].(map[string]any)["RelatedEvent"]; ok {
		t.Fatal("RelatedEvent with includeEventCorrelations:0")
	}
	// Without includeGranularCorrelations, no RelatedAttribute (MISP's REST default).
	r = e.do("GET", "/events/view/"+corrA, e.admin, nil)
	if strings.Contains(string(r.body), "RelatedAttribute") {
		t.Fatal("RelatedAttribute without includeGranularCorrelations")
	}
}

func TestCorrelationRestSearch(t *testing.T) {
	e := corrFixture(t)
	r := e.do("POST", "/attributes/restSearch", e.other, map[string]any{"eventid": corrA, "includeCorrelations": 1})
	wantStatus(t, r, 200)
	attrs := r.obj(t)["response"].(map[string]any)["Attribute"].([]any)
	rel := attrs[0].(map[string]any)["RelatedAttribute"].([]any)
	if len(rel) != 1 || rel[0].(map[string]any)["Event"].(map[string]any)["uuid"] != corrD {
		t.Fatalf("RelatedAttribute %v, want event D only", rel)
	}
	r = e.do("POST", "/events/restSearch", e.other, map[string]any{"eventid": corrA, "includeEventCorrelations": 1})
	evs := r.obj(t)["response"].([]any)
	if got := relatedUUIDs(t, evs[0].(map[string]any)["Event"].(map[string]any)); !slices.Equal(got, []string{corrD}) {
		t.Fatalf("events/restSearch RelatedEvent %v", got)
	}
	r = e.do("POST", "/events/restSearch", e.admin, map[string]any{"eventid": corrA})
	if strings.Contains(string(r.body), "RelatedEvent") {
		t.Fatal("RelatedEvent on restSearch without asking")
	}
}

func TestCorrelationExclusionEndpoints(t *testing.T) {
	e := corrFixture(t)
	r := e.do("POST", "/correlation_exclusions/add", e.other, map[string]any{"value": "shared.example"})
	wantStatus(t, r, 403)
	r = e.do("POST", "/correlationExclusions/add", e.admin, map[string]any{"value": "shared.example", "comment": "noise"})
	wantStatus(t, r, 200)
	id := r.obj(t)["CorrelationExclusion"].(map[string]any)["id"].(string)
	r = e.do("POST", "/correlation_exclusions/add", e.admin, map[string]any{"CorrelationExclusion": map[string]any{"value": "shared.example"}})
	if r.status == 200 || !strings.Contains(string(r.body), "Value is already in the exclusion list.") {
		t.Fatalf("duplicate: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/correlation_exclusions/index", e.admin, nil)
	if list := r.json(t).([]any); len(list) != 1 {
		t.Fatalf("index: %s", r.body)
	}
	r = e.do("GET", "/events/view/"+corrA, e.admin, nil)
	if got := relatedUUIDs(t, r.obj(t)["Event"].(map[string]any)); len(got) != 0 {
		t.Fatalf("excluded value still relates: %v", got)
	}
	wantStatus(t, e.do("POST", "/correlation_exclusions/clean", e.admin, nil), 200)
	wantStatus(t, e.do("GET", "/correlation_exclusions/view/"+id, e.admin, nil), 200)
	wantStatus(t, e.do("POST", "/correlation_exclusions/delete/"+id, e.admin, nil), 200)
	wantStatus(t, e.do("GET", "/correlation_exclusions/view/"+id, e.admin, nil), 404)
	// Deleting the entry correlates the value again, though clean had removed its rows.
	r = e.do("GET", "/events/view/"+corrA, e.admin, nil)
	if got := relatedUUIDs(t, r.obj(t)["Event"].(map[string]any)); len(got) != 3 {
		t.Fatalf("after the exclusion went: %v", got)
	}
}

func TestCorrelationSettingsOverREST(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/servers/serverSettingsEdit/MISP.enable_advanced_correlations", e.admin, map[string]any{"value": true})
	wantStatus(t, r, 200)
	r = e.do("POST", "/servers/serverSettingsEdit/MISP.max_correlations_per_event", e.admin, map[string]any{"value": "abc"})
	if r.status == 200 {
		t.Fatalf("a non-number was taken: %s", r.body)
	}
	r = e.do("GET", "/servers/serverSettingsEdit/MISP.enable_advanced_correlations", e.admin, nil)
	if v := r.obj(t)["MISP.enable_advanced_correlations"]; v != true {
		t.Fatalf("setting reads %v", v)
	}
	wantStatus(t, e.do("POST", "/servers/serverSettingsEdit/MISP.enable_advanced_correlations", e.other, map[string]any{"value": false}), 403)
}
