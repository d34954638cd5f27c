package mispapi

import (
	"slices"
	"testing"
)

// eventValues lists "type=value" of an event's attributes as events/view answers them.
func (e *env) eventValues(id string) []string {
	e.t.Helper()
	r := e.do("GET", "/events/view/"+id, e.sameOrgUser, nil)
	wantStatus(e.t, r, 200)
	var out []string
	for _, a := range get[[]any](e.t, r.obj(e.t), "Event", "Attribute") {
		m := a.(map[string]any)
		out = append(out, m["type"].(string)+"="+m["value"].(string))
	}
	return out
}

// TestRESTAttributeValuesAsMISP: a user's attributes/add and attributes/edit refuse a
// value MISP refuses with MISP's validation envelope and message, save nothing, and store
// what MISP takes in MISP's form.
func TestRESTAttributeValuesAsMISP(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/events/add", e.sameOrgUser, map[string]any{"Event": map[string]any{"info": "values", "distribution": "0"}})
	wantStatus(t, r, 200)
	id := get[string](t, r.obj(t), "Event", "id")

	for _, c := range []struct{ body, msg string }{
		{`{"type":"ip-dst","value":"999.1.1.1"}`, "IP address has an invalid format."},
		{`{"type":"ip-dst|port","value":"192.0.2.1"}`, "Composite type found but the value not in the composite (value1|value2) format."},
		{`{"type":"md5","value":"abc"}`, `Checksum has an invalid length or format (expected: 32 hexadecimal characters). Please double check the value or select type "other".`},
		{`{"type":"domain","value":"localhost"}`, `Domain has an invalid format. Please double check the value or select type "other".`},
		{`{"type":"text","value":"  "}`, "Value cannot be empty."},
	} {
		r := e.do("POST", "/attributes/add/"+id, e.sameOrgUser, c.body)
		wantStatus(t, r, 403)
		m := r.obj(t)
		if m["saved"] != false {
			t.Errorf("%s: saved is %v, want false", c.body, m["saved"])
		}
		if got := get[[]any](t, m, "errors", "value"); len(got) != 1 || got[0] != c.msg {
			t.Errorf("%s: errors.value %v, want [%q]", c.body, got, c.msg)
		}
	}
	if vals := e.eventValues(id); len(vals) != 0 {
		t.Fatalf("refused values were stored: %q", vals)
	}

	r = e.do("POST", "/attributes/add/"+id, e.sameOrgUser, `{"type":"ip-dst|port","value":"192.0.2.1:443"}`)
	wantStatus(t, r, 200)
	if v := get[string](t, r.obj(t), "Attribute", "value"); v != "192.0.2.1|443" {
		t.Errorf("attributes/add answered value %q, want 192.0.2.1|443", v)
	}
	r = e.do("POST", "/attributes/add/"+id, e.sameOrgUser, `[{"type":"AS","value":"AS13335"},{"type":"url","value":"hxxp://evil[.]example/x"}]`)
	wantStatus(t, r, 200)
	added := get[[]any](t, r.obj(t), "Attribute")
	aid := added[0].(map[string]any)["id"].(string)
	want := []string{"ip-dst|port=192.0.2.1|443", "AS=13335", "url=http://evil.example/x"}
	if vals := e.eventValues(id); !slices.Equal(vals, want) {
		t.Errorf("stored %q, want %q", vals, want)
	}

	r = e.do("POST", "/attributes/edit/"+aid, e.sameOrgUser, `{"value":"AS4294967296"}`)
	wantStatus(t, r, 403)
	if got := get[[]any](t, r.obj(t), "errors", "value"); len(got) != 1 || got[0] != "AS number have to be integer between 1 and 4294967295" {
		t.Errorf("edit to an AS out of range: errors.value %v", got)
	}
	r = e.do("POST", "/attributes/edit/"+aid, e.sameOrgUser, `{"value":"as1.10"}`)
	wantStatus(t, r, 200)
	want[1] = "AS=65546"
	if vals := e.eventValues(id); !slices.Equal(vals, want) {
		t.Errorf("after the edits %q, want %q", vals, want)
	}
}

