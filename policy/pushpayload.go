package policy

import (
	"fmt"
	"slices"
	"strings"

	"mispdesk/store/misp"
)

// pushPayload turns out, the caller's own copy, into the event as it must be sent
// (Event::__prepareForPushToServer and __updateEventForSync): every child checked on its
// own distribution, push rules' blocked attribute tags and types applied, tags the server
// may not have removed, and the fields MISP never sends cleared. It blocks d when nothing
// would be left.
func (inst *Instance) pushPayload(d *Decision, srv *Server, internal bool, trig Trigger, out *misp.Event) *misp.Event {
	var t tally
	rules := &srv.PushRules
	element := func(dist *misp.Distribution, sg *misp.SharingGroup) verdict {
		return inst.pushElementDistribution(srv, internal, trig, dist, sg)
	}
	// An element's unknown members that hold other records are removed, except its
	// analyst data, which goes as the link's push_analyst_data and each item's own
	// distribution say.
	members := func(x *misp.Extra) {
		*x = withoutNestedRecords(*x, misp.AnalystKinds[:]...)
		pushAnalyst(srv, internal, x, &t)
	}
	// Sightings go with an attribute only to a server that takes them, and only those the
	// remote organisation may see here, as the sightings push sends them
	// (Sighting::pushSightings, as a sync account of the remote organisation).
	remote := srv.RemoteViewer()
	owner := isOwner(out, remote)
	reporter := !owner && inst.Sightings.Rule == SightingsReporter && remote.reporter(out)
	sightings := func(ss []misp.Sighting) []misp.Sighting {
		if !srv.PushSightings {
			return nil
		}
		return inst.visibleSightings(remote, owner, reporter, ss)
	}
	s := sieve{
		attribute: func(a *misp.Attribute, _ Reach) verdict {
			if name := firstTagMatch(rules.Tags.NOT, a.Tag); name != "" {
				return drop("push_rules.tags.NOT", fmt.Sprintf("they carry the blocked tag %q", name))
			}
			if inList(rules.TypeAttributes.NOT, a.Type) {
				return drop("push_rules.type_attributes.NOT", fmt.Sprintf("type %q is never pushed to this server", a.Type))
			}
			v := element(&a.Distribution, a.SharingGroup)
			if v.drop {
				return v
			}
			a.Tag = sendableTags(a.Tag, internal, &t)
			trimAttributeForPush(a)
			a.Sighting = sightings(a.Sighting)
			members(&a.Extra)
			return v
		},
		object: func(o *misp.Object, _ Reach) verdict {
			if inList(rules.TypeObjects.NOT, o.TemplateUUID) {
				return drop("push_rules.type_objects.NOT", fmt.Sprintf("template %s (%s) is never pushed to this server", o.TemplateUUID, o.Name))
			}
			members(&o.Extra)
			return element(&o.Distribution, o.SharingGroup)
		},
		report: func(r *misp.EventReport, _ Reach) verdict {
			members(&r.Extra)
			return element(&r.Distribution, r.SharingGroup)
		},
	}
	s.apply(out, &t)

	if out.Distribution == misp.ConnectedCommunity && !internal {
		out.Distribution = misp.CommunityOnly
	}
	out.Tag = sendableTags(out.Tag, internal, &t)
	out.Locked = true
	if srv.UnpublishEvent {
		out.Published = false
		d.change("server.unpublish_event", "the event is sent unpublished, as the server asks")
	}
	// MISP removes the owner here (the receiver makes its sync user's organisation the
	// owner) and everything that is this instance's own view of the event.
	out.Org, out.OrgID, out.OrgcID, out.ProposalEmailLock = nil, 0, 0, false
	out.RelatedEvent = nil
	out.Galaxy = nil // galaxies travel as misp-galaxy tags (MISP pushes with excludeGalaxy)
	out.ShadowAttribute = nil
	out.EventCreatorEmail = "" // MISP leaks the creator's e-mail address here; we do not
	members(&out.Extra)
	inst.addressGroups(out)

	t.steps(d)
	if len(out.Attribute) == 0 && len(out.Object) == 0 && len(out.EventReport) == 0 {
		d.blockCode("empty_event", "empty event", "not pushed: nothing of the event may go to this server (MISP refuses empty events)")
		return nil
	}
	d.pass("payload", fmt.Sprintf("sending %d attributes, %d objects and %d event reports", len(out.Attribute), len(out.Object), len(out.EventReport)))
	return out
}

