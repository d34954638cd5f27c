package mispapi

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
)

// feeds/* as PyMISP's feed methods call them: the site admin adds, edits, enables,
// disables, fetches, caches and deletes; the host organisation's users list and view
// without the headers; another organisation sees no feed and may not view one; read-only
// keys and other roles are refused.
func TestFeedsREST(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dir, _ := filepath.Abs("../../testdata/feeds/act-workers-circl")
	r := e.do("POST", "/feeds/add", e.admin, map[string]any{"Feed": map[string]any{"name": "CIRCL workers", "provider": "CIRCL",
		"url": dir, "input_source": "local", "source_format": "misp", "distribution": "3", "headers": "Authorization: secret",
		"rules": `{"tags":{"OR":[],"NOT":["tlp:red"]},"orgs":{"OR":[],"NOT":[]}}`}})
	wantStatus(t, r, 200)
	id := get[string](t, r.obj(t), "Feed", "id")
	if get[string](t, r.obj(t), "Feed", "distribution") != "3" || get[bool](t, r.obj(t), "Feed", "enabled") {
		t.Errorf("feeds/add: %s", r.body)
	}
	wantStatus(t, e.do("POST", "/feeds/add", e.admin, map[string]any{"Feed": map[string]any{"name": "bad", "url": dir, "rules": "{"}}), 403)

	// fetching a disabled feed says so; enabled, it is fetched by the engine
	r = e.do("GET", "/feeds/fetchFromFeed/"+id, e.admin, nil)
	wantStatus(t, r, 200)
	if r.obj(t)["result"] != "Feed is currently not enabled. Make sure you enable it." {
		t.Errorf("fetch of a disabled feed: %s", r.body)
	}
	r = e.do("POST", "/feeds/enable/"+id, e.admin, nil)
	wantStatus(t, r, 200)
	if r.obj(t)["message"] != "Feed enabled." {
		t.Errorf("enable: %s", r.body)
	}
	r = e.do("POST", "/feeds/edit/"+id, e.admin, map[string]any{"Feed": map[string]any{"caching_enabled": true, "provider": "CIRCL.lu"}})
	wantStatus(t, r, 200)
	if get[string](t, r.obj(t), "Feed", "provider") != "CIRCL.lu" || !get[bool](t, r.obj(t), "Feed", "enabled") ||
		get[string](t, r.obj(t), "Feed", "name") != "CIRCL workers" {
		t.Errorf("edit: %s", r.body)
	}
	r = e.do("GET", "/feeds/fetchFromFeed/"+id, e.admin, nil)
	wantStatus(t, r, 200)
	if r.obj(t)["result"] != "Fetching the feed has successfully completed. Downloaded 2 new event(s). Updated 1 event(s)." {
		t.Errorf("fetch: %s", r.body)
	}
	wantStatus(t, e.do("GET", "/feeds/fetchFromAllFeeds", e.admin, nil), 200)
	r = e.do("GET", "/feeds/cacheFeeds/all", e.admin, nil)
	wantStatus(t, r, 200)
	if r.obj(t)["message"] != "Caching the feeds has successfully completed." {
		t.Errorf("cache: %s", r.body)
	}
	wantStatus(t, e.do("GET", "/feeds/cacheFeeds/freetext", e.admin, nil), 200)
	e.syncer.mu.Lock()
	calls := slices.Clone(e.syncer.calls)
	e.syncer.mu.Unlock()
	for _, want := range []string{"fetch feed " + id, "cache feed " + id} {
		if n := strings.Count(strings.Join(calls, "\n"), want); (want[0] == 'f' && n != 2) || (want[0] == 'c' && n != 1) {
			t.Errorf("%q asked %d times: %v", want, n, calls)
		}
	}

	// the host organisation lists and views, without the headers; others see none
	for _, key := range []string{e.sameOrgUser, e.readOnly} {
		r = e.do("GET", "/feeds/index", key, nil)
		wantStatus(t, r, 200)
		if s := string(r.body); !strings.Contains(s, "CIRCL workers") || strings.Contains(s, "secret") {
			t.Errorf("host organisation's index: %s", s)
		}
		r = e.do("GET", "/feeds/view/"+id, key, nil)
		wantStatus(t, r, 200)
		if strings.Contains(string(r.body), "secret") {
			t.Errorf("headers shown to a user: %s", r.body)
		}
	}
	if r = e.do("GET", "/feeds/view/"+id, e.admin, nil); !strings.Contains(string(r.body), "secret") {
		t.Errorf("the site admin does not see the headers: %s", r.body)
	}
	for _, key := range []string{e.other, e.syncKey} {
		r = e.do("GET", "/feeds/index", key, nil)
		wantStatus(t, r, 200)
		if string(r.body) != "[]" {
			t.Errorf("another organisation's index: %s", r.body)
		}
		wantEnvelope(t, e.do("GET", "/feeds/view/"+id, key, nil), 403, msgNoPerm)
	}
	for _, c := range []struct{ method, path string }{{"POST", "/feeds/edit/" + id}, {"POST", "/feeds/delete/" + id},
		{"GET", "/feeds/fetchFromFeed/" + id}, {"GET", "/feeds/cacheFeeds/all"}, {"POST", "/feeds/disable/" + id}} {
		wantEnvelope(t, e.do(c.method, c.path, e.sameOrgUser, map[string]any{"name": "x"}), 403, msgNoPerm)
	}
	_, roAdmin, err := e.st.AddAuthKey(ctx, testsupport.UserID(e.st, "admin@admin.test"), store.AuthKeyOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/feeds/fetchFromFeed/" + id, "/feeds/fetchFromAllFeeds", "/feeds/cacheFeeds/all"} {
		wantEnvelope(t, e.do("GET", path, roAdmin, nil), 403, msgNoPerm)
	}
	wantEnvelope(t, e.do("GET", "/feeds/view/999", e.admin, nil), 404, "Invalid feed.")
	wantStatus(t, e.do("POST", "/feeds/delete/"+id, e.admin, nil), 200)
	wantEnvelope(t, e.do("GET", "/feeds/view/"+id, e.admin, nil), 404, "Invalid feed.")
}
