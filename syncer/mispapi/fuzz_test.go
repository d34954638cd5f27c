package mispapi

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParsePath(t *testing.T) {
	for _, c := range []struct {
		in   string
		ok   bool
		want Path
	}{
		{"/servers/getVersion", true, Path{Controller: "servers", Action: "getVersion"}},
		{"/servers/getVersion.json", true, Path{Controller: "servers", Action: "getVersion"}},
		{"/events", true, Path{Controller: "events", Action: "index"}},
		{"/events/index.json", true, Path{Controller: "events", Action: "index"}},
		{"/admin/users/add", true, Path{Admin: true, Controller: "users", Action: "add"}},
		{"/events/view/0a1b/deleted[]:0/deleted[]:1/excludeLocalTags:1", true, Path{Controller: "events", Action: "view",
			Args: []string{"0a1b"}, Named: map[string][]string{"deleted": {"0", "1"}, "excludeLocalTags": {"1"}}}},
		{"/shadow_attributes/index/all:1/timestamp:0/limit:1000/page:1/deleted[]:0/deleted[]:1.json", true, Path{Controller: "shadow_attributes", Action: "index",
			Named: map[string][]string{"all": {"1"}, "timestamp": {"0"}, "limit": {"1000"}, "page": {"1"}, "deleted": {"0", "1"}}}},
		{"/analyst_data/index/Note/uuid[]:6f84.json", true, Path{Controller: "analyst_data", Action: "index", Args: []string{"Note"}, Named: map[string][]string{"uuid": {"6f84"}}}},
		{"/events/index/minimal:1", true, Path{Controller: "events", Action: "index", Named: map[string][]string{"minimal": {"1"}}}},
		{"/events/view/a%2Fb", true, Path{Controller: "events", Action: "view", Args: []string{"a/b"}}},
		{"/events/index/searchinfo:a:b", true, Path{Controller: "events", Action: "index", Named: map[string][]string{"searchinfo": {"a:b"}}}},
		{"/events/index/tag[0]:x/tag[1]:y", true, Path{Controller: "events", Action: "index", Named: map[string][]string{"tag": {"x", "y"}}}},
		{"/servers/pull/3/full", true, Path{Controller: "servers", Action: "pull", Args: []string{"3", "full"}}},
		{"/", false, Path{}},
		{"/admin", false, Path{}},
		{"/a:b", false, Path{}},
		{"/events/view/%zz", false, Path{}},
	} {
		got, ok := ParsePath(c.in)
		if ok != c.ok {
			t.Errorf("%s: ok %v", c.in, ok)
			continue
		}
		if ok && !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.in, got, c.want)
		}
	}
}

func FuzzPath(f *testing.F) {
	for _, s := range []string{"/events/view/x/deleted[]:0.json", "/admin/users/view/me", "/a/b/c:d/e[]:f/g[1]:h", "//", "/%2F:/.json"} {
		f.Add(s)
	}
	addScenarioPaths(f)
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := ParsePath(s)
		if ok && (p.Controller == "" || p.Action == "") {
			t.Fatalf("%q: empty controller or action", s)
		}
	})
}

// addScenarioPaths seeds with the exact paths MISP peers send (misp-guard's scenarios).
func addScenarioPaths(f *testing.F) {
	for _, name := range []string{"test_pull_scenarios.json", "test_push_scenarios.json"} {
		b, err := os.ReadFile(filepath.Join("../../../shared/fixtures/misp-rest/misp-guard", name))
		if err != nil {
			continue
		}
		var sc []struct{ URL string }
		if json.Unmarshal(b, &sc) == nil {
			for _, s := range sc {
				f.Add(s.URL)
			}
		}
	}
}

// fuzzEnv is one instance shared by a fuzz target's runs.
func fuzzEnv(f *testing.F) *env {
	e := newEnv(f)
	e.importFile(fixtureExisting, nil)
	return e
}

// with is the env reporting to t (a fuzz target must not use the F).
func (e *env) with(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}

