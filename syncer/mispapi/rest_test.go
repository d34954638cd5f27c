package mispapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// pyEvent is an event body as PyMISP's add_event sends it (MISPEvent.to_dict, bare).
func pyEvent(info string, dist int) map[string]any {
	return map[string]any{"Event": map[string]any{"info": info, "distribution": fmt.Sprint(dist), "threat_level_id": "2",
		"analysis": "1", "date": "2024-10-01", "Attribute": []any{
			map[string]any{"type": "ip-dst", "value": "203.0.113.9", "category": "Network activity", "to_ids": true},
			map[string]any{"type": "domain", "value": "evil.example"},
		}}}
}

func get[T any](t testing.TB, m map[string]any, path ...string) T {
	t.Helper()
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("at %q: not an object in %v", p, m)
		}
		cur = mm[p]
	}
	v, ok := cur.(T)
	if !ok {
		t.Fatalf("%v: %T, want %T (%v)", path, cur, *new(T), cur)
	}
	return v
}

func TestRESTConnect(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/servers/getPyMISPVersion.json", e.admin, nil)
	wantStatus(t, r, 200)
	wantKeys(t, r.obj(t), "version")
	r = e.do("GET", "/servers/getVersion", e.admin, nil)
	wantKeys(t, r.obj(t), "version", "perm_sync", "perm_sighting", "perm_galaxy_editor", "uuid")
	r = e.do("GET", "/users/view/me.json", e.other, nil)
	wantKeys(t, r.obj(t), "User", "Role", "Organisation", "UserSetting")
	r = e.do("GET", "/attributes/describeTypes.json", e.other, nil)
	wantStatus(t, r, 200)
	res := get[map[string]any](t, r.obj(t), "result")
	wantKeys(t, res, "types", "categories", "sane_defaults", "category_type_mappings")
	r = e.do("GET", "/roles/index", e.other, nil)
	wantStatus(t, r, 200)
	if l, ok := r.json(t).([]any); !ok || len(l) < 6 {
		t.Fatalf("roles: %s", r.body)
	}
}

func TestRESTEventsErrors(t *testing.T) {
	e := newEnv(t)
	// unknown event: 404 envelope
	wantEnvelope(t, e.do("GET", "/events/view/999999", e.admin, nil), 404, "Invalid event")
	wantEnvelope(t, e.do("POST", "/attributes/add/999999", e.admin, `{"type":"ip-dst","value":"1.2.3.4"}`), 404, "Invalid event")
	// a user of another org reading an org-only event: 404
	r := e.do("POST", "/events/add", e.sameOrgUser, pyEvent("org only", 0))
	wantStatus(t, r, 200)
	id := get[string](t, r.obj(t), "Event", "id")
	uuid := get[string](t, r.obj(t), "Event", "uuid")
	wantEnvelope(t, e.do("GET", "/events/view/"+uuid, e.other, nil), 404, "Invalid event")
	wantEnvelope(t, e.do("POST", "/attributes/add/"+id, e.other, `{"type":"ip-dst","value":"1.2.3.4"}`), 404, "Invalid event")
	r = e.do("POST", "/events/restSearch", e.other, `{"eventid":"`+id+`"}`)
	wantStatus(t, r, 200)
	if l := get[[]any](t, r.obj(t), "response"); len(l) != 0 {
		t.Fatalf("another org found an org-only event: %s", r.body)
	}
	// read-only key writing: 403
	for _, w := range []struct{ method, path, body string }{
		{"POST", "/events/add", `{"Event":{"info":"x"}}`},
		{"POST", "/attributes/add/" + id, `{"type":"ip-dst","value":"1.2.3.4"}`},
		{"POST", "/events/publish/" + id, ``},
		{"POST", "/tags/attachTagToObject", `{"uuid":"` + uuid + `","tag":"tlp:red","local":1}`},
		{"POST", "/auth_keys/add/me", `{}`},
		{"POST", "/sightings/add/" + id, `{}`},
		{"DELETE", "/events/delete/" + id, ``},
	} {
		wantEnvelope(t, e.do(w.method, w.path, e.readOnly, w.body), 403, "")
	}
	// the read-only key still reads
	wantStatus(t, e.do("GET", "/events/view/"+id, e.readOnly, nil), 200)
	// malformed bodies: MISP's validation envelope, never a 500
	r = e.do("POST", "/attributes/add/"+id, e.sameOrgUser, `{"type":"no-such-type","value":"x"}`)
	wantStatus(t, r, 403)
	m := r.obj(t)
	if m["saved"] != false || m["errors"] == nil {
		t.Fatalf("validation envelope: %s", r.body)
	}
	r = e.do("POST", "/attributes/add/"+id, e.sameOrgUser, `{"type":"ip-dst"}`)
	wantStatus(t, r, 403)
	wantKeys(t, get[map[string]any](t, r.obj(t), "errors"), "value")
	r = e.do("POST", "/attributes/add/"+id, e.sameOrgUser, `{"type":"ip-dst","category":"Payload type","value":"1.2.3.4"}`)
	wantStatus(t, r, 403)
	wantEnvelope(t, e.do("POST", "/attributes/add/"+id, e.sameOrgUser, `{"type":`), 400, "")
	wantEnvelope(t, e.do("POST", "/events/restSearch", e.sameOrgUser, `[1,`), 400, "")
	wantEnvelope(t, e.do("POST", "/events/restSearch", e.sameOrgUser, `{"returnFormat":"csv"}`), 400, "")
	// another org may not change it even when it can see it
	r = e.do("POST", "/events/add", e.sameOrgUser, pyEvent("shared", 1))
	sid := get[string](t, r.obj(t), "Event", "id")
	wantStatus(t, e.do("GET", "/events/view/"+sid, e.other, nil), 200)
	wantEnvelope(t, e.do("POST", "/attributes/add/"+sid, e.other, `{"type":"ip-dst","value":"1.2.3.4"}`), 403, "")
	wantEnvelope(t, e.do("POST", "/events/delete/"+sid, e.other, nil), 403, "")
	// a site admin sees all
	wantStatus(t, e.do("GET", "/events/view/"+id, e.admin, nil), 200)
}

