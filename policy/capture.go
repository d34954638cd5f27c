package policy

import (
	"fmt"

	"mispdesk/store/misp"
)

// captureGroups makes the sharing groups of an event that arrived from another instance
// mean here what they meant there (SharingGroup::captureSG, Server::captureServer):
//
//   - server entries are mapped by URL: this instance's URL becomes server_id 0, the
//     sending server's (or the sender's own bare server_id 0) becomes that link's id, and
//     entries naming servers this instance cannot identify are dropped;
//   - members are identified by organisation UUID only (their ids are the sender's), and
//     members without one are dropped;
//   - when the receiving organisation is not a member but the group lists this instance
//     with "all orgs", it is added (MISP ≥ 2.4.140: the book's note on visibility);
//   - a group that neither lists the receiving organisation nor gives this instance
//     "all orgs" could not have been shared with it: the element falls back to
//     'Your organisation only' (Event::captureSGForElement).
//
// from is the link the event came by, or nil when unknown.
func (inst *Instance) captureGroups(ev *misp.Event, receiver misp.Org, from *Server, t *tally) {
	forEachShared(ev, func(dist *misp.Distribution, sg **misp.SharingGroup, kind string) {
		inst.captureGroup(dist, sg, receiver, from, kind, t)
	})
}

// captureGroup is captureGroups for one element's distribution and sharing group.
func (inst *Instance) captureGroup(dist *misp.Distribution, sg **misp.SharingGroup, receiver misp.Org, from *Server, kind string, t *tally) {
	if *dist != misp.SharingGroupDist {
		*sg = nil // a group on a non-group element means nothing and would be stored
		return
	}
	if *sg == nil {
		*dist = misp.OrgOnly
		t.record(kind, keepChanged("sharing_group", "distribution 'Sharing group' arrived without its group and becomes 'Your organisation only'"))
		return
	}
	g := *sg
	inst.mapGroupServers(g, from)
	keepIdentifiedMembers(g)
	if hasOrg(g, receiver.ID, receiver.UUID) {
		return
	}
	if e := inst.localEntry(g); e != nil && bool(e.AllOrgs) {
		g.SharingGroupOrg = append(g.SharingGroupOrg, misp.SharingGroupOrg{Organisation: cloneOrg(&receiver)})
		t.record(kind, keepChanged("sharing_group", fmt.Sprintf("organisation %s added to sharing group %s, which gives this instance 'all orgs'", orgLabel(&receiver), sgName(g))))
		return
	}
	*dist, *sg = misp.OrgOnly, nil
	t.record(kind, keepChanged("sharing_group", fmt.Sprintf("sharing group %s includes neither %s nor this instance, so it becomes 'Your organisation only'", sgName(g), orgLabel(&receiver))))
}

// forEachShared calls f on the distribution and sharing group of the event and of
// each element under it that has its own (attributes, objects, object attributes,
// event reports), with the element's kind as decisions name it.
func forEachShared(ev *misp.Event, f func(dist *misp.Distribution, sg **misp.SharingGroup, kind string)) {
	f(&ev.Distribution, &ev.SharingGroup, "event")
	for i := range ev.Attribute {
		a := &ev.Attribute[i]
		f(&a.Distribution, &a.SharingGroup, "attribute")
	}
	for i := range ev.Object {
		o := &ev.Object[i]
		f(&o.Distribution, &o.SharingGroup, "object")
		for j := range o.Attribute {
			a := &o.Attribute[j]
			f(&a.Distribution, &a.SharingGroup, "object attribute")
		}
	}
	for i := range ev.EventReport {
		r := &ev.EventReport[i]
		f(&r.Distribution, &r.SharingGroup, "event report")
	}
}

func (inst *Instance) mapGroupServers(g *misp.SharingGroup, from *Server) {
	kept := g.SharingGroupServer[:0]
	for _, s := range g.SharingGroupServer {
		url := ""
		if s.Server != nil {
			url = s.Server.URL
		}
		switch {
		case inst.isOwnURL(url):
			s.ServerID, s.Server = 0, nil
		case from != nil && (normalURL(url) == normalURL(from.URL) || (s.ServerID == 0 && normalURL(url) == "")):
			s.ServerID, s.Server = misp.Int(from.ID), &misp.ServerRef{ID: misp.Int(from.ID), URL: from.URL, Name: from.Name}
		default:
			continue
		}
		s.ID, s.SharingGroupID = 0, 0
		kept = append(kept, s)
	}
	g.SharingGroupServer = kept
}

func keepIdentifiedMembers(g *misp.SharingGroup) {
	kept := g.SharingGroupOrg[:0]
	for _, m := range g.SharingGroupOrg {
		if m.Organisation == nil || m.Organisation.UUID == "" {
			continue
		}
		m.ID, m.SharingGroupID, m.OrgID = 0, 0, 0
		m.Organisation.ID = 0
		kept = append(kept, m)
	}
	g.SharingGroupOrg = kept
}
