package remote

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/store/misp"
)

const evUUID = "385283a1-b5e0-4e10-a532-dce11c365a56"

const eventBody = `{"Event":{"id":"1","orgc_id":"1","org_id":"1","date":"2022-08-31","threat_level_id":"1",
"info":"non-blocked","published":true,"uuid":"385283a1-b5e0-4e10-a532-dce11c365a56","analysis":"0",
"timestamp":"1661956788","distribution":"2","locked":false,"publish_timestamp":"1661956380",
"sharing_group_id":"0","disable_correlation":false,"extends_uuid":"","protected":null,
"Orgc":{"id":"1","name":"HOST","uuid":"10c8f445-888b-4a2d-bac8-4e1e8861d595","local":true},
"Attribute":[{"id":"1","type":"ip-src","category":"Network activity","to_ids":false,
"uuid":"e37a6c99-c7dc-4e41-8c79-25e35c39df0a","event_id":"1","distribution":"5","timestamp":"1661956302",
"comment":"","sharing_group_id":"0","deleted":false,"disable_correlation":false,"object_id":"0",
"value":"8.8.8.8"}],"Object":[]}}`

const viewURI = "/events/view/" + evUUID + "/deleted[]:0/deleted[]:1/excludeGalaxy:1/includeEventCorrelations:0/includeFeedCorrelations:0/includeWarninglistHits:0"

