package policy

import (
	"fmt"

	"mispdesk/store/misp"
)

// Trigger is what started a push. MISP treats the two differently for internal servers:
// an organisation-only event reaches one only when it is published (the publish-time push),
// never by a later push of an already published event (Server::push selects distribution
// 1–3 and sharing groups only).
type Trigger int

const (
	// OnPublish is the push made at once when the event is published here.
	OnPublish Trigger = iota
	// Scheduled is a later push: cron, a retry, the operator's "push now".
	Scheduled
)

// PushResult is the decision and, when allowed, the event as it must be sent.
type PushResult struct {
	Decision
	Event *misp.Event `json:"-"`
}

// Push decides whether ev may go to srv and in what form (MISP's Server::push and
// Event::__prepareForPushToServer, app/Model/Server.php and Event.php; the book's push tables). The event returned is a copy: distributions
// downgraded, children that may not leave removed, local and non-exportable tags removed,
// locked set, unpublished when the server asks for it. ev is not changed.
func (inst *Instance) Push(srv *Server, ev *misp.Event, trig Trigger, bl Blocklists) PushResult {
	return inst.push(srv, ev, trig, bl, true)
}

// PushOwned is Push preparing ev itself rather than a copy, for a caller that hands the
// event over (one just read from the store to be sent): a large event is then never held
// twice. ev must not be used afterwards.
func (inst *Instance) PushOwned(srv *Server, ev *misp.Event, trig Trigger, bl Blocklists) PushResult {
	return inst.push(srv, ev, trig, bl, false)
}

func (inst *Instance) push(srv *Server, ev *misp.Event, trig Trigger, bl Blocklists, copyFirst bool) PushResult {
	d, internal := inst.pushEvent(srv, ev, trig, bl)
	if !d.Allowed {
		return PushResult{Decision: d}
	}
	if copyFirst {
		ev = cloneEvent(ev)
	}
	out := inst.pushPayload(&d, srv, internal, trig, ev)
	if !d.Allowed {
		return PushResult{Decision: d}
	}
	return PushResult{Decision: d, Event: out}
}

// PushCandidate decides at event level only — push flag, blocklists, published,
// distribution and sharing group, push rules — whether ev may go to srv. It needs the
// event's own fields, sharing group and tags, not its children, so a push can sort a large
// store cheaply before asking the remote which events it wants; Push decides the rest.
func (inst *Instance) PushCandidate(srv *Server, ev *misp.Event, trig Trigger, bl Blocklists) Decision {
	d, _ := inst.pushEvent(srv, ev, trig, bl)
	return d
}

func (inst *Instance) pushEvent(srv *Server, ev *misp.Event, trig Trigger, bl Blocklists) (Decision, bool) {
	d := newDecision("push")
	if !srv.Push {
		d.blockCode("server.push", "push off", fmt.Sprintf("push is off for server %q", srv.Name))
		return d, false
	}
	if !checkBlocklists(&d, bl, ev.UUID, orgUUID(ev.Orgc)) || !checkPublished(&d, bool(ev.Published)) ||
		!checkNotProtected(&d, ev, ReasonProtectedPush) {
		return d, false
	}
	internal := inst.pushInternal(&d, srv)
	if !inst.checkPushDistribution(&d, srv, internal, ev, trig) {
		return d, internal
	}
	checkEventRules(&d, PushRules, &srv.PushRules, ev)
	return d, internal
}

// pushInternal is whether the link counts as internal for push: the flag, and the remote
// organisation being this instance's host organisation (MISP forces the flag off
// otherwise; we ignore a flag set against that, since it would send org-only data away).
func (inst *Instance) pushInternal(d *Decision, srv *Server) bool {
	if !srv.Internal {
		d.skip("server.internal", "the server is not internal, so distributions are downgraded")
		return false
	}
	if !inst.isHostOrg(srv.RemoteOrg) {
		d.skip("server.internal", fmt.Sprintf("the internal flag is ignored: the remote organisation %s is not this instance's host organisation", orgLabel(&srv.RemoteOrg)))
		return false
	}
	d.pass("server.internal", "the server is internal (same host organisation), so distributions are kept")
	return true
}

