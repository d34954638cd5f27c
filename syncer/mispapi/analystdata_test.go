package mispapi

import (
	"strings"
	"testing"
	"time"
)

// analyst_data/edit and analyst_data/delete as PyMISP's update_note and
// delete_analyst_data call them: the creator organisation edits (modified moves on, so
// peers take the edit) and deletes; another organisation that sees the note is refused
// with MISP's 405; a caller that may not see it gets the same 404 as for a note that does
// not exist; a read-only key is refused.
func TestAnalystDataEditDelete(t *testing.T) {
	e := gateFixture(t)
	r := e.do("POST", "/analyst_data/add/Note/"+gatePublicAttr+"/Attribute", e.sameOrgUser,
		map[string]any{"Note": map[string]any{"note": "first words", "language": "en", "distribution": "1"}})
	wantStatus(t, r, 200)
	id, uuid := get[string](t, r.obj(t), "Note", "id"), get[string](t, r.obj(t), "Note", "uuid")
	created := get[string](t, r.obj(t), "Note", "modified")

	e.clock.add(2 * time.Second)
	r = e.do("POST", "/analyst_data/edit/Note/"+uuid, e.sameOrgUser,
		map[string]any{"Note": map[string]any{"note": "second words", "distribution": "3", "object_uuid": gateHiddenAttr, "orgc_uuid": e.otherOrg.UUID}})
	wantStatus(t, r, 200)
	n := r.obj(t)
	if get[string](t, n, "Note", "note") != "second words" || get[string](t, n, "Note", "distribution") != "3" ||
		get[string](t, n, "Note", "language") != "en" {
		t.Fatalf("edit: %s", r.body)
	}
	if m := get[string](t, n, "Note", "modified"); m <= created {
		t.Errorf("modified %s did not move on from %s", m, created)
	}
	// what is not editable stays
	if get[string](t, n, "Note", "object_uuid") != gatePublicAttr || get[string](t, n, "Note", "orgc_uuid") != e.hostOrg.UUID {
		t.Errorf("edit changed what it may not: %s", r.body)
	}
	r = e.do("GET", "/analystData/view/all/"+uuid, e.other, nil)
	wantStatus(t, r, 200)
	if get[string](t, r.obj(t), "Note", "note") != "second words" {
		t.Errorf("view after edit: %s", r.body)
	}

	// another organisation sees the note but did not write it
	for _, path := range []string{"/analyst_data/edit/Note/" + id, "/analystData/delete/Note/" + uuid} {
		wantEnvelope(t, e.do("POST", path, e.other, map[string]any{"note": "hijacked"}), 405, "You are not authorised to do that.")
	}
	// a read-only key of the owner is refused
	wantEnvelope(t, e.do("POST", "/analyst_data/edit/Note/"+id, e.readOnly, map[string]any{"note": "ro"}), 403, msgNoPerm)
	// the org-only note, another organisation's sync user and user get the answers of a
	// note that does not exist
	for who, key := range e.outsiders() {
		for _, c := range []struct{ path, absent, msg string }{
			{"/analyst_data/edit/Note/" + gateOrgNote, "/analyst_data/edit/Note/00000000-0000-4000-8000-00000000dead", "Invalid Note."},
			{"/analyst_data/delete/all/" + gateOrgNote, "/analyst_data/delete/all/00000000-0000-4000-8000-00000000dead", "Invalid UUID"},
			{"/analyst_data/edit/Opinion/" + gateOrgOpinion, "/analyst_data/edit/Opinion/999999", "Invalid Opinion."},
		} {
			hidden, absent := e.do("POST", c.path, key, map[string]any{"note": "x"}), e.do("POST", c.absent, key, map[string]any{"note": "x"})
			wantEnvelope(t, hidden, 404, c.msg)
			wantEnvelope(t, absent, 404, c.msg)
			if strings.Contains(string(hidden.body), "authorised") {
				t.Errorf("%s: %s hints at the note: %s", who, c.path, hidden.body)
			}
		}
	}
	wantEnvelope(t, e.do("POST", "/analyst_data/edit/Thing/"+id, e.admin, map[string]any{}), 405, "Invalid type.")
	// a sharing group the editor may not use is refused
	wantStatus(t, e.do("POST", "/analyst_data/edit/Note/"+id, e.sameOrgUser, map[string]any{"distribution": "4", "sharing_group_id": "999"}), 405)
	wantStatus(t, e.do("POST", "/analyst_data/edit/Note/"+id, e.sameOrgUser, map[string]any{"note": " "}), 403)

	// the site admin edits another organisation's note
	r = e.do("POST", "/analyst_data/add/Opinion/"+gatePublicAttr+"/Attribute", e.other, map[string]any{"opinion": "20", "distribution": "1"})
	wantStatus(t, r, 200)
	op := get[string](t, r.obj(t), "Opinion", "uuid")
	r = e.do("POST", "/analyst_data/edit/Opinion/"+op, e.admin, map[string]any{"opinion": "80", "comment": "moderated"})
	wantStatus(t, r, 200)
	if get[string](t, r.obj(t), "Opinion", "opinion") != "80" || get[string](t, r.obj(t), "Opinion", "comment") != "moderated" {
		t.Errorf("site admin's edit: %s", r.body)
	}
	wantStatus(t, e.do("POST", "/analyst_data/edit/Opinion/"+op, e.admin, map[string]any{"opinion": "101"}), 403)

	// the owner deletes its note; it is gone
	r = e.do("DELETE", "/analyst_data/delete/Note/"+id, e.sameOrgUser, nil)
	wantStatus(t, r, 200)
	if m := r.obj(t); m["saved"] != true || m["message"] != "Note deleted." {
		t.Errorf("delete: %s", r.body)
	}
	wantEnvelope(t, e.do("GET", "/analyst_data/view/Note/"+uuid, e.sameOrgUser, nil), 404, "Invalid Note.")
	wantEnvelope(t, e.do("POST", "/analyst_data/delete/Note/"+id, e.sameOrgUser, nil), 404, "Invalid Note.")
}
