package mispapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
)

const fixtureExisting = "../../testdata/events/pymisp/existing_event.json"

func TestAuth(t *testing.T) {
	e := newEnv(t)
	const authMsg = msgAuthFailed
	// no key, wrong key, 39 characters, a Basic header
	wantEnvelope(t, e.do("GET", "/servers/getVersion", "", nil), 403, authMsg)
	wantEnvelope(t, e.do("GET", "/servers/getVersion", strings.Repeat("a", 40), nil), 403, authMsg)
	wantEnvelope(t, e.do("GET", "/servers/getVersion", e.admin[:39], nil), 403, authMsg)
	wantEnvelope(t, e.do("GET", "/servers/getVersion", "Basic "+e.admin, nil), 403, authMsg)
	// an unknown endpoint does not tell an anonymous caller it does not exist
	wantEnvelope(t, e.do("GET", "/nothing/here", "", nil), 403, authMsg)
	// comma-separated: the first key of the right shape is used
	wantStatus(t, e.do("GET", "/servers/getVersion", "short, "+e.admin, nil), 200)
	// X-MISP-AUTH wins over Authorization
	wantStatus(t, e.do("GET", "/servers/getVersion", strings.Repeat("b", 40), nil, "X-MISP-AUTH", e.admin), 200)
	wantEnvelope(t, e.do("GET", "/servers/getVersion", e.admin, nil, "X-MISP-AUTH", strings.Repeat("b", 40)), 403, authMsg)
	// expiring keys announce when; expired keys fail
	r := e.do("GET", "/servers/getVersion", e.expired, nil)
	wantStatus(t, r, 200)
	if _, err := time.Parse(time.RFC3339, r.header.Get("X-Auth-Key-Expiration")); err != nil {
		t.Fatalf("X-Auth-Key-Expiration %q: %v", r.header.Get("X-Auth-Key-Expiration"), err)
	}
	if r := e.do("GET", "/servers/getVersion", e.admin, nil); r.header.Get("X-Auth-Key-Expiration") != "" {
		t.Fatal("a key that never expires announces an expiration")
	}
	e.clock.add(2 * time.Hour)
	wantEnvelope(t, e.do("GET", "/servers/getVersion", e.expired, nil), 403, authMsg)
	// a read-only key reads but never writes
	wantStatus(t, e.do("GET", "/events/index", e.readOnly, nil), 200)
	ev := testEvent("0a1b2c3d-0000-4000-8000-000000000001", misp.CommunityOnly, false, 1727800000)
	wantEnvelope(t, e.do("POST", "/events/add", e.readOnly, map[string]any{"Event": ev}), 403, msgNoPerm)
	// an authenticated caller gets 404 for an unknown endpoint, 405 for a wrong method
	wantEnvelope(t, e.do("GET", "/nothing/here", e.admin, nil), 404, "")
	wantEnvelope(t, e.do("DELETE", "/servers/getVersion", e.admin, nil), 405, "")
}

func TestPathForms(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/servers/getVersion", "/servers/getVersion.json", "/servers/getversion", "/Servers/GetVersion.json", "//servers//getVersion/"} {
		r := e.do("GET", p, e.syncKey, nil)
		wantStatus(t, r, 200)
		if r.obj(t)["version"] != "2.5.1" {
			t.Fatalf("%s: %s", p, r.body)
		}
	}
	for _, p := range []string{"/servers/getPyMISPVersion", "/servers/getPyMISPVersion.json"} {
		if v := e.do("GET", p, e.syncKey, nil).obj(t)["version"]; v != "2.5.1" {
			t.Fatalf("%s: version %v", p, v)
		}
	}
}

