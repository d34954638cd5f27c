package mispapi

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"mispdesk/store"
)

// MISP's tooling reaches a controller by either spelling (PyMISP and the sync test bed
// call sharingGroups/…, shadowAttributes/…, analystData/…, eventReports/…): every route
// answers both, and an unknown controller is still 404.
func TestControllerSpellings(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{
		"/sharing_groups/index", "/sharingGroups/index", "/SharingGroups/index.json",
		"/shadow_attributes/index", "/shadowAttributes/index",
		"/analyst_data/index/Note", "/analystData/index/Note",
		"/event_reports/index", "/eventReports/index",
		"/galaxy_clusters/index", "/galaxyClusters/index",
		"/auth_keys/index", "/authKeys/index",
		"/event_blocklists/index", "/eventBlocklists/index", "/admin/event_blocklists/index",
		"/org_blocklists/index", "/orgBlocklists/index",
		"/servers/getVersion", "/servers/getversion", "/servers/get_version_nope",
	} {
		r := e.do("GET", p, e.admin, nil)
		want := http.StatusOK
		if p == "/servers/get_version_nope" {
			want = http.StatusNotFound
		}
		if r.status != want {
			t.Errorf("GET %s: %d, want %d: %.200s", p, r.status, want, r.body)
		}
	}
	r := e.do("POST", "/objectReferences/add/1", e.admin, `{}`)
	r2 := e.do("POST", "/object_references/add/1", e.admin, `{}`)
	// an unknown object, not an unknown controller: the route answers both spellings
	wantEnvelope(t, r, http.StatusNotFound, "Invalid object")
	wantEnvelope(t, r2, http.StatusNotFound, "Invalid object")
	wantEnvelope(t, e.do("GET", "/sharingGroupz/index", e.admin, nil), http.StatusNotFound, "")
}