// TestRESTScenario is a MISP admin's script: orgs, users, a sync user and key, a server,
// a sharing group, an event with attributes, an object, tags, a galaxy cluster, a report,
// a note, a proposal and a sighting; publish; find each again.
func TestRESTScenario(t *testing.T) {
	e := newEnv(t)
	ad := e.admin
	post := func(path string, body any) map[string]any {
		t.Helper()
		r := e.do("POST", path, ad, body)
		wantStatus(t, r, 200)
		return r.obj(t)
	}
	// orgs and users
	org := post("/admin/organisations/add", map[string]any{"Organisation": map[string]any{"name": "Partner CERT", "local": true}})
	orgID := get[string](t, org, "Organisation", "id")
	post("/admin/organisations/edit/"+orgID, map[string]any{"Organisation": map[string]any{"description": "our partner"}})
	r := e.do("GET", "/organisations/view/"+orgID, e.other, nil)
	if get[string](t, r.obj(t), "Organisation", "description") != "our partner" {
		t.Fatalf("org edit: %s", r.body)
	}
	remote := post("/admin/organisations/add", map[string]any{"name": "Remote CERT", "local": false, "uuid": "11111111-2222-4333-8444-555555555555"})
	_ = remote
	user := post("/admin/users/add", map[string]any{"User": map[string]any{"email": "analyst@partner.test", "org_id": orgID, "role_id": "3"}})
	userKey := get[string](t, user, "User", "authkey")
	userID := get[string](t, user, "User", "id")
	post("/admin/users/edit/"+userID, map[string]any{"User": map[string]any{"role_id": "4"}})
	r = e.do("GET", "/admin/users", ad, nil)
	wantStatus(t, r, 200)
	if !strings.Contains(string(r.body), "analyst@partner.test") {
		t.Fatalf("users index: %.300s", r.body)
	}
	syncUser := post("/admin/users/add", map[string]any{"email": "sync@remote.test", "org_id": "Remote CERT", "role_id": "5"})
	syncID := get[string](t, syncUser, "User", "id")
	key := post("/auth_keys/add/"+syncID, map[string]any{"comment": "for the remote"})
	if len(get[string](t, key, "AuthKey", "authkey_raw")) != 40 {
		t.Fatal("no key")
	}
	r = e.do("GET", "/auth_keys/index/"+syncID, ad, nil)
	wantStatus(t, r, 200)
	if strings.Contains(string(r.body), get[string](t, key, "AuthKey", "authkey_raw")) || len(r.json(t).([]any)) != 2 {
		t.Fatalf("auth key index: %s", r.body)
	}
	// server and sharing group
	srv := post("/servers/add", map[string]any{"Server": map[string]any{"name": "remote", "url": "https://remote.example",
		"authkey": strings.Repeat("a", 40), "remote_org_id": "Remote CERT", "push": true}})
	srvID := get[string](t, srv, "Server", "id")
	sg := post("/sharing_groups/add", map[string]any{"SharingGroup": map[string]any{"name": "partners", "releasability": "partners"}})
	sgID := get[string](t, sg, "SharingGroup", "id")
	post("/sharing_groups/addOrg/"+sgID+"/"+orgID, nil)
	post("/sharing_groups/addServer/"+sgID+"/"+srvID, nil)
	post("/sharing_groups/edit/"+sgID, map[string]any{"SharingGroup": map[string]any{"description": "for partners"}})
	r = e.do("GET", "/sharing_groups/view/"+sgID, ad, nil)
	if !strings.Contains(string(r.body), "Partner CERT") || !strings.Contains(string(r.body), "for partners") {
		t.Fatalf("sharing group: %s", r.body)
	}
	// the event, by the partner's analyst (now a publisher)
	pk := userKey
	ppost := func(path string, body any) map[string]any {
		t.Helper()
		r := e.do("POST", path, pk, body)
		wantStatus(t, r, 200)
		return r.obj(t)
	}
	// distribution 4 without a sharing group this user may see: MISP's 405
	wantEnvelope(t, e.do("POST", "/events/add", pk, pyEvent("Scenario event", 4)), http.StatusMethodNotAllowed, "Invalid Sharing Group or not authorised.")
	ev := ppost("/events/add", map[string]any{"info": "Scenario event 2", "distribution": "4", "sharing_group_id": sgID})
	evID := get[string](t, ev, "Event", "id")
	evUUID := get[string](t, ev, "Event", "uuid")
	if get[string](t, ev, "Event", "distribution") != "4" {
		t.Fatalf("sharing group event: %v", ev)
	}
	a := ppost("/attributes/add/"+evID, map[string]any{"type": "md5", "value": "0123456789abcdef0123456789abcdef"})
	if get[string](t, a, "Attribute", "category") != "Payload delivery" || get[bool](t, a, "Attribute", "to_ids") != true {
		t.Fatalf("sane defaults not applied: %v", a)
	}
	attrUUID := get[string](t, a, "Attribute", "uuid")
	list := ppost("/attributes/add/"+evUUID, []any{
		map[string]any{"type": "url", "value": "https://evil.example/x"},
		map[string]any{"type": "comment", "value": "a comment", "to_ids": false},
	})
	if l := get[[]any](t, list, "Attribute"); len(l) != 2 {
		t.Fatalf("list add: %v", list)
	}
	edited := ppost("/attributes/edit/"+attrUUID, map[string]any{"Attribute": map[string]any{"comment": "seen in phishing", "to_ids": false}})
	if get[string](t, edited, "Attribute", "comment") != "seen in phishing" || get[bool](t, edited, "Attribute", "to_ids") {
		t.Fatalf("edit: %v", edited)
	}
	// object and reference
	obj := ppost("/objects/add/"+evID, map[string]any{"name": "domain-ip", "meta-category": "network", "template_uuid": "43b3b146-77eb-4931-b4cc-b66c60f28734",
		"template_version": "9", "Attribute": []any{
			map[string]any{"object_relation": "domain", "type": "domain", "value": "c2.example"},
			map[string]any{"object_relation": "ip", "type": "ip-dst", "value": "192.0.2.44"},
		}})
	objUUID := get[string](t, obj, "Object", "uuid")
	if l := get[[]any](t, obj, "Object", "Attribute"); len(l) != 2 {
		t.Fatalf("object: %v", obj)
	}
	ref := ppost("/objectReferences/add", map[string]any{"ObjectReference": map[string]any{"object_uuid": objUUID,
		"referenced_uuid": attrUUID, "relationship_type": "related-to"}})
	wantKeys(t, get[map[string]any](t, ref, "ObjectReference"), "uuid", "referenced_uuid", "relationship_type")
	objE := ppost("/objects/edit/"+objUUID, map[string]any{"Object": map[string]any{"comment": "C2", "Attribute": []any{
		map[string]any{"object_relation": "port", "type": "port", "value": "443"}}}})
	if l := get[[]any](t, objE, "Object", "Attribute"); len(l) != 3 || get[string](t, objE, "Object", "comment") != "C2" {
		t.Fatalf("object edit: %v", objE)
	}
	// tags: create, attach to the event and an attribute, a local one too
	post("/tags/add", map[string]any{"Tag": map[string]any{"name": "scenario:tag", "colour": "#ff0000"}})
	ppost("/tags/attachTagToObject", map[string]any{"uuid": evUUID, "tag": "scenario:tag"})
	post("/tags/add", map[string]any{"name": "tlp:amber"})
	ppost("/tags/attachTagToObject", map[string]any{"uuid": attrUUID, "tag": "tlp:amber"})
	ppost("/tags/attachTagToObject", map[string]any{"uuid": evUUID, "tag": "workflow:todo", "local": 1})
	r = e.do("GET", "/tags/index", pk, nil)
	if !strings.Contains(string(r.body), "scenario:tag") {
		t.Fatalf("tags index: %s", r.body)
	}
	// galaxy and cluster, attached through its tag
	if _, err := e.st.UpsertGalaxyCluster(t.Context(), []byte(`{"uuid":"7cdff317-a673-4474-84ec-4f1754947823","type":"threat-actor","value":"APT Example",
		"tag_name":"misp-galaxy:threat-actor=\"APT Example\"","version":"1","Galaxy":{"uuid":"698774c7-8022-42c4-917f-8d6e4f06ada3","name":"Threat Actor","type":"threat-actor"}}`)); err != nil {
		t.Fatal(err)
	}
	r = e.do("GET", "/galaxies/index", pk, nil)
	gs := r.json(t).([]any)
	gid := get[string](t, gs[0].(map[string]any), "Galaxy", "id")
	cl := post("/galaxy_clusters/add/"+gid, map[string]any{"GalaxyCluster": map[string]any{"value": "Scenario Actor", "description": "ours"}})
	clTag := get[string](t, cl, "GalaxyCluster", "tag_name")
	clUUID := get[string](t, cl, "GalaxyCluster", "uuid")
	ppost("/tags/attachTagToObject", map[string]any{"uuid": evUUID, "tag": clTag})
	// the cluster is the host organisation's alone (distribution 0): its galaxy shows it to
	// that organisation, never to the partner
	r = e.do("GET", "/galaxies/view/"+gid, ad, nil)
	if !strings.Contains(string(r.body), "Scenario Actor") {
		t.Fatalf("galaxy view by the cluster's organisation: %s", r.body)
	}
	r = e.do("GET", "/galaxies/view/"+gid, pk, nil)
	if strings.Contains(string(r.body), "Scenario Actor") {
		t.Fatalf("galaxy view shows another organisation's org-only cluster: %s", r.body)
	}
	// report and note
	rep := ppost("/eventReports/add/"+evID, map[string]any{"name": "Report", "content": "# Findings"})
	repID := get[string](t, rep, "EventReport", "id")
	r = e.do("GET", "/eventReports/view/"+repID, pk, nil)
	wantStatus(t, r, 200)
	r = e.do("GET", "/eventReports/index/event_id:"+evID, pk, nil)
	if l := r.json(t).([]any); len(l) != 1 {
		t.Fatalf("report index: %s", r.body)
	}
	note := ppost("/analyst_data/add/Note/"+evUUID+"/Event", map[string]any{"Note": map[string]any{"note": "check this", "language": "en", "distribution": "1"}})
	noteID := get[string](t, note, "Note", "id")
	r = e.do("GET", "/analyst_data/view/Note/"+noteID, pk, nil)
	if get[string](t, r.obj(t), "Note", "note") != "check this" {
		t.Fatalf("note: %s", r.body)
	}
	// a proposal by another org, accepted by the owner; a sighting
	wantStatus(t, e.do("GET", "/events/view/"+evID, e.other, nil), 404) // sharing group without OTHERORG
	prop := post("/shadow_attributes/add/"+evID, map[string]any{"ShadowAttribute": map[string]any{"type": "ip-src", "value": "198.51.100.99"}})
	propID := get[string](t, prop, "ShadowAttribute", "id")
	r = e.do("GET", "/shadow_attributes/index/eventid:"+evID, pk, nil)
	if !strings.Contains(string(r.body), "198.51.100.99") {
		t.Fatalf("proposal index: %s", r.body)
	}
	ppost("/shadow_attributes/accept/"+propID, nil)
	sig := ppost("/sightings/add/"+attrUUID, map[string]any{"source": "sensor-1"})
	wantKeys(t, get[map[string]any](t, sig, "Sighting"), "uuid", "attribute_id")
	ppost("/sightings/add", map[string]any{"value": "c2.example", "source": "sensor-2"})
	r = e.do("GET", "/sightings/listSightings/"+attrUUID+"/attribute", pk, nil)
	if l := r.json(t).([]any); len(l) != 1 {
		t.Fatalf("list sightings: %s", r.body)
	}
	// publish: queued to the server with push on
	pub := ppost("/events/publish/"+evID, nil)
	if pub["saved"] != true {
		t.Fatalf("publish: %v", pub)
	}
	items, err := e.st.Claim(t.Context(), "t", 1, 10)
	if err != nil || len(items) != 1 || items[0].EventUUID != evUUID {
		t.Fatalf("publish queued %v, %v", items, err)
	}
	// find each again through restSearch
	search := func(path string, body any) map[string]any {
		t.Helper()
		r := e.do("POST", path, pk, body)
		wantStatus(t, r, 200)
		return r.obj(t)
	}
	one := func(m map[string]any) map[string]any {
		t.Helper()
		l := get[[]any](t, m, "response")
		if len(l) != 1 {
			t.Fatalf("want one event, got %d", len(l))
		}
		return get[map[string]any](t, l[0].(map[string]any), "Event")
	}
	got := one(search("/events/restSearch", map[string]any{"value": "0123456789abcdef0123456789abcdef"}))
	if got["uuid"] != evUUID || got["published"] != true {
		t.Fatalf("by value: %v", got)
	}
	got = one(search("/events/restSearch", map[string]any{"tags": []any{"scenario:tag"}, "metadata": 1}))
	if l, _ := got["Attribute"].([]any); len(l) > 0 {
		t.Fatalf("metadata with attributes: %v", got)
	}
	one(search("/events/restSearch", map[string]any{"tags": map[string]any{"AND": []any{"scenario:tag", clTag}}}))
	one(search("/events/restSearch", map[string]any{"tags": "tlp:amber", "type": "md5"}))
	none := search("/events/restSearch", map[string]any{"tags": map[string]any{"OR": []any{"scenario:tag"}, "NOT": []any{"scenario:tag"}}})
	if len(get[[]any](t, none, "response")) != 0 {
		t.Fatalf("NOT ignored: %v", none)
	}
	got = one(search("/events/restSearch", map[string]any{"value": "198.51.100.99"})) // the accepted proposal
	if len(get[[]any](t, got, "Attribute")) != 1 {
		t.Fatalf("accepted proposal: %v", got)
	}
	got = one(search("/events/restSearch", map[string]any{"value": "c2.example"}))
	if len(get[[]any](t, got, "Object")) != 1 {
		t.Fatalf("object attribute: %v", got)
	}
	if !strings.Contains(fmt.Sprint(got), "Report") {
		t.Fatalf("report missing: %v", got)
	}
	// The host organisation's cluster is organisation only: attached to the partner's event
	// it stays invisible to the partner, and the event's galaxy and galaxy tag show it to
	// its own organisation.
	if strings.Contains(fmt.Sprint(got), "Scenario Actor") {
		t.Fatalf("another organisation's org-only cluster shown in its event: %v", got)
	}
	r = e.do("POST", "/events/restSearch", ad, map[string]any{"value": "c2.example"})
	wantStatus(t, r, 200)
	if !strings.Contains(string(r.body), "Scenario Actor") {
		t.Fatalf("the cluster's own organisation does not see it in the event: %s", r.body)
	}
	attrs := get[[]any](t, search("/attributes/restSearch", map[string]any{"eventid": evID, "includeEventUuid": 1}), "response", "Attribute")
	if len(attrs) < 6 {
		t.Fatalf("attributes/restSearch: %d", len(attrs))
	}
	a0 := attrs[0].(map[string]any)
	wantKeys(t, a0, "id", "event_id", "type", "category", "value", "to_ids", "uuid", "timestamp", "Event", "event_uuid")
	attrs = get[[]any](t, search("/attributes/restSearch", map[string]any{"value": "198.51.100.%", "type": "ip-src"}), "response", "Attribute")
	if len(attrs) != 1 {
		t.Fatalf("wildcard: %v", attrs)
	}
	// The cluster is organisation only (galaxy_clusters/add's default distribution 0):
	// the partner's analyst does not find it, its organisation's admin does.
	if cls := get[[]any](t, search("/galaxy_clusters/restSearch", map[string]any{"value": "Scenario"}), "response"); len(cls) != 0 {
		t.Fatalf("another organisation's org-only cluster found: %v", cls)
	}
	r = e.do("POST", "/galaxy_clusters/restSearch", ad, map[string]any{"value": "Scenario"})
	wantStatus(t, r, 200)
	cls := get[[]any](t, r.obj(t), "response")
	if len(cls) != 1 || get[string](t, cls[0].(map[string]any), "GalaxyCluster", "uuid") != clUUID {
		t.Fatalf("cluster search: %v", cls)
	}
	sgt := get[[]any](t, search("/sightings/restSearch", map[string]any{"id": evUUID}), "response")
	if len(sgt) != 2 {
		t.Fatalf("sightings restSearch: %v", sgt)
	}
	// changes bumped the timestamp and unpublished
	r = e.do("POST", "/attributes/delete/"+attrUUID, pk, nil)
	wantStatus(t, r, 200)
	r = e.do("GET", "/events/view/"+evID, pk, nil)
	if get[bool](t, r.obj(t), "Event", "published") {
		t.Fatal("still published after a change")
	}
	none = search("/events/restSearch", map[string]any{"value": "0123456789abcdef0123456789abcdef"})
	if len(get[[]any](t, none, "response")) != 0 {
		t.Fatal("soft-deleted attribute still found")
	}
	one(search("/events/restSearch", map[string]any{"value": "0123456789abcdef0123456789abcdef", "deleted": 1}))
	// blocklists, removal, deletion
	post("/eventBlocklists/add", map[string]any{"uuids": []any{"22222222-2222-4333-8444-555555555555"}, "comment": "no"})
	r = e.do("GET", "/eventBlocklists/index", ad, nil)
	if !strings.Contains(string(r.body), "22222222-2222-4333-8444-555555555555") {
		t.Fatalf("event blocklist: %s", r.body)
	}
	bl := r.json(t).([]any)
	post("/eventBlocklists/delete/"+get[string](t, bl[0].(map[string]any), "EventBlocklist", "id"), nil)
	post("/orgBlocklists/add", map[string]any{"uuids": []any{"11111111-2222-4333-8444-555555555555"}})
	r = e.do("GET", "/orgBlocklists/index", ad, nil)
	if len(r.json(t).([]any)) != 1 {
		t.Fatalf("org blocklist: %s", r.body)
	}
	ppost("/tags/removeTagFromObject", map[string]any{"uuid": evUUID, "tag": "workflow:todo"})
	post("/sharing_groups/removeServer/"+sgID+"/"+srvID, nil)
	wantStatus(t, e.do("POST", "/sharing_groups/delete/"+sgID, ad, nil), 403) // still used by the event
	r = e.do("DELETE", "/events/delete/"+evUUID+"/blocklist:1", pk, nil)
	wantStatus(t, r, 200)
	wantEnvelope(t, e.do("GET", "/events/view/"+evUUID, pk, nil), 404, "Invalid event")
	r = e.do("GET", "/eventBlocklists/index", ad, nil)
	if !strings.Contains(string(r.body), evUUID) {
		t.Fatalf("not blocklisted on delete: %s", r.body)
	}
	post("/galaxy_clusters/delete/"+clUUID, nil)
	wantStatus(t, e.do("GET", "/galaxy_clusters/view/"+clUUID, pk, nil), 404)
	post("/admin/users/delete/"+userID, nil)
	wantStatus(t, e.do("GET", "/users/view/me", pk, nil), 403)
	r = e.do("POST", "/auth_keys/delete/"+get[string](t, key, "AuthKey", "id"), ad, nil)
	wantStatus(t, r, 200)
	_ = http.MethodGet
}
