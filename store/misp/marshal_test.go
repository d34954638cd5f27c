package misp

import (
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
)

// MISP's event JSON carries ShadowAttribute on the event and on every attribute, [] when
// there are none (tools index it), and an object's description only when it has one:
// MISP refuses an object whose description is empty and drops it with its attributes.
func TestMarshalEventShapeAsMISP(t *testing.T) {
	ev := &Event{UUID: "5e6f7a8b-0000-4000-8000-000000000001", Info: "shape", Distribution: OrgOnly,
		Attribute: []Attribute{{Type: "ip-dst", Category: "Network activity", Value: "192.0.2.1", UUID: "5e6f7a8b-0000-4000-8000-000000000002"}},
		Object: []Object{{Name: "domain-ip", UUID: "5e6f7a8b-0000-4000-8000-000000000003",
			Attribute: []Attribute{{Type: "domain", Category: "Network activity", Value: "example.org", UUID: "5e6f7a8b-0000-4000-8000-000000000004"}}}},
	}
	b, err := MarshalEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Event struct {
			ShadowAttribute *[]any           `json:"ShadowAttribute"`
			Attribute       []map[string]any `json:"Attribute"`
			Object          []map[string]any `json:"Object"`
		} `json:"Event"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Event.ShadowAttribute == nil || len(*doc.Event.ShadowAttribute) != 0 {
		t.Fatalf("event ShadowAttribute: %s", b)
	}
	attrs := append([]any{}, doc.Event.Attribute[0], doc.Event.Object[0]["Attribute"].([]any)[0])
	for _, a := range attrs {
		if sa, ok := a.(map[string]any)["ShadowAttribute"].([]any); !ok || len(sa) != 0 {
			t.Fatalf("attribute ShadowAttribute: %s", b)
		}
	}
	if _, ok := doc.Event.Object[0]["description"]; ok || strings.Contains(string(b), `"description":""`) {
		t.Fatalf("an object without a description sends one: %s", b)
	}
	ev.Object[0].Description = "Domain and IP"
	if b, _ = MarshalEvent(ev); !strings.Contains(string(b), `"description":"Domain and IP"`) {
		t.Fatalf("the description is lost: %s", b)
	}
}

// A cluster attached to an event carries local and relationship_type even when unset, as
// MISP's events/view shows every attached cluster.
func TestMarshalAttachedClusterAsMISP(t *testing.T) {
	ev := &Event{UUID: "5e6f7a8b-0000-4000-8000-000000000001", Info: "cluster", Distribution: OrgOnly,
		Galaxy: []Galaxy{{UUID: "5e6f7a8b-0000-4000-8000-0000000000a1", Name: "Threat Actor", Type: "threat-actor",
			GalaxyCluster: []GalaxyCluster{{UUID: "5e6f7a8b-0000-4000-8000-0000000000a2", Type: "threat-actor", Value: "APT0",
				TagName: `misp-galaxy:threat-actor="APT0"`}}}}}
	b, err := MarshalEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Event struct {
			Galaxy []struct {
				GalaxyCluster []map[string]any
			}
		}
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	cl := got.Event.Galaxy[0].GalaxyCluster[0]
	for _, k := range []string{"local", "relationship_type"} {
		if _, ok := cl[k]; !ok {
			t.Errorf("attached cluster lacks %q: %s", k, b)
		}
	}
}
