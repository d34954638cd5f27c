package mispapi

import (
	"strings"
	"testing"
)

// tags/edit as PyMISP's update_tag calls it: the site admin's alone (MISP's ACL); the tag's
// events carry it renamed; a name another tag has is MISP's 405, a missing tag its 404.
func TestTagEdit(t *testing.T) {
	e := gateFixture(t)
	add := func(name string) string {
		t.Helper()
		r := e.do("POST", "/tags/add", e.admin, map[string]any{"Tag": map[string]any{"name": name, "colour": "#ff0000"}})
		wantStatus(t, r, 200)
		return get[string](t, r.obj(t), "Tag", "id")
	}
	id := add("workflow:state=\"draft\"")
	add("taken")
	wantStatus(t, e.do("POST", "/tags/attachTagToObject", e.admin, map[string]any{"uuid": gateEvent, "tag": id}), 200)

	r := e.do("POST", "/tags/edit/"+id, e.admin, map[string]any{"Tag": map[string]any{"name": "workflow:state=\"complete\"", "hide_tag": true}})
	wantStatus(t, r, 200)
	if get[string](t, r.obj(t), "Tag", "name") != `workflow:state="complete"` || !get[bool](t, r.obj(t), "Tag", "hide_tag") ||
		get[string](t, r.obj(t), "Tag", "colour") != "#ff0000" {
		t.Errorf("edit: %s", r.body)
	}
	r = e.do("GET", "/events/view/"+gateEvent, e.other, nil)
	wantStatus(t, r, 200)
	if s := string(r.body); !strings.Contains(s, `workflow:state=\"complete\"`) || strings.Contains(s, "draft") {
		t.Errorf("the event does not carry the renamed tag: %.400s", s)
	}
	for _, key := range []string{e.other, e.sameOrgUser, e.readOnly, e.syncKey} {
		wantEnvelope(t, e.do("POST", "/tags/edit/"+id, key, map[string]any{"name": "hijack"}), 403, msgNoPerm)
	}
	wantEnvelope(t, e.do("POST", "/tags/edit/"+id, e.admin, map[string]any{"name": "TAKEN"}), 405, "Could not add the Tag. [name]: A similar name already exists.")
	wantEnvelope(t, e.do("POST", "/tags/edit/999999", e.admin, map[string]any{"name": "x"}), 404, "Invalid tag")
}
