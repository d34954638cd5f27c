package policy

import (
	"strings"

	"mispdesk/store/misp"
)

// CanSeeAnalystData decides whether the viewer may see a note, opinion or relationship
// whose element the viewer may see. MISP's rule (AnalystData::buildConditions) is the
// element's own distribution: its organisation always, levels 1–3 everyone here, 4 the
// members of its group. MISP does not also require the element it is about to be visible;
// callers here always do, because the element's UUID is part of the note.
func (inst *Instance) CanSeeAnalystData(v *Viewer, d *misp.AnalystData) bool {
	if v.SiteAdmin || v.isOrg(d.OrgUUID) || v.isOrg(d.OrgcUUID) {
		return true
	}
	return inst.reachIncludes(v, Reach{Level: misp.AllCommunities}.Child(analystDistribution(d.Distribution), d.SharingGroup))
}

// MayEditAnalystData decides whether the viewer may change or delete a note, opinion or
// relationship whose creator organisation is orgcUUID (MISP's
// AnalystData::canEditAnalystData): a site admin, or a user of that organisation.
func (v *Viewer) MayEditAnalystData(orgcUUID string) bool {
	return v.SiteAdmin || v.isOrg(orgcUUID)
}

// analystDistribution maps an analyst data distribution onto the element scale. MISP's
// visibility rule for analyst data (AnalystData::buildConditions) names levels 1–3 and 4 only,
// so 5 shows the item to its own organisation alone; so here.
func analystDistribution(d misp.Distribution) misp.Distribution {
	if d == misp.InheritEvent {
		return misp.OrgOnly
	}
	return d
}

// isOrg reports whether uuid names the viewer's organisation.
func (v *Viewer) isOrg(uuid string) bool {
	return uuid != "" && v.OrgUUID != "" && strings.EqualFold(uuid, v.OrgUUID)
}

// sieveAnalyst applies judge to every analyst data item in an element's members, and to
// the items nested under those it keeps; judge may change an item, and one it drops goes
// with everything nested under it; one it keeps loses the related element a relationship
// carries as its sender's reader saw it (misp.RelatedObject). Analyst data that does not
// decode is removed: it cannot be judged.
func sieveAnalyst(x *misp.Extra, t *tally, judge func(a *misp.AnalystData) verdict) {
	s, err := misp.TakeAnalystSet(*x)
	if err != nil {
		t.record("analyst data", drop("analyst_data", "it could not be read, so it cannot be judged"))
		return
	}
	if s.Len() == 0 {
		return
	}
	sieveAnalystSet(&s, t, judge)
	_ = misp.PutAnalystSet(x, s) // re-encoding what was just decoded cannot fail
}

func sieveAnalystSet(s *misp.AnalystSet, t *tally, judge func(a *misp.AnalystData) verdict) {
	for _, list := range s.Kinds() {
		kept := (*list)[:0]
		for _, a := range *list {
			if t.record("analyst data", judge(&a)) {
				continue
			}
			delete(a.Extra, misp.RelatedObject)
			sieveAnalystSet(&a.Analyst, t, judge)
			kept = append(kept, a)
		}
		clear((*list)[len(kept):])
		*list = kept
	}
}

// sieveClusters applies judge to every cluster of the galaxies (it may change one), keeping
// the galaxies left with any.
func sieveClusters(gs []misp.Galaxy, t *tally, judge func(c *misp.GalaxyCluster) verdict) []misp.Galaxy {
	kept := gs[:0]
	for _, g := range gs {
		cs := g.GalaxyCluster[:0]
		for _, c := range g.GalaxyCluster {
			if !t.record("galaxy cluster", judge(&c)) {
				cs = append(cs, c)
			}
		}
		clear(g.GalaxyCluster[len(cs):])
		g.GalaxyCluster = cs
		if len(cs) > 0 {
			kept = append(kept, g)
		}
	}
	clear(gs[len(kept):])
	return kept
}

// trimAnalyst keeps, in an element's members, the analyst data the viewer may see.
func (inst *Instance) trimAnalyst(v *Viewer, x *misp.Extra, t *tally) {
	sieveAnalyst(x, t, func(a *misp.AnalystData) verdict {
		if !inst.CanSeeAnalystData(v, a) {
			return drop("analyst_data.distribution", "its distribution does not include the viewer")
		}
		return keep()
	})
}

// trimClusters keeps the clusters the viewer may see, with the relations the viewer may
// see, and the galaxies left with any.
func (inst *Instance) trimClusters(v *Viewer, gs []misp.Galaxy, t *tally) []misp.Galaxy {
	return sieveClusters(gs, t, func(c *misp.GalaxyCluster) verdict {
		if !inst.CanSeeCluster(v, c) {
			return drop("cluster.distribution", "its distribution does not include the viewer")
		}
		inst.trimRelations(v, c, t)
		return keep()
	})
}

// takeAnalyst is the analyst data of an element arriving by pull (downgrade) or push: each
// item keeps its own distribution, downgraded as the pull table says, and items shared with
// a sharing group are removed, because their group is not captured here, and so are items
// deleted here (the analyst data blocklist).
func takeAnalyst(x *misp.Extra, downgrade bool, bl Blocklists, t *tally) {
	sieveAnalyst(x, t, func(a *misp.AnalystData) verdict {
		if bl.AnalystData.Has(a.UUID) {
			return drop("analyst_data_blocklist", "Blocked by blocklist")
		}
		if a.Distribution == misp.SharingGroupDist || !a.Distribution.Valid() {
			return drop("analyst_data.distribution", "shared with a sharing group, which analyst data does not carry here")
		}
		if downgrade {
			a.Distribution = pullDowngrade(a.Distribution)
		}
		a.SharingGroupID, a.SharingGroup = 0, nil
		return keep()
	})
}

// pullClusters is the pull table applied to the custom clusters of a pulled element: each
// keeps its own distribution, downgraded (community becomes organisation only, connected
// communities community), and a cluster shared with a sharing group is removed, its group not
// being captured here. Library clusters are everyone's and stay. Each relation of a cluster
// kept is downgraded the same way (pullRelations). A custom galaxy's own
// distribution is downgraded the same way (PullGalaxy), one shared with a sharing group
// becoming organisation only.
func pullClusters(gs []misp.Galaxy, t *tally) []misp.Galaxy {
	for i := range gs {
		if s := gs[i].Sharing(); s.Custom && s.Stated {
			switch {
			case s.Distribution == misp.SharingGroupDist || s.Distribution == misp.InheritEvent:
				gs[i].SetDistribution(misp.OrgOnly)
			case pullDowngrade(s.Distribution) != s.Distribution:
				gs[i].SetDistribution(pullDowngrade(s.Distribution))
			}
		}
	}
	return sieveClusters(gs, t, func(c *misp.GalaxyCluster) verdict {
		s := c.Sharing()
		switch {
		case s.Default:
		case s.Distribution == misp.SharingGroupDist || !s.Distribution.Valid() || s.Distribution == misp.InheritEvent:
			return drop("cluster.distribution", "shared with a sharing group, which is not captured with a cluster here")
		case pullDowngrade(s.Distribution) != s.Distribution:
			c.SetDistribution(pullDowngrade(s.Distribution))
		}
		pullRelations(c, true, t)
		return keep()
	})
}