func TestSyncHeadersAndPaths(t *testing.T) {
	p := newPeer(t).start()
	p.json("GET /servers/getVersion", 200, versionNoGzip)
	p.json("GET /users/view/me.json", 200, `{"User":{"id":"4","email":"sync@b.test","org_id":"2"},
		"Role":{"id":"5","name":"Sync user","perm_sync":true,"perm_sighting":"1","perm_galaxy_editor":1,"perm_analyst_data":false,"perm_site_admin":false,"perm_publish":true},
		"Organisation":{"id":"2","uuid":"55f6ea5e-2c60-40e5-964f-47a8950d210f","name":"ORG A"}}`)
	p.handle("GET /users/view/me.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Auth-Key-Expiration", "2030-01-02T03:04:05+00:00")
		io.WriteString(w, `{"User":{"id":"4","email":"sync@b.test"},"Role":{"name":"Sync user","perm_sync":true,"perm_sighting":"1","perm_galaxy_editor":1,"perm_analyst_data":false,"perm_site_admin":false},"Organisation":{"id":"2","uuid":"55f6ea5e-2c60-40e5-964f-47a8950d210f","name":"ORG A"}}`)
	})
	p.json("POST /events/index", 200, `[{"id":"1042","timestamp":"1727800000","sighting_timestamp":"1727900000","published":true,"uuid":"0A1B2C3D-0000-4000-8000-000000000001","orgc_uuid":"55f6ea5e-2c60-40e5-964f-47a8950d210f"},
		{"id":7,"timestamp":1,"sighting_timestamp":null,"published":"0","uuid":"0a1b2c3d-0000-4000-8000-000000000002","Orgc":{"uuid":"x"}}]`)
	p.json("GET "+viewURI+"/excludeLocalTags:1", 200, eventBody)
	p.json("GET "+viewURI, 200, eventBody)
	p.json("HEAD /events/view/"+evUUID, 200, "")
	p.json("POST /events/filterEventIdsForPush", 200, `["`+evUUID+`","../etc/passwd"]`)
	p.json("POST /sightings/restSearch/event", 200, `{"response":[{"Sighting":{"id":"7","attribute_id":"99","event_id":"42","org_id":"3","date_sighting":"1727800000","uuid":"b1a1b2c3-0000-4000-8000-000000000001","source":"","type":"0","value":"198.51.100.7","attribute_uuid":"e37a6c99-c7dc-4e41-8c79-25e35c39df0a","event_uuid":"`+evUUID+`","Organisation":{"id":"3","uuid":"55f6ea5e-2c60-40e5-964f-47a8950d210f","name":"ORG"}}}]}`)
	p.json("POST /sightings/filterSightingUuidsForPush/"+evUUID, 200, `["b1a1b2c3-0000-4000-8000-000000000001"]`)
	p.json("POST /sightings/bulkSaveSightings/"+evUUID, 200, `{"saved":false,"success":"No sightings added."}`)
	p.json("GET /shadow_attributes/index/all:1/timestamp:1700000000/limit:1000/page:1/deleted[]:0/deleted[]:1.json", 200,
		`[{"ShadowAttribute":{"id":"1","type":"ip-dst","category":"Network activity","value":"192.0.2.1","to_ids":true,"uuid":"c1a1b2c3-0000-4000-8000-000000000001","event_uuid":"`+evUUID+`"}}]`)

	c := p.client(t, nil)
	ctx := context.Background()

	v, err := c.GetVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != "2.5.1" || v.Major != 2 || v.Minor != 5 || v.Hotfix != 1 || !v.PermSync || !v.PermSighting ||
		v.GalaxyEditorKnown || v.UUID != "-" || len(v.RequestEncoding) != 0 || v.FilterSightings {
		t.Errorf("version %+v", v)
	}
	u, err := c.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "sync@b.test" || u.Org.Name != "ORG A" || u.Org.ID != "2" || u.Role != "Sync user" || !u.PermSync ||
		!u.PermSighting || !u.PermGalaxyEditor || u.PermAnalystData || u.PermSiteAdmin || u.KeyExpires.Year() != 2030 {
		t.Errorf("me %+v", u)
	}
	rows, etag, err := c.Index(ctx, map[string]any{"minimal": 1, "published": 1, "tag": []string{"tlp:green", "!tlp:red"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0] != (IndexRow{ID: "1042", UUID: "0a1b2c3d-0000-4000-8000-000000000001", Timestamp: 1727800000,
		SightingTimestamp: 1727900000, Published: true, OrgcUUID: "55f6ea5e-2c60-40e5-964f-47a8950d210f"}) ||
		rows[1] != (IndexRow{ID: "7", UUID: "0a1b2c3d-0000-4000-8000-000000000002", Timestamp: 1, OrgcUUID: "x"}) {
		t.Errorf("rows %+v", rows)
	}
	if etag != "" {
		t.Errorf("etag %q without an ETag header", etag)
	}
	ev, err := c.ViewEvent(ctx, evUUID, true)
	if err != nil || ev.Info != "non-blocked" || len(ev.Attribute) != 1 {
		t.Fatalf("view: %v %+v", err, ev)
	}
	if _, err := c.ViewEvent(ctx, evUUID, false); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.EventExists(ctx, evUUID); !ok || err != nil {
		t.Errorf("exists: %v %v", ok, err)
	}
	ids, err := c.FilterEventIDsForPush(ctx, []UUIDTimestamp{{evUUID, 1661956788}, {"9f8e0000-0000-4000-8000-000000000000", 5}})
	if err != nil || len(ids) != 1 || ids[0] != evUUID {
		t.Errorf("filter: %v %v", ids, err)
	}
	sg, err := c.Sightings(ctx, []string{evUUID})
	if err != nil || len(sg) != 1 || sg[0].Value != "198.51.100.7" || sg[0].Organisation == nil || sg[0].Organisation.Name != "ORG" {
		t.Errorf("sightings: %v %+v", err, sg)
	}
	have, err := c.FilterSightingUUIDsForPush(ctx, evUUID, []string{"b1a1b2c3-0000-4000-8000-000000000001", "b1a1b2c3-0000-4000-8000-000000000002"})
	if err != nil || len(have) != 1 {
		t.Errorf("filter sightings: %v %v", have, err)
	}
	if err := c.BulkSaveSightings(ctx, evUUID, []misp.Sighting{{UUID: "b1a1b2c3-0000-4000-8000-000000000002", DateSighting: 1727800000, AttributeUUID: "e37a6c99-c7dc-4e41-8c79-25e35c39df0a"}}); err != nil {
		t.Error(err)
	}
	props, err := c.Proposals(ctx, 1700000000)
	if err != nil || len(props) != 1 || props[0].Value != "192.0.2.1" {
		t.Errorf("proposals: %v %+v", err, props)
	}

	want := []string{
		"GET /servers/getVersion",
		"GET /users/view/me.json",
		"POST /events/index",
		"GET " + viewURI + "/excludeLocalTags:1",
		"GET " + viewURI,
		"HEAD /events/view/" + evUUID,
		"POST /events/filterEventIdsForPush",
		"POST /sightings/restSearch/event",
		"POST /sightings/filterSightingUuidsForPush/" + evUUID,
		"POST /sightings/bulkSaveSightings/" + evUUID,
		"GET /shadow_attributes/index/all:1/timestamp:1700000000/limit:1000/page:1/deleted[]:0/deleted[]:1.json",
	}
	reqs := p.requests()
	if len(reqs) != len(want) {
		t.Fatalf("%d requests, want %d", len(reqs), len(want))
	}
	bodies := map[string]string{
		"POST /events/index":                                   `{"minimal":1,"published":1,"tag":["tlp:green","!tlp:red"]}`,
		"POST /events/filterEventIdsForPush":                   `[{"Event":{"uuid":"385283a1-b5e0-4e10-a532-dce11c365a56","timestamp":"1661956788"}},{"Event":{"uuid":"9f8e0000-0000-4000-8000-000000000000","timestamp":"5"}}]`,
		"POST /sightings/restSearch/event":                     `{"includeUuid":true,"last":0,"returnFormat":"json","uuid":["385283a1-b5e0-4e10-a532-dce11c365a56"]}`,
		"POST /sightings/filterSightingUuidsForPush/" + evUUID: `["b1a1b2c3-0000-4000-8000-000000000001","b1a1b2c3-0000-4000-8000-000000000002"]`,
		"POST /sightings/bulkSaveSightings/" + evUUID:          `[{"org_id":"0","date_sighting":"1727800000","uuid":"b1a1b2c3-0000-4000-8000-000000000002","source":"","type":"0","attribute_uuid":"e37a6c99-c7dc-4e41-8c79-25e35c39df0a"}]`,
	}
	for i, r := range reqs {
		key := r.Method + " " + r.RequestURI
		if key != want[i] {
			t.Errorf("request %d: %s, want %s", i, key, want[i])
		}
		h := r.Header
		if h.Get("Authorization") != testKey || h.Get("Accept") != "application/json" ||
			h.Get("Content-Type") != "application/json" || !strings.HasPrefix(h.Get("User-Agent"), "MISP 2.5.1 - mispdesk/") {
			t.Errorf("%s: headers %v", key, h)
		}
		if h.Get("Content-Encoding") != "" {
			t.Errorf("%s: compressed although the peer offers no encoding", key)
		}
		if want, ok := bodies[key]; ok && !jsonEqual(t, r.Plain, want) {
			t.Errorf("%s: body\n%s\nwant\n%s", key, r.Plain, want)
		}
		if key == "POST /events/index" && h.Get("If-None-Match") != `""` {
			t.Errorf("index If-None-Match %q", h.Get("If-None-Match"))
		}
	}
}

func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Errorf("body not JSON: %v: %s", err, got)
		return false
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a, json.Deterministic(true))
	jb, _ := json.Marshal(b, json.Deterministic(true))
	return string(ja) == string(jb)
}

