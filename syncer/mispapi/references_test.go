package mispapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// referenceOutline lists each object's references with MISP's summary of their target,
// one line each: relationship, target UUID, and the summary member as sorted JSON, or
// "none".
func referenceOutline(t *testing.T, ev map[string]any) string {
	t.Helper()
	var lines []string
	for _, o := range ev["Object"].([]any) {
		refs, _ := o.(map[string]any)["ObjectReference"].([]any)
		for _, x := range refs {
			r := x.(map[string]any)
			line := r["relationship_type"].(string) + " " + r["referenced_uuid"].(string)
			summary := " none"
			for _, k := range []string{"Attribute", "Object"} {
				if v, ok := r[k]; ok {
					b, err := json.Marshal(v)
					if err != nil {
						t.Fatal(err)
					}
					summary = " " + k + " " + string(b)
				}
			}
			lines = append(lines, line+summary)
		}
	}
	return strings.Join(lines, "\n")
}

// events/view and events/restSearch add to each object reference MISP's summary of its
// target, taken from the event as trimmed for the caller: the owner sees every target
// summarised; another organisation does not see the org-only attribute, so the reference
// to it is gone and no summary shows its value; a search whose filter leaves a target
// out of the answer gives that reference no summary.
func TestReferenceTargetSummaries(t *testing.T) {
	e, _ := twoOrgFixture(t)
	const (
		toAttr   = `resolves 7a3e5c10-1b2d-4e8f-9a01-0c1d2e3f4a01 Attribute {"category":"Network activity","distribution":"5","sharing_group_id":"0","to_ids":true,"type":"domain","uuid":"7a3e5c10-1b2d-4e8f-9a01-0c1d2e3f4a01","value":"seen.example"}`
		toHidden = `connects-to 7a3e5c10-1b2d-4e8f-9a01-0c1d2e3f4a02 Attribute {"category":"Network activity","distribution":"0","sharing_group_id":"0","to_ids":false,"type":"ip-dst","uuid":"7a3e5c10-1b2d-4e8f-9a01-0c1d2e3f4a02","value":"203.0.113.9"}`
		toObject = `related-to 7a3e5c10-1b2d-4e8f-9a01-0c1d2e3f4a12 Object {"distribution":"2","meta-category":"network","name":"url","sharing_group_id":"0","uuid":"7a3e5c10-1b2d-4e8f-9a01-0c1d2e3f4a12"}`
	)
	want := map[string]string{
		"host":  toAttr + "\n" + toHidden + "\n" + toObject,
		"other": toAttr + "\n" + toObject,
		"sync":  toAttr + "\n" + toObject,
	}
	for who, key := range map[string]string{"host": e.sameOrgUser, "other": e.other, "sync": e.syncKey} {
		r := e.do("GET", "/events/view/"+saEvent, key, nil)
		wantStatus(t, r, http.StatusOK)
		if got := referenceOutline(t, r.obj(t)["Event"].(map[string]any)); got != want[who] {
			t.Errorf("%s, events/view:\n%s\nwant\n%s", who, got, want[who])
		}
		if who != "host" && strings.Contains(string(r.body), "203.0.113.9") {
			t.Errorf("%s, events/view shows the org-only value: %.600s", who, r.body)
		}
		r = e.do("POST", "/events/restSearch", key, map[string]any{"eventid": saEvent})
		wantStatus(t, r, http.StatusOK)
		ev := r.obj(t)["response"].([]any)[0].(map[string]any)["Event"].(map[string]any)
		if got := referenceOutline(t, ev); got != want[who] {
			t.Errorf("%s, events/restSearch:\n%s\nwant\n%s", who, got, want[who])
		}
	}
	// the filter keeps only the first object's attribute: neither the attribute nor the
	// object it refers to is in the answer, so no reference is summarised
	r := e.do("POST", "/events/restSearch", e.sameOrgUser, map[string]any{"eventid": saEvent, "value": "198.51.100.8"})
	wantStatus(t, r, http.StatusOK)
	ev := r.obj(t)["response"].([]any)[0].(map[string]any)["Event"].(map[string]any)
	wantFiltered := "resolves 7a3e5c10-1b2d-4e8f-9a01-0c1d2e3f4a01 none\n" +
		"connects-to 7a3e5c10-1b2d-4e8f-9a01-0c1d2e3f4a02 none\n" +
		"related-to 7a3e5c10-1b2d-4e8f-9a01-0c1d2e3f4a12 none"
	if got := referenceOutline(t, ev); got != wantFiltered {
		t.Errorf("filtered restSearch:\n%s\nwant\n%s", got, wantFiltered)
	}
	// metadata carries no objects, hence no references
	r = e.do("POST", "/events/restSearch", e.sameOrgUser, map[string]any{"eventid": saEvent, "metadata": 1})
	wantStatus(t, r, http.StatusOK)
	if strings.Contains(string(r.body), "ObjectReference") {
		t.Errorf("metadata restSearch: %.400s", r.body)
	}
}
