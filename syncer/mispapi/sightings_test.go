package mispapi

import (
	"context"
	"strings"
	"testing"

	"mispdesk/store"
)

// sightings/index and sightings/delete as PyMISP's search_sightings-less calls make them
// (sightings(), delete_sighting): the index lists only what the caller may see of each
// event (never a sighting of a hidden attribute, an event it may not see has none); a
// sighting is deleted by a site admin or an org admin of the organisation that made it,
// and every other caller, or one that may not see it, gets MISP's 404.
func TestSightingsIndexDelete(t *testing.T) {
	e := gateFixture(t)
	ctx := context.Background()
	_, otherAdmin, err := e.st.AddUser(ctx, store.NewUser{Email: "oa@other.test", OrgRef: "OTHERORG", RoleRef: "org_admin"})
	if err != nil {
		t.Fatal(err)
	}
	sight := func(key, attr string) string {
		t.Helper()
		r := e.do("POST", "/sightings/add/"+attr, key, map[string]any{"source": "test"})
		wantStatus(t, r, 200)
		return get[string](t, r.obj(t), "Sighting", "uuid")
	}
	hostPublic, hostHidden := sight(e.sameOrgUser, gatePublicAttr), sight(e.sameOrgUser, gateHiddenAttr)
	otherPublic := sight(otherAdmin, gatePublicAttr)

	index := func(key, path string) string {
		t.Helper()
		r := e.do("GET", path, key, nil)
		wantStatus(t, r, 200)
		if _, ok := r.json(t).([]any); !ok {
			t.Fatalf("%s: not a list: %s", path, r.body)
		}
		return string(r.body)
	}
	for _, path := range []string{"/sightings/index", "/sightings/index/" + gateEvent} {
		if s := index(e.admin, path); !strings.Contains(s, hostPublic) || !strings.Contains(s, hostHidden) || !strings.Contains(s, otherPublic) {
			t.Errorf("site admin: %s lacks a sighting: %s", path, s)
		}
		s := index(otherAdmin, path)
		if strings.Contains(s, hostHidden) || strings.Contains(s, gateHiddenAttr) || strings.Contains(s, hostPublic) {
			t.Errorf("another organisation: %s shows what it may not see: %s", path, s)
		}
		if !strings.Contains(s, otherPublic) || !strings.Contains(s, gatePublicAttr) {
			t.Errorf("another organisation: %s lacks its own sighting: %s", path, s)
		}
	}
	// an event the caller may not see, or none, has no sightings
	if _, err := e.st.UpsertEvent(ctx, testEvent("6b1f0e4c-4c1e-4a59-9c57-1e5c0a2d7f99", 0, true, 1767312000), store.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"6b1f0e4c-4c1e-4a59-9c57-1e5c0a2d7f99", "999999"} {
		if s := index(otherAdmin, "/sightings/index/"+ref); s != "[]" {
			t.Errorf("sightings/index/%s: %s", ref, s)
		}
	}

	// another organisation's org admin: the host's sightings are as absent as one that does not exist
	for _, ref := range []string{hostPublic, hostHidden, "00000000-0000-4000-8000-00000000dead"} {
		wantEnvelope(t, e.do("POST", "/sightings/delete/"+ref, otherAdmin, nil), 404, "Invalid sighting.")
	}
	wantEnvelope(t, e.do("POST", "/sightings/delete/"+otherPublic, e.other, nil), 403, msgNoPerm) // no perm_modify_org
	wantEnvelope(t, e.do("POST", "/sightings/delete/"+hostPublic, e.readOnly, nil), 403, msgNoPerm)
	for key, ref := range map[string]string{otherAdmin: otherPublic, e.sameOrgUser: hostPublic} {
		r := e.do("POST", "/sightings/delete/"+ref, key, nil)
		wantStatus(t, r, 200)
		if r.obj(t)["message"] != "Sighting successfully deleted." {
			t.Errorf("delete: %s", r.body)
		}
	}
	if s := index(e.admin, "/sightings/index/"+gateEvent); strings.Contains(s, hostPublic) || strings.Contains(s, otherPublic) || !strings.Contains(s, hostHidden) {
		t.Errorf("after the deletes: %s", s)
	}
}
