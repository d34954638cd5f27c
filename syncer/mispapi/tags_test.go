package mispapi

import (
	"context"
	"strings"
	"testing"

	"mispdesk/store"
	"mispdesk/store/misp"
)

// tags/edit as PyMISP's update_tag calls it: the site admin's alone (MISP's ACL); the tag's
// events carry it renamed; a name another tag has is MISP's 405, a missing tag its 404.
func TestTagEdit(t *testing.T) {
	e := gateFixture(t)
	add := func(name string) string {
		t.Helper()
		r := e.do("POST", "/tags/add", e.admin, map[string]any{"Tag": map[string]any{"name": name, "colour": "#ff0000"}})
		wantStatus(t, r, 200)
		return get[string](t, r.obj(t), "Tag", "id")
	}
	id := add("workflow:state=\"draft\"")
	add("taken")
	wantStatus(t, e.do("POST", "/tags/attachTagToObject", e.admin, map[string]any{"uuid": gateEvent, "tag": id}), 200)

	r := e.do("POST", "/tags/edit/"+id, e.admin, map[string]any{"Tag": map[string]any{"name": "workflow:state=\"complete\"", "hide_tag": true}})
	wantStatus(t, r, 200)
	if get[string](t, r.obj(t), "Tag", "name") != `workflow:state="complete"` || !get[bool](t, r.obj(t), "Tag", "hide_tag") ||
		get[string](t, r.obj(t), "Tag", "colour") != "#ff0000" {
		t.Errorf("edit: %s", r.body)
	}
	r = e.do("GET", "/events/view/"+gateEvent, e.other, nil)
	wantStatus(t, r, 200)
	if s := string(r.body); !strings.Contains(s, `workflow:state=\"complete\"`) || strings.Contains(s, "draft") {
		t.Errorf("the event does not carry the renamed tag: %.400s", s)
	}
	for _, key := range []string{e.other, e.sameOrgUser, e.readOnly, e.syncKey} {
		wantEnvelope(t, e.do("POST", "/tags/edit/"+id, key, map[string]any{"name": "hijack"}), 403, msgNoPerm)
	}
	wantEnvelope(t, e.do("POST", "/tags/edit/"+id, e.admin, map[string]any{"name": "TAKEN"}), 405, "Could not add the Tag. [name]: A similar name already exists.")
	wantEnvelope(t, e.do("POST", "/tags/edit/999999", e.admin, map[string]any{"name": "x"}), 404, "Invalid tag")
}

// A tag marked not exportable never leaves this instance: a peer's sync account pulling
// (events/index, events/view, restSearch, attributes/restSearch) gets none, as MISP's REST
// answers carry only exportable tags (Event::fetchEvent without includeAllTags,
// events/index); the exportable ones and the rest of the event still go.
func TestNonExportableTagsNeverGoToASyncAccount(t *testing.T) {
	e := newEnv(t)
	const uuid = "7c2a1f3e-0d4b-4e6a-8f1c-2b3d4e5f6c01"
	ev := testEvent(uuid, misp.AllCommunities, true, 1767398400)
	ev.Orgc = nil // the host organisation's own event
	no := misp.OptBool{Set: true, Value: false}
	ev.Tag = []misp.Tag{{Name: "tlp:green"}, {Name: "internal:event-secret", Exportable: no}}
	ev.Attribute[0].Tag = []misp.Tag{{Name: "osint:source-type=\"blog-post\""}, {Name: "internal:attr-secret", Exportable: no}}
	if _, err := e.st.UpsertEvent(context.Background(), ev, store.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	reads := []struct{ method, path, shows string }{
		{"GET", "/events/index", "tlp:green"},
		{"POST", "/events/index", "tlp:green"},
		{"GET", "/events/view/" + uuid, "blog-post"},
		{"POST", "/events/restSearch", "blog-post"},
		{"POST", "/events/restSearch/metadata:1", "tlp:green"},
		{"POST", "/attributes/restSearch", "blog-post"},
	}
	for _, rd := range reads {
		var body any
		if rd.method == "POST" {
			body = map[string]any{"eventid": uuid}
		}
		r := e.do(rd.method, rd.path, e.syncKey, body)
		wantStatus(t, r, 200)
		s := string(r.body)
		if !strings.Contains(s, rd.shows) {
			t.Errorf("%s lost the exportable tag %s: %.400s", rd.path, rd.shows, s)
		}
		if strings.Contains(s, "internal:") {
			t.Errorf("%s gives the sync account a tag that may not leave: %.600s", rd.path, s)
		}
	}
	// the instance's own users see them, as MISP's interface shows them
	r := e.do("GET", "/events/view/"+uuid, e.other, nil)
	wantStatus(t, r, 200)
	if !strings.Contains(string(r.body), "internal:attr-secret") {
		t.Errorf("a user here lost the non-exportable tag: %.400s", r.body)
	}
}

// A tag's count is the events carrying it that the caller may see (MISP's
// EventTag::countForTags, under the caller's event conditions): tags/index and tags/view do
// not tell another organisation how many events it may not see carry a tag.
func TestTagCountsOnlyVisibleEvents(t *testing.T) {
	e := newEnv(t)
	add := func(uuid string, dist misp.Distribution, tags ...string) {
		t.Helper()
		ev := testEvent(uuid, dist, true, 1767398400)
		ev.Orgc = nil
		for _, name := range tags {
			ev.Tag = append(ev.Tag, misp.Tag{Name: name})
		}
		if _, err := e.st.UpsertEvent(context.Background(), ev, store.UpsertOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	add("7c2a1f3e-0d4b-4e6a-8f1c-2b3d4e5f6d01", misp.OrgOnly, "victim:hidden-corp", "tlp:amber")
	add("7c2a1f3e-0d4b-4e6a-8f1c-2b3d4e5f6d02", misp.OrgOnly, "victim:hidden-corp")
	add("7c2a1f3e-0d4b-4e6a-8f1c-2b3d4e5f6d03", misp.AllCommunities, "tlp:amber")
	counts := func(key string) map[string]float64 {
		t.Helper()
		r := e.do("GET", "/tags/index", key, nil)
		wantStatus(t, r, 200)
		out := map[string]float64{}
		for _, x := range r.obj(t)["Tag"].([]any) {
			tag := x.(map[string]any)
			out[tag["name"].(string)] = tag["count"].(float64)
			v := e.do("GET", "/tags/view/"+tag["id"].(string), key, nil)
			wantStatus(t, v, 200)
			if got := get[float64](t, v.obj(t), "Tag", "count"); got != out[tag["name"].(string)] {
				t.Errorf("tags/view of %s counts %v, tags/index %v", tag["name"], got, out[tag["name"].(string)])
			}
		}
		return out
	}
	for who, c := range map[string]struct {
		key           string
		hidden, amber float64
	}{
		"owner organisation":           {e.sameOrgUser, 2, 2},
		"site admin":                   {e.admin, 2, 2},
		"user of another organisation": {e.other, 0, 1},
		"sync account":                 {e.syncKey, 0, 1},
	} {
		got := counts(c.key)
		if got["victim:hidden-corp"] != c.hidden || got["tlp:amber"] != c.amber {
			t.Errorf("%s: counts %v, want victim:hidden-corp %v and tlp:amber %v", who, got, c.hidden, c.amber)
		}
	}
}