func TestGzipRequestOnlyWhenAdvertised(t *testing.T) {
	for _, advertised := range []bool{false, true} {
		p := newPeer(t).start()
		if advertised {
			p.json("GET /servers/getVersion", 200, versionBody)
		} else {
			p.json("GET /servers/getVersion", 200, versionNoGzip)
		}
		p.handle("POST /servers/postTest", echoPostTest)
		p.json("POST /events/filterEventIdsForPush", 200, `[]`)
		c := p.client(t, nil)
		ctx := context.Background()
		// Before getVersion nothing is known: never compressed.
		if code, err := c.PostTest(ctx); code != PostOK || err != nil {
			t.Fatalf("post test before version: %d %v", code, err)
		}
		if _, err := c.GetVersion(ctx); err != nil {
			t.Fatal(err)
		}
		if code, err := c.PostTest(ctx); code != PostOK || err != nil {
			t.Fatalf("post test: %d %v", code, err)
		}
		// A small body stays plain either way.
		if _, err := c.FilterEventIDsForPush(ctx, []UUIDTimestamp{{evUUID, 1}}); err != nil {
			t.Fatal(err)
		}
		reqs := p.requests()
		if got := reqs[0].Header.Get("Content-Encoding"); got != "" {
			t.Errorf("first post test compressed (%q) before getVersion", got)
		}
		post := reqs[2]
		if len(post.Plain) < 6000 {
			t.Errorf("post test body only %d bytes", len(post.Plain))
		}
		if got := post.Header.Get("Content-Encoding"); advertised != (got == "gzip") {
			t.Errorf("advertised=%v: Content-Encoding %q", advertised, got)
		}
		if advertised && len(post.Body) >= len(post.Plain) {
			t.Errorf("gzip body %d bytes, plain %d", len(post.Body), len(post.Plain))
		}
		if got := reqs[3].Header.Get("Content-Encoding"); got != "" {
			t.Errorf("small body compressed: %q", got)
		}
	}
}

