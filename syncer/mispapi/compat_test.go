package mispapi

import (
	"net/http"
	"testing"
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