// checkPushDistribution is the push table at event level.
func (inst *Instance) checkPushDistribution(d *Decision, srv *Server, internal bool, ev *misp.Event, trig Trigger) bool {
	dist := ev.Distribution
	switch dist {
	case misp.OrgOnly:
		switch {
		case !internal:
			d.blockCode("distribution", "distribution: org only", fmt.Sprintf("not pushed: distribution '%s' is never pushed to a non-internal server", dist))
		case trig != OnPublish:
			d.blockCode("distribution", "distribution: org only (on publication only)", fmt.Sprintf("not pushed: distribution '%s' reaches an internal server only when the event is published, not by a later push", dist))
		default:
			d.pass("distribution", fmt.Sprintf("distribution '%s' is synced to an internal server on publication", dist))
		}
	case misp.CommunityOnly:
		if !internal {
			d.blockCode("distribution", "distribution: community only", fmt.Sprintf("not pushed: distribution '%s' is never pushed to a non-internal server", dist))
		} else {
			d.pass("distribution", fmt.Sprintf("distribution '%s' stays '%s' on an internal server", dist, dist))
		}
	case misp.ConnectedCommunity:
		if !internal {
			d.change("distribution", fmt.Sprintf("distribution '%s' becomes '%s' on the server", dist, misp.CommunityOnly))
		} else {
			d.pass("distribution", fmt.Sprintf("distribution '%s' stays '%s' on an internal server", dist, dist))
		}
	case misp.AllCommunities:
		d.pass("distribution", fmt.Sprintf("distribution '%s' stays '%s'", dist, dist))
	case misp.SharingGroupDist:
		if code, why := inst.groupAdmitsServer(srv, internal, ev.SharingGroup); code != "" {
			d.blockCode("sharing_group", "sharing group: "+code, "not pushed: "+why)
		} else {
			d.pass("sharing_group", why)
		}
	default:
		d.blockCode("distribution", "distribution: unknown", fmt.Sprintf("not pushed: %s cannot be shared safely", dist))
	}
	return d.Allowed
}

// groupAdmitsServer is MISP's SharingGroup::checkIfServerInSG with the final check of
// Event::__prepareForPushToServer: unless the group is roaming or the link internal, the
// server must be listed in the group; and the remote organisation must always be a member.
// It answers why, and a short code of the refusal ("" when the group admits the server).
func (inst *Instance) groupAdmitsServer(srv *Server, internal bool, sg *misp.SharingGroup) (code, why string) {
	if sg == nil {
		return "no group", "distribution 'Sharing group' without its sharing group is never pushed"
	}
	switch {
	case bool(sg.Roaming):
		// Roaming groups travel to any server; only organisation membership counts.
	case internal:
		// MISP lets an internal link skip the server list.
	case serverEntry(sg, srv) == nil:
		return "server not in group", fmt.Sprintf("server %q is not in sharing group %s, which is not roaming", srv.Name, sgName(sg))
	}
	if !hasOrg(sg, srv.RemoteOrg.ID, srv.RemoteOrg.UUID) {
		return "remote organisation not a member", fmt.Sprintf("the remote organisation %s is not a member of sharing group %s", orgLabel(&srv.RemoteOrg), sgName(sg))
	}
	return "", fmt.Sprintf("server %q and its organisation %s may receive sharing group %s", srv.Name, orgLabel(&srv.RemoteOrg), sgName(sg))
}

func checkBlocklists(d *Decision, bl Blocklists, eventUUID, orgcUUID string) bool {
	if bl.Events.Has(eventUUID) {
		d.blockCode("event_blocklist", "event blocklist", "the event is on the event blocklist")
		return false
	}
	if bl.Orgs.Has(orgcUUID) {
		d.blockCode("org_blocklist", "organisation blocklist", "the creator organisation is on the organisation blocklist")
		return false
	}
	d.pass("blocklists", "neither the event nor its creator organisation is blocklisted")
	return true
}

func checkPublished(d *Decision, published bool) bool {
	if !published {
		d.blockCode("published", "not published", "only published events are synced")
		return false
	}
	d.pass("published", "the event is published")
	return true
}

func orgUUID(o *misp.Org) string {
	if o == nil {
		return ""
	}
	return o.UUID
}
