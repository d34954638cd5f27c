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
