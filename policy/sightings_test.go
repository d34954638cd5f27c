package policy

import (
	"slices"
	"testing"

	"mispdesk/store/misp"
)

// MISP's sightings policy (Sighting::createConditions and attachOrgToSightings), row by
// row: instance A is hosted by OrgA; OrgB owns the event; the attribute was sighted by
// OrgA (the host), OrgB (the owner) and OrgX. Each viewer gets exactly the organisations
// the rule names, and with Sightings_anonymise no other organisation's name.
func TestSightingsPolicy(t *testing.T) {
	sighted := func(by ...misp.Org) *misp.Event {
		ev := event(orgB, misp.AllCommunities)
		for i, o := range by {
			ev.Attribute[0].Sighting = append(ev.Attribute[0].Sighting, misp.Sighting{
				UUID: "51000000-0000-4000-8000-00000000000" + string(rune('1'+i)), OrgID: o.ID, Organisation: orgPtr(o), DateSighting: 100})
		}
		return ev
	}
	full := sighted(orgA, orgB, orgX)
	withC := sighted(orgA, orgB, orgX, orgC)
	anonAs := misp.Org{ID: 9, UUID: "99999999-0000-4000-8000-000000000009", Name: "Anonymous"}
	cases := []struct {
		name   string
		policy SightingsPolicy
		viewer *Viewer
		ev     *misp.Event
		want   []string // organisation names of the sightings kept, "" for an anonymised one
	}{
		{"owner sees all under rule 0", SightingsPolicy{}, viewerOf(orgB), full, []string{"OrgA", "OrgB", "OrgX"}},
		{"site admin sees all under rule 0", SightingsPolicy{}, &Viewer{OrgID: int64(orgC.ID), OrgUUID: orgC.UUID, SiteAdmin: true}, full, []string{"OrgA", "OrgB", "OrgX"}},
		{"rule 0: only the viewer's own", SightingsPolicy{}, viewerOf(orgX), full, []string{"OrgX"}},
		{"rule 0: nothing for an org that has not sighted", SightingsPolicy{}, viewerOf(orgC), full, nil},
		{"rule 1: a reporter sees all", SightingsPolicy{Rule: SightingsReporter}, viewerOf(orgC), withC, []string{"OrgA", "OrgB", "OrgX", "OrgC"}},
		{"rule 1: a non-reporter sees none", SightingsPolicy{Rule: SightingsReporter}, viewerOf(orgC), full, nil},
		{"rule 2: everyone's", SightingsPolicy{Rule: SightingsEveryone}, viewerOf(orgC), full, []string{"OrgA", "OrgB", "OrgX"}},
		{"rule 3: own and the host org's", SightingsPolicy{Rule: SightingsHostOrg}, viewerOf(orgX), full, []string{"OrgA", "OrgX"}},
		{"rule 3: the host org's for an org that has not sighted", SightingsPolicy{Rule: SightingsHostOrg}, viewerOf(orgC), full, []string{"OrgA"}},
		{"anonymise: others' lose their org, the owner too", SightingsPolicy{Anonymise: true}, viewerOf(orgB), full, []string{"", "OrgB", ""}},
		{"anonymise with rule 2 for a user", SightingsPolicy{Rule: SightingsEveryone, Anonymise: true, AnonymiseAs: &anonAs}, viewerOf(orgX), full, []string{"", "", "OrgX"}},
		{"anonymise as an org for a sync account", SightingsPolicy{Rule: SightingsEveryone, Anonymise: true, AnonymiseAs: &anonAs}, syncUserOf(orgX), full, []string{"Anonymous", "Anonymous", "OrgX"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inst := instance(orgA, "https://a.example")
			inst.Sightings = c.policy
			out, d := inst.Visible(c.viewer, c.ev)
			if out == nil {
				t.Fatalf("event hidden: %v", d)
			}
			var got []string
			for _, s := range out.Attribute[0].Sighting {
				name := ""
				if s.Organisation != nil {
					name = s.Organisation.Name
				}
				if name == "" && s.OrgID != 0 {
					t.Errorf("sighting %s keeps org_id %d without its organisation", s.UUID, s.OrgID)
				}
				got = append(got, name)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("sightings by %q, want %q", got, c.want)
			}
			if n := len(c.ev.Attribute[0].Sighting); n < len(c.want) || c.ev.Attribute[0].Sighting[0].Organisation.Name != "OrgA" {
				t.Error("Visible changed the stored event")
			}
		})
	}
}