func TestGetVersion(t *testing.T) {
	e := newEnv(t)
	m := e.do("GET", "/servers/getVersion", e.syncKey, nil).obj(t)
	wantKeys(t, m, "version", "pymisp_recommended_version", "perm_sync", "perm_sighting", "perm_galaxy_editor",
		"perm_analyst_data", "uuid", "request_encoding", "filter_sightings", "mispdesk_version")
	in, _ := e.st.Instance(context.Background())
	if m["perm_sync"] != true || m["uuid"] != in.UUID || m["filter_sightings"] != true {
		t.Fatalf("sync user: %v", m)
	}
	if enc, _ := m["request_encoding"].([]any); len(enc) != 1 || enc[0] != "gzip" {
		t.Fatalf("request_encoding %v", m["request_encoding"])
	}
	m = e.do("GET", "/servers/getVersion", e.other, nil).obj(t)
	if m["perm_sync"] != false || m["uuid"] != "-" {
		t.Fatalf("plain user: %v", m)
	}
}

func TestPostTest(t *testing.T) {
	e := newEnv(t)
	payload := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 150)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(`{"testString":"` + payload + `"}`))
	zw.Close()
	r := e.do("POST", "/servers/postTest", e.syncKey, buf.Bytes(), "Content-Encoding", "gzip", "Accept-Encoding", "gzip")
	wantStatus(t, r, 200)
	if r.header.Get("Content-Encoding") != "gzip" {
		t.Fatal("a large answer to a gzip-accepting client is not compressed")
	}
	m := r.obj(t)
	if m["body"].(map[string]any)["testString"] != payload {
		t.Fatal("testString not echoed")
	}
	h := m["headers"].(map[string]any)
	if h["Content-type"] != "application/json" || h["Accept"] != "application/json" || h["Authorization"] != "OK" {
		t.Fatalf("headers %v", h)
	}
	// broken gzip and malformed JSON are refused with an envelope, never a 500
	wantEnvelope(t, e.do("POST", "/servers/postTest", e.syncKey, "not gzip", "Content-Encoding", "gzip"), 400, "")
	wantEnvelope(t, e.do("POST", "/servers/postTest", e.syncKey, `{"testString":`), 400, msgInvalidJSON)
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t)
	big := `{"testString":"` + strings.Repeat("x", 9<<20) + `"}`
	wantEnvelope(t, e.do("POST", "/servers/postTest", e.syncKey, big), 413, "")
	// a gzip bomb is bounded after decompression
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(big))
	zw.Close()
	wantEnvelope(t, e.do("POST", "/servers/postTest", e.syncKey, buf.Bytes(), "Content-Encoding", "gzip"), 413, "")
}

func TestUsersViewMe(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/users/view/me", "/users/view/me.json"} {
		m := e.do("GET", p, e.syncKey, nil).obj(t)
		wantKeys(t, m, "User", "Role", "Organisation", "UserSetting")
		u := m["User"].(map[string]any)
		if u["email"] != "sync@peer.test" || u["authkey"] != nil {
			t.Fatalf("User %v", u)
		}
		if m["Role"].(map[string]any)["perm_sync"] != true || m["Organisation"].(map[string]any)["name"] != "PEERORG" {
			t.Fatalf("%s", e.do("GET", p, e.syncKey, nil).body)
		}
	}
	// read-only keys show the permissions they carry
	if m := e.do("GET", "/users/view/me", e.readOnly, nil).obj(t); m["Role"].(map[string]any)["perm_add"] != false {
		t.Fatal("read-only key shows perm_add")
	}
	wantEnvelope(t, e.do("GET", "/users/view/1", e.other, nil), 404, "")
}

func TestETagAndGzip(t *testing.T) {
	e := newEnv(t)
	e.importFile(fixtureExisting, func(ev *misp.Event) { ev.Published = true })
	r := e.do("POST", "/events/index", e.syncKey, map[string]any{"minimal": 1, "published": 1}, "If-None-Match", `""`)
	wantStatus(t, r, 200)
	etag := r.header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || len(etag) != 42 {
		t.Fatalf("ETag %q", etag)
	}
	r2 := e.do("POST", "/events/index", e.syncKey, map[string]any{"minimal": 1, "published": 1}, "If-None-Match", etag)
	wantStatus(t, r2, 304)
	if len(r2.body) != 0 {
		t.Fatal("304 with a body")
	}
	// an Apache-style -gzip suffix still matches
	wantStatus(t, e.do("POST", "/events/index", e.syncKey, map[string]any{"minimal": 1, "published": 1}, "If-None-Match", strings.TrimSuffix(etag, `"`)+`-gzip"`), 304)
	// the event view compresses for clients that accept it
	r3 := e.do("GET", "/events/view/5a3c2fcd-8328-42bb-a95e-4f4402de0b81", e.syncKey, nil, "Accept-Encoding", "gzip")
	wantStatus(t, r3, 200)
	if r3.header.Get("Content-Encoding") != "gzip" {
		t.Fatal("event view not compressed")
	}
}

