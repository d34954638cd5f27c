package mispapi

import (
	"context"
	"testing"

	"mispdesk/store"
)

// TestEventCreatorEmailOnlyToSiteAdminsAndAuditors: the address of whoever created an
// event is shown to site admins and to users of the creator organisation whose role has
// perm_audit (MISP's fetchEvent), not to the organisation's other users nor to anyone else.
func TestEventCreatorEmailOnlyToSiteAdminsAndAuditors(t *testing.T) {
	e := newEnv(t)
	_, plainUser, err := e.st.AddUser(context.Background(), store.NewUser{Email: "plain@host.test", OrgRef: "HOSTORG", RoleRef: "user"})
	if err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", "/events/add", e.sameOrgUser, map[string]any{"Event": map[string]any{
		"info": "whose address", "distribution": "1", "threat_level_id": "4", "analysis": "0"}})
	wantStatus(t, r, 200)
	id := r.obj(t)["Event"].(map[string]any)["id"].(string)

	for _, c := range []struct {
		who, key, want string
	}{
		{"the site admin", e.admin, "pub@host.test"},
		{"the creator, a publisher (perm_audit)", e.sameOrgUser, "pub@host.test"},
		{"a user of the creator organisation without perm_audit", plainUser, ""},
		{"a user of another organisation", e.other, ""},
	} {
		r := e.do("GET", "/events/view/"+id, c.key, nil)
		wantStatus(t, r, 200)
		got, _ := r.obj(t)["Event"].(map[string]any)["event_creator_email"].(string)
		if got != c.want {
			t.Errorf("%s: event_creator_email %q, want %q", c.who, got, c.want)
		}
	}
}
