package mispapi

import (
	"maps"
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

// MISP's galaxy_clusters/view, which a cluster pull reads, puts on the cluster the analyst
// data about it and the relationships of other elements to it (RelationshipInbound, each
// with that element), as the pulling sync user may see them. MISP's receiver keeps none of
// it (analyst data travels on its own); kept with the cluster here, it went to every
// reader of the cluster, whatever its own distribution.
func TestClusterCarriesNoReadersAnalystData(t *testing.T) {
	e := newEnv(t)
	const (
		pushed   = "7c2a1f3e-0d4b-4e6a-8f1c-2b3d4e5f6b01"
		inEvent  = "7c2a1f3e-0d4b-4e6a-8f1c-2b3d4e5f6b02"
		event    = "7c2a1f3e-0d4b-4e6a-8f1c-2b3d4e5f6b03"
		noteText = "the peer organisation's own note"
	)
	views := func(cluster string) map[string]any {
		return map[string]any{
			"Note": []any{map[string]any{"uuid": misp.DerivedUUID(cluster, "note"), "object_uuid": cluster, "object_type": "GalaxyCluster",
				"note": noteText, "distribution": "0", "org_uuid": e.peerOrg.UUID, "orgc_uuid": e.peerOrg.UUID}},
			"RelationshipInbound": []any{map[string]any{"uuid": misp.DerivedUUID(cluster, "inbound"), "object_uuid": gateHiddenAttr,
				"object_type": "Attribute", "related_object_uuid": cluster, "related_object_type": "GalaxyCluster",
				"relationship_type": "targets", "distribution": "1", "related_object": relatedObject}},
		}
	}
	cluster := func(uuid, value string) map[string]any {
		c := map[string]any{"uuid": uuid, "type": "threat-actor", "value": value, "tag_name": `misp-galaxy:threat-actor="` + uuid + `"`,
			"description": "a peer's actor", "version": "3", "default": false, "distribution": "3", "published": true,
			"Orgc": map[string]any{"uuid": e.peerOrg.UUID, "name": e.peerOrg.Name}, "GalaxyElement": []any{map[string]any{"key": "synonyms", "value": value + " too"}}}
		for k, v := range views(uuid) {
			c[k] = v
		}
		return c
	}
	galaxy := map[string]any{"uuid": "698774c7-8022-42c4-917f-8d6e4f06ada3", "name": "Threat Actor", "type": "threat-actor", "description": "actors", "version": "3"}
	// a cluster pushed on its own, as galaxies/pushCluster takes MISP's clusters
	c := cluster(pushed, "Pushed Actor")
	c["Galaxy"] = galaxy
	wantStatus(t, e.do("POST", "/galaxies/pushCluster", e.syncKey, []any{map[string]any{"GalaxyCluster": c}}), 200)
	// and one that comes attached to an event
	g := maps.Clone(galaxy)
	g["GalaxyCluster"] = []any{cluster(inEvent, "Attached Actor")}
	ev := map[string]any{"uuid": event, "info": "peer event with its actor", "date": "2026-01-02", "distribution": "3", "published": true,
		"timestamp": "1767312000", "threat_level_id": "2", "analysis": "1", "Orgc": map[string]any{"uuid": e.peerOrg.UUID, "name": e.peerOrg.Name},
		"Galaxy": []any{g}, "Attribute": []any{map[string]any{"type": "domain", "category": "Network activity", "value": "actor.example"}}}
	wantStatus(t, e.do("POST", "/events/add", e.syncKey, map[string]any{"Event": ev}), 200)

	reads := []struct{ method, path, shows string }{
		{"GET", "/galaxy_clusters/view/" + pushed, "Pushed Actor too"},
		{"GET", "/galaxy_clusters/view/" + inEvent, "Attached Actor too"},
		{"POST", "/galaxy_clusters/restSearch", "Pushed Actor too"},
		{"GET", "/events/view/" + event, "Attached Actor too"},
		{"POST", "/events/restSearch", "Attached Actor too"},
	}
	for who, key := range map[string]string{"user of another organisation": e.other, "site admin": e.admin, "the peer's sync user": e.syncKey} {
		for _, rd := range reads {
			var body any
			if rd.method == "POST" {
				body = map[string]any{"eventid": event, "uuid": pushed}
			}
			r := e.do(rd.method, rd.path, key, body)
			wantStatus(t, r, 200)
			s := string(r.body)
			if !strings.Contains(s, rd.shows) {
				t.Errorf("%s: %s lost the cluster: %.400s", who, rd.path, s)
			}
			for _, leak := range []string{noteText, relatedSecret, gateHiddenAttr, "RelationshipInbound"} {
				if strings.Contains(s, leak) {
					t.Errorf("%s: %s shows the sender's reader's view %q: %.600s", who, rd.path, leak, s)
				}
			}
		}
	}
}
