package policy

import (
	"fmt"

	"mispdesk/store/misp"
)

// Receive decides whether an event pushed to this instance by a sync account may be
// stored and returns it as it must be stored (EventsController::add/edit → Event::_add /
// _edit, app/Controller/EventsController.php and app/Model/Event.php): owned by the sync account's organisation, its sharing groups made to mean
// here what they meant on the sender. The pusher has downgraded distributions already, as
// MISP's receiver assumes. from is this instance's link to the sender if it has one, else
// nil. ev is not changed.
func (inst *Instance) Receive(sender *Viewer, from *Server, ev *misp.Event, local *LocalCopy, bl Blocklists) PullResult {
	d := newDecision("receive")
	if !sender.PermSync && !sender.SiteAdmin {
		d.block("perm_sync", "only a sync account may push events")
		return PullResult{Decision: d}
	}
	if !checkBlocklists(&d, bl, ev.UUID, orgUUID(ev.Orgc)) {
		return PullResult{Decision: d}
	}
	if local != nil && !local.Locked && !sameOrg(ev.Orgc, misp.Int(sender.OrgID), sender.OrgUUID) {
		d.block("local_copy", "the event was created on this instance, and a push never replaces a local event")
		return PullResult{Decision: d}
	}
	if local != nil && int64(ev.Timestamp) <= local.Timestamp {
		d.block("local_copy", "Event could not be saved: Event in the request not newer than the local copy.")
		return PullResult{Decision: d}
	}
	out := cloneEvent(ev)
	var t tally
	if out.Distribution == misp.DistributionUnknown {
		// MISP uses its default_event_distribution here; the narrowest level is the safe one.
		out.Distribution = misp.OrgOnly
		d.change("distribution", fmt.Sprintf("the event has no distribution and is taken as '%s'", misp.OrgOnly))
	}
	owner := misp.Org{ID: misp.Int(sender.OrgID), UUID: sender.OrgUUID}
	inst.receiveAnalyst(out, bl, &t)
	inst.captureGroups(out, owner, from, &t)
	out.OrgID, out.Org = owner.ID, cloneOrg(&owner)
	out.RelatedEvent = nil
	t.steps(&d)
	if bool(out.Published) && !checkNotEmpty(&d, out) {
		return PullResult{Decision: d}
	}
	d.pass("receive", fmt.Sprintf("stored as owned by the sync account's organisation %s", orgLabel(&owner)))
	return PullResult{Decision: d, Event: out}
}

// receiveAnalyst takes the analyst data of a pushed event as takeAnalyst says, on the
// event and every element of it.
func (inst *Instance) receiveAnalyst(ev *misp.Event, bl Blocklists, t *tally) {
	takeAnalyst(&ev.Extra, false, bl, t)
	ev.ForEachAttribute(func(a *misp.Attribute) { takeAnalyst(&a.Extra, false, bl, t) })
	for i := range ev.Object {
		takeAnalyst(&ev.Object[i].Extra, false, bl, t)
	}
	for i := range ev.EventReport {
		takeAnalyst(&ev.EventReport[i].Extra, false, bl, t)
	}
}
