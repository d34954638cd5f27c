package mispapi

import (
	"strings"
	"testing"
)

func TestSetupFlow(t *testing.T) {
	e := newEnv(t)
	// organisations
	for _, p := range []string{"/organisations/index", "/organisations/index.json", "/admin/organisations/index/scope:local"} {
		r := e.do("GET", p, e.admin, nil)
		wantStatus(t, r, 200)
		list := r.json(t).([]any)
		if len(list) == 0 {
			t.Fatalf("%s: empty", p)
		}
		wantKeys(t, list[0].(map[string]any)["Organisation"].(map[string]any), "id", "name", "uuid", "local")
	}
	r := e.do("POST", "/admin/organisations/add", e.admin, map[string]any{"Organisation": map[string]any{"name": "NEWORG", "local": false}})
	wantStatus(t, r, 200)
	org := r.obj(t)["Organisation"].(map[string]any)
	if org["name"] != "NEWORG" || org["local"] != false {
		t.Fatalf("%s", r.body)
	}
	wantStatus(t, e.do("POST", "/admin/organisations/add", e.admin, map[string]any{"Organisation": map[string]any{"name": "NEWORG"}}), 403)

	// users: the key once
	r = e.do("POST", "/admin/users/add", e.admin, map[string]any{"User": map[string]any{"email": "sync2@new.test", "org_id": org["id"], "role_id": "sync"}})
	wantStatus(t, r, 200)
	u := r.obj(t)["User"].(map[string]any)
	key, _ := u["authkey"].(string)
	if len(key) != 40 {
		t.Fatalf("no key: %s", r.body)
	}
	wantStatus(t, e.do("GET", "/servers/getVersion", key, nil), 200)
	r = e.do("POST", "/auth_keys/add/"+u["id"].(string), e.admin, map[string]any{"AuthKey": map[string]any{"comment": "second", "read_only": 1}})
	wantStatus(t, r, 200)
	ak := r.obj(t)["AuthKey"].(map[string]any)
	if raw, _ := ak["authkey_raw"].(string); len(raw) != 40 || ak["read_only"] != true {
		t.Fatalf("%s", r.body)
	}

	// servers: add, index (never the authkey), edit, pull/push/test, delete
	remoteKey := strings.Repeat("R", 40)
	r = e.do("POST", "/servers/add", e.admin, map[string]any{"Server": map[string]any{"url": "https://misp-a.example/", "name": "A",
		"authkey": remoteKey, "remote_org_id": org["uuid"], "push": true, "pull": "1"}})
	wantStatus(t, r, 200)
	srv := r.obj(t)["Server"].(map[string]any)
	if srv["url"] != "https://misp-a.example" || srv["push"] != true || srv["pull"] != true {
		t.Fatalf("%s", r.body)
	}
	wantStatus(t, e.do("POST", "/servers/add", e.admin, map[string]any{"Server": map[string]any{"url": "https://x.example", "authkey": remoteKey}}), 403)
	r = e.do("GET", "/servers/index", e.admin, nil)
	wantStatus(t, r, 200)
	if strings.Contains(string(r.body), remoteKey) {
		t.Fatal("servers/index shows a remote authkey")
	}
	row := r.json(t).([]any)[0].(map[string]any)
	wantKeys(t, row, "Server", "Organisation", "RemoteOrg")
	if _, ok := row["Server"].(map[string]any)["authkey"]; ok {
		t.Fatal("authkey member present")
	}
	id := srv["id"].(string)
	r = e.do("POST", "/servers/edit/"+id, e.admin, map[string]any{"Server": map[string]any{"push": false}})
	wantStatus(t, r, 200)
	if s := r.obj(t)["Server"].(map[string]any); s["push"] != false || s["pull"] != true {
		t.Fatalf("%s", r.body)
	}
	wantStatus(t, e.do("GET", "/servers/pull/"+id+"/full", e.admin, nil), 200)
	wantStatus(t, e.do("POST", "/servers/push/"+id, e.admin, nil), 200)
	wantStatus(t, e.do("POST", "/servers/testConnection/"+id, e.admin, nil), 200)
	if got := strings.Join(e.syncer.calls, ";"); got != "pull "+id+" full;push "+id+" full" {
		t.Fatalf("runner calls %q", got)
	}
	wantEnvelope(t, e.do("GET", "/servers/pull/999", e.admin, nil), 404, "Invalid server")

	// sharing groups
	r = e.do("POST", "/sharing_groups/add", e.admin, map[string]any{"SharingGroup": map[string]any{"name": "SG-A", "releasability": "peers"}})
	wantStatus(t, r, 200)
	sg := r.obj(t)["SharingGroup"].(map[string]any)
	wantStatus(t, e.do("POST", "/sharing_groups/addOrg/"+sg["id"].(string)+"/"+org["uuid"].(string), e.admin, nil), 200)
	wantStatus(t, e.do("POST", "/sharing_groups/addServer/"+sg["uuid"].(string)+"/"+id, e.admin, nil), 200)
	wantEnvelope(t, e.do("POST", "/sharing_groups/addOrg/"+sg["id"].(string)+"/NOSUCHORG", e.admin, nil), 404, "")
	r = e.do("GET", "/sharing_groups/view/"+sg["uuid"].(string), e.admin, nil)
	wantStatus(t, r, 200)
	v := r.obj(t)
	wantKeys(t, v, "SharingGroup", "Organisation", "SharingGroupOrg", "SharingGroupServer")
	if n := len(v["SharingGroupOrg"].([]any)); n != 2 {
		t.Fatalf("%d orgs: %s", n, r.body)
	}
	r = e.do("GET", "/sharing_groups/index", e.admin, nil)
	wantStatus(t, r, 200)
	if list := r.obj(t)["response"].([]any); len(list) != 1 {
		t.Fatalf("%s", r.body)
	}
	wantEnvelope(t, e.do("GET", "/sharing_groups/view/999", e.admin, nil), 404, "")

	wantStatus(t, e.do("POST", "/servers/delete/"+id, e.admin, nil), 200)
	wantEnvelope(t, e.do("POST", "/servers/delete/"+id, e.admin, nil), 404, "")
}

