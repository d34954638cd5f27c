package mispapi

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
)

// PyMISP's add_event then update_event with the site admin's key (the one init prints):
// the admin's add and edit are a user's, not a sync push. The edit leaves out the
// event's timestamp (PyMISP drops it for what it edited) and gets a new one; what MISP
// stamps on a save without a timestamp is stamped here too.
func TestEventEditByUsers(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/events/add", e.admin, pyEvent("before update", 2))
	wantStatus(t, r, http.StatusOK)
	added := get[map[string]any](t, r.obj(t), "Event")
	uuid := get[string](t, added, "uuid")
	ts := get[string](t, added, "timestamp")
	for _, a := range get[[]any](t, added, "Attribute") {
		if at := a.(map[string]any)["timestamp"]; at == "0" || at == nil {
			t.Fatalf("attribute stored without a timestamp: %v", a)
		}
	}
	// update_event: the whole event back, info changed, no event timestamp
	delete(added, "timestamp")
	added["info"] = "after update"
	attrs := get[[]any](t, added, "Attribute")
	edited := attrs[0].(map[string]any)
	delete(edited, "timestamp")
	edited["comment"] = "edited by PyMISP"
	r = e.do("POST", "/events/edit/"+get[string](t, added, "id"), e.admin, map[string]any{"Event": added})
	wantStatus(t, r, http.StatusOK)
	got := get[map[string]any](t, r.obj(t), "Event")
	if got["info"] != "after update" || get[string](t, got, "timestamp") <= ts {
		t.Fatalf("edit: info %v, timestamp %v (was %s)", got["info"], got["timestamp"], ts)
	}
	found := false
	for _, a := range get[[]any](t, got, "Attribute") {
		if a := a.(map[string]any); a["uuid"] == edited["uuid"] {
			found = a["comment"] == "edited by PyMISP" && get[string](t, a, "timestamp") > ts
		}
	}
	if !found {
		t.Fatalf("the edited attribute was not stored with a new timestamp: %s", r.body)
	}
	// an edit naming the event by its path only keeps what it leaves out
	r = e.do("POST", "/events/edit/"+uuid, e.admin, `{"Event":{"threat_level_id":"1"}}`)
	wantStatus(t, r, http.StatusOK)
	got = get[map[string]any](t, r.obj(t), "Event")
	if got["info"] != "after update" || got["distribution"] != "2" || got["threat_level_id"] != "1" {
		t.Fatalf("edit without uuid: %s", r.body)
	}
	// an edit carrying a timestamp not newer than the stored one: MISP's exact refusal
	r = e.do("POST", "/events/edit/"+uuid, e.admin, map[string]any{"Event": map[string]any{"info": "stale", "timestamp": ts}})
	wantStatus(t, r, http.StatusForbidden)
	if m := r.obj(t); m["errors"] != msgNotNewer || m["saved"] != false {
		t.Fatalf("stale edit: %s", r.body)
	}
}

// MISP pushes back on publish the events it received from here; a sync account's edit
// not newer than the local copy gets MISP's "not newer" answer (which MISP's pusher takes
// as done), before any word on authorisation; a newer one is refused as not authorised.
func TestEventEditPushBackNotNewer(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/events/add", e.sameOrgUser, pyEvent("made here", 2))
	wantStatus(t, r, http.StatusOK)
	ev := get[map[string]any](t, r.obj(t), "Event")
	wantStatus(t, e.do("POST", "/events/publish/"+get[string](t, ev, "id"), e.sameOrgUser, nil), http.StatusOK)
	ev["locked"] = true // as MISP pushes it
	r = e.do("POST", "/events/edit/"+get[string](t, ev, "uuid"), e.syncKey, map[string]any{"Event": ev})
	wantStatus(t, r, http.StatusForbidden)
	if m := r.obj(t); m["errors"] != msgNotNewer {
		t.Fatalf("push back of an unchanged event: %s", r.body)
	}
	ev["timestamp"] = itoa(atoi64(get[string](t, ev, "timestamp")) + 10)
	r = e.do("POST", "/events/edit/"+get[string](t, ev, "uuid"), e.syncKey, map[string]any{"Event": ev})
	wantStatus(t, r, http.StatusForbidden)
	if m := r.obj(t); m["errors"] == msgNotNewer {
		t.Fatalf("a newer push of an event made here: %s", r.body)
	}
}

// A site admin (who has perm_sync) creating a sharing-group event over REST makes a
// sharing-group event, as in MISP; only a pushed (locked) event is received.
func TestEventAddSharingGroupByAdmin(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/sharing_groups/add", e.admin, map[string]any{"SharingGroup": map[string]any{"name": "SG", "releasability": "x"}})
	wantStatus(t, r, http.StatusOK)
	sgID := get[string](t, r.obj(t), "SharingGroup", "id")
	for i, key := range []string{e.admin, e.sameOrgUser} {
		r = e.do("POST", "/events/add", key, map[string]any{"Event": map[string]any{"info": "sg event " + itoa(int64(i)), "distribution": 4, "sharing_group_id": sgID}})
		wantStatus(t, r, http.StatusOK)
		got := get[map[string]any](t, r.obj(t), "Event")
		if got["distribution"] != "4" || got["sharing_group_id"] != sgID {
			t.Fatalf("stored as distribution %v, group %v: %s", got["distribution"], got["sharing_group_id"], r.body)
		}
	}
	// a user of an organisation outside the group may not use it
	wantEnvelope(t, e.do("POST", "/events/add", e.other, map[string]any{"Event": map[string]any{"info": "x", "distribution": 4, "sharing_group_id": sgID}}),
		http.StatusMethodNotAllowed, "Invalid Sharing Group or not authorised.")
}

