package policy

import (
	"fmt"

	"mispdesk/store/misp"
)

// FeedPayload trims an event, which the caller hands over, to what a feed of the given
// narrowest distribution may carry: anyone who has the feed reads it, so only data whose
// reach (its ancestors taken into account) is at least min goes, and none shared with a
// sharing group, which a feed cannot keep to its members. min 0 writes everything: the
// admin asked for an export of the whole instance. The same holds for analyst data,
// custom galaxy clusters and their relations (by their own distributions; a relation's
// tags that may not leave never go); this instance's own nested views never go, nor,
// but in the admin's export, sightings and proposals.
func FeedPayload(ev *misp.Event, min misp.Distribution) (*misp.Event, Decision) {
	d := newDecision("feed")
	var t tally
	wide := func(r Reach) bool {
		return min == misp.OrgOnly || (len(r.Groups) == 0 && r.Level >= min)
	}
	// A published feed carries no sightings and no proposals: they are organisations'
	// reports about the data, shared by the sightings policy and with the event's
	// viewers, and PyMISP's feed generator writes neither. The admin's export keeps them.
	published := min != misp.OrgOnly
	narrow := drop("distribution", fmt.Sprintf("narrower than the feed's '%s', or shared with a sharing group", min))
	members := func(x *misp.Extra) {
		*x = withoutNestedRecords(*x, misp.AnalystKinds[:]...)
		sieveAnalyst(x, &t, func(a *misp.AnalystData) verdict {
			if !wide(Reach{Level: misp.AllCommunities}.Child(analystDistribution(a.Distribution), a.SharingGroup)) {
				return drop("analyst_data.distribution", "narrower than the feed")
			}
			return keep()
		})
	}
	element := func(r Reach, x *misp.Extra) verdict {
		if !wide(r) {
			return narrow
		}
		members(x)
		return keep()
	}
	s := sieve{
		attribute: func(a *misp.Attribute, parent Reach) verdict {
			v := element(parent.Child(a.Distribution, a.SharingGroup), &a.Extra)
			if !v.drop {
				a.Galaxy = feedClusters(a.Galaxy, wide, &t)
				if published {
					a.Sighting, a.ShadowAttribute = nil, nil
				}
			}
			return v
		},
		object: func(o *misp.Object, parent Reach) verdict {
			return element(parent.Child(o.Distribution, o.SharingGroup), &o.Extra)
		},
		report: func(r *misp.EventReport, parent Reach) verdict {
			return element(parent.Child(r.Distribution, r.SharingGroup), &r.Extra)
		},
	}
	if !wide(EventReach(ev)) {
		d.block("distribution", fmt.Sprintf("the event is narrower than the feed's '%s', or shared with a sharing group", min))
		return nil, d
	}
	s.apply(ev, &t)
	if published {
		ev.ShadowAttribute = nil
	}
	ev.Galaxy = feedClusters(ev.Galaxy, wide, &t)
	members(&ev.Extra)
	t.steps(&d)
	return ev, d
}

func feedClusters(gs []misp.Galaxy, wide func(Reach) bool, t *tally) []misp.Galaxy {
	return sieveClusters(gs, t, func(c *misp.GalaxyCluster) verdict {
		s := c.Sharing()
		if s.Distribution == misp.InheritEvent {
			s.Distribution = misp.OrgOnly // a cluster has no element to inherit from, as CanSeeCluster says
		}
		if !s.Default && !wide(Reach{Level: misp.AllCommunities}.Child(s.Distribution, s.SharingGroup)) {
			return drop("cluster.distribution", "narrower than the feed")
		}
		delete(c.Extra, "TargetingClusterRelation")
		c.GalaxyClusterRelation = sieveRelations(c.GalaxyClusterRelation, t, func(r *misp.ClusterRelation) verdict {
			if r.Distribution == misp.InheritEvent || !wide(Reach{Level: misp.AllCommunities}.Child(r.Distribution, r.SharingGroup)) {
				return drop("relation.distribution", "narrower than the feed")
			}
			r.Tag = sendableTags(r.Tag, false, t)
			dropRelationIDs(r)
			return keep()
		})
		return keep()
	})
}