// TestRESTEventAddDropsWhatMISPRefuses: events/add stores the event with its attributes in
// MISP's form and without the attributes MISP refuses, as MISP's add does.
func TestRESTEventAddDropsWhatMISPRefuses(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/events/add", e.sameOrgUser, map[string]any{"Event": map[string]any{"info": "mixed", "distribution": "0",
		"Attribute": []any{
			map[string]any{"type": "ip-dst", "value": "999.1.1.1"},
			map[string]any{"type": "sha256", "value": "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"},
			map[string]any{"type": "datetime", "value": "2024-03-05T12:34:56Z"},
			map[string]any{"type": "ip-dst", "value": "2001:DB8:0:0::1"},
		}}})
	wantStatus(t, r, 200)
	id := get[string](t, r.obj(t), "Event", "id")
	want := []string{"sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"datetime=2024-03-05T12:34:56.000000+0000", "ip-dst=2001:db8::1"}
	if vals := e.eventValues(id); !slices.Equal(vals, want) {
		t.Errorf("stored %q, want %q", vals, want)
	}
}

// TestRESTSeenAsMISP: first_seen and last_seen that PHP's strtotime cannot read are
// refused as a MISP 2.5.1 refused them (attributes/add: 403, errors by field "Invalid ISO
// 8601 format"; objects/add: 403, "Object could not be saved.\nfirst_seen: …"), nothing
// is saved, and events/add leaves such an attribute out; the forms it reads are stored in
// MISP's form.
func TestRESTSeenAsMISP(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/events/add", e.sameOrgUser, map[string]any{"Event": map[string]any{"info": "seen", "distribution": "0",
		"Attribute": []any{
			map[string]any{"type": "ip-dst", "value": "192.0.2.1", "first_seen": "1700000000"},
			map[string]any{"type": "ip-dst", "value": "192.0.2.2", "first_seen": "2026/11/01"},
		}}})
	wantStatus(t, r, 200)
	id := get[string](t, r.obj(t), "Event", "id")
	if vals := e.eventValues(id); !slices.Equal(vals, []string{"ip-dst=192.0.2.2"}) {
		t.Errorf("events/add stored %q, want only the attribute with a date MISP reads", vals)
	}
	for _, c := range []struct{ body, field string }{
		{`{"type":"ip-dst","value":"192.0.2.3","first_seen":"1700000000"}`, "first_seen"},
		{`{"type":"ip-dst","value":"192.0.2.3","first_seen":"2026/11/01","last_seen":"garbage"}`, "last_seen"},
	} {
		r := e.do("POST", "/attributes/add/"+id, e.sameOrgUser, c.body)
		wantStatus(t, r, 403)
		m := r.obj(t)
		if m["name"] != "Could not add Attribute" {
			t.Errorf("%s: name %v", c.body, m["name"])
		}
		if got := get[[]any](t, m, "errors", c.field); len(got) != 1 || got[0] != "Invalid ISO 8601 format" {
			t.Errorf("%s: errors.%s %v, want [Invalid ISO 8601 format]", c.body, c.field, got)
		}
	}
	r = e.do("POST", "/objects/add/"+id, e.sameOrgUser, `{"name":"domain-ip","meta-category":"network","description":"d",
		"template_uuid":"43b3b146-77eb-4931-b4cc-b66c60f28734","template_version":"9","first_seen":"1700000000",
		"Attribute":[{"type":"domain","object_relation":"domain","value":"x1.example.org"}]}`)
	wantStatus(t, r, 403)
	if got := r.obj(t)["errors"]; got != "Object could not be saved.\nfirst_seen: Invalid ISO 8601 format" {
		t.Errorf("objects/add errors %q", got)
	}
	if vals := e.eventValues(id); !slices.Equal(vals, []string{"ip-dst=192.0.2.2"}) {
		t.Errorf("refused elements were stored: %q", vals)
	}
	r = e.do("POST", "/attributes/add/"+id, e.sameOrgUser, `{"type":"ip-dst","value":"192.0.2.4","first_seen":"Nov 1 2026","last_seen":"@1800000000"}`)
	wantStatus(t, r, 200)
	a := r.obj(t)["Attribute"].(map[string]any)
	if a["first_seen"] != "2026-11-01T00:00:00.000000+00:00" || a["last_seen"] != "2027-01-15T08:00:00.000000+00:00" {
		t.Errorf("stored first_seen %v, last_seen %v", a["first_seen"], a["last_seen"])
	}
}