func TestEventsIndex(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	put := func(ev *misp.Event, owner int64) {
		if _, err := e.st.UpsertEvent(ctx, ev, store.UpsertOptions{OwnerOrgID: store.OrgID(owner)}); err != nil {
			t.Fatal(err)
		}
	}
	pub := testEvent("11111111-0000-4000-8000-000000000001", misp.CommunityOnly, true, 1727800000)
	pub.Tag = []misp.Tag{{Name: "tlp:green"}}
	unpub := testEvent("11111111-0000-4000-8000-000000000002", misp.CommunityOnly, false, 1727800100)
	orgOnly := testEvent("11111111-0000-4000-8000-000000000003", misp.OrgOnly, true, 1727800200)
	red := testEvent("11111111-0000-4000-8000-000000000004", misp.AllCommunities, true, 1727800300)
	red.Tag = []misp.Tag{{Name: "tlp:red"}}
	put(pub, 0)
	put(unpub, 0)
	put(orgOnly, 0)
	put(red, 0)

	uuids := func(r resp) []string {
		var out []string
		for _, row := range r.json(t).([]any) {
			out = append(out, row.(map[string]any)["uuid"].(string))
		}
		return out
	}
	r := e.do("POST", "/events/index", e.syncKey, map[string]any{"minimal": 1, "published": 1})
	wantStatus(t, r, 200)
	got := uuids(r)
	if len(got) != 2 || r.header.Get("X-Result-Count") != "2" {
		t.Fatalf("sync user index %v (count %s)", got, r.header.Get("X-Result-Count"))
	}
	row := r.json(t).([]any)[0].(map[string]any)
	wantKeys(t, row, "id", "timestamp", "sighting_timestamp", "published", "uuid", "orgc_uuid")
	if _, ok := row["id"].(string); !ok {
		t.Fatal("id is not a string")
	}
	// the sync user never sees unpublished or org-only events of others
	if got := uuids(e.do("POST", "/events/index", e.syncKey, map[string]any{"minimal": 1})); len(got) != 2 {
		t.Fatalf("sync user without published filter: %v", got)
	}
	// the owner sees all four; tag negation and lists
	if got := uuids(e.do("POST", "/events/index", e.admin, map[string]any{"minimal": 1})); len(got) != 4 {
		t.Fatalf("admin: %v", got)
	}
	if got := uuids(e.do("POST", "/events/index", e.admin, map[string]any{"minimal": 1, "tag": []string{"!tlp:red"}})); len(got) != 3 {
		t.Fatalf("!tlp:red: %v", got)
	}
	if got := uuids(e.do("POST", "/events/index", e.admin, map[string]any{"minimal": 1, "tags": "tlp:green|tlp:red"})); len(got) != 2 {
		t.Fatalf("tlp:green|tlp:red: %v", got)
	}
	if got := uuids(e.do("POST", "/events/index", e.admin, map[string]any{"minimal": 1, "tag": map[string]any{"NOT": []string{"TLP:RED"}}})); len(got) != 3 {
		t.Fatalf("NOT TLP:RED: %v", got)
	}
	if got := uuids(e.do("POST", "/events/index", e.admin, map[string]any{"minimal": 1, "org": []string{"!PEERORG"}})); len(got) != 0 {
		t.Fatalf("!PEERORG: %v", got)
	}
	if got := uuids(e.do("POST", "/events/index", e.admin, map[string]any{"minimal": 1, "org": "55f6ea5e-2c60-40e5-964f-47a8950d210f"})); len(got) != 4 {
		t.Fatalf("org by uuid: %v", got)
	}
	if got := uuids(e.do("POST", "/events/index", e.admin, map[string]any{"minimal": 1, "timestamp": []any{"1727800100", "1727800200"}})); len(got) != 2 {
		t.Fatalf("timestamp range: %v", got)
	}
	if got := uuids(e.do("POST", "/events/index", e.admin, map[string]any{"minimal": 1, "timestamp": "30d"})); len(got) != 0 {
		t.Fatalf("30d: %v", got) // fixtures are from 2024
	}
	// pagination: newest first
	if got := uuids(e.do("POST", "/events/index", e.admin, map[string]any{"minimal": 1, "limit": 1, "page": 2})); len(got) != 1 || got[0] != orgOnly.UUID {
		t.Fatalf("page 2: %v", got)
	}
	// GET with named parameters, with and without .json
	for _, p := range []string{"/events/index/minimal:1/published:1", "/events/index/minimal:1/published:1.json", "/events/index/searchpublished:1/minimal:1"} {
		if got := uuids(e.do("GET", p, e.syncKey, nil)); len(got) != 2 {
			t.Fatalf("%s: %v", p, got)
		}
	}
	// the other organisation's user sees community events, not org-only ones
	if got := uuids(e.do("POST", "/events/index", e.other, map[string]any{"minimal": 1})); len(got) != 3 {
		t.Fatalf("other org: %v", got)
	}
	// full rows
	full := e.do("POST", "/events/index", e.syncKey, map[string]any{"published": 1}).json(t).([]any)
	fr := full[0].(map[string]any)
	wantKeys(t, fr, "id", "org_id", "orgc_id", "info", "uuid", "published", "distribution", "timestamp", "Org", "Orgc", "EventTag")
	// bad filters are a 400 envelope
	wantEnvelope(t, e.do("POST", "/events/index", e.admin, map[string]any{"timestamp": "yesterday-ish"}), 400, "")
	wantEnvelope(t, e.do("POST", "/events/index", e.admin, `{"minimal":`), 400, msgInvalidJSON)
}