func no5xx(t *testing.T, r resp, what string) {
	if r.status >= 500 {
		t.Fatalf("%s: %d %.300s", what, r.status, r.body)
	}
}

func FuzzRoutes(f *testing.F) {
	e := fuzzEnv(f)
	addScenarioPaths(f)
	for _, p := range []string{"/events/index/timestamp:x", "/servers/edit/1", "/sharing_groups/view/%00", "/galaxy_clusters/view/1",
		"/events/restSearch/value:1.2.3.4/limit:x/page:-1", "/attributes/restSearch/tags:!x/deleted[]:1/deleted[]:0.json",
		"/attributes/describeTypes.json", "/attributes/add/1", "/attributes/edit/1", "/attributes/delete/1/1", "/attributes/view/x",
		"/objects/add/1", "/objects/edit/1", "/objects/delete/1", "/objectReferences/add/1", "/objectReferences/delete/1",
		"/eventReports/add/1", "/eventReports/view/1", "/eventReports/index/event_id:1", "/eventReports/delete/1/1",
		"/tags/index/searchall:%25", "/tags/add", "/tags/view/1", "/tags/delete/99", "/tags/attachTagToObject", "/tags/removeTagFromObject",
		"/galaxies/index", "/galaxies/view/1", "/galaxies/attachCluster/1/event/local:1", "/galaxy_clusters/add/1",
		"/galaxy_clusters/restSearch", "/galaxy_clusters/delete/1", "/analyst_data/add/Note/x/Event", "/analyst_data/view/Opinion/1",
		"/analyst_data/index/Relationship", "/shadow_attributes/add/1", "/shadow_attributes/accept/1", "/shadow_attributes/discard/1",
		"/shadow_attributes/delete/1", "/sightings/add", "/sightings/add/1", "/sightings/listSightings/1/event",
		"/events/publish/1", "/events/unpublish/1", "/events/delete/1", "/sharing_groups/edit/1", "/sharing_groups/removeOrg/1/1",
		"/sharing_groups/removeServer/1/0", "/sharing_groups/delete/1", "/eventBlocklists/add", "/eventBlocklists/delete/1",
		"/admin/orgBlocklists/index", "/orgBlocklists/delete/x", "/admin/organisations/edit/1", "/admin/organisations/delete/2",
		"/organisations/view/1", "/admin/users", "/admin/users/edit/2", "/admin/users/delete/3", "/auth_keys/index", "/auth_keys/delete/1",
		"/roles/index"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, " ?#\x00\r\n\t") || len(p) > 2000 {
			return
		}
		for _, m := range []string{"GET", "POST"} {
			req, err := http.NewRequest(m, e.srv.URL+p, strings.NewReader("{}"))
			if err != nil {
				return
			}
			req.Header.Set("Authorization", e.admin)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			res.Body.Close()
			if res.StatusCode >= 500 && res.StatusCode != 501 {
				t.Fatalf("%s %s: %d", m, p, res.StatusCode)
			}
		}
	})
}

// fixtureBodies are real event bodies to seed with.
func fixtureBodies(f *testing.F) {
	for _, dir := range []string{"../../testdata/events/pymisp", "../../../shared/fixtures/misp-rest/misp-guard/fixtures"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil && len(b) < 1<<20 {
				f.Add(b)
			}
		}
	}
}