// MISP's mayModify: perm_modify covers the events its user created, perm_modify_org
// those of its organisation, a site admin all; per route, for the event and its elements.
func TestEventModifyRoles(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	key := func(email, role string) string {
		_, k, err := e.st.AddUser(ctx, store.NewUser{Email: email, OrgRef: "HOSTORG", RoleRef: role})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	author, colleague, orgAdmin := key("author@host.test", "user"), key("colleague@host.test", "user"), key("orgadmin@host.test", "org_admin")
	add := func() (id, attrID string) {
		r := e.do("POST", "/events/add", author, pyEvent("the author's", 0))
		wantStatus(t, r, http.StatusOK)
		ev := get[map[string]any](t, r.obj(t), "Event")
		return get[string](t, ev, "id"), get[string](t, get[[]any](t, ev, "Attribute")[0].(map[string]any), "id")
	}
	id, attrID := add()
	for _, w := range []struct{ method, path, body string }{
		{"POST", "/events/edit/" + id, `{"Event":{"info":"colleague's edit"}}`},
		{"POST", "/attributes/add/" + id, `{"type":"ip-dst","value":"192.0.2.55"}`},
		{"POST", "/attributes/edit/" + attrID, `{"comment":"colleague"}`},
		{"POST", "/attributes/delete/" + attrID, ``},
		{"POST", "/events/delete/" + id, ``},
	} {
		if r := e.do(w.method, w.path, colleague, w.body); r.status != http.StatusForbidden {
			t.Errorf("a colleague with perm_modify: %s %s answered %d: %.200s", w.method, w.path, r.status, r.body)
		}
	}
	if _, err := e.st.EventRow(ctx, testsupport.LocalEvent(t, e.st, id)); err != nil {
		t.Fatalf("the colleague deleted the author's event: %v", err)
	}
	wantStatus(t, e.do("POST", "/attributes/edit/"+attrID, author, `{"comment":"mine"}`), http.StatusOK)
	wantStatus(t, e.do("POST", "/events/edit/"+id, orgAdmin, `{"Event":{"info":"org admin's edit"}}`), http.StatusOK)
	wantStatus(t, e.do("POST", "/events/delete/"+id, orgAdmin, nil), http.StatusOK)
	id, _ = add()
	wantStatus(t, e.do("POST", "/events/delete/"+id, author, nil), http.StatusOK)
	// another organisation's org admin: nothing
	id, _ = add()
	if _, k, err := e.st.AddUser(ctx, store.NewUser{Email: "oa@other.test", OrgRef: "OTHERORG", RoleRef: "org_admin"}); err != nil {
		t.Fatal(err)
	} else if r := e.do("POST", "/events/delete/"+id, k, nil); r.status == http.StatusOK {
		t.Fatalf("another organisation's org admin deleted the event: %s", r.body)
	}
}

// attributes/restore as PyMISP's restore_attribute calls it: the owner brings a
// soft-deleted attribute back (newer timestamps, so peers take it); another organisation
// that sees it gets MISP's 405, one that may not see it the 404 of an attribute that does
// not exist; a read-only key is refused.
func TestAttributeRestore(t *testing.T) {
	e := gateFixture(t)
	before := get[string](t, e.do("GET", "/events/view/"+gateEvent, e.sameOrgUser, nil).obj(t), "Event", "timestamp")
	wantStatus(t, e.do("POST", "/attributes/delete/"+gatePublicAttr, e.sameOrgUser, nil), http.StatusOK)
	wantStatus(t, e.do("GET", "/attributes/view/"+gatePublicAttr, e.other, nil), http.StatusOK)
	view := func() string {
		t.Helper()
		r := e.do("GET", "/events/view/"+gateEvent, e.other, nil)
		wantStatus(t, r, http.StatusOK)
		return string(r.body)
	}
	if strings.Contains(view(), gatePublicAttr) {
		t.Fatal("the deleted attribute is still shown")
	}
	wantEnvelope(t, e.do("POST", "/attributes/restore/"+gatePublicAttr, e.other, nil), http.StatusMethodNotAllowed, "Invalid Attribute")
	for _, ref := range []string{gateHiddenAttr, "999999"} {
		wantEnvelope(t, e.do("POST", "/attributes/restore/"+ref, e.other, nil), http.StatusNotFound, "Invalid attribute")
	}
	wantEnvelope(t, e.do("POST", "/attributes/restore/"+gatePublicAttr, e.readOnly, nil), http.StatusForbidden, msgNoPerm)

	e.clock.add(2 * time.Second)
	r := e.do("POST", "/attributes/restore/"+gatePublicAttr, e.sameOrgUser, nil)
	wantStatus(t, r, http.StatusOK)
	if get[string](t, r.obj(t), "Attribute", "uuid") != gatePublicAttr || get[bool](t, r.obj(t), "Attribute", "deleted") {
		t.Errorf("restore: %s", r.body)
	}
	if !strings.Contains(view(), gatePublicAttr) {
		t.Error("the restored attribute is not shown")
	}
	if after := get[string](t, e.do("GET", "/events/view/"+gateEvent, e.sameOrgUser, nil).obj(t), "Event", "timestamp"); after <= before {
		t.Errorf("the event's timestamp %s did not move on from %s", after, before)
	}
}