func TestRouteKey(t *testing.T) {
	for in, want := range map[string]string{
		"sharing_groups/view":       "sharing_groups/view",
		"sharingGroups/view":        "sharing_groups/view",
		"SharingGroups/View":        "sharing_groups/view",
		"admin/eventBlocklists/add": "admin/event_blocklists/add",
		"tags/attachTagToObject":    "tags/attachtagtoobject",
		"events/restSearch":         "events/restsearch",
	} {
		if got := routeKey(in); got != want {
			t.Errorf("routeKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// MISP's INSTALL.sh asks for "internal": true on every link; MISP saves the link and drops
// the flag unless the remote organisation is the host organisation. So does servers/add
// and servers/edit here, saying so in a message MISP's tools ignore.
func TestServersInternalOnlyWithinHostOrg(t *testing.T) {
	e := newEnv(t)
	key := strings.Repeat("K", 40)
	r := e.do("POST", "/servers/add", e.admin, map[string]any{"Server": map[string]any{"url": "https://misp-c.example", "name": "C",
		"authkey": key, "remote_org_id": e.peerOrg.ID, "push": true, "internal": true}})
	wantStatus(t, r, http.StatusOK)
	m := r.obj(t)
	if get[bool](t, m, "Server", "internal") {
		t.Fatalf("a link to another organisation was saved internal: %s", r.body)
	}
	if msg, _ := m["message"].(string); !strings.Contains(msg, "internal") {
		t.Fatalf("the answer does not say the flag was dropped: %s", r.body)
	}
	id := get[string](t, m, "Server", "id")
	r = e.do("POST", "/servers/edit/"+id, e.admin, map[string]any{"Server": map[string]any{"internal": 1}})
	wantStatus(t, r, http.StatusOK)
	if get[bool](t, r.obj(t), "Server", "internal") {
		t.Fatalf("edit made a link to another organisation internal: %s", r.body)
	}
	// to the host organisation the flag is kept, without a note
	r = e.do("POST", "/servers/add", e.admin, map[string]any{"Server": map[string]any{"url": "https://misp-d.example", "name": "D",
		"authkey": key, "remote_org_id": e.hostOrg.UUID, "internal": true}})
	wantStatus(t, r, http.StatusOK)
	if m := r.obj(t); !get[bool](t, m, "Server", "internal") || m["message"] != nil {
		t.Fatalf("a link within the host organisation: %s", r.body)
	}
}

// tags/add of a name that exists answers 200 with the existing tag, as MISP does (scripts
// add their tags idempotently); nothing is duplicated.
func TestTagsAddExisting(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/tags/add", e.admin, map[string]any{"Tag": map[string]any{"name": "script:tag", "colour": "#123456"}})
	wantStatus(t, r, http.StatusOK)
	id := get[string](t, r.obj(t), "Tag", "id")
	r = e.do("POST", "/tags/add", e.admin, map[string]any{"name": "script:tag", "colour": "#ffffff"})
	wantStatus(t, r, http.StatusOK)
	if got := r.obj(t); get[string](t, got, "Tag", "id") != id || get[string](t, got, "Tag", "colour") != "#123456" {
		t.Fatalf("second add: %s", r.body)
	}
}

// eventBlocklists/*: MISP's ACL lets any host-organisation user who may add events manage
// the event blocklist (host_org_user and perm_add), and a site admin; nobody else.
func TestEventBlocklistsHostOrgUsers(t *testing.T) {
	e := newEnv(t)
	_, orgAdmin, err := e.st.AddUser(context.Background(), store.NewUser{Email: "oa@host.test", OrgRef: "HOSTORG", RoleRef: "org_admin"})
	if err != nil {
		t.Fatal(err)
	}
	const u = "6f0c2c1e-1111-4000-8000-00000000b10c"
	for _, key := range []string{orgAdmin, e.sameOrgUser} {
		r := e.do("POST", "/eventBlocklists/add", key, map[string]any{"uuids": []string{u}, "comment": "noise"})
		wantStatus(t, r, http.StatusOK)
		wantStatus(t, e.do("GET", "/eventBlocklists/index", key, nil), http.StatusOK)
		wantStatus(t, e.do("GET", "/event_blocklists/index", key, nil), http.StatusOK)
	}
	if bl, err := e.st.Blocklists(context.Background()); err != nil || len(bl.Events) != 1 {
		t.Fatalf("blocklist after the adds: %v %v", bl, err)
	}
	// another organisation's user, a sync account and a read-only key: refused
	for _, key := range []string{e.other, e.syncKey, e.readOnly} {
		wantStatus(t, e.do("POST", "/eventBlocklists/add", key, map[string]any{"uuids": []string{u}}), http.StatusForbidden)
	}
	wantStatus(t, e.do("GET", "/eventBlocklists/index", e.other, nil), http.StatusForbidden)
}

// servers/getVersion reports the role's perm_analyst_data, as MISP does.
func TestGetVersionPermAnalystData(t *testing.T) {
	e := newEnv(t)
	for key, want := range map[string]bool{e.admin: true, e.readOnly: false} {
		if m := e.do("GET", "/servers/getVersion", key, nil).obj(t); m["perm_analyst_data"] != want {
			t.Errorf("perm_analyst_data %v, want %v", m["perm_analyst_data"], want)
		}
	}
}

// events/addTag, events/removeTag, attributes/addTag and attributes/removeTag with the
// params MISP's controllers take (path or body, id or UUID, tag by name or id), answering
// 200 with saved true/false as MISP does.
func TestAddRemoveTagEndpoints(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/events/add", e.sameOrgUser, pyEvent("tagged", 0))
	wantStatus(t, r, http.StatusOK)
	ev := get[map[string]any](t, r.obj(t), "Event")
	id, uuid := get[string](t, ev, "id"), get[string](t, ev, "uuid")
	attr := get[[]any](t, ev, "Attribute")[0].(map[string]any)
	wantStatus(t, e.do("POST", "/tags/add", e.admin, map[string]any{"name": "tlp:amber"}), http.StatusOK)
	tagID := get[string](t, e.do("POST", "/tags/add", e.admin, map[string]any{"name": "tlp:amber"}).obj(t), "Tag", "id")
	saved := func(r resp, want bool) {
		t.Helper()
		wantStatus(t, r, http.StatusOK)
		if r.obj(t)["saved"] != want {
			t.Fatalf("saved %v, want %v: %s", r.obj(t)["saved"], want, r.body)
		}
	}
	tags := func(path ...string) string {
		r := e.do("GET", "/events/view/"+uuid, e.sameOrgUser, nil)
		wantStatus(t, r, http.StatusOK)
		var out []string
		m := get[map[string]any](t, r.obj(t), "Event")
		if len(path) > 0 {
			for _, a := range get[[]any](t, m, "Attribute") {
				if a.(map[string]any)["uuid"] == path[0] {
					m = a.(map[string]any)
				}
			}
		}
		l, _ := m["Tag"].([]any)
		for _, tg := range l {
			out = append(out, tg.(map[string]any)["name"].(string))
		}
		return strings.Join(out, ",")
	}
	saved(e.do("POST", "/events/addTag/"+id+"/"+tagID, e.sameOrgUser, nil), true)
	if got := tags(); got != "tlp:amber" {
		t.Fatalf("event tags after addTag: %q", got)
	}
	saved(e.do("POST", "/events/removeTag", e.sameOrgUser, map[string]any{"request": map[string]any{"Event": map[string]any{"id": uuid, "tag": "tlp:amber"}}}), true)
	if got := tags(); got != "" {
		t.Fatalf("event tags after removeTag: %q", got)
	}
	saved(e.do("POST", "/attributes/addTag", e.sameOrgUser, map[string]any{"attribute": attr["uuid"], "tag": "tlp:amber"}), true)
	if got := tags(attr["uuid"].(string)); got != "tlp:amber" {
		t.Fatalf("attribute tags after addTag: %q", got)
	}
	saved(e.do("POST", "/attributes/removeTag/"+get[string](t, attr, "id")+"/"+tagID, e.sameOrgUser, nil), true)
	if got := tags(attr["uuid"].(string)); got != "" {
		t.Fatalf("attribute tags after removeTag: %q", got)
	}
	// an unknown event or tag, and a caller who may not change the event: saved false
	saved(e.do("POST", "/events/addTag/999999/"+tagID, e.sameOrgUser, nil), false)
	saved(e.do("POST", "/events/addTag/"+id+"/no-such-tag", e.sameOrgUser, nil), false)
	// addTag only looks a name up, even for a tag editor (MISP's Tag::lookupTagIdForUser):
	// an unknown name is "Invalid Tag." and no tag is created
	for _, path := range []string{"/events/addTag/" + id + "/never-made", "/attributes/addTag/" + get[string](t, attr, "id") + "/never-made"} {
		r = e.do("POST", path, e.admin, nil)
		saved(r, false)
		if msg := r.obj(t)["errors"]; msg != "Invalid Tag." {
			t.Fatalf("%s: errors %v, want %q", path, msg, "Invalid Tag.")
		}
	}
	if r := e.do("GET", "/tags/index/searchall:never-made", e.admin, nil); strings.Contains(string(r.body), "never-made") {
		t.Fatalf("addTag created the unknown tag: %s", r.body)
	}
	saved(e.do("POST", "/events/addTag/"+id+"/"+tagID, e.admin, nil), true)
	r = e.do("POST", "/events/addTag/"+id+"/"+tagID, e.other, nil)
	if r.status == http.StatusOK && r.obj(t)["saved"] == true {
		t.Fatalf("another organisation tagged an org-only event: %s", r.body)
	}
}