func TestEventsView(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ev := e.importFile(fixtureExisting, func(ev *misp.Event) {
		ev.Published = true
		ev.Tag = append(ev.Tag, misp.Tag{Name: "internal:only", Local: true})
	})
	orgOnly := testEvent("22222222-0000-4000-8000-000000000001", misp.OrgOnly, true, 1727800000)
	if _, err := e.st.UpsertEvent(ctx, orgOnly, store.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	base := "/events/view/" + ev.UUID
	syncPath := base + "/deleted[]:0/deleted[]:1/excludeGalaxy:1/includeEventCorrelations:0/includeFeedCorrelations:0/includeWarninglistHits:0/excludeLocalTags:1"
	for _, p := range []string{base, base + ".json", syncPath, syncPath + ".json"} {
		r := e.do("GET", p, e.syncKey, nil)
		wantStatus(t, r, 200)
		got := r.obj(t)["Event"].(map[string]any)
		wantKeys(t, got, "id", "uuid", "info", "Orgc", "Org", "Attribute", "Object", "distribution", "timestamp", "published")
		for _, tg := range got["Tag"].([]any) {
			if tg.(map[string]any)["name"] == "internal:only" {
				t.Fatalf("%s: a local tag reached a sync user", p)
			}
		}
	}
	// the owner sees its local tag unless it asks not to
	hasLocal := func(p string) bool {
		for _, tg := range e.do("GET", p, e.admin, nil).obj(t)["Event"].(map[string]any)["Tag"].([]any) {
			if tg.(map[string]any)["name"] == "internal:only" {
				return true
			}
		}
		return false
	}
	if !hasLocal(base) || hasLocal(base+"/excludeLocalTags:1") {
		t.Fatal("excludeLocalTags not honoured")
	}
	// by id too, and HEAD
	r := e.do("GET", base, e.admin, nil)
	id := r.obj(t)["Event"].(map[string]any)["id"].(string)
	wantStatus(t, e.do("GET", "/events/view/"+id, e.admin, nil), 200)
	wantStatus(t, e.do("HEAD", base, e.syncKey, nil), 200)
	wantStatus(t, e.do("HEAD", "/events/view/"+orgOnly.UUID, e.syncKey, nil), 404)
	// a user of another org reading a distribution-0 event: 404, as if it did not exist
	wantEnvelope(t, e.do("GET", "/events/view/"+orgOnly.UUID, e.other, nil), 404, "Invalid event")
	wantEnvelope(t, e.do("GET", "/events/view/00000000-0000-4000-8000-000000000000", e.admin, nil), 404, "Invalid event")
	wantEnvelope(t, e.do("GET", "/events/view", e.admin, nil), 404, "Invalid event")
}

func TestEventsAddEdit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.st.AddServer(ctx, store.ServerSpec{Name: "peer", URL: "https://peer.example", Authkey: strings.Repeat("k", 40),
		RemoteOrgRef: "PEERORG", ServerOptions: store.ServerOptions{Push: true}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.AddServer(ctx, store.ServerSpec{Name: "onward", URL: "https://onward.example", Authkey: strings.Repeat("o", 40),
		RemoteOrgRef: "OTHERORG", ServerOptions: store.ServerOptions{Push: true}}); err != nil {
		t.Fatal(err)
	}
	ev := testEvent("33333333-0000-4000-8000-000000000001", misp.CommunityOnly, true, 1727800000)
	ev.Locked = true
	r := e.do("POST", "/events/add/metadata:1", e.syncKey, map[string]any{"Event": ev})
	wantStatus(t, r, 200)
	got := r.obj(t)["Event"].(map[string]any)
	if got["uuid"] != ev.UUID || got["published"] != true {
		t.Fatalf("add answer %s", r.body)
	}
	if a, _ := got["Attribute"].([]any); len(a) != 0 {
		t.Fatal("metadata:1 answer carries attributes")
	}
	stored, err := e.st.Event(ctx, testsupport.LocalEvent(t, e.st, ev.UUID))
	if err != nil {
		t.Fatal(err)
	}
	if stored.Org.UUID != e.peerOrg.UUID || len(stored.Attribute) != 1 {
		t.Fatalf("stored owner %v, %d attributes", stored.Org, len(stored.Attribute))
	}
	// a published event received flows on to every push server, as MISP passes a pushed
	// event on (the sender then wants nothing of its own event)
	stats, err := e.st.OutboxStats(ctx)
	if err != nil || len(stats) != 2 || stats[0].Queued != 1 || stats[1].Queued != 1 {
		t.Fatalf("outbox %v %v", stats, err)
	}
	// adding it again: 404 with the Location of the existing event
	r = e.do("POST", "/events/add/metadata:1", e.syncKey, map[string]any{"Event": ev})
	wantEnvelope(t, r, 404, "Event already exists, if you would like to edit it, use the url in the location header.")
	if loc := r.header.Get("Location"); loc != "https://misp-b.example/events/"+itoa(int64(stored.ID)) {
		t.Fatalf("Location %q", loc)
	}
	// a stale edit: the exact 403
	r = e.do("POST", "/events/edit/"+ev.UUID+"/metadata:1", e.syncKey, map[string]any{"Event": ev})
	wantStatus(t, r, 403)
	m := r.obj(t)
	if m["errors"] != msgNotNewer || m["saved"] != false {
		t.Fatalf("stale edit %s", r.body)
	}
	wantKeys(t, m, "name", "message", "url", "errors")
	// a newer edit goes through
	ev.Timestamp++
	ev.Info = "edited"
	wantStatus(t, e.do("POST", "/events/edit/"+ev.UUID+"/metadata:1", e.syncKey, map[string]any{"Event": ev}), 200)
	if s, _ := e.st.Event(ctx, testsupport.LocalEvent(t, e.st, ev.UUID)); s.Info != "edited" {
		t.Fatal("edit not stored")
	}
	// malformed bodies: MISP's validation envelopes, never a 500
	wantEnvelope(t, e.do("POST", "/events/add", e.syncKey, `{"Event":{`), 400, msgInvalidJSON)
	// an attribute MISP would refuse is dropped, as MISP drops it, and the event is stored
	r = e.do("POST", "/events/add", e.syncKey, `{"Event":{"info":"attribute without type","Attribute":[{"value":"1"}]}}`)
	wantStatus(t, r, 200)
	if a, _ := r.obj(t)["Event"].(map[string]any)["Attribute"].([]any); len(a) != 0 {
		t.Fatalf("an attribute without a type was stored: %s", r.body)
	}
	// blocklisted events: 403 with MISP's message
	blocked := testEvent("33333333-0000-4000-8000-000000000002", misp.CommunityOnly, true, 1727800000)
	if _, err := e.st.AddEventBlock(ctx, store.EventBlock{EventUUID: blocked.UUID}); err != nil {
		t.Fatal(err)
	}
	wantEnvelope(t, e.do("POST", "/events/add/metadata:1", e.syncKey, map[string]any{"Event": blocked}), 403, "Event blocked by event blocklist.")
	// an event created here is never replaced by a push
	local := testEvent("33333333-0000-4000-8000-000000000003", misp.CommunityOnly, true, 1727800000)
	local.Orgc = &misp.Org{Name: "HOSTORG", UUID: e.hostOrg.UUID}
	if _, err := e.st.UpsertEvent(ctx, local, store.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	local.Timestamp++
	wantStatus(t, e.do("POST", "/events/edit/"+local.UUID, e.syncKey, map[string]any{"Event": local}), 403)
	// a plain user of another organisation cannot edit a stranger's event
	wantStatus(t, e.do("POST", "/events/edit/"+local.UUID, e.other, map[string]any{"Event": local}), 403)
	// a publisher's own event, created through the API, owned and created by its org
	mine := testEvent("33333333-0000-4000-8000-000000000004", misp.OrgOnly, false, 0)
	r = e.do("POST", "/events/add", e.sameOrgUser, map[string]any{"Event": mine})
	wantStatus(t, r, 200)
	if orgc := r.obj(t)["Event"].(map[string]any)["Orgc"].(map[string]any); orgc["uuid"] != e.hostOrg.UUID {
		t.Fatalf("Orgc of a plain user's event: %v", orgc)
	}
}

func TestFilterEventIdsForPush(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	locked := testEvent("44444444-0000-4000-8000-000000000001", misp.CommunityOnly, true, 1000)
	locked.Locked = true
	unlocked := testEvent("44444444-0000-4000-8000-000000000002", misp.CommunityOnly, true, 1000)
	for _, ev := range []*misp.Event{locked, unlocked} {
		if _, err := e.st.UpsertEvent(ctx, ev, store.UpsertOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	body := `[{"Event":{"uuid":"44444444-0000-4000-8000-000000000001","timestamp":"2000"}},
		{"Event":{"uuid":"44444444-0000-4000-8000-000000000002","timestamp":"2000"}},
		{"Event":{"uuid":"44444444-0000-4000-8000-000000000003","timestamp":"2000"}},
		{"Event":{"uuid":"44444444-0000-4000-8000-000000000001","timestamp":500}}]`
	r := e.do("POST", "/events/filterEventIdsForPush", e.syncKey, body)
	wantStatus(t, r, 200)
	got := r.json(t).([]any)
	if len(got) != 2 || got[0] != locked.UUID || got[1] != "44444444-0000-4000-8000-000000000003" {
		t.Fatalf("wanted %v", got)
	}
	// perm_sync only
	wantEnvelope(t, e.do("POST", "/events/filterEventIdsForPush", e.other, body), 403, msgNoPerm)
	wantEnvelope(t, e.do("POST", "/events/filterEventIdsForPush", e.syncKey, `{"x":1}`), 400, msgInvalidJSON)
}

func TestSightingsAndProposals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ev := testEvent("55555555-0000-4000-8000-000000000001", misp.CommunityOnly, true, 1727800000)
	ev.ShadowAttribute = []misp.ShadowAttribute{{Type: "ip-dst", Category: "Network activity", Value: "203.0.113.9",
		UUID: "55555555-0000-4000-8000-0000000000aa", Timestamp: 1727800000, Org: &misp.Org{Name: "PEERORG", UUID: e.peerOrg.UUID}}}
	if _, err := e.st.UpsertEvent(ctx, ev, store.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	attr := ev.Attribute[0].UUID
	sightings := `[{"id":"7","attribute_id":"99","event_id":"42","org_id":"3","date_sighting":"1727800000",
		"uuid":"55555555-0000-4000-8000-0000000000b1","source":"","type":"0","value":"198.51.100.7",
		"attribute_uuid":"` + attr + `","event_uuid":"` + ev.UUID + `",
		"Organisation":{"id":"3","uuid":"` + e.peerOrg.UUID + `","name":"PEERORG"}}]`
	r := e.do("POST", "/sightings/filterSightingUuidsForPush/"+ev.UUID, e.syncKey, `["55555555-0000-4000-8000-0000000000b1"]`)
	wantStatus(t, r, 200)
	if len(r.json(t).([]any)) != 0 {
		t.Fatalf("known before saving: %s", r.body)
	}
	r = e.do("POST", "/sightings/bulkSaveSightings/"+ev.UUID, e.syncKey, sightings)
	wantStatus(t, r, 200)
	if m := r.obj(t); m["saved"] != true || m["success"] != "1 sightings added." {
		t.Fatalf("%s", r.body)
	}
	r = e.do("POST", "/sightings/bulkSaveSightings/"+ev.UUID, e.syncKey, sightings)
	if m := r.obj(t); m["saved"] != false || m["success"] != "No sightings added." {
		t.Fatalf("%s", r.body)
	}
	if got := e.do("POST", "/sightings/filterSightingUuidsForPush/"+ev.UUID, e.syncKey, `["55555555-0000-4000-8000-0000000000b1"]`).json(t).([]any); len(got) != 1 {
		t.Fatalf("known after saving: %v", got)
	}
	for _, p := range []string{"/sightings/restSearch/event", "/sightings/restSearch"} {
		r = e.do("POST", p, e.syncKey, map[string]any{"returnFormat": "json", "last": 0, "includeUuid": true, "uuid": []string{ev.UUID}})
		wantStatus(t, r, 200)
		list := r.obj(t)["response"].([]any)
		if len(list) != 1 {
			t.Fatalf("%s: %s", p, r.body)
		}
		wantKeys(t, list[0].(map[string]any)["Sighting"].(map[string]any), "id", "uuid", "attribute_uuid", "event_uuid", "date_sighting", "type", "Organisation")
	}
	// other organisations' sightings stay hidden
	if list := e.do("POST", "/sightings/restSearch/event", e.other, map[string]any{"uuid": []string{ev.UUID}}).obj(t)["response"].([]any); len(list) != 0 {
		t.Fatalf("other org sees %v", list)
	}
	for _, p := range []string{"/shadow_attributes/index/all:1/timestamp:0/limit:1000/page:1/deleted[]:0/deleted[]:1.json", "/shadow_attributes/index"} {
		r = e.do("GET", p, e.syncKey, nil)
		wantStatus(t, r, 200)
		if list := r.json(t).([]any); len(list) != 1 {
			t.Fatalf("%s: %s", p, r.body)
		}
	}
	if list := e.do("GET", "/shadow_attributes/index/all:1/page:2/limit:1000.json", e.syncKey, nil).json(t).([]any); len(list) != 0 {
		t.Fatal("page 2 not empty")
	}
	r = e.do("GET", "/eventReports/add", e.syncKey, nil)
	wantStatus(t, r, 200)
	if d, _ := r.obj(t)["description"].(string); d == "" {
		t.Fatal("no description")
	}
}

func TestGalaxyClusters(t *testing.T) {
	e := newEnv(t)
	body := `[{"GalaxyCluster":{"id":"1","uuid":"8faab056-4212-4e80-8b54-b7eadec6b739","type":"test-galaxy","value":"test value",
		"tag_name":"","description":"Test Galaxy Cluster","galaxy_id":"1","version":"1","distribution":"3","authors":[],
		"Galaxy":{"uuid":"2f1f1b7c-1d2c-4e4b-9d8a-1d2c3b4a5e6f","name":"Test","type":"test-galaxy"},
		"GalaxyElement":[{"key":"synonyms","value":"tv"}]}}]`
	wantEnvelope(t, e.do("GET", "/galaxy_clusters/view/8faab056-4212-4e80-8b54-b7eadec6b739", e.syncKey, nil), 404, "")
	wantStatus(t, e.do("POST", "/galaxies/pushCluster", e.syncKey, body), 200)
	r := e.do("GET", "/galaxy_clusters/view/8faab056-4212-4e80-8b54-b7eadec6b739", e.syncKey, nil)
	wantStatus(t, r, 200)
	c := r.obj(t)["GalaxyCluster"].(map[string]any)
	wantKeys(t, c, "uuid", "type", "value", "version", "distribution", "GalaxyElement", "Galaxy")
	wantEnvelope(t, e.do("POST", "/galaxies/pushCluster", e.other, body), 403, msgNoPerm)
	wantStatus(t, e.do("POST", "/galaxies/pushCluster", e.syncKey, `[{"GalaxyCluster":{"uuid":"nope"}}]`), 403)
}

func TestNoSyncerIs501(t *testing.T) {
	e := newEnv(t)
	srv := New(Config{Store: e.st})
	req, _ := http.NewRequest("GET", "/servers/pull/1", nil)
	req.Header.Set("Authorization", e.admin)
	ctx := context.Background()
	if _, err := e.st.AddServer(ctx, store.ServerSpec{Name: "peer", URL: "https://peer.example", Authkey: strings.Repeat("k", 40), RemoteOrgRef: "PEERORG"}); err != nil {
		t.Fatal(err)
	}
	w := newRecorder()
	srv.ServeHTTP(w, req)
	if w.code != 501 || !strings.Contains(w.buf.String(), `"name"`) {
		t.Fatalf("%d %s", w.code, w.buf.String())
	}
}

// Building the API registers every route once: New panics on a route registered twice.
func TestRoutesRegisteredOnce(t *testing.T) {
	e := newEnv(t)
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("building the API: %v", p)
		}
	}()
	a, ok := New(Config{Store: e.st}).(*API)
	if !ok || len(a.routes) == 0 {
		t.Fatal("the API registered no routes")
	}
}

func TestDuplicateRoutePanics(t *testing.T) {
	a := &API{routes: map[string]*route{}}
	a.handle("events/view", methodsGet, permAuth, (*call).eventsView)
	defer func() {
		p := recover()
		msg, _ := p.(string)
		if !strings.Contains(msg, `"Events/View"`) {
			t.Fatalf("a duplicate route: recovered %v, want a panic naming the route", p)
		}
	}()
	a.handleWrite("Events/View", methodsPost, permModify, (*call).eventsView)
}

// The three routes that were registered twice answer with the permission MISP's
// controllers apply: auth_keys/add perm_auth (one's own key; another user's only for
// its admin), eventReports/add perm_add (its description too), galaxy_clusters/view any
// authenticated user.
func TestFormerlyDuplicatedRoutes(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/auth_keys/add/me", e.other, map[string]any{"comment": "mine"})
	wantStatus(t, r, 200)
	if k := get[string](t, r.obj(t), "AuthKey", "authkey_raw"); !store.IsAuthKey(k) {
		t.Fatalf("a user's own new key: %s", r.body)
	}
	wantEnvelope(t, e.do("POST", "/admin/auth_keys/add/1", e.other, map[string]any{}), 404, "Invalid user")
	wantStatus(t, e.do("POST", "/auth_keys/add/1", e.admin, map[string]any{}), 200)

	wantStatus(t, e.do("GET", "/eventReports/add", e.sameOrgUser, nil), 200)
	wantEnvelope(t, e.do("GET", "/eventReports/add", e.readOnly, nil), 403, msgNoPerm)

	wantEnvelope(t, e.do("GET", "/galaxy_clusters/view/8faab056-4212-4e80-8b54-b7eadec6b739", e.other, nil), 404, "")
}
