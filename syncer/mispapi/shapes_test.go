package mispapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"mispdesk/store/misp"
)

// MISP's answers to the collaboration calls, by shape (testdata/misp-shapes/README.md
// says where in MISP each comes from): mispdesk's answer to the same call has every key
// with the same JSON type.
func TestCollaborationShapesAsMISP(t *testing.T) {
	e := newEnv(t)
	// the host's own event, so that its organisation (the admin, once users/edit asks for
	// contact mail) can be contacted
	ev := e.importFile(fixtureExisting, func(ev *misp.Event) {
		ev.Orgc = &misp.Org{Name: e.hostOrg.Name, UUID: e.hostOrg.UUID}
	})
	steps := []struct {
		fixture, method, path string
		body                  any
	}{
		{"posts_add", "POST", "/posts/add", map[string]any{"title": "Exchange of YARA rules", "message": "Who has rules for Crutch?"}},
		{"threads_index", "GET", "/threads/index", nil},
		{"threads_view", "GET", "/threads/view/1", nil},
		{"users_edit", "POST", "/users/edit", map[string]any{"User": map[string]any{"autoalert": true, "contactalert": true}}},
		{"shadow_attributes_add", "POST", "/shadow_attributes/add/" + ev.UUID, map[string]any{"ShadowAttribute": map[string]any{"type": "ip-src", "value": "198.51.100.99"}}},
		{"shadow_attributes_index", "GET", "/shadow_attributes/index", nil},
		{"events_contact", "POST", "/events/contact/" + ev.UUID, map[string]any{"Event": map[string]any{"message": "Which campaign is this?"}}},
	}
	for _, s := range steps {
		b, err := os.ReadFile(filepath.Join("testdata", "misp-shapes", s.fixture+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var want any
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("%s.json: %v", s.fixture, err)
		}
		r := e.do(s.method, s.path, e.admin, s.body)
		if r.status != http.StatusOK {
			t.Errorf("%s %s: %d %.300s", s.method, s.path, r.status, r.body)
			continue
		}
		for _, d := range shapeDiff("", want, r.json(t)) {
			t.Errorf("%s %s (as %s.json): %s", s.method, s.path, s.fixture, d)
		}
	}
}

// shapeDiff lists where got lacks a key of want or holds a value of another JSON type; a
// list is compared by its first element.
func shapeDiff(at string, want, got any) []string {
	kind := func(v any) string {
		switch v.(type) {
		case nil:
			return "null"
		case bool:
			return "boolean"
		case float64:
			return "number"
		case string:
			return "string"
		case []any:
			return "array"
		}
		return "object"
	}
	wk, gk := kind(want), kind(got)
	switch {
	case wk == "null" && (gk == "null" || gk == "string"):
		return nil
	case wk != gk:
		return []string{fmt.Sprintf("%s is %s, MISP's is %s", at, gk, wk)}
	}
	var out []string
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s is missing", at, k))
				continue
			}
			out = append(out, shapeDiff(at+"."+k, w[k], gv)...)
		}
	case []any:
		g := got.([]any)
		if len(w) > 0 {
			if len(g) == 0 {
				return []string{at + " is empty, MISP's has elements"}
			}
			out = append(out, shapeDiff(at+"[0]", w[0], g[0])...)
		}
	}
	return out
}

// The comparison itself catches what it should: a missing key, a changed type.
func TestShapeDiff(t *testing.T) {
	want := map[string]any{"A": map[string]any{"id": "1", "x": nil}, "L": []any{map[string]any{"b": true}}}
	if d := shapeDiff("", want, map[string]any{"A": map[string]any{"id": "1", "x": "v"}, "L": []any{map[string]any{"b": false}}, "extra": 1.0}); len(d) != 0 {
		t.Errorf("same shape: %v", d)
	}
	d := shapeDiff("", want, map[string]any{"A": map[string]any{"id": 1.0}, "L": []any{map[string]any{}}})
	if len(d) != 3 {
		t.Errorf("want 3 differences (id type, x missing, b missing), got %v", d)
	}
}

// readShape reads one of MISP's recorded answers from testdata/misp-shapes.
func readShape(t *testing.T, name string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "misp-shapes", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s.json: %v", name, err)
	}
	return v
}

