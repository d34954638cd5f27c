package policy

import (
	"maps"
	"slices"

	"mispdesk/store/misp"
)

// The clone functions copy an event so that what policy returns never shares memory the
// caller could see change. Extra values (raw JSON bytes) are shared: nothing in mispdesk
// writes into them, only replaces them.

func cloneEvent(e *misp.Event) *misp.Event {
	c := *e
	c.Extra = maps.Clone(e.Extra)
	c.Org = cloneOrg(e.Org)
	c.Orgc = cloneOrg(e.Orgc)
	c.SharingGroup = cloneSharingGroup(e.SharingGroup)
	c.Tag = cloneTags(e.Tag)
	c.Attribute = cloneAttributes(e.Attribute)
	c.Object = make([]misp.Object, len(e.Object))
	for i := range e.Object {
		c.Object[i] = cloneObject(&e.Object[i])
	}
	if e.EventReport != nil {
		c.EventReport = make([]misp.EventReport, len(e.EventReport))
		for i := range e.EventReport {
			c.EventReport[i] = cloneReport(&e.EventReport[i])
		}
	}
	c.ShadowAttribute = cloneProposals(e.ShadowAttribute)
	c.Galaxy = cloneGalaxies(e.Galaxy)
	c.RelatedEvent = slices.Clone(e.RelatedEvent)
	return &c
}

func cloneOrg(o *misp.Org) *misp.Org {
	if o == nil {
		return nil
	}
	c := *o
	c.Extra = maps.Clone(o.Extra)
	return &c
}

func cloneSharingGroup(g *misp.SharingGroup) *misp.SharingGroup {
	if g == nil {
		return nil
	}
	c := *g
	c.Extra = maps.Clone(g.Extra)
	c.Organisation = cloneOrg(g.Organisation)
	if g.SharingGroupOrg != nil {
		c.SharingGroupOrg = make([]misp.SharingGroupOrg, len(g.SharingGroupOrg))
		for i, m := range g.SharingGroupOrg {
			m.Extra = maps.Clone(m.Extra)
			m.Organisation = cloneOrg(m.Organisation)
			c.SharingGroupOrg[i] = m
		}
	}
	if g.SharingGroupServer != nil {
		c.SharingGroupServer = make([]misp.SharingGroupServer, len(g.SharingGroupServer))
		for i, s := range g.SharingGroupServer {
			s.Extra = maps.Clone(s.Extra)
			if s.Server != nil {
				ref := *s.Server
				ref.Extra = maps.Clone(ref.Extra)
				s.Server = &ref
			}
			c.SharingGroupServer[i] = s
		}
	}
	return &c
}

func cloneTags(tags []misp.Tag) []misp.Tag {
	if tags == nil {
		return nil
	}
	c := make([]misp.Tag, len(tags))
	for i, t := range tags {
		t.Extra = maps.Clone(t.Extra)
		c[i] = t
	}
	return c
}

func cloneAttributes(attrs []misp.Attribute) []misp.Attribute {
	if attrs == nil {
		return nil
	}
	c := make([]misp.Attribute, len(attrs))
	for i := range attrs {
		a := attrs[i]
		a.Extra = maps.Clone(a.Extra)
		a.SharingGroup = cloneSharingGroup(a.SharingGroup)
		a.Tag = cloneTags(a.Tag)
		a.Galaxy = cloneGalaxies(a.Galaxy)
		a.ShadowAttribute = cloneProposals(a.ShadowAttribute)
		if a.Sighting != nil {
			a.Sighting = slices.Clone(a.Sighting)
			for j := range a.Sighting {
				s := &a.Sighting[j]
				s.Extra = maps.Clone(s.Extra)
				s.Organisation = cloneOrg(s.Organisation)
			}
		}
		c[i] = a
	}
	return c
}

func cloneObject(o *misp.Object) misp.Object {
	c := *o
	c.Extra = maps.Clone(o.Extra)
	c.SharingGroup = cloneSharingGroup(o.SharingGroup)
	c.Attribute = cloneAttributes(o.Attribute)
	if o.ObjectReference != nil {
		c.ObjectReference = slices.Clone(o.ObjectReference)
		for i := range c.ObjectReference {
			r := &c.ObjectReference[i]
			r.Extra = maps.Clone(r.Extra)
			r.Referenced = slices.Clone(r.Referenced)
		}
	}
	return c
}

func cloneReport(r *misp.EventReport) misp.EventReport {
	c := *r
	c.Extra = maps.Clone(r.Extra)
	c.SharingGroup = cloneSharingGroup(r.SharingGroup)
	return c
}

func cloneProposals(ps []misp.ShadowAttribute) []misp.ShadowAttribute {
	if ps == nil {
		return nil
	}
	c := slices.Clone(ps)
	for i := range c {
		c[i].Extra = maps.Clone(c[i].Extra)
		c[i].Org = cloneOrg(c[i].Org)
	}
	return c
}

func cloneGalaxies(gs []misp.Galaxy) []misp.Galaxy {
	if gs == nil {
		return nil
	}
	c := slices.Clone(gs)
	for i := range c {
		c[i].Extra = maps.Clone(c[i].Extra)
		c[i].GalaxyCluster = slices.Clone(c[i].GalaxyCluster)
		for j := range c[i].GalaxyCluster {
			c[i].GalaxyCluster[j].Extra = maps.Clone(c[i].GalaxyCluster[j].Extra)
			c[i].GalaxyCluster[j].GalaxyClusterRelation = cloneRelations(c[i].GalaxyCluster[j].GalaxyClusterRelation)
		}
	}
	return c
}
