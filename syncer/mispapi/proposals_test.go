package mispapi

import (
	"testing"
)

// shadowAttributes/view as PyMISP's get_attribute_proposal calls it: a proposal the caller
// may see, by id or UUID; one on an attribute it may not see answers the 404 of one that
// does not exist; a discarded one is gone.
func TestProposalView(t *testing.T) {
	e := gateFixture(t)
	propose := func(key, attr, value string) (string, string) {
		t.Helper()
		r := e.do("POST", "/shadow_attributes/add/"+attr, key, map[string]any{"ShadowAttribute": map[string]any{"value": value}})
		wantStatus(t, r, 200)
		return get[string](t, r.obj(t), "ShadowAttribute", "id"), get[string](t, r.obj(t), "ShadowAttribute", "uuid")
	}
	public, publicUUID := propose(e.other, gatePublicAttr, "public2.example")
	hidden, _ := propose(e.sameOrgUser, gateHiddenAttr, "203.0.113.77")
	for _, ref := range []string{public, publicUUID} {
		r := e.do("GET", "/shadowAttributes/view/"+ref, e.other, nil)
		wantStatus(t, r, 200)
		if get[string](t, r.obj(t), "ShadowAttribute", "value") != "public2.example" || get[string](t, r.obj(t), "ShadowAttribute", "id") != public {
			t.Errorf("view %s: %s", ref, r.body)
		}
	}
	for _, key := range e.outsiders() {
		for _, ref := range []string{hidden, "999999"} {
			wantEnvelope(t, e.do("GET", "/shadow_attributes/view/"+ref, key, nil), 404, "Invalid proposal.")
		}
	}
	r := e.do("GET", "/shadow_attributes/view/"+hidden, e.admin, nil)
	wantStatus(t, r, 200)
	if get[string](t, r.obj(t), "ShadowAttribute", "value") != "203.0.113.77" {
		t.Errorf("site admin's view: %s", r.body)
	}
	wantStatus(t, e.do("POST", "/shadow_attributes/discard/"+public, e.other, nil), 200)
	wantEnvelope(t, e.do("GET", "/shadow_attributes/view/"+public, e.other, nil), 404, "Invalid proposal.")
}