// pushElementDistribution is the push table for one object, attribute or report: on a
// non-internal server 0 and 1 never go and 2 becomes 1; on an internal one 0 goes only
// with the push made at publication (the book's internal push table, row one, at every
// level); a sharing group must admit the server; 5 follows the event, which has passed.
func (inst *Instance) pushElementDistribution(srv *Server, internal bool, trig Trigger, dist *misp.Distribution, sg *misp.SharingGroup) verdict {
	switch *dist {
	case misp.OrgOnly, misp.CommunityOnly:
		switch {
		case !internal:
			return drop("distribution", fmt.Sprintf("distribution '%s' is never pushed to a non-internal server", *dist))
		case *dist == misp.OrgOnly && trig != OnPublish:
			return drop("distribution", fmt.Sprintf("distribution '%s' reaches an internal server only with the push made when the event is published", *dist))
		}
		return keep()
	case misp.ConnectedCommunity:
		if internal {
			return keep()
		}
		*dist = misp.CommunityOnly
		return keepChanged("distribution", fmt.Sprintf("'%s' becomes '%s'", misp.ConnectedCommunity, misp.CommunityOnly))
	case misp.AllCommunities, misp.InheritEvent:
		return keep()
	case misp.SharingGroupDist:
		if code, why := inst.groupAdmitsServer(srv, internal, sg); code != "" {
			return drop("sharing_group", why)
		}
		return keep()
	}
	return drop("distribution", fmt.Sprintf("%s cannot be shared safely", *dist))
}

// sendableTags removes tags that may not leave: non-exportable ones always, local ones
// unless the server is internal.
func sendableTags(tags []misp.Tag, internal bool, t *tally) []misp.Tag {
	kept := tags[:0]
	for i := range tags {
		switch {
		case !tags[i].IsExportable():
			t.record("tag", drop("tag.exportable", "non-exportable tags never leave this instance"))
		case bool(tags[i].Local) && !internal:
			t.record("tag", drop("tag.local", "local tags go to internal servers only"))
		default:
			kept = append(kept, tags[i])
		}
	}
	clear(tags[len(kept):])
	return kept
}

// trimAttributeForPush clears what MISP does not send with an attribute: its local id,
// galaxies (sent as tags) and proposals (pushed on their own). Its sightings and unknown
// members are the caller's (pushPayload's sightings and members).
func trimAttributeForPush(a *misp.Attribute) {
	a.ID = 0
	a.Galaxy = nil
	a.ShadowAttribute = nil
}

// withoutNestedRecords removes members the model does not know that hold other records
// (MISP names associated models with a capital: Note, Opinion, RelatedAttribute, Feed…) and
// value1/value2. Those records carry their own distribution, which policy cannot judge;
// plain lower-case columns are kept.
func withoutNestedRecords(extra misp.Extra, except ...string) misp.Extra {
	for k := range extra {
		if slices.Contains(except, k) {
			continue
		}
		if k == "value1" || k == "value2" || (k != "" && strings.ToUpper(k[:1]) == k[:1] && strings.ToLower(k[:1]) != k[:1]) {
			delete(extra, k)
		}
	}
	return extra
}

// addressGroups gives every sharing-group entry for this instance (server_id 0) this
// instance's URL, so the receiver can tell it from itself (MISP does the same). Without a
// known URL the entry is removed: sent bare it would mean "the receiver".
func (inst *Instance) addressGroups(ev *misp.Event) {
	forEachShared(ev, func(_ *misp.Distribution, sg **misp.SharingGroup, _ string) { inst.addressGroup(*sg) })
}

// SendableGroup is a copy of sg as it is sent to a peer with analyst data
// (AnalystData::updateAnalystDataForSync), addressed as addressGroups says; nil for nil.
func (inst *Instance) SendableGroup(sg *misp.SharingGroup) *misp.SharingGroup {
	c := cloneSharingGroup(sg)
	inst.addressGroup(c)
	return c
}

func (inst *Instance) addressGroup(sg *misp.SharingGroup) {
	if sg == nil {
		return
	}
	url := inst.baseURL()
	kept := sg.SharingGroupServer[:0]
	for _, s := range sg.SharingGroupServer {
		if s.ServerID == 0 {
			if url == "" {
				continue
			}
			s.Server = &misp.ServerRef{ID: 0, URL: url, Name: url}
		}
		kept = append(kept, s)
	}
	sg.SharingGroupServer = kept
}