// echoPostTest answers like MISP's servers/postTest.
func echoPostTest(w http.ResponseWriter, r *http.Request) {
	var in struct {
		TestString string `json:"testString"`
	}
	_ = json.UnmarshalRead(r.Body, &in)
	out := map[string]any{"body": map[string]any{"testString": in.TestString},
		"headers": map[string]any{"Content-type": r.Header.Get("Content-Type"), "Accept": r.Header.Get("Accept"), "Authorization": "OK"}}
	w.Header().Set("Content-Type", "application/json")
	_ = json.MarshalWrite(w, out)
}

func TestPostTestCodes(t *testing.T) {
	cases := []struct {
		name string
		h    http.HandlerFunc
		want int
	}{
		{"echo", echoPostTest, PostOK},
		{"body mangled", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"body":{"testString":"shortened"},"headers":{"Content-type":"application/json","Accept":"application/json"}}`)
		}, PostInvalidBody},
		{"headers stripped", func(w http.ResponseWriter, r *http.Request) {
			var in map[string]jsontext.Value
			_ = json.UnmarshalRead(r.Body, &in)
			w.Write([]byte(`{"body":{"testString":` + string(in["testString"]) + `},"headers":{"Content-type":0,"Accept":"application/json"}}`))
		}, PostInvalidHeaders},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>proxy says hi</html>") }, PostFailed},
		{"HTTP 500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, PostFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPeer(t).start()
			p.handle("POST /servers/postTest", tc.h)
			code, err := p.client(t, func(c *Config) { c.Retries = -1 }).PostTest(context.Background())
			if code != tc.want {
				t.Errorf("code %d, want %d (err %v)", code, tc.want, err)
			}
			if (code == PostFailed) != (err != nil) {
				t.Errorf("code %d with error %v", code, err)
			}
		})
	}
}

func TestIndexETag(t *testing.T) {
	p := newPeer(t).start()
	p.handle("POST /events/index", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"abc"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"abc-gzip"`)
		io.WriteString(w, `[]`)
	})
	c := p.client(t, nil)
	rows, etag, err := c.Index(context.Background(), nil, "")
	if err != nil || len(rows) != 0 || etag != `"abc"` {
		t.Fatalf("first: %v %q %v", rows, etag, err)
	}
	rows, etag2, err := c.Index(context.Background(), nil, etag)
	if !errors.Is(err, ErrNotModified) || rows != nil || etag2 != etag {
		t.Fatalf("second: %v %q %v", rows, etag2, err)
	}
	if !jsonEqual(t, p.requests()[0].Plain, `{"minimal":1,"published":1}`) {
		t.Errorf("default filter %s", p.requests()[0].Plain)
	}
}

func TestIndexRefusals(t *testing.T) {
	cases := map[string]string{
		"truncated":   `[{"uuid":"0a1b2c3d-0000-4000-8000-000000000001","timestamp":"1"}`,
		"object":      `{"name":"Not an index"}`,
		"bad number":  `[{"uuid":"0a1b2c3d-0000-4000-8000-000000000001","timestamp":"soon"}]`,
		"html":        `<html><body>login</body></html>`,
		"trailing":    `[] garbage`,
		"empty bytes": ``,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			p := newPeer(t).start()
			p.json("POST /events/index", 200, body)
			_, _, err := p.client(t, nil).Index(context.Background(), nil, "")
			var e *Error
			if !errors.As(err, &e) || e.Status != 200 {
				t.Fatalf("err %v", err)
			}
			mustContain(t, err.Error(), `HTTP 200: malformed answer`, `(server "B" POST /events/index)`)
			if n := p.count("POST /events/index"); n != 1 {
				t.Errorf("malformed answer retried: %d requests", n)
			}
		})
	}
}

