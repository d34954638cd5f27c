package syncer

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"mispdesk/store"
	"mispdesk/store/misp"
)

// B pulls A's event after A's site admin set Plugin.Sightings_policy (and the anonymise
// settings) through servers/serverSettingsEdit, as MISP's administrators do: the
// sightings B receives are those A's policy lets B's sync user see.
func TestPulledSightingsFollowThePolicy(t *testing.T) {
	cases := []struct {
		name     string
		settings map[string]any
		want     []string // organisations of the sightings B gets
	}{
		{"0 event owner (default)", nil, nil},
		{"2 everyone", map[string]any{"Plugin.Sightings_policy": 2}, []string{"OrgA", "OrgX"}},
		{"3 host org", map[string]any{"Plugin.Sightings_policy": "3"}, []string{"OrgA"}},
		{"2 everyone anonymised as Anon", map[string]any{"Plugin.Sightings_policy": 2, "Plugin.Sightings_anonymise": true,
			"Plugin.Sightings_anonymise_as": "anon"}, []string{"Anon", "Anon"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := newNode(t, "A"), newNode(t, "B")
			ev := sightedByTwoOrgs(t, a, "0530")
			anon, err := a.st.AddOrg(ctx, store.Org{Name: "Anon", UUID: "99999999-0000-4000-8000-000000000009", Local: true})
			if err != nil {
				t.Fatal(err)
			}
			admin := userKey(t, a, "admin2@a.test", a.host.UUID, "admin")
			for name, v := range c.settings {
				if v == "anon" {
					v = anon.ID
				}
				rest(t, a, admin, "POST", "/servers/serverSettingsEdit/"+name, map[string]any{"value": v})
			}
			connect(t, b, a, store.ServerOptions{Pull: true})
			if _, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{}); err != nil {
				t.Fatal(err)
			}
			got := b.event(t, ev.UUID)
			if got == nil {
				t.Fatal("B did not pull the event")
			}
			orgs := sightingOrgs(attribute(got, ev.Attribute[0].UUID))
			if strings.Join(orgs, ",") != strings.Join(c.want, ",") {
				t.Errorf("B holds sightings by %q, want %q", orgs, c.want)
			}
		})
	}
}

// A pushes its event to B with push_sightings: the sightings that go with the event are
// those A's policy lets B's organisation see, as the sightings push that follows sends
// them (MISP pushes the event without sightings and then the sightings its
// Sighting::pushSightings lets the remote organisation see). Under the default policy
// (0, event owner) B's organisation sees none of A's organisations' sightings; with
// policy 2 and anonymisation it sees them all without their organisation.
func TestPushedSightingsFollowThePolicy(t *testing.T) {
	cases := []struct {
		name     string
		settings map[string]any
		want     []string // organisations of the sightings B gets ("" none named)
	}{
		{"0 event owner (default)", nil, nil},
		{"2 everyone anonymised", map[string]any{"Plugin.Sightings_policy": 2, "Plugin.Sightings_anonymise": true}, []string{"", ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := newNode(t, "A"), newNode(t, "B")
			ev := sightedByTwoOrgs(t, a, "0550")
			admin := userKey(t, a, "admin2@a.test", a.host.UUID, "admin")
			for name, v := range c.settings {
				rest(t, a, admin, "POST", "/servers/serverSettingsEdit/"+name, map[string]any{"value": v})
			}
			connect(t, a, b, store.ServerOptions{Push: true, PushSightings: true})
			if _, err := a.eng.Push(ctx, a.serverID("B"), RunOptions{}); err != nil {
				t.Fatal(err)
			}
			got := b.event(t, ev.UUID)
			if got == nil {
				t.Fatal("A did not push the event")
			}
			orgs := sightingOrgs(attribute(got, ev.Attribute[0].UUID))
			if strings.Join(orgs, ",") != strings.Join(c.want, ",") || len(orgs) != len(c.want) {
				t.Errorf("B holds sightings by %q, want %q", orgs, c.want)
			}
		})
	}
}

