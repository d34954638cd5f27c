package mispapi

import (
	"context"
	"strings"
	"testing"
	"unicode"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// The leaks an audit found, one regression test each, over HTTP against a real instance.
// The event is the host organisation's, shared with the community (so every organisation
// here sees it), and hangs things off it that only the host organisation may see.

const (
	gateEvent      = "6b1f0e4c-4c1e-4a59-9c57-1e5c0a2d7f01"
	gatePublicAttr = "6b1f0e4c-4c1e-4a59-9c57-1e5c0a2d7f02"
	gateHiddenAttr = "6b1f0e4c-4c1e-4a59-9c57-1e5c0a2d7f03"
	gateHiddenVal  = "203.0.113.66"
	gateOrgNote    = "6b1f0e4c-4c1e-4a59-9c57-1e5c0a2d7f04"
	gatePublicNote = "6b1f0e4c-4c1e-4a59-9c57-1e5c0a2d7f05"
	gateOrgOpinion = "6b1f0e4c-4c1e-4a59-9c57-1e5c0a2d7f06"
	gateNoteOnNote = "6b1f0e4c-4c1e-4a59-9c57-1e5c0a2d7f07"
	gateOrgCluster = "6b1f0e4c-4c1e-4a59-9c57-1e5c0a2d7f08"
	gateLibCluster = "6b1f0e4c-4c1e-4a59-9c57-1e5c0a2d7f09"
)

func gateFixture(t testing.TB) *env {
	t.Helper()
	e := newEnv(t)
	host := e.hostOrg.UUID
	body := `{"Event":{"uuid":"` + gateEvent + `","info":"gate","date":"2026-01-02","distribution":"1","published":true,
	  "timestamp":"1767312000","threat_level_id":"2","analysis":"1",
	  "Orgc":{"name":"HOSTORG","uuid":"` + host + `"},
	  "Note":[
	    {"uuid":"` + gateOrgNote + `","object_uuid":"` + gateEvent + `","object_type":"Event","note":"internal only",
	     "orgc_uuid":"` + host + `","org_uuid":"` + host + `","distribution":"0"},
	    {"uuid":"` + gatePublicNote + `","object_uuid":"` + gateEvent + `","object_type":"Event","note":"for all",
	     "orgc_uuid":"` + host + `","org_uuid":"` + host + `","distribution":"1",
	     "Note":[{"uuid":"` + gateNoteOnNote + `","object_uuid":"` + gatePublicNote + `","object_type":"Note","note":"nested secret",
	       "orgc_uuid":"` + host + `","org_uuid":"` + host + `","distribution":"0"}]}],
	  "Galaxy":[{"uuid":"698774c7-8022-42c4-917f-8d6e4f06ada3","name":"Threat Actor","type":"threat-actor","description":"actors","version":"3",
	    "GalaxyCluster":[
	      {"uuid":"` + gateOrgCluster + `","type":"threat-actor","value":"Internal Actor","tag_name":"misp-galaxy:threat-actor=\"` + gateOrgCluster + `\"",
	       "description":"ours","version":"1","default":false,"distribution":"0","Orgc":{"name":"HOSTORG","uuid":"` + host + `"}},
	      {"uuid":"` + gateLibCluster + `","type":"threat-actor","value":"APT Library","tag_name":"misp-galaxy:threat-actor=\"APT Library\"",
	       "description":"from the library","version":"1"}]}],
	  "Attribute":[
	    {"uuid":"` + gatePublicAttr + `","type":"domain","category":"Network activity","value":"public.example","distribution":"5","timestamp":"1767312000",
	     "Opinion":[{"uuid":"` + gateOrgOpinion + `","object_uuid":"` + gatePublicAttr + `","object_type":"Attribute","opinion":"10",
	       "orgc_uuid":"` + host + `","org_uuid":"` + host + `","distribution":"0"}]},
	    {"uuid":"` + gateHiddenAttr + `","type":"ip-dst","category":"Network activity","value":"` + gateHiddenVal + `","distribution":"0","timestamp":"1767312000"}]}}`
	ev, err := misp.ParseEvent([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.UpsertEvent(context.Background(), ev, store.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	return e
}

// viewers who may see the event but nothing the host organisation kept to itself.
func (e *env) outsiders() map[string]string {
	return map[string]string{"user of another organisation": e.other, "sync user": e.syncKey}
}

func TestGateEventViewTrimsEveryChildKind(t *testing.T) {
	e := gateFixture(t)
	secrets := []string{gateOrgNote, gateNoteOnNote, gateOrgOpinion, gateOrgCluster, "Internal Actor", gateHiddenAttr, gateHiddenVal}
	for who, key := range e.outsiders() {
		for _, path := range []string{"/events/view/" + gateEvent, "/events/restSearch"} {
			var r resp
			if path == "/events/restSearch" {
				r = e.do("POST", path, key, map[string]any{"eventid": gateEvent})
			} else {
				r = e.do("GET", path, key, nil)
			}
			wantStatus(t, r, 200)
			body := string(r.body)
			for _, s := range secrets {
				if strings.Contains(body, s) {
					t.Errorf("%s: %s shows %s", who, path, s)
				}
			}
			// what the viewer may see is still there: the gate trims, it does not hide the event
			for _, s := range []string{gatePublicNote, gatePublicAttr, "APT Library"} {
				if !strings.Contains(body, s) {
					t.Errorf("%s: %s lost %s", who, path, s)
				}
			}
		}
	}
	r := e.do("GET", "/events/view/"+gateEvent, e.sameOrgUser, nil)
	wantStatus(t, r, 200)
	for _, s := range secrets {
		if !strings.Contains(string(r.body), s) {
			t.Errorf("the owner organisation does not see %s", s)
		}
	}
}

func TestGateAttributeReadsTrimAnalystData(t *testing.T) {
	e := gateFixture(t)
	r := e.do("POST", "/attributes/restSearch", e.other, map[string]any{"eventid": gateEvent})
	wantStatus(t, r, 200)
	if s := string(r.body); strings.Contains(s, gateOrgOpinion) || strings.Contains(s, gateHiddenVal) || !strings.Contains(s, "public.example") {
		t.Errorf("attributes/restSearch: %s", s)
	}
	r = e.do("GET", "/attributes/view/"+gatePublicAttr, e.other, nil)
	wantStatus(t, r, 200)
	if strings.Contains(string(r.body), gateOrgOpinion) {
		t.Errorf("attributes/view shows an org-only opinion: %s", r.body)
	}
	wantStatus(t, e.do("GET", "/attributes/view/"+gateHiddenAttr, e.other, nil), 404)
}

func TestGateStandaloneAnalystData(t *testing.T) {
	e := gateFixture(t)
	// the host organisation notes, community-wide, the attribute only it may see, and keeps
	// a sharing-group note on the public one to a group without the other organisation
	add := func(path string, body map[string]any) string {
		t.Helper()
		r := e.do("POST", path, e.admin, body)
		wantStatus(t, r, 200)
		return get[string](t, r.obj(t), "Note", "uuid")
	}
	onHidden := add("/analyst_data/add/Note/"+gateHiddenAttr+"/Attribute", map[string]any{"note": "about the hidden one", "distribution": 1})
	r := e.do("POST", "/sharing_groups/add", e.admin, map[string]any{"SharingGroup": map[string]any{"name": "hosts only", "releasability": "hosts"}})
	wantStatus(t, r, 200)
	sgID := get[string](t, r.obj(t), "SharingGroup", "id")
	inGroup := add("/analyst_data/add/Note/"+gatePublicAttr+"/Attribute", map[string]any{"note": "group only", "distribution": 4, "sharing_group_id": sgID})
	for who, key := range e.outsiders() {
		for _, path := range []string{"/analyst_data/index/Note", "/analystData/index/Note"} {
			r := e.do("GET", path, key, nil)
			if r.status == 404 && strings.HasPrefix(path, "/analystData") {
				continue // the camel-case spelling is another change's
			}
			wantStatus(t, r, 200)
			if s := string(r.body); strings.Contains(s, onHidden) || strings.Contains(s, inGroup) || strings.Contains(s, gateHiddenAttr) {
				t.Errorf("%s: %s shows what it may not see: %s", who, path, s)
			}
		}
		for _, ref := range []string{onHidden, inGroup} {
			wantStatus(t, e.do("GET", "/analyst_data/view/Note/"+ref, key, nil), 404)
		}
		// nor may it attach its own note to the hidden attribute, which would confirm it
		r := e.do("POST", "/analyst_data/add/Note/"+gateHiddenAttr+"/Attribute", key, map[string]any{"note": "probe", "distribution": 1})
		wantStatus(t, r, 404)
	}
	r = e.do("GET", "/analyst_data/view/Note/"+inGroup, e.sameOrgUser, nil)
	wantStatus(t, r, 200)
}

func TestGateProposalsIndex(t *testing.T) {
	e := gateFixture(t)
	r := e.do("POST", "/shadow_attributes/add/"+gateHiddenAttr, e.sameOrgUser, map[string]any{"ShadowAttribute": map[string]any{"value": "203.0.113.67", "comment": "secret change"}})
	wantStatus(t, r, 200)
	for who, key := range e.outsiders() {
		r := e.do("GET", "/shadow_attributes/index", key, nil)
		wantStatus(t, r, 200)
		if s := string(r.body); strings.Contains(s, "203.0.113.67") || strings.Contains(s, "secret change") || strings.Contains(s, gateHiddenAttr) {
			t.Errorf("%s: a proposal on an attribute it may not see: %s", who, s)
		}
	}
	r = e.do("GET", "/shadow_attributes/index", e.admin, nil)
	wantStatus(t, r, 200)
	if !strings.Contains(string(r.body), "203.0.113.67") {
		t.Errorf("the site admin does not see the proposal: %s", r.body)
	}
}

func TestGateMetadataSearchConfirmsNothingHidden(t *testing.T) {
	e := gateFixture(t)
	for who, key := range e.outsiders() {
		for _, q := range []map[string]any{
			{"value": gateHiddenVal, "metadata": 1},
			{"value": gateHiddenVal, "metadata": 1, "type": "ip-dst"},
			{"uuid": gateHiddenAttr, "metadata": 1},
		} {
			r := e.do("POST", "/events/restSearch", key, q)
			wantStatus(t, r, 200)
			if strings.Contains(string(r.body), gateEvent) {
				t.Errorf("%s: restSearch %v confirms a hidden attribute: %s", who, q, r.body)
			}
		}
		r := e.do("POST", "/events/restSearch", key, map[string]any{"value": "public.example", "metadata": 1})
		wantStatus(t, r, 200)
		if !strings.Contains(string(r.body), gateEvent) {
			t.Errorf("%s: a visible match is not found: %s", who, r.body)
		}
	}
	r := e.do("POST", "/events/restSearch", e.sameOrgUser, map[string]any{"value": gateHiddenVal, "metadata": 1})
	wantStatus(t, r, 200)
	if !strings.Contains(string(r.body), gateEvent) {
		t.Errorf("the owner does not find its own attribute: %s", r.body)
	}
}

func TestGateSightingOnHiddenAttribute(t *testing.T) {
	e := gateFixture(t)
	r := e.do("POST", "/sightings/add/"+gateHiddenAttr, e.other, map[string]any{"source": "probe"})
	wantStatus(t, r, 404)
	if strings.Contains(string(r.body), gateEvent) {
		t.Errorf("the refusal names the event: %s", r.body)
	}
	r = e.do("POST", "/sightings/add", e.other, map[string]any{"value": gateHiddenVal})
	if r.status == 200 {
		t.Errorf("a sighting by value reached a hidden attribute: %s", r.body)
	}
	ev, err := e.st.Event(context.Background(), testsupport.LocalEvent(t, e.st, gateEvent))
	if err != nil {
		t.Fatal(err)
	}
	ev.ForEachAttribute(func(a *misp.Attribute) {
		if len(a.Sighting) > 0 {
			t.Errorf("a sighting was stored on %s: %v", a.UUID, a.Sighting)
		}
	})
	wantStatus(t, e.do("POST", "/sightings/add/"+gatePublicAttr, e.other, map[string]any{"source": "seen"}), 200)
}

// gateSecrets are what the gate fixture keeps to the host organisation: no answer to
// another organisation or a sync account may contain any of them.
var gateSecrets = []string{gateOrgNote, gateNoteOnNote, gateOrgOpinion, gateOrgCluster, "Internal Actor", gateHiddenAttr, gateHiddenVal,
	"internal only", "nested secret"}

// gateReadRoutes are the controller/action pairs that only read; FuzzGateReads sends
// arbitrary paths and bodies to them.
var gateReadRoutes = map[string]bool{
	"events/view": true, "events/index": true, "events/restsearch": true, "attributes/view": true, "attributes/restsearch": true,
	"attributes/index": true, "objects/view": true, "eventreports/view": true, "eventreports/index": true,
	"analyst_data/index": true, "analyst_data/view": true, "analystdata/index": true, "analystdata/view": true,
	"shadow_attributes/index": true, "shadowattributes/index": true, "shadow_attributes/view": true,
	"sightings/restsearch": true, "sightings/listsightings": true, "sightings/index": true,
	"galaxy_clusters/view": true, "galaxy_clusters/restsearch": true, "galaxyclusters/view": true, "galaxyclusters/restsearch": true,
	"galaxies/view": true, "galaxies/index": true, "tags/index": true, "tags/view": true,
}

// FuzzGateReads asks every read endpoint arbitrary questions as an outsider of the gate
// fixture's hidden data: never a 5xx, and never anything the oracle (gateSecrets) holds back.
// Run: go test ./syncer/mispapi -run '^$' -fuzz FuzzGateReads -fuzztime 60s
func FuzzGateReads(f *testing.F) {
	e := gateFixture(f)
	for _, p := range []string{"/events/view/" + gateEvent, "/events/view/" + gateEvent + "/deleted[]:0/deleted[]:1/includeAnalystData:1",
		"/events/restSearch", "/events/index", "/attributes/restSearch", "/attributes/view/" + gateHiddenAttr,
		"/attributes/view/" + gatePublicAttr, "/analyst_data/index/Note", "/analyst_data/view/Note/" + gateOrgNote,
		"/analystData/index/Opinion/object_uuid:" + gatePublicAttr, "/shadow_attributes/index/all:1", "/sightings/restSearch/event",
		"/sightings/listSightings/" + gateHiddenAttr + "/attribute", "/galaxy_clusters/view/" + gateOrgCluster,
		"/galaxy_clusters/restSearch", "/galaxies/index", "/tags/index", "/events/index/minimal:1"} {
		for _, b := range []string{"", `{"value":"` + gateHiddenVal + `"}`, `{"uuid":"` + gateHiddenAttr + `","metadata":1}`,
			`{"eventid":"` + gateEvent + `","includeAnalystData":1}`, `{"value":"203.0.113.%","metadata":1}`,
			`{"tags":["misp-galaxy:threat-actor=\"` + gateOrgCluster + `\""]}`, `{"searchall":"Internal"}`} {
			f.Add(p, b, uint8(0))
			f.Add(p, b, uint8(1))
		}
	}
	f.Fuzz(func(t *testing.T, p, body string, who uint8) {
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, " ?#") || strings.ContainsFunc(p, unicode.IsControl) || len(p) > 2000 {
			return // not a request line a client can send
		}
		pp, ok := ParsePath(p)
		if !ok || !gateReadRoutes[strings.ToLower(pp.Controller+"/"+pp.Action)] || pp.Admin {
			return
		}
		// an answer may echo the question (MISP's error envelopes carry the url): a secret
		// the caller named itself is not one it learnt
		var secrets []string
		for _, s := range gateSecrets {
			if !strings.Contains(strings.ToLower(p+body), strings.ToLower(s)) {
				secrets = append(secrets, s)
			}
		}
		key := e.other
		if who%2 == 1 {
			key = e.syncKey
		}
		for _, m := range []string{"GET", "POST"} {
			var b any
			if body != "" {
				b = body
			}
			r := e.with(t).do(m, p, key, b)
			no5xx(t, r, m+" "+p)
			for _, s := range secrets {
				if strings.Contains(string(r.body), s) {
					t.Fatalf("%s %s %q as %d: the answer holds %q: %.400s", m, p, body, who%2, s, r.body)
				}
			}
		}
	})
}

// A cluster of a galaxy made here (galaxies/add, which stores no peer JSON) attaches to an
// event and the event reads back with it: reading such a galaxy into an event failed (500).
func TestAttachClusterOfLocalGalaxy(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/galaxies/add", e.admin, map[string]any{"name": "Local galaxy", "namespace": "test", "distribution": 2, "description": "ours"})
	wantStatus(t, r, 200)
	gid := get[string](t, r.obj(t), "Galaxy", "id")
	r = e.do("POST", "/galaxy_clusters/add/"+gid, e.admin, map[string]any{"GalaxyCluster": map[string]any{"value": "Local actor", "distribution": 2}})
	wantStatus(t, r, 200)
	cid := get[string](t, r.obj(t), "GalaxyCluster", "id")
	r = e.do("POST", "/events/add", e.admin, map[string]any{"Event": map[string]any{"info": "with a local cluster", "distribution": 2,
		"Attribute": []any{map[string]any{"type": "text", "value": "a"}}}})
	wantStatus(t, r, 200)
	eid := get[string](t, r.obj(t), "Event", "id")
	wantStatus(t, e.do("POST", "/galaxies/attachCluster/"+eid+"/event/local:0", e.admin, map[string]any{"Galaxy": map[string]any{"target_id": cid}}), 200)
	r = e.do("GET", "/events/view/"+eid, e.admin, nil)
	wantStatus(t, r, 200)
	if !strings.Contains(string(r.body), "Local actor") || !strings.Contains(string(r.body), "Local galaxy") {
		t.Fatalf("the event does not carry its cluster and galaxy: %.600s", r.body)
	}
}

// An object is its attributes: one whose every attribute is hidden from a viewer is left
// out of the event that viewer sees, so it may not be the target of their note either,
// though its own distribution would let them see it (a seed of the visibility matrix
// found analyst_data/add and index judging such an object by its own path alone).
func TestGateObjectWithoutVisibleAttribute(t *testing.T) {
	e := gateFixture(t)
	const object = "6b1f0e4c-4c1e-4a59-9c57-1e5c0a2d7f10"
	body := `{"Event":{"uuid":"6b1f0e4c-4c1e-4a59-9c57-1e5c0a2d7f11","info":"object gate","date":"2026-01-02","distribution":"1",
	  "published":true,"timestamp":"1767312000","threat_level_id":"2","analysis":"1",
	  "Orgc":{"name":"HOSTORG","uuid":"` + e.hostOrg.UUID + `"},
	  "Object":[{"uuid":"` + object + `","name":"domain-ip","meta-category":"network","distribution":"5","timestamp":"1767312000",
	    "Attribute":[{"uuid":"6b1f0e4c-4c1e-4a59-9c57-1e5c0a2d7f12","type":"ip-dst","object_relation":"ip","category":"Network activity",
	      "value":"203.0.113.99","distribution":"0","timestamp":"1767312000"}]}]}}`
	ev, err := misp.ParseEvent([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.UpsertEvent(context.Background(), ev, store.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", "/analyst_data/add/Note/"+object+"/Object", e.admin, map[string]any{"note": "on the object", "distribution": 1})
	wantStatus(t, r, 200)
	note := get[string](t, r.obj(t), "Note", "uuid")
	for who, key := range e.outsiders() {
		wantStatus(t, e.do("POST", "/analyst_data/add/Note/"+object+"/Object", key, map[string]any{"note": "probe", "distribution": 1}), 404)
		wantStatus(t, e.do("GET", "/analyst_data/view/Note/"+note, key, nil), 404)
		r := e.do("GET", "/analyst_data/index/Note", key, nil)
		wantStatus(t, r, 200)
		if strings.Contains(string(r.body), object) {
			t.Errorf("%s: analyst_data/index shows the hidden object: %s", who, r.body)
		}
	}
	wantStatus(t, e.do("GET", "/analyst_data/view/Note/"+note, e.sameOrgUser, nil), 200)
}

// events/view by POST, as PyMISP's get_event(deleted=…, extended=…) calls it: deleted
// brings soft-deleted attributes back into the answer, extended merges in the events that
// extend this one — only those the caller may see, trimmed for it — and names them in
// extensionEvents.
func TestGateEventViewPostDeletedExtended(t *testing.T) {
	e := gateFixture(t)
	ctx := context.Background()
	extension := func(uuid string, dist misp.Distribution, value string) {
		t.Helper()
		ev := testEvent(uuid, dist, true, 1767312100)
		ev.ExtendsUUID, ev.Orgc = gateEvent, &misp.Org{Name: "HOSTORG", UUID: e.hostOrg.UUID}
		ev.Attribute[0].Value, ev.Attribute[0].UUID = value, misp.DerivedUUID(uuid, value)
		if _, err := e.st.UpsertEvent(ctx, ev, store.UpsertOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	extension("6b1f0e4c-4c1e-4a59-9c57-1e5c0a2d7e01", misp.CommunityOnly, "198.51.100.201")
	extension("6b1f0e4c-4c1e-4a59-9c57-1e5c0a2d7e02", misp.OrgOnly, "198.51.100.202")
	wantStatus(t, e.do("POST", "/attributes/delete/"+gatePublicAttr, e.sameOrgUser, nil), 200)
	wantStatus(t, e.do("POST", "/events/publish/"+gateEvent, e.sameOrgUser, nil), 200) // the edit unpublished it

	view := func(key string, body any) string {
		t.Helper()
		r := e.do("POST", "/events/view/"+gateEvent, key, body)
		wantStatus(t, r, 200)
		return string(r.body)
	}
	if s := view(e.other, map[string]any{}); strings.Contains(s, "public.example") || strings.Contains(s, "198.51.100.201") {
		t.Errorf("a plain POST view shows the deleted attribute or an extension: %.300s", s)
	}
	for _, deleted := range []any{true, 1, []int{0, 1}} {
		if s := view(e.other, map[string]any{"deleted": deleted}); !strings.Contains(s, "public.example") {
			t.Errorf("deleted %v: the deleted attribute is not shown", deleted)
		}
	}
	for who, key := range e.outsiders() {
		s := view(key, map[string]any{"extended": 1})
		if !strings.Contains(s, "198.51.100.201") || !strings.Contains(s, "extensionEvents") {
			t.Errorf("%s: the visible extension is not merged: %.300s", who, s)
		}
		if strings.Contains(s, "198.51.100.202") || strings.Contains(s, "6b1f0e4c-4c1e-4a59-9c57-1e5c0a2d7e02") || strings.Contains(s, gateHiddenVal) {
			t.Errorf("%s: extended shows what it may not see", who)
		}
	}
	r := e.do("GET", "/events/view/"+gateEvent+"/extended:1", e.sameOrgUser, nil)
	wantStatus(t, r, 200)
	if s := string(r.body); !strings.Contains(s, "198.51.100.201") || !strings.Contains(s, "198.51.100.202") {
		t.Errorf("the owner's extended view lacks an extension: %.300s", s)
	}
}
