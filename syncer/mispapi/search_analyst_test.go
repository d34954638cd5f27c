package mispapi

import (
	"net/http"
	"sort"
	"strings"
	"testing"
)

// An event of the host organisation shared with all communities: an attribute, one kept
// to the organisation, two objects, the first referring to the attributes and the other
// object, and a report.
const (
	saEvent    = "7a3e5c10-1b2d-4e8f-9a01-0c1d2e3f4a00"
	saAttr     = "7a3e5c10-1b2d-4e8f-9a01-0c1d2e3f4a01"
	saHidden   = "7a3e5c10-1b2d-4e8f-9a01-0c1d2e3f4a02"
	saObject   = "7a3e5c10-1b2d-4e8f-9a01-0c1d2e3f4a10"
	saObjAttr  = "7a3e5c10-1b2d-4e8f-9a01-0c1d2e3f4a11"
	saObject2  = "7a3e5c10-1b2d-4e8f-9a01-0c1d2e3f4a12"
	saObj2Attr = "7a3e5c10-1b2d-4e8f-9a01-0c1d2e3f4a13"
	saReport   = "7a3e5c10-1b2d-4e8f-9a01-0c1d2e3f4a30"
)

// twoOrgFixture stores the event and, through analyst_data/add, notes and opinions of
// two organisations on its elements, each kept to its organisation or given to the
// community; it returns the UUID of the community note on the event.
func twoOrgFixture(t *testing.T) (*env, string) {
	t.Helper()
	e := newEnv(t)
	r := e.do("POST", "/events/add", e.sameOrgUser, `{"Event":{"uuid":"`+saEvent+`","info":"analyst data search","distribution":"3",
	  "threat_level_id":"2","analysis":"1","date":"2026-11-30","published":true,
	  "Attribute":[
	    {"uuid":"`+saAttr+`","type":"domain","category":"Network activity","value":"seen.example","to_ids":true},
	    {"uuid":"`+saHidden+`","type":"ip-dst","category":"Network activity","value":"203.0.113.9","distribution":"0","to_ids":false}],
	  "Object":[{"uuid":"`+saObject+`","name":"domain-ip","meta-category":"network","description":"A domain and its IP address.",
	    "template_uuid":"43b3b146-77eb-4931-b4cc-b66c60f28734","template_version":"9",
	    "Attribute":[{"uuid":"`+saObjAttr+`","type":"ip-dst","category":"Network activity","object_relation":"ip","value":"198.51.100.8"}],
	    "ObjectReference":[
	      {"uuid":"7a3e5c10-1b2d-4e8f-9a01-0c1d2e3f4a20","referenced_uuid":"`+saAttr+`","relationship_type":"resolves"},
	      {"uuid":"7a3e5c10-1b2d-4e8f-9a01-0c1d2e3f4a21","referenced_uuid":"`+saHidden+`","relationship_type":"connects-to"},
	      {"uuid":"7a3e5c10-1b2d-4e8f-9a01-0c1d2e3f4a22","referenced_uuid":"`+saObject2+`","relationship_type":"related-to"}]},
	    {"uuid":"`+saObject2+`","name":"url","meta-category":"network","description":"A URL.","distribution":"2",
	      "template_uuid":"60efb77b-40b5-4c46-871b-ed1ed999fce5","template_version":"9",
	      "Attribute":[{"uuid":"`+saObj2Attr+`","type":"url","category":"Network activity","object_relation":"url","value":"https://seen.example/x"}]}],
	  "EventReport":[{"uuid":"`+saReport+`","name":"Findings","content":"One domain."}]}}`)
	wantStatus(t, r, http.StatusOK)
	add := func(key, kind, target, targetType, text, dist string) string {
		t.Helper()
		body := map[string]any{"note": text, "language": "en", "distribution": dist}
		if kind == "Opinion" {
			body = map[string]any{"opinion": "70", "comment": text, "distribution": dist}
		}
		r := e.do("POST", "/analyst_data/add/"+kind+"/"+target+"/"+targetType, key, body)
		wantStatus(t, r, http.StatusOK)
		return get[string](t, r.obj(t), kind, "uuid")
	}
	host, other := e.sameOrgUser, e.other
	add(host, "Note", saEvent, "Event", "host only, event", "0")
	community := add(host, "Note", saEvent, "Event", "host community, event", "3")
	add(other, "Note", community, "Note", "other community, on the host's note", "3")
	add(other, "Note", community, "Note", "other only, on the host's note", "0")
	add(other, "Note", saAttr, "Attribute", "other community, attribute", "3")
	add(other, "Opinion", saAttr, "Attribute", "other only, attribute", "0")
	add(host, "Note", saHidden, "Attribute", "host community, hidden attribute", "3")
	add(host, "Opinion", saObject, "Object", "host community, object", "3")
	add(host, "Note", saObjAttr, "Attribute", "host only, object attribute", "0")
	add(host, "Note", saReport, "EventReport", "host community, report", "3")
	return e, community
}