// A push with push_sightings asks the remote who we are first: when the remote user's role
// lacks perm_sighting (as servers/getVersion says), no sighting is sent and the sync log
// says why; with it, the sighting goes.
func TestSightingsNotPushedWithoutPermSighting(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	ev := a.importFile(t, smallEvent, func(e *misp.Event) { e.Distribution, e.Published = misp.AllCommunities, true })
	connect(t, a, b, store.ServerOptions{Push: true})
	if _, err := a.eng.Push(ctx, a.serverID("B"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	s := misp.Sighting{UUID: "00000000-0000-4000-8000-000000005401", AttributeUUID: ev.Attribute[0].UUID, EventUUID: ev.UUID, DateSighting: 1700000000}
	if _, err := b.st.SaveSightings(ctx, ev.UUID, []misp.Sighting{s}, false, b.host.ID); err != nil {
		t.Fatal(err)
	}
	connect(t, b, a, store.ServerOptions{Push: true, PushSightings: true})
	real := a.handler
	a.setHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, "getVersion") {
			real.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		real.ServeHTTP(rec, r)
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Errorf("getVersion: %v", err)
		}
		v["perm_sighting"] = false
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}))
	if _, err := b.eng.Push(ctx, b.serverID("A"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if findSighting(a.event(t, ev.UUID), s.UUID) != nil {
		t.Error("a sighting was pushed to a remote user without perm_sighting")
	}
	logged, _ := b.st.LogSince(ctx, 0, 200, store.LogFilter{Direction: "push"})
	said := false
	for _, e := range logged {
		said = said || (e.Outcome == "refused" && strings.Contains(e.Message, "perm_sighting"))
	}
	if !said {
		var buf bytes.Buffer
		for _, e := range logged {
			buf.WriteString(string(e.Outcome) + ": " + e.Message + "\n")
		}
		t.Errorf("the sync log does not say why sightings were not pushed:\n%s", buf.String())
	}

	// A sighting added now is published at once (the outbox): refused the same way, and
	// the row is done, since no retry would change the remote's permissions.
	second := misp.Sighting{UUID: "00000000-0000-4000-8000-000000005402", AttributeUUID: ev.Attribute[0].UUID, EventUUID: ev.UUID, DateSighting: 1700000100}
	if _, err := b.st.SaveSightings(ctx, ev.UUID, []misp.Sighting{second}, false, b.host.ID); err != nil {
		t.Fatal(err)
	}
	if ds, err := b.eng.DeliverDue(ctx); err != nil || len(ds) != 1 {
		t.Fatalf("delivered %d, %v", len(ds), err)
	}
	if findSighting(a.event(t, ev.UUID), second.UUID) != nil {
		t.Error("a published sighting went to a remote user without perm_sighting")
	}
	if q, _ := outboxQueued(t, b); q != 0 {
		t.Errorf("%d outbox rows still queued for a refusal no retry changes", q)
	}

	a.setHandler(real)
	if _, err := b.eng.Push(ctx, b.serverID("A"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{s.UUID, second.UUID} {
		if findSighting(a.event(t, ev.UUID), u) == nil {
			t.Errorf("with perm_sighting sighting %s did not reach A", u)
		}
	}
}

// sightedByTwoOrgs imports a published community event into a and sights its first
// attribute once by a's host organisation and once by a local organisation OrgX, the
// sightings' UUIDs ending in prefix then 0 and 1.
func sightedByTwoOrgs(t *testing.T, a *node, prefix string) *misp.Event {
	t.Helper()
	x, err := a.st.AddOrg(ctx, store.Org{Name: "OrgX", UUID: "dddddddd-0000-4000-8000-000000000004", Local: true})
	if err != nil {
		t.Fatal(err)
	}
	ev := a.importFile(t, smallEvent, func(e *misp.Event) { e.Distribution, e.Published = misp.AllCommunities, true })
	for i, org := range []store.OrgID{a.host.ID, x.ID} {
		s := misp.Sighting{UUID: "00000000-0000-4000-8000-0000000" + prefix + string(rune('0'+i)), AttributeUUID: ev.Attribute[0].UUID,
			EventUUID: ev.UUID, DateSighting: 1700000000}
		if _, err := a.st.SaveSightings(ctx, ev.UUID, []misp.Sighting{s}, false, org); err != nil {
			t.Fatal(err)
		}
	}
	return ev
}

// sightingOrgs names the organisation of each of the attribute's sightings, in order ("" for
// an anonymous one).
func sightingOrgs(a *misp.Attribute) []string {
	var orgs []string
	for _, s := range a.Sighting {
		name := ""
		if s.Organisation != nil {
			name = s.Organisation.Name
		}
		orgs = append(orgs, name)
	}
	return orgs
}
