package policy

import (
	"os"
	"path/filepath"
	"testing"

	"mispdesk/store/misp"
)

// Organisations and instances of the tests: OrgA hosts instance A, OrgB instance B, OrgC
// instance C; OrgX is another local organisation, a member of no group.
var (
	orgA = misp.Org{ID: 1, UUID: "aaaaaaaa-0000-4000-8000-000000000001", Name: "OrgA"}
	orgB = misp.Org{ID: 2, UUID: "bbbbbbbb-0000-4000-8000-000000000002", Name: "OrgB"}
	orgC = misp.Org{ID: 3, UUID: "cccccccc-0000-4000-8000-000000000003", Name: "OrgC"}
	orgX = misp.Org{ID: 4, UUID: "dddddddd-0000-4000-8000-000000000004", Name: "OrgX"}
)

func instance(host misp.Org, url string) *Instance {
	return &Instance{HostOrg: host, BaseURLs: []string{url}}
}

// link is the server entry on an instance hosted by local for a remote hosted by remote.
func link(id int64, url string, local, remote misp.Org, internal bool) *Server {
	return &Server{ID: id, Name: remote.Name + "'s instance", URL: url, Internal: internal, Org: local, RemoteOrg: remote, Push: true, Pull: true}
}

func viewerOf(o misp.Org) *Viewer { return &Viewer{OrgID: int64(o.ID), OrgUUID: o.UUID} }

func syncUserOf(o misp.Org) *Viewer {
	return &Viewer{OrgID: int64(o.ID), OrgUUID: o.UUID, PermSync: true}
}

func orgPtr(o misp.Org) *misp.Org { return &o }

// event is a published event owned and created by owner, with one attribute that
// inherits its distribution.
func event(owner misp.Org, d misp.Distribution) *misp.Event {
	return &misp.Event{
		UUID: "eeeeeeee-0000-4000-8000-000000000001", Info: "test event", Published: true, Timestamp: 100,
		Distribution: d, OrgID: owner.ID, OrgcID: owner.ID, Org: orgPtr(owner), Orgc: orgPtr(owner),
		Attribute: []misp.Attribute{attribute("a0000000-0000-4000-8000-000000000000", misp.InheritEvent)},
	}
}

func attribute(uuid string, d misp.Distribution) misp.Attribute {
	return misp.Attribute{UUID: uuid, Type: "ip-dst", Category: "Network activity", Value: "198.51.100.7", Distribution: d, Timestamp: 100}
}

func object(uuid string, d misp.Distribution, attrs ...misp.Attribute) misp.Object {
	return misp.Object{UUID: uuid, Name: "domain-ip", TemplateUUID: "43b3b146-77eb-4931-b4cc-b66c60f28734", Distribution: d, Timestamp: 100, Attribute: attrs}
}

func group(name string, roaming bool, orgs []misp.Org, servers ...misp.SharingGroupServer) *misp.SharingGroup {
	sg := &misp.SharingGroup{UUID: "50000000-0000-4000-8000-00000000000" + name[len(name)-1:], Name: name, Roaming: misp.Bool(roaming), SharingGroupServer: servers}
	for _, o := range orgs {
		sg.SharingGroupOrg = append(sg.SharingGroupOrg, misp.SharingGroupOrg{OrgID: o.ID, Organisation: orgPtr(o)})
	}
	return sg
}

func sgServer(id int64, url string, allOrgs bool) misp.SharingGroupServer {
	return misp.SharingGroupServer{ServerID: misp.Int(id), AllOrgs: misp.Bool(allOrgs), Server: &misp.ServerRef{ID: misp.Int(id), URL: url}}
}

func loadEvent(t testing.TB, name string) *misp.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := misp.ParseEvent(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

func mustEncode(t testing.TB, ev *misp.Event) string {
	t.Helper()
	b, err := misp.MarshalEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func findAttribute(ev *misp.Event, uuid string) *misp.Attribute {
	for i := range ev.Attribute {
		if ev.Attribute[i].UUID == uuid {
			return &ev.Attribute[i]
		}
	}
	for i := range ev.Object {
		for j := range ev.Object[i].Attribute {
			if ev.Object[i].Attribute[j].UUID == uuid {
				return &ev.Object[i].Attribute[j]
			}
		}
	}
	return nil
}

func findObject(ev *misp.Event, uuid string) *misp.Object {
	for i := range ev.Object {
		if ev.Object[i].UUID == uuid {
			return &ev.Object[i]
		}
	}
	return nil
}
