package policy

import (
	"fmt"

	"mispdesk/store/misp"
)

// IndexRow is one row of a remote's minimal events/index answer.
type IndexRow struct {
	UUID      string `json:"uuid"`
	Timestamp int64  `json:"timestamp"`
	Published bool   `json:"published"`
	OrgcUUID  string `json:"orgc_uuid"`
}

// LocalCopy is what this instance already holds of an event, if anything.
type LocalCopy struct {
	Timestamp int64 `json:"timestamp"`
	// Locked marks a copy that came by sync; an unlocked event was created here.
	Locked bool `json:"locked"`
}

// PullResult is the decision and, when allowed, the event as it must be stored here.
type PullResult struct {
	Decision
	Event *misp.Event `json:"-"`
}

// PullCandidate decides whether a row of the remote index is worth fetching (Server::pull
// with the full technique, app/Model/Server.php): not blocklisted, published, and newer than a local copy
// that sync may replace. The remote applied the pull rules already (PullIndexFilter).
func (inst *Instance) PullCandidate(srv *Server, row IndexRow, local *LocalCopy, bl Blocklists) Decision {
	d := newDecision("pull")
	if !srv.Pull {
		d.blockCode("server.pull", "pull off", fmt.Sprintf("pull is off for server %q", srv.Name))
		return d
	}
	if checkBlocklists(&d, bl, row.UUID, row.OrgcUUID) && checkPublished(&d, row.Published) {
		checkReplace(&d, srv, row.Timestamp, local)
	}
	return d
}

// Pull decides whether a fetched remote event may be stored here and returns it as it
// must be stored (Server::__updatePulledEventBeforeInsert in app/Model/Server.php, and the book's pull
// tables): locked, downgraded 1→0 and 2→1 at every level unless the link is internal,
// local tags removed, filtered by type, owned by the link's local organisation, its sharing
// groups made to mean here what they meant there. remote is not changed.
func (inst *Instance) Pull(srv *Server, remote *misp.Event, local *LocalCopy, bl Blocklists) PullResult {
	return inst.pull(srv, remote, local, bl, true)
}

// PullOwned is Pull transforming remote itself rather than a copy, for a caller that hands
// the event over and has no further use for it: a large event fetched from a peer is then
// never held twice. remote must not be used afterwards.
func (inst *Instance) PullOwned(srv *Server, remote *misp.Event, local *LocalCopy, bl Blocklists) PullResult {
	return inst.pull(srv, remote, local, bl, false)
}

func (inst *Instance) pull(srv *Server, remote *misp.Event, local *LocalCopy, bl Blocklists, copyFirst bool) PullResult {
	d := inst.PullCandidate(srv, IndexRow{UUID: remote.UUID, Timestamp: int64(remote.Timestamp), Published: bool(remote.Published), OrgcUUID: orgUUID(remote.Orgc)}, local, bl)
	if !d.Allowed || !checkNotProtected(&d, remote, ReasonProtectedPull) {
		return PullResult{Decision: d}
	}
	// The remote should have filtered by the pull rules; a peer that ignores the filter
	// must not get round them.
	if checkEventRules(&d, PullRules, &srv.PullRules, remote); !d.Allowed {
		return PullResult{Decision: d}
	}
	internal := inst.pullInternal(&d, srv)
	out := remote
	if copyFirst {
		out = cloneEvent(remote)
	}
	var t tally
	out.Locked = true
	if out.Distribution == misp.DistributionUnknown {
		out.Distribution = misp.CommunityOnly
		d.change("distribution", fmt.Sprintf("the event has no distribution and is taken as '%s', as MISP does", misp.CommunityOnly))
	}
	// The book's pull tables downgrade with and without the internal flag; MISP's code
	// skips it for an internal link owned by the host organisation. The tables are the
	// specification, and the narrower choice: pulled data never keeps a wider audience.
	before := out.Distribution
	out.Distribution = pullDowngrade(out.Distribution)
	if before != out.Distribution {
		d.change("distribution", fmt.Sprintf("distribution '%s' becomes '%s' here", before, out.Distribution))
	} else {
		d.pass("distribution", fmt.Sprintf("distribution '%s' stays '%s' here", before, before))
	}
	if !internal {
		out.Tag = withoutLocalTagsTallied(out.Tag, &t)
	}
	rules := &srv.PullRules
	element := func(dist *misp.Distribution) verdict {
		before := *dist
		if *dist = pullDowngrade(before); *dist != before {
			return keepChanged("distribution", fmt.Sprintf("'%s' becomes '%s'", before, *dist))
		}
		return keep()
	}
	s := sieve{
		attribute: func(a *misp.Attribute, _ Reach) verdict {
			if inList(rules.TypeAttributes.NOT, a.Type) {
				return drop("pull_rules.type_attributes.NOT", fmt.Sprintf("type %q is never pulled from this server", a.Type))
			}
			if !internal {
				a.Tag = withoutLocalTagsTallied(a.Tag, &t)
			}
			pullAnalyst(srv, &a.Extra, bl, &t)
			a.Galaxy = pullClusters(a.Galaxy, &t)
			return element(&a.Distribution)
		},
		object: func(o *misp.Object, _ Reach) verdict {
			if inList(rules.TypeObjects.NOT, o.TemplateUUID) {
				return drop("pull_rules.type_objects.NOT", fmt.Sprintf("template %s (%s) is never pulled from this server", o.TemplateUUID, o.Name))
			}
			pullAnalyst(srv, &o.Extra, bl, &t)
			return element(&o.Distribution)
		},
		report: func(r *misp.EventReport, _ Reach) verdict {
			pullAnalyst(srv, &r.Extra, bl, &t)
			return element(&r.Distribution)
		},
	}
	s.apply(out, &t)
	pullAnalyst(srv, &out.Extra, bl, &t)
	out.Galaxy = pullClusters(out.Galaxy, &t)
	inst.captureGroups(out, srv.Org, srv, &t)
	out.OrgID, out.Org = srv.Org.ID, cloneOrg(&srv.Org)
	out.RelatedEvent = nil
	t.steps(&d)
	if !checkNotEmpty(&d, out) {
		return PullResult{Decision: d}
	}
	return PullResult{Decision: d, Event: out}
}

