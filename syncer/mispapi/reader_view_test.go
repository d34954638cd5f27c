package mispapi

import (
	"strings"
	"testing"

	"mispdesk/store/misp"
)

// Members MISP computes for the one who reads a record — the element a relationship points
// to, as that reader may see it — arrive from peers inside what they send. Kept and served
// as they came, they would show every reader here what the sender's reader could see.

// relatedSecret is a value of the element a peer's relationship points to, which the peer
// embedded (related_object) as its own user saw it; no reader here may see it through the
// relationship.
const relatedSecret = "198.51.100.201"

// relatedObject is MISP's related_object member of a relationship to an attribute, as its
// afterFind embeds it for the user who reads the relationship.
var relatedObject = map[string]any{"Attribute": map[string]any{"uuid": gateHiddenAttr, "type": "ip-dst", "value": relatedSecret,
	"Event": map[string]any{"info": "the peer's sharing-group event"}}}

func TestRelationshipRelatedObjectNeverPassedOn(t *testing.T) {
	e := gateFixture(t)
	const (
		standalone = "7c2a1f3e-0d4b-4e6a-8f1c-2b3d4e5f6a01"
		peerEvent  = "7c2a1f3e-0d4b-4e6a-8f1c-2b3d4e5f6a02"
		embedded   = "7c2a1f3e-0d4b-4e6a-8f1c-2b3d4e5f6a03"
	)
	// a peer pushes a relationship on the public attribute, as MISP's push sends it
	r := e.do("POST", "/analyst_data/pushAnalystData", e.syncKey, map[string]any{"Relationship": map[string]any{
		"uuid": standalone, "object_uuid": gatePublicAttr, "object_type": "Attribute", "distribution": "1",
		"relationship_type": "related-to", "related_object_uuid": gateHiddenAttr, "related_object_type": "Attribute",
		"related_object": relatedObject, "modified": "2026-01-03 10:00:00", "created": "2026-01-03 10:00:00",
		"Orgc": map[string]any{"uuid": e.peerOrg.UUID, "name": e.peerOrg.Name}}})
	wantStatus(t, r, 200)
	// and an event whose attribute carries one
	ev := testEvent(peerEvent, misp.AllCommunities, true, 1767398400)
	ev.Attribute[0].Extra = misp.Extra{"Relationship": rawJSON(t, []any{map[string]any{
		"uuid": embedded, "object_uuid": ev.Attribute[0].UUID, "object_type": "Attribute", "distribution": "3",
		"orgc_uuid": e.peerOrg.UUID, "org_uuid": e.peerOrg.UUID, "relationship_type": "related-to",
		"related_object_uuid": gateHiddenAttr, "related_object_type": "Attribute", "related_object": relatedObject}})}
	wantStatus(t, e.do("POST", "/events/add", e.syncKey, map[string]any{"Event": ev}), 200)

	reads := []struct{ method, path, shows string }{
		{"GET", "/analyst_data/view/Relationship/" + standalone, standalone},
		{"GET", "/analyst_data/index/Relationship", standalone},
		{"GET", "/events/view/" + gateEvent, standalone},
		{"GET", "/events/view/" + peerEvent, embedded},
		{"POST", "/events/restSearch", embedded},
		{"POST", "/attributes/restSearch", embedded},
	}
	for who, key := range map[string]string{"user of another organisation": e.other, "owner of the public attribute": e.sameOrgUser,
		"site admin": e.admin} {
		for _, rd := range reads {
			var body any
			if rd.method == "POST" {
				body = map[string]any{"eventid": peerEvent, "includeAnalystData": 1}
			}
			r := e.do(rd.method, rd.path, key, body)
			wantStatus(t, r, 200)
			s := string(r.body)
			if !strings.Contains(s, rd.shows) || !strings.Contains(s, gateHiddenAttr) {
				t.Errorf("%s: %s lost the relationship %s or the UUID it points to: %.400s", who, rd.path, rd.shows, s)
			}
			if strings.Contains(s, relatedSecret) || strings.Contains(s, "related_object\"") {
				t.Errorf("%s: %s passes on the sender's view of the related element: %.600s", who, rd.path, s)
			}
		}
	}
}
