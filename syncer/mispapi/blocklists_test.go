package mispapi

import (
	"strings"
	"testing"
)

// eventBlocklists/edit and orgBlocklists/edit as PyMISP's update_event_blocklist and
// update_organisation_blocklist call them: the descriptive fields change (bare or under
// the model), the UUID never; who may is who may add (the host organisation for events,
// the site admin for organisations); an unknown entry is MISP's 404.
func TestBlocklistEdit(t *testing.T) {
	e := newEnv(t)
	const ev, org = "22222222-2222-4333-8444-555555555555", "11111111-2222-4333-8444-555555555555"
	wantStatus(t, e.do("POST", "/eventBlocklists/add", e.admin, map[string]any{"uuids": []string{ev}, "comment": "first"}), 200)
	wantStatus(t, e.do("POST", "/orgBlocklists/add", e.admin, map[string]any{"uuids": []string{org}, "org_name": "Bad Org"}), 200)

	r := e.do("POST", "/eventBlocklists/edit/"+ev, e.sameOrgUser, map[string]any{"comment": "second", "event_info": "spam", "event_uuid": org})
	wantStatus(t, r, 200)
	if get[string](t, r.obj(t), "EventBlocklist", "comment") != "second" || get[string](t, r.obj(t), "EventBlocklist", "event_uuid") != ev {
		t.Errorf("event blocklist edit: %s", r.body)
	}
	id := get[string](t, r.obj(t), "EventBlocklist", "id")
	wantStatus(t, e.do("POST", "/admin/eventBlocklists/edit/"+id, e.admin, map[string]any{"EventBlocklist": map[string]any{"event_orgc": "ORGC"}}), 200)
	r = e.do("GET", "/eventBlocklists/index", e.admin, nil)
	if s := string(r.body); !strings.Contains(s, `"comment":"second"`) || !strings.Contains(s, `"event_orgc":"ORGC"`) || !strings.Contains(s, `"event_info":"spam"`) {
		t.Errorf("event blocklist after the edits: %s", s)
	}
	r = e.do("POST", "/orgBlocklists/edit/"+org, e.admin, map[string]any{"request": map[string]any{"comment": "known bad"}})
	wantStatus(t, r, 200)
	if get[string](t, r.obj(t), "OrgBlocklist", "comment") != "known bad" || get[string](t, r.obj(t), "OrgBlocklist", "org_name") != "Bad Org" {
		t.Errorf("organisation blocklist edit: %s", r.body)
	}

	wantEnvelope(t, e.do("POST", "/eventBlocklists/edit/"+ev, e.other, map[string]any{"comment": "x"}), 403, msgNoPerm) // not the host organisation
	wantEnvelope(t, e.do("POST", "/eventBlocklists/edit/"+ev, e.readOnly, map[string]any{"comment": "x"}), 403, msgNoPerm)
	wantEnvelope(t, e.do("POST", "/orgBlocklists/edit/"+org, e.sameOrgUser, map[string]any{"comment": "x"}), 403, msgNoPerm)
	for _, path := range []string{"/eventBlocklists/edit/33333333-2222-4333-8444-555555555555", "/orgBlocklists/edit/999"} {
		wantEnvelope(t, e.do("POST", path, e.admin, map[string]any{"comment": "x"}), 404, "Blocklist item not found.")
	}
}

// analystDataBlocklists/index, add, edit and delete (either spelling), the site admin's
// alone as in MISP: deleting a note puts it there with MISP's description; an entry is
// added (a UUID listed already or not a UUID among the fails), edited (never its UUID) and
// taken off by id or UUID.
func TestAnalystDataBlocklist(t *testing.T) {
	e := gateFixture(t)
	r := e.do("POST", "/analyst_data/add/Note/"+gatePublicAttr+"/Attribute", e.admin, map[string]any{"note": "soon gone", "distribution": 1})
	wantStatus(t, r, 200)
	note := get[string](t, r.obj(t), "Note", "uuid")
	wantStatus(t, e.do("POST", "/analyst_data/delete/Note/"+note, e.admin, nil), 200)
	r = e.do("GET", "/analyst_data_blocklists/index", e.admin, nil)
	wantStatus(t, r, 200)
	list, ok := r.json(t).([]any)
	if !ok || len(list) != 1 {
		t.Fatalf("index after the delete: %s", r.body)
	}
	if got := list[0].(map[string]any); got["analyst_data_uuid"] != note || got["analyst_data_info"] != "soon gone" || got["analyst_data_orgc"] != "HOSTORG" {
		t.Errorf("the deleted note's entry: %v", got)
	}

	const other = "33333333-2222-4333-8444-555555555555"
	r = e.do("POST", "/analystDataBlocklists/add", e.admin, map[string]any{"AnalystDataBlocklist": map[string]any{"uuids": []string{other, note, "nope"}, "comment": "spam"}})
	wantStatus(t, r, 200)
	if s := string(r.body); !strings.Contains(s, `"successes":["`+other+`"]`) || !strings.Contains(s, `"fails":["`+note+`","nope"]`) ||
		!strings.Contains(s, "Done. Added 1 new entries to the blocklist. 2 entries could not be saved.") {
		t.Errorf("add: %s", s)
	}
	r = e.do("POST", "/analystDataBlocklists/edit/"+other, e.admin, map[string]any{"comment": "not spam", "analyst_data_uuid": note})
	wantStatus(t, r, 200)
	if get[string](t, r.obj(t), "AnalystDataBlocklist", "comment") != "not spam" || get[string](t, r.obj(t), "AnalystDataBlocklist", "analyst_data_uuid") != other {
		t.Errorf("edit: %s", r.body)
	}
	id := get[string](t, r.obj(t), "AnalystDataBlocklist", "id")
	wantStatus(t, e.do("POST", "/analystDataBlocklists/delete/"+id, e.admin, nil), 200)
	wantStatus(t, e.do("DELETE", "/analyst_data_blocklists/delete/"+note, e.admin, nil), 200)
	r = e.do("GET", "/analystDataBlocklists/index", e.admin, nil)
	if s := strings.TrimSpace(string(r.body)); s != "[]" {
		t.Errorf("index after the deletes: %s", s)
	}
	for _, path := range []string{"/analystDataBlocklists/delete/" + note, "/analystDataBlocklists/edit/999"} {
		wantStatus(t, e.do("POST", path, e.admin, map[string]any{"comment": "x"}), 404)
	}
	for who, key := range map[string]string{"publisher": e.sameOrgUser, "sync": e.syncKey, "other": e.other} {
		for _, c := range []struct{ method, path string }{{"GET", "/analystDataBlocklists/index"}, {"POST", "/analystDataBlocklists/add"},
			{"POST", "/analystDataBlocklists/edit/" + other}, {"POST", "/analystDataBlocklists/delete/" + other}} {
			if r := e.do(c.method, c.path, key, map[string]any{"uuids": []string{other}}); r.status != 403 {
				t.Errorf("%s: %s %s answers %d", who, c.method, c.path, r.status)
			}
		}
	}
}
