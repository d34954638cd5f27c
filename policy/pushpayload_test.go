package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/store/misp"
)

// What never leaves in a push, to any server, internal or not: the creator's e-mail
// address, this instance's own derived records nested in any element (related
// attributes, feed and server hits, value1/value2), proposals, galaxies (they travel as
// tags), the local ids of the owner. A plain column the model does not name does go.
func TestPushPayloadCarriesNothingOfThisInstance(t *testing.T) {
	a := instance(orgA, "https://a.example")
	never := map[string]string{}
	n := 0
	token := func(what string) string {
		n++
		tok := fmt.Sprintf("5ec4e700-0000-4000-8000-%012d", n)
		never[tok] = what
		return tok
	}
	nested := func(what string) misp.Extra {
		return misp.Extra{
			"RelatedAttribute": jsontext.Value(`[{"uuid":"` + token(what+": related attribute") + `"}]`),
			"Feed":             jsontext.Value(`[{"name":"` + token(what+": feed hit") + `"}]`),
			"Server":           jsontext.Value(`[{"url":"https://` + token(what+": server hit") + `.example"}]`),
			"value1":           jsontext.Value(`"` + token(what+": value1") + `"`),
			"custom_column":    jsontext.Value(`"kept-plain-column"`),
		}
	}
	ev := event(orgA, dAll)
	ev.EventCreatorEmail = token("the creator's address") + "@a.example"
	ev.Extra = nested("the event")
	ev.ShadowAttribute = []misp.ShadowAttribute{{UUID: token("a proposal to the event"), OrgID: orgB.ID, Type: "domain", Category: "Network activity", Value: "p.example"}}
	attr := &ev.Attribute[0]
	attr.Extra = nested("an attribute")
	attr.ShadowAttribute = []misp.ShadowAttribute{{UUID: token("a proposal to an attribute"), OrgID: orgB.ID, Type: "ip-dst", Category: "Network activity", Value: "198.51.100.8"}}
	attr.Galaxy = []misp.Galaxy{{UUID: "698774c7-8022-42c4-917f-8d6e4f06ada3", Name: "Threat Actor", Type: "threat-actor",
		GalaxyCluster: []misp.GalaxyCluster{{UUID: token("a cluster on an attribute"), Type: "threat-actor", Value: "actor"}}}}
	obj := object("0b000000-0000-4000-8000-000000000001", dAll, attribute("0a000000-0000-4000-8000-000000000001", misp.InheritEvent))
	obj.Extra = nested("an object")
	obj.Attribute[0].Extra = nested("an object attribute")
	ev.Object = []misp.Object{obj}
	ev.EventReport = []misp.EventReport{{UUID: "0c000000-0000-4000-8000-000000000001", Name: "r", Content: "c", Distribution: misp.InheritEvent, Timestamp: 100, Extra: nested("a report")}}

	for _, srv := range []*Server{link(1, "https://b.example", orgA, orgB, false), link(2, "https://a2.example", orgA, orgA, true)} {
		res := a.Push(srv, ev, OnPublish, Blocklists{})
		if !res.Allowed {
			t.Fatalf("%s: refused\n%s", srv.Name, res.Decision)
		}
		sent := mustEncode(t, res.Event)
		for tok, what := range never {
			if strings.Contains(sent, tok) {
				t.Errorf("push to %s (internal %v) sends %s", srv.Name, srv.Internal, what)
			}
		}
		if got := strings.Count(sent, "kept-plain-column"); got != 5 {
			t.Errorf("push to %s: a plain column of each element must go, %d of 5 sent", srv.Name, got)
		}
		if res.Event.Org != nil || res.Event.OrgID != 0 || res.Event.OrgcID != 0 {
			t.Errorf("push to %s sends this instance's owner (org %v, org_id %d, orgc_id %d)", srv.Name, res.Event.Org, res.Event.OrgID, res.Event.OrgcID)
		}
	}
}