// A sync user's key reaches only what MISP lets a sync user reach: never the servers'
// keys nor other users' (CVE-2019-16202), nor any set-up endpoint.
func TestSyncUserCannotReachSetup(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ method, path string }{
		{"GET", "/servers/index"}, {"GET", "/servers/index.json"}, {"POST", "/servers/add"}, {"POST", "/servers/edit/1"},
		{"POST", "/servers/delete/1"}, {"GET", "/servers/pull/1"}, {"GET", "/servers/push/1"}, {"GET", "/servers/testConnection/1"},
		{"POST", "/auth_keys/add/1"}, {"POST", "/admin/users/add"}, {"POST", "/admin/organisations/add"},
		{"GET", "/organisations/index"}, {"GET", "/admin/users/view/1"},
	} {
		for _, key := range []string{e.syncKey, e.other, e.readOnly} {
			r := e.do(c.method, c.path, key, map[string]any{})
			if r.status != 403 && r.status != 404 {
				t.Fatalf("%s %s: %d %s", c.method, c.path, r.status, r.body)
			}
			if strings.Contains(string(r.body), "authkey") {
				t.Fatalf("%s %s leaks: %s", c.method, c.path, r.body)
			}
		}
	}
}

// Sharing groups are listed and shown to the organisations that made them or belong to
// them (MISP's fetchAllAuthorised); to anyone else they do not exist.
func TestSharingGroupsVisibleToMembers(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/sharing_groups/add", e.admin, map[string]any{"SharingGroup": map[string]any{"name": "SG-PEER", "releasability": "peers"}})
	wantStatus(t, r, 200)
	sg := r.obj(t)["SharingGroup"].(map[string]any)
	wantStatus(t, e.do("POST", "/sharing_groups/addOrg/"+sg["id"].(string)+"/PEERORG", e.admin, nil), 200)
	names := func(key string) []string {
		r := e.do("GET", "/sharing_groups/index", key, nil)
		wantStatus(t, r, 200)
		var out []string
		for _, row := range r.obj(t)["response"].([]any) {
			out = append(out, row.(map[string]any)["SharingGroup"].(map[string]any)["name"].(string))
		}
		return out
	}
	if got := names(e.syncKey); len(got) != 1 || got[0] != "SG-PEER" {
		t.Errorf("a member's index: %v", got)
	}
	if got := names(e.sameOrgUser); len(got) != 1 {
		t.Errorf("the creator organisation's index: %v", got)
	}
	if got := names(e.other); len(got) != 0 {
		t.Errorf("an outsider's index: %v", got)
	}
	wantStatus(t, e.do("GET", "/sharing_groups/view/"+sg["uuid"].(string), e.syncKey, nil), 200)
	wantEnvelope(t, e.do("GET", "/sharing_groups/view/"+sg["uuid"].(string), e.other, nil), 404, "Invalid sharing group")
}