// The same event, added over REST to a MISP 2.5.1 and to mispdesk, is served by
// events/view and events/restSearch with MISP's keys at every level: the empty
// CryptographicKey, Galaxy and EventReport lists, each attribute's Galaxy and object_id,
// every member of a tag.
func TestEventShapesAsMISP(t *testing.T) {
	e := newEnv(t)
	add := readShape(t, "events_add_request")
	wantStatus(t, e.do("POST", "/events/add", e.admin, add), http.StatusOK)
	uuid := add.(map[string]any)["Event"].(map[string]any)["uuid"].(string)

	search := readShape(t, "events_restsearch")
	r := e.do("POST", "/events/restSearch", e.admin, map[string]any{"returnFormat": "json", "eventid": uuid})
	wantStatus(t, r, http.StatusOK)
	for _, d := range shapeDiff("", search, r.json(t)) {
		t.Errorf("events/restSearch: %s", d)
	}
	// events/view without analyst data has restSearch's event
	view := search.(map[string]any)["response"].([]any)[0]
	r = e.do("GET", "/events/view/"+uuid, e.admin, nil)
	wantStatus(t, r, http.StatusOK)
	for _, d := range shapeDiff("", view, r.json(t)) {
		t.Errorf("events/view: %s", d)
	}
	// with analyst data, events/view embeds it where MISP does
	for _, a := range []struct{ path, body string }{
		{"Note/" + uuid + "/Event", `{"note":"Seen in the November campaign.","language":"en","distribution":"1"}`},
		{"Note/6d1c8a52-3f4e-4b7a-9c21-5e0f1a2b3c01/Attribute", `{"note":"This address moved in December.","language":"en","distribution":"1"}`},
		{"Opinion/6d1c8a52-3f4e-4b7a-9c21-5e0f1a2b3c10/Object", `{"opinion":"80","comment":"Likely right.","distribution":"1"}`},
	} {
		wantStatus(t, e.do("POST", "/analystData/add/"+a.path, e.admin, a.body), http.StatusOK)
	}
	r = e.do("GET", "/events/view/"+uuid, e.admin, nil)
	wantStatus(t, r, http.StatusOK)
	// every member MISP gives each item, _canEdit and _max_depth_reached included; of its
	// organisations' records, those MISP's model names for them (analystOrgMembers)
	for _, d := range shapeDiff("", pruneAnalystOrgs(readShape(t, "events_view"), false), r.json(t)) {
		t.Errorf("events/view with analyst data: %s", d)
	}
	// an event without reports still lists them, and MISP's empty lists stay lists
	r = e.do("GET", "/events/view/"+uuid+"/noEventReports:1", e.admin, nil)
	wantStatus(t, r, http.StatusOK)
	ev := r.obj(t)["Event"].(map[string]any)
	for _, k := range []string{"CryptographicKey", "Galaxy", "EventReport"} {
		if l, ok := ev[k].([]any); !ok || len(l) != 0 {
			t.Errorf("Event.%s = %v, want []", k, ev[k])
		}
	}
}

// analystOrgMembers are the members of an analyst data item's Org and Orgc that MISP's model
// names for those associations; MISP's attribute and object notes carry the organisation's
// whole record, whose other members (contacts, restricted_to_domain…) mispdesk leaves out.
var analystOrgMembers = []string{"id", "name", "uuid", "type", "description", "sector", "nationality", "local"}

// pruneAnalystOrgs takes out of the Org and Orgc of MISP's analyst data items (under Note,
// Opinion and Relationship, at any depth) the members not in analystOrgMembers.
func pruneAnalystOrgs(v any, inItem bool) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = pruneAnalystOrgs(x[i], inItem)
		}
	case map[string]any:
		if inItem {
			for _, k := range []string{"Org", "Orgc"} {
				if o, ok := x[k].(map[string]any); ok {
					for f := range o {
						if !slices.Contains(analystOrgMembers, f) {
							delete(o, f)
						}
					}
				}
			}
		}
		for k, c := range x {
			x[k] = pruneAnalystOrgs(c, inItem || k == "Note" || k == "Opinion" || k == "Relationship")
		}
	}
	return v
}
