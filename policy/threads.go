package policy

import "mispdesk/store/misp"

// Discussion is a thread not tied to an event (MISP's Thread with no event_id), as policy
// judges who may read it.
type Discussion struct {
	OrgID        int64 // the organisation of who started it
	Distribution misp.Distribution
	SharingGroup *misp.SharingGroup // for distribution 4
}

// IsSyncAccount reports whether the viewer is another instance asking (a sync account
// that is not a site admin). Collaboration data — event comments, discussions — never
// leaves this instance, so a sync account is given none.
func (v *Viewer) IsSyncAccount() bool { return v.PermSync && !v.SiteAdmin }

// CanSeeDiscussion decides whether the viewer may read a discussion, as MISP's
// Thread::checkIfAuthorised and threads/index: a site admin any; the starting
// organisation; anyone when the distribution is 1–3; the members of the sharing group
// when 4. A sync account never. An event's comments follow the event instead (the gate
// asks CanSeeEvent), and are equally refused to a sync account (CanSeeComments).
func (inst *Instance) CanSeeDiscussion(v *Viewer, t *Discussion) Decision {
	if d, refused := refuseSyncAccount(v); refused {
		return d
	}
	return inst.CanSeeEvent(v, &misp.Event{OrgID: misp.Int(t.OrgID), Distribution: t.Distribution,
		SharingGroup: t.SharingGroup, Published: true})
}

// CanSeeComments decides whether the viewer may read the comments of an event it may see:
// anyone but a sync account.
func (inst *Instance) CanSeeComments(v *Viewer) Decision {
	d, _ := refuseSyncAccount(v)
	return d
}

func refuseSyncAccount(v *Viewer) (Decision, bool) {
	d := newDecision("view")
	if v.IsSyncAccount() {
		d.block("collaboration", "comments and discussions are never given to another instance (a sync account)")
		return d, true
	}
	return d, false
}