func TestMalformedJSON(t *testing.T) {
	p := newPeer(t).start()
	p.json("GET /servers/getVersion", 200, `{"version":`)
	p.json("GET "+viewURI, 200, `{"Event":{"uuid":"`+evUUID+`","info":12,}`)
	p.json("GET /users/view/me.json", 200, `[1,2]`)
	c := p.client(t, nil)
	_, err := c.GetVersion(context.Background())
	mustContain(t, errString(err), `HTTP 200: malformed JSON`, `(server "B" GET /servers/getVersion)`)
	_, err = c.ViewEvent(context.Background(), evUUID, false)
	mustContain(t, errString(err), `server "B" GET /events/view/`+evUUID, "HTTP 200: malformed answer: event: at /Event/info")
	_, err = c.Me(context.Background())
	mustContain(t, errString(err), "HTTP 200: malformed JSON", "users/view/me.json)")

	p.json("GET /servers/getVersion", 200, `{"perm_sync":true}`)
	_, err = c.GetVersion(context.Background())
	mustContain(t, errString(err), "no version")
	p.json("GET /servers/getVersion", 200, `{"version":"two point five"}`)
	_, err = c.GetVersion(context.Background())
	mustContain(t, errString(err), "is not x.y.z")
}

func TestViewEventRefusesOtherEvent(t *testing.T) {
	p := newPeer(t).start()
	other := "11111111-2222-4333-8444-555555555555"
	p.json("GET /events/view/"+other+viewParams, 200, eventBody)
	_, err := p.client(t, nil).ViewEvent(context.Background(), other, false)
	mustContain(t, errString(err), "asked for event "+other+", got "+evUUID)
}

func TestRefsAreChecked(t *testing.T) {
	p := newPeer(t).start()
	c := p.client(t, nil)
	for _, bad := range []string{"../../servers/index", "abc", "", evUUID + "/x"} {
		if _, err := c.ViewEvent(context.Background(), bad, false); err == nil {
			t.Errorf("ViewEvent(%q) accepted", bad)
		}
		if _, err := c.EventExists(context.Background(), bad); err == nil {
			t.Errorf("EventExists(%q) accepted", bad)
		}
	}
	if len(p.requests()) != 0 {
		t.Errorf("requests sent for bad refs: %v", p.requests())
	}
}

func TestProposalsPaging(t *testing.T) {
	p := newPeer(t).start()
	page := func(n int) string {
		var b strings.Builder
		b.WriteString("[")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`{"ShadowAttribute":{"type":"ip-dst","category":"Network activity","value":"192.0.2.1","to_ids":1}}`)
		}
		b.WriteString("]")
		return b.String()
	}
	base := "GET /shadow_attributes/index/all:1/timestamp:5/limit:1000/page:"
	p.json(base+"1/deleted[]:0/deleted[]:1.json", 200, page(1000))
	p.json(base+"2/deleted[]:0/deleted[]:1.json", 200, page(3))
	got, err := p.client(t, nil).Proposals(context.Background(), 5)
	if err != nil || len(got) != 1003 {
		t.Fatalf("%d proposals, %v", len(got), err)
	}
	if len(p.requests()) != 2 {
		t.Errorf("%d requests", len(p.requests()))
	}
}

func TestSightingsChunked(t *testing.T) {
	p := newPeer(t).start()
	p.json("POST /sightings/restSearch/event", 200, `{"response":[]}`)
	uuids := make([]string, 45)
	for i := range uuids {
		uuids[i] = evUUID
	}
	if _, err := p.client(t, nil).Sightings(context.Background(), uuids); err != nil {
		t.Fatal(err)
	}
	if n := p.count("POST /sightings/restSearch/event"); n != 3 {
		t.Errorf("%d requests for 45 events, want 3", n)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestGalaxyCluster(t *testing.T) {
	p := newPeer(t).start()
	const cl = "7d7f6d2a-0000-4000-8000-000000000001"
	p.json("GET /galaxy_clusters/view/"+cl, 200, `{"GalaxyCluster": {"uuid":"`+cl+`","GalaxyElement":[]}}`)
	v, err := p.client(t, nil).GalaxyCluster(context.Background(), cl)
	if err != nil || string(v) != `{"GalaxyCluster":{"uuid":"`+cl+`","GalaxyElement":[]}}` {
		t.Errorf("%s %v", v, err)
	}
	p.json("GET /galaxy_clusters/view/"+cl, 200, `{"GalaxyCluster":`)
	if _, err := p.client(t, nil).GalaxyCluster(context.Background(), cl); err == nil {
		t.Error("truncated cluster accepted")
	}
}