// pullInternal is whether the link counts as internal for pull, where it keeps local tags
// (and, in PullCandidate, lets a pull replace an event created here). MISP's condition is
// the flag and the link's local organisation being the host organisation; MISP also forces
// the flag off unless the remote organisation is the host organisation, so a flag set
// against that (a record written by hand, an import) is ignored here too.
func (inst *Instance) pullInternal(d *Decision, srv *Server) bool {
	switch {
	case !srv.Internal:
		d.skip("server.internal", "the server is not internal, so local tags are removed")
		return false
	case !inst.isHostOrg(srv.RemoteOrg):
		d.skip("server.internal", fmt.Sprintf("the internal flag is ignored: the remote organisation %s is not this instance's host organisation", orgLabel(&srv.RemoteOrg)))
		return false
	case !inst.isHostOrg(srv.Org):
		d.skip("server.internal", fmt.Sprintf("the internal flag does not apply: the link's organisation %s is not this instance's host organisation", orgLabel(&srv.Org)))
		return false
	}
	d.pass("server.internal", "the server is internal (same host organisation): local tags are kept")
	return true
}

// pullDowngrade is the pull table: community becomes organisation only, connected
// communities becomes community; the other levels stay.
func pullDowngrade(d misp.Distribution) misp.Distribution {
	switch d {
	case misp.CommunityOnly:
		return misp.OrgOnly
	case misp.ConnectedCommunity:
		return misp.CommunityOnly
	}
	return d
}

// checkReplace is the rule that a local copy is replaced only by a newer synced copy:
// never an event created here (unlocked) unless the link is internal, never by an older
// or equal timestamp.
func checkReplace(d *Decision, srv *Server, timestamp int64, local *LocalCopy) bool {
	switch {
	case local == nil:
		d.pass("local_copy", "the event is new here")
	case !local.Locked && !srv.Internal:
		d.blockCode("local_copy", "local copy created here", "the event was created on this instance, and sync never replaces a local event (unless the server is internal)")
	case timestamp <= local.Timestamp:
		d.blockCode("local_copy", "local copy newer", fmt.Sprintf("the local copy is as new or newer (timestamp %d ≥ %d)", local.Timestamp, timestamp))
	default:
		d.pass("local_copy", fmt.Sprintf("the remote copy is newer (timestamp %d > %d)", timestamp, local.Timestamp))
	}
	return d.Allowed
}

// checkNotEmpty refuses an event left without any non-deleted attribute, object
// attribute or event report (Server::__checkIfEventSaveAble: "Empty event detected.").
func checkNotEmpty(d *Decision, ev *misp.Event) bool {
	for i := range ev.Attribute {
		if !ev.Attribute[i].Deleted {
			return true
		}
	}
	for i := range ev.Object {
		for j := range ev.Object[i].Attribute {
			if !ev.Object[i].Attribute[j].Deleted {
				return true
			}
		}
	}
	for i := range ev.EventReport {
		if !ev.EventReport[i].Deleted {
			return true
		}
	}
	d.blockCode("empty_event", "empty event", "empty event detected: nothing that is not deleted is left")
	return false
}

func withoutLocalTagsTallied(tags []misp.Tag, t *tally) []misp.Tag {
	n := len(tags)
	tags = withoutLocalTags(tags)
	for range n - len(tags) {
		t.record("tag", drop("tag.local", "local tags are not taken from a non-internal server"))
	}
	return tags
}