// analystOutline lists, one line per element of an event answer that carries analyst
// data, the items on it with those nested under them, in a fixed order.
func analystOutline(t *testing.T, ev map[string]any) string {
	t.Helper()
	var lines []string
	var items func(m map[string]any) string
	items = func(m map[string]any) string {
		var out []string
		for _, kind := range []string{"Note", "Opinion", "Relationship"} {
			list, _ := m[kind].([]any)
			for _, x := range list {
				it := x.(map[string]any)
				text, _ := it["note"].(string)
				if kind == "Opinion" {
					text, _ = it["comment"].(string)
				}
				s := kind + "(" + text + ")"
				if nested := items(it); nested != "" {
					s += "{" + nested + "}"
				}
				out = append(out, s)
			}
		}
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	line := func(what string, m map[string]any) {
		if s := items(m); s != "" {
			lines = append(lines, what+": "+s)
		}
	}
	line("event", ev)
	for _, a := range ev["Attribute"].([]any) {
		line("attribute "+a.(map[string]any)["value"].(string), a.(map[string]any))
	}
	for _, o := range ev["Object"].([]any) {
		om := o.(map[string]any)
		line("object "+om["name"].(string), om)
		for _, a := range om["Attribute"].([]any) {
			line("object attribute "+a.(map[string]any)["value"].(string), a.(map[string]any))
		}
	}
	if reports, ok := ev["EventReport"].([]any); ok {
		for _, rep := range reports {
			line("report "+rep.(map[string]any)["name"].(string), rep.(map[string]any))
		}
	}
	return strings.Join(lines, "\n")
}

// events/restSearch with includeAnalystData embeds the notes, opinions and relationships
// as events/view does, trimmed by the gate: each by its own distribution, only on the
// elements the caller sees; without it, none; with metadata, the event's own only.
func TestRestSearchIncludeAnalystData(t *testing.T) {
	e, _ := twoOrgFixture(t)
	want := map[string]string{
		"host": `event: Note(host community, event){Note(other community, on the host's note)} Note(host only, event)
attribute seen.example: Note(other community, attribute)
attribute 203.0.113.9: Note(host community, hidden attribute)
object domain-ip: Opinion(host community, object)
object attribute 198.51.100.8: Note(host only, object attribute)
report Findings: Note(host community, report)`,
		"other": `event: Note(host community, event){Note(other community, on the host's note) Note(other only, on the host's note)}
attribute seen.example: Note(other community, attribute) Opinion(other only, attribute)
object domain-ip: Opinion(host community, object)
report Findings: Note(host community, report)`,
		"sync": `event: Note(host community, event){Note(other community, on the host's note)}
attribute seen.example: Note(other community, attribute)
object domain-ip: Opinion(host community, object)
report Findings: Note(host community, report)`,
	}
	wantMeta := map[string]string{
		"host":  `event: Note(host community, event){Note(other community, on the host's note)} Note(host only, event)`,
		"other": `event: Note(host community, event){Note(other community, on the host's note) Note(other only, on the host's note)}`,
		"sync":  `event: Note(host community, event){Note(other community, on the host's note)}`,
	}
	search := func(key string, body map[string]any) map[string]any {
		t.Helper()
		r := e.do("POST", "/events/restSearch", key, body)
		wantStatus(t, r, http.StatusOK)
		list := r.obj(t)["response"].([]any)
		if len(list) != 1 {
			t.Fatalf("%d events: %.300s", len(list), r.body)
		}
		return list[0].(map[string]any)["Event"].(map[string]any)
	}
	for who, key := range map[string]string{"host": e.sameOrgUser, "other": e.other, "sync": e.syncKey} {
		for _, flag := range []any{1, "1", true} {
			ev := search(key, map[string]any{"returnFormat": "json", "eventid": saEvent, "includeAnalystData": flag})
			if got := analystOutline(t, ev); got != want[who] {
				t.Errorf("%s, includeAnalystData %v:\n%s\nwant\n%s", who, flag, got, want[who])
			}
		}
		// the same items as events/view shows the caller
		r := e.do("GET", "/events/view/"+saEvent, key, nil)
		wantStatus(t, r, http.StatusOK)
		if got := analystOutline(t, r.obj(t)["Event"].(map[string]any)); got != want[who] {
			t.Errorf("%s, events/view:\n%s\nwant\n%s", who, got, want[who])
		}
		for _, off := range []map[string]any{{"eventid": saEvent}, {"eventid": saEvent, "includeAnalystData": 0}} {
			if got := analystOutline(t, search(key, off)); got != "" {
				t.Errorf("%s, %v: analyst data without includeAnalystData:\n%s", who, off, got)
			}
		}
		ev := search(key, map[string]any{"eventid": saEvent, "metadata": 1, "includeAnalystData": 1})
		ev["Attribute"], ev["Object"] = []any{}, []any{}
		if got := analystOutline(t, ev); got != wantMeta[who] {
			t.Errorf("%s, metadata:\n%s\nwant\n%s", who, got, wantMeta[who])
		}
	}
	// attributes/restSearch does not take includeAnalystData, as MISP's does not
	r := e.do("POST", "/attributes/restSearch", e.sameOrgUser, map[string]any{"eventid": saEvent, "includeAnalystData": 1})
	wantStatus(t, r, http.StatusOK)
	if s := string(r.body); strings.Contains(s, `"Note"`) || strings.Contains(s, `"Opinion"`) {
		t.Errorf("attributes/restSearch embeds analyst data: %.400s", s)
	}
}
