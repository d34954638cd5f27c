package policy

import (
	"fmt"

	"mispdesk/store/misp"
)

// CanSeeEvent decides whether the viewer may see the event on this instance (the book's
// "Visibility of data"): a site admin always; the owner organisation (Event.org_id)
// always; anyone else when the distribution is 1–3, or 4 and the viewer's organisation is
// in the sharing group (or the group lists this instance with "all orgs").
//
// Unpublished events are never shown to a sync account that does not own them: only
// published events may leave by sync, and a sync account is another instance asking.
func (inst *Instance) CanSeeEvent(v *Viewer, ev *misp.Event) Decision {
	d := newDecision("view")
	switch {
	case v.SiteAdmin:
		d.pass("site_admin", "site admins see every event")
		return d
	case isOwner(ev, v):
		d.pass("owner", "the viewer's organisation owns the event")
		return d
	}
	if !bool(ev.Published) && v.PermSync {
		d.block("published", "the event is not published, and unpublished events are never given to a sync account")
		return d
	}
	inst.checkReach(&d, v, EventReach(ev), "the event")
	return d
}

// CanSee decides whether the viewer may see a child of an event whose reach (its
// ancestors taken into account) is r. Owners and site admins see every child.
func (inst *Instance) CanSee(v *Viewer, ev *misp.Event, r Reach) bool {
	if v.SiteAdmin || isOwner(ev, v) {
		return true
	}
	return inst.reachIncludes(v, r)
}

// Visible returns the event as the viewer may see it — children the viewer may not see
// removed, with references to them and the proposals about them, objects left empty, other
// organisations' sightings, and for sync accounts local and non-exportable tags — or nil
// with the reason when the viewer may not see the event at all. The REST API serves events
// through this.
func (inst *Instance) Visible(v *Viewer, ev *misp.Event) (*misp.Event, Decision) {
	d := inst.CanSeeEvent(v, ev)
	if !d.Allowed {
		return nil, d
	}
	out := cloneEvent(ev)
	owner := v.SiteAdmin || isOwner(ev, v)
	reporter := !owner && inst.Sightings.Rule == SightingsReporter && v.reporter(ev)
	var t tally
	hidden := func(r Reach) verdict {
		if owner || inst.reachIncludes(v, r) {
			return keep()
		}
		return drop("distribution", fmt.Sprintf("its distribution (%s) does not include the viewer", describeReach(r)))
	}
	// members is what every kept element gets: its analyst data trimmed on their own
	// distributions, and for anyone but the owner no nested record the model does not
	// name (this instance's own derived views, or data whose sharing cannot be judged).
	members := func(x *misp.Extra) {
		if !owner {
			*x = withoutNestedRecords(*x, misp.AnalystKinds[:]...)
		}
		inst.trimAnalyst(v, x, &t)
	}
	s := sieve{
		attribute: func(a *misp.Attribute, parent Reach) verdict {
			if verdict := hidden(parent.Child(a.Distribution, a.SharingGroup)); verdict.drop {
				return verdict
			}
			a.Tag = v.SharedTags(a.Tag)
			a.Sighting = inst.visibleSightings(v, owner, reporter, a.Sighting)
			a.Galaxy = inst.trimClusters(v, a.Galaxy, &t)
			members(&a.Extra)
			return keep()
		},
		object: func(o *misp.Object, parent Reach) verdict {
			if verdict := hidden(parent.Child(o.Distribution, o.SharingGroup)); verdict.drop {
				return verdict
			}
			members(&o.Extra)
			return keep()
		},
		report: func(r *misp.EventReport, parent Reach) verdict {
			if verdict := hidden(parent.Child(r.Distribution, r.SharingGroup)); verdict.drop {
				return verdict
			}
			members(&r.Extra)
			return keep()
		},
	}
	s.apply(out, &t)
	out.Tag = v.SharedTags(out.Tag)
	out.ShadowAttribute = inst.visibleProposals(out, out.ShadowAttribute)
	out.Galaxy = inst.trimClusters(v, out.Galaxy, &t)
	members(&out.Extra)
	if !v.SiteAdmin && !(v.Audit && isCreator(ev, v)) {
		out.EventCreatorEmail = "" // MISP's fetchEvent: site admins and the creator organisation's auditors
	}
	t.steps(&d)
	return out, d
}