func FuzzEventsAdd(f *testing.F) {
	e := fuzzEnv(f)
	fixtureBodies(f)
	f.Add([]byte(`{"Event":{"uuid":"5a3c2fcd-8328-42bb-a95e-4f4402de0b81","info":"x","timestamp":"1"}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"Event":{"info":"x","distribution":"9"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e := e.with(t)
		no5xx(t, e.do("POST", "/events/add/metadata:1", e.syncKey, body), "add as sync")
		no5xx(t, e.do("POST", "/events/add", e.sameOrgUser, body), "add as user")
		no5xx(t, e.do("POST", "/events/edit/5a3c2fcd-8328-42bb-a95e-4f4402de0b81/metadata:1", e.admin, body), "edit")
		no5xx(t, e.do("POST", "/events/filterEventIdsForPush", e.syncKey, body), "filterEventIdsForPush")
		no5xx(t, e.do("POST", "/sightings/bulkSaveSightings/5a3c2fcd-8328-42bb-a95e-4f4402de0b81", e.syncKey, body), "bulkSaveSightings")
		no5xx(t, e.do("POST", "/galaxies/pushCluster", e.syncKey, body), "pushCluster")
		no5xx(t, e.do("POST", "/servers/add", e.admin, body), "servers/add")
		no5xx(t, e.do("POST", "/servers/postTest", e.admin, body), "postTest")
	})
}

func FuzzIndexFilter(f *testing.F) {
	e := fuzzEnv(f)
	for _, s := range []string{
		`{"minimal":1,"published":1,"tag":["tlp:green","!tlp:red"],"org":["CIRCL","!5f6e"],"timestamp":"30d"}`,
		`{"timestamp":["1","2"],"limit":"10","page":"-3"}`, `{"tags":{"OR":["a"],"NOT":"b","AND":["c","d"]}}`,
		`{"eventid":"1|2|!3","distribution":[0,1],"searchpublished":true}`, `{"returnFormat":"json","uuid":["x"],"org_id":["!y"]}`,
		`{"publish_timestamp":[99999999999999999999]}`, `{"request":{"minimal":1}}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e := e.with(t)
		no5xx(t, e.do("POST", "/events/index", e.syncKey, body), "index")
		no5xx(t, e.do("POST", "/sightings/restSearch/event", e.syncKey, body), "sightings")
		var m map[string]any
		if json.Unmarshal(body, &m) == nil {
			if _, err := parseIndexFilter(lowerKeys(m), time.Now()); err != nil {
				return
			}
		}
	})
}

func lowerKeys(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// FuzzRESTBodies sends arbitrary bodies to the element endpoints PyMISP writes through: a
// malformed body is MISP's validation or 400 envelope, never a 500.
func FuzzRESTBodies(f *testing.F) {
	e := fuzzEnv(f)
	fixtureBodies(f)
	for _, b := range []string{`{"type":"ip-dst","value":"1.2.3.4"}`, `[{"type":"md5","value":"x"},{"type":"url"}]`,
		`{"Attribute":{"type":"ip-dst|port","value":"1.2.3.4|80","distribution":"9"}}`, `{"name":"file","Attribute":[{"object_relation":"md5","type":"md5","value":"0"}]}`,
		`{"uuid":"x","tag":"tlp:red","local":1}`, `{"value":["1.2.3.4",{"NOT":"x"}],"tags":{"AND":["a"],"NOT":[1]},"limit":"2","page":"x"}`,
		`{"note":"x","distribution":"7"}`, `{"uuids":["x",1]}`, `{"Galaxy":{"target_id":"1"}}`, `null`, `"x"`, `{"timestamp":["1d","x"]}`} {
		f.Add([]byte(b))
	}
	paths := []string{"/attributes/add/" + fixtureExistingUUID, "/objects/add/" + fixtureExistingUUID, "/eventReports/add/" + fixtureExistingUUID,
		"/events/restSearch", "/attributes/restSearch", "/tags/attachTagToObject", "/tags/removeTagFromObject", "/sightings/add",
		"/shadow_attributes/add/" + fixtureExistingUUID, "/analyst_data/add/Note/" + fixtureExistingUUID + "/Event", "/tags/add",
		"/galaxy_clusters/restSearch", "/eventBlocklists/add", "/objectReferences/add", "/galaxies/attachCluster/" + fixtureExistingUUID + "/event"}
	f.Fuzz(func(t *testing.T, body []byte) {
		e := e.with(t)
		for _, p := range paths {
			no5xx(t, e.do("POST", p, e.admin, body), p)
		}
	})
}

// fixtureExistingUUID is the UUID of the event in fixtureExisting.
const fixtureExistingUUID = "5a3c2fcd-8328-42bb-a95e-4f4402de0b81"
