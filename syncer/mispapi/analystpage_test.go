package mispapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"mispdesk/store"
)

// pageOutline lists the analyst data items of an events/view answer, nested ones
// included, one line each: kind, text, whether the caller may edit it, whether items
// about it are left out, and its organisations' names.
func pageOutline(t *testing.T, ev map[string]any) string {
	t.Helper()
	var lines []string
	var walk func(m map[string]any)
	walk = func(m map[string]any) {
		for _, kind := range []string{"Note", "Opinion", "Relationship"} {
			list, _ := m[kind].([]any)
			for _, x := range list {
				it := x.(map[string]any)
				text, _ := it["note"].(string)
				if kind == "Opinion" {
					text, _ = it["comment"].(string)
				}
				orgc, _ := it["Orgc"].(map[string]any)
				org, _ := it["Org"].(map[string]any)
				lines = append(lines, kind+"("+text+") canEdit="+strconv.FormatBool(it["_canEdit"].(bool))+
					" more="+strconv.FormatBool(it["_max_depth_reached"].(bool))+
					" orgc="+orgc["name"].(string)+" org="+org["name"].(string))
				walk(it)
			}
		}
	}
	walk(ev)
	for _, k := range []string{"Attribute", "Object", "EventReport"} {
		list, _ := ev[k].([]any)
		for _, x := range list {
			walk(x.(map[string]any))
			if k == "Object" {
				for _, a := range x.(map[string]any)["Attribute"].([]any) {
					walk(a.(map[string]any))
				}
			}
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// Each analyst data item, embedded or on its own, carries what MISP's pages add: whether
// the caller may edit it (the rule analyst_data/edit applies: a site admin, or the creator
// organisation), whether items about it are left out (_max_depth_reached), and its
// organisations' records with the members MISP's model names for them, no more.
func TestAnalystDataPageMembers(t *testing.T) {
	e, community := twoOrgFixture(t)
	// the other organisation's details, and a contact that must not show
	r := e.do("POST", "/admin/organisations/edit/"+e.otherOrg.UUID, e.admin, map[string]any{"Organisation": map[string]any{
		"type": "CSIRT", "sector": "Energy", "nationality": "Luxembourg", "description": "The other CERT", "contacts": "duty@other.test"}})
	wantStatus(t, r, http.StatusOK)

	common := []string{
		"Note(host community, report) canEdit=%h more=false orgc=HOSTORG org=HOSTORG",
		"Note(other community, attribute) canEdit=%o more=false orgc=OTHERORG org=OTHERORG",
		"Note(other community, on the host's note) canEdit=%o more=false orgc=OTHERORG org=OTHERORG",
		"Opinion(host community, object) canEdit=%h more=false orgc=HOSTORG org=HOSTORG",
		"Note(host community, event) canEdit=%h more=false orgc=HOSTORG org=HOSTORG",
	}
	want := map[string][]string{
		"admin": append(slices.Clone(common), "Note(host only, event) canEdit=true more=false orgc=HOSTORG org=HOSTORG",
			"Note(other only, on the host's note) canEdit=true more=false orgc=OTHERORG org=OTHERORG",
			"Opinion(other only, attribute) canEdit=true more=false orgc=OTHERORG org=OTHERORG",
			"Note(host community, hidden attribute) canEdit=true more=false orgc=HOSTORG org=HOSTORG",
			"Note(host only, object attribute) canEdit=true more=false orgc=HOSTORG org=HOSTORG"),
		"host": append(slices.Clone(common), "Note(host only, event) canEdit=true more=false orgc=HOSTORG org=HOSTORG",
			"Note(host community, hidden attribute) canEdit=true more=false orgc=HOSTORG org=HOSTORG",
			"Note(host only, object attribute) canEdit=true more=false orgc=HOSTORG org=HOSTORG"),
		"other": append(slices.Clone(common), "Note(other only, on the host's note) canEdit=true more=false orgc=OTHERORG org=OTHERORG",
			"Opinion(other only, attribute) canEdit=true more=false orgc=OTHERORG org=OTHERORG"),
		"sync": slices.Clone(common),
	}
	edits := map[string][2]string{"admin": {"true", "true"}, "host": {"true", "false"}, "other": {"false", "true"}, "sync": {"false", "false"}}
	keys := map[string]string{"admin": e.admin, "host": e.sameOrgUser, "other": e.other, "sync": e.syncKey}
	for who, key := range keys {
		var lines []string
		for _, l := range want[who] {
			lines = append(lines, strings.NewReplacer("%h", edits[who][0], "%o", edits[who][1]).Replace(l))
		}
		sort.Strings(lines)
		r := e.do("GET", "/events/view/"+saEvent, key, nil)
		wantStatus(t, r, http.StatusOK)
		if got := pageOutline(t, r.obj(t)["Event"].(map[string]any)); got != strings.Join(lines, "\n") {
			t.Errorf("%s, events/view:\n%s\nwant\n%s", who, got, strings.Join(lines, "\n"))
		}
		// what analyst_data/edit answers agrees with _canEdit
		r = e.do("POST", "/analyst_data/edit/Note/"+community, key, map[string]any{"language": "en"})
		if wantEdit := edits[who][0] == "true"; (r.status == http.StatusOK) != wantEdit {
			t.Errorf("%s: analyst_data/edit of the host's note answers %d, _canEdit says %v", who, r.status, wantEdit)
		}
	}

	// on its own, a note shows whether the caller may see items about it that it leaves out
	for who, c := range map[string]struct {
		key  string
		more bool
	}{"host": {e.sameOrgUser, true}, "other": {e.other, true}, "sync": {e.syncKey, true}} {
		r := e.do("GET", "/analyst_data/view/Note/"+community, c.key, nil)
		wantStatus(t, r, http.StatusOK)
		if got := get[bool](t, r.obj(t), "Note", "_max_depth_reached"); got != c.more {
			t.Errorf("%s: analyst_data/view: _max_depth_reached %v", who, got)
		}
	}
	// the note the host keeps to itself has nothing about it
	r = e.do("GET", "/analyst_data/index/Note", e.sameOrgUser, nil)
	wantStatus(t, r, http.StatusOK)
	more := map[string]bool{}
	for _, x := range r.json(t).([]any) {
		n := x.(map[string]any)["Note"].(map[string]any)
		more[n["note"].(string)] = n["_max_depth_reached"].(bool)
	}
	wantMore := map[string]bool{"host only, event": false, "host community, event": true, "other community, on the host's note": false,
		"other community, attribute": false, "host community, hidden attribute": false, "host only, object attribute": false,
		"host community, report": false}
	if b, w := jsonOf(t, more), jsonOf(t, wantMore); b != w {
		t.Errorf("analyst_data/index: _max_depth_reached %s, want %s", b, w)
	}

	// the organisations' records: MISP's members for them, not the contacts
	r = e.do("GET", "/analyst_data/index/Note", e.sameOrgUser, nil)
	for _, x := range r.json(t).([]any) {
		n := x.(map[string]any)["Note"].(map[string]any)
		if n["note"] != "other community, attribute" {
			continue
		}
		want := `{"description":"The other CERT","id":"2","local":true,"name":"OTHERORG","nationality":"Luxembourg","sector":"Energy","type":"CSIRT","uuid":"` + e.otherOrg.UUID + `"}`
		for _, k := range []string{"Org", "Orgc"} {
			if got := jsonOf(t, n[k]); got != want {
				t.Errorf("%s: %s\nwant %s", k, got, want)
			}
		}
	}
	if strings.Contains(string(r.body), "duty@other.test") {
		t.Errorf("analyst_data/index shows an organisation's contacts: %.400s", r.body)
	}

	// notes about notes nine deep, as analyst_data/add takes them, and a tenth as a peer
	// may send it: the view shows nine, the ninth with more about it left out
	parent, kind := saAttr, "Attribute"
	for i := range 9 {
		r := e.do("POST", "/analyst_data/add/Note/"+parent+"/"+kind, e.other, map[string]any{"note": "level " + strconv.Itoa(i), "distribution": "3"})
		wantStatus(t, r, http.StatusOK)
		parent, kind = get[string](t, r.obj(t), "Note", "uuid"), "Note"
	}
	if _, err := e.st.AddAnalystData(context.Background(), store.AnalystData{Kind: "Note", ObjectUUID: parent, ObjectType: "Note",
		OrgcUUID: e.otherOrg.UUID, OrgUUID: e.otherOrg.UUID, Distribution: 3, Body: []byte(`{"note":"level 9"}`)}); err != nil {
		t.Fatal(err)
	}
	r = e.do("GET", "/events/view/"+saEvent, e.sameOrgUser, nil)
	wantStatus(t, r, http.StatusOK)
	var chain []string
	for _, l := range strings.Split(pageOutline(t, r.obj(t)["Event"].(map[string]any)), "\n") {
		if strings.HasPrefix(l, "Note(level ") {
			chain = append(chain, l)
		}
	}
	wantChain := []string{}
	for i := range 9 {
		wantChain = append(wantChain, "Note(level "+strconv.Itoa(i)+") canEdit=false more="+strconv.FormatBool(i == 8)+" orgc=OTHERORG org=OTHERORG")
	}
	if got, w := strings.Join(chain, "\n"), strings.Join(wantChain, "\n"); got != w {
		t.Errorf("a deep thread:\n%s\nwant\n%s", got, w)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