// visibleProposals keeps the event-level proposals the viewer may see: new attributes
// proposed (old_id 0), and proposals to change an attribute (old_id) that is among the
// attributes left — one about an attribute the viewer may not see would show it. Whoever
// sees the attribute (or, for a new one, the event) sees every organisation's proposals,
// as MISP's fetchEvent and ShadowAttribute::buildConditions: a proposal shares nothing the
// viewer cannot already see, and the owner, the creator and every peer holding the event
// converge on the same proposals.
func (inst *Instance) visibleProposals(ev *misp.Event, ps []misp.ShadowAttribute) []misp.ShadowAttribute {
	if len(ps) == 0 {
		return ps
	}
	ids := map[misp.Int]bool{}
	ev.ForEachAttribute(func(a *misp.Attribute) { ids[a.ID] = true })
	kept := ps[:0]
	for _, p := range ps {
		if p.OldID == 0 || ids[p.OldID] {
			kept = append(kept, p)
		}
	}
	clear(ps[len(kept):])
	return kept
}

// SharedTags keeps of an element's tags, in place, those the viewer is given. A sync
// account (not a site admin here) is another instance asking: it gets no local tag
// (MISP's excludeLocalTags for sync users), nor one marked not exportable, which may not
// leave this instance (MISP's REST answers carry exportable tags only: Event::fetchEvent
// without includeAllTags, events/index). Anyone else gets them all.
func (v *Viewer) SharedTags(tags []misp.Tag) []misp.Tag {
	if !v.PermSync || v.SiteAdmin {
		return tags
	}
	kept := tags[:0]
	for _, t := range tags {
		if !bool(t.Local) && t.IsExportable() {
			kept = append(kept, t)
		}
	}
	clear(tags[len(kept):])
	return kept
}

// made reports whether a record (a sighting, a proposal) of the organisation given by its
// embedded org or, lacking one, its org_id is the viewer's organisation's.
func (v *Viewer) made(org *misp.Org, orgID misp.Int) bool {
	if org != nil {
		return sameOrg(org, misp.Int(v.OrgID), v.OrgUUID)
	}
	return orgID != 0 && int64(orgID) == v.OrgID
}

// checkReach records whether the viewer passes the reach of an element.
func (inst *Instance) checkReach(d *Decision, v *Viewer, r Reach, what string) {
	if r.Level == misp.OrgOnly {
		d.block("distribution", fmt.Sprintf("%s is '%s' and the viewer's organisation does not own it", what, misp.OrgOnly))
		return
	}
	for _, sg := range r.Groups {
		if sg == nil {
			d.block("sharing_group", what+" has distribution 'Sharing group' but no sharing group, so only its owner may see it")
			return
		}
		if !inst.viewerInGroup(sg, v) {
			d.block("sharing_group", fmt.Sprintf("the viewer's organisation is not in sharing group %s, and the group does not give this instance 'all orgs'", sgName(sg)))
			return
		}
	}
	d.pass("distribution", fmt.Sprintf("%s is '%s', which includes the viewer", what, describeReach(r)))
}

func (inst *Instance) reachIncludes(v *Viewer, r Reach) bool {
	if r.Level == misp.OrgOnly {
		return false
	}
	for _, sg := range r.Groups {
		if sg == nil || !inst.viewerInGroup(sg, v) {
			return false
		}
	}
	return true
}

// isOwner reports whether the viewer's organisation owns the event here (Event.org_id).
func isOwner(ev *misp.Event, v *Viewer) bool {
	if ev.Org != nil {
		return sameOrg(ev.Org, misp.Int(v.OrgID), v.OrgUUID)
	}
	return ev.OrgID != 0 && int64(ev.OrgID) == v.OrgID
}

// isCreator is whether the viewer belongs to the organisation that created the event.
func isCreator(ev *misp.Event, v *Viewer) bool {
	if ev.Orgc != nil {
		return sameOrg(ev.Orgc, misp.Int(v.OrgID), v.OrgUUID)
	}
	return ev.OrgcID != 0 && int64(ev.OrgcID) == v.OrgID
}

func describeReach(r Reach) string {
	d := r.Distribution()
	if d == misp.SharingGroupDist && len(r.Groups) == 1 {
		return fmt.Sprintf("%s %s", d, sgName(r.Groups[0]))
	}
	return d.String()
}

func withoutLocalTags(tags []misp.Tag) []misp.Tag {
	kept := tags[:0]
	for _, t := range tags {
		if !bool(t.Local) {
			kept = append(kept, t)
		}
	}
	return kept
}
