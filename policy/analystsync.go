package policy

import (
	"fmt"

	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/store/misp"
)

// Analyst data sync (app/Model/AnalystData.php): notes, opinions and relationships travel
// on their own after the events of a full push or pull, each by its own distribution, and
// embedded in the events they are about when the link's flags say so.

// PushAnalystData decides whether a standalone note, opinion or relationship may go to srv
// and at which distribution (AnalystData::collectDataForPush, prepareForPushToServer and
// updateAnalystDataForSync): only with the link's push_analyst_data; never 'Your
// organisation only' nor 'Inherit' (MISP collects 1–3 and groups); the event push table on
// the item's own distribution (1 only to an internal server, 2 becomes 1 unless internal, a
// group must admit the server and its organisation); and the push rules' organisations on
// its creator (isPushableForServerSyncRules). orgc is the item's creator organisation.
func (inst *Instance) PushAnalystData(srv *Server, a *misp.AnalystData, orgc *misp.Org) (Decision, misp.Distribution) {
	d := newDecision("push")
	if !srv.PushAnalystData {
		d.block("server.push_analyst_data", fmt.Sprintf("analyst data push is off for server %q", srv.Name))
		return d, a.Distribution
	}
	switch a.Distribution {
	case misp.OrgOnly:
		d.block("distribution", fmt.Sprintf("distribution '%s' never leaves this instance", a.Distribution))
		return d, a.Distribution
	case misp.InheritEvent:
		d.block("distribution", "analyst data inheriting its element's distribution travels only inside that element's event")
		return d, a.Distribution
	}
	if rules := (Rules{Orgs: srv.PushRules.Orgs}); !rules.Orgs.empty() {
		if checkEventRules(&d, PushRules, &rules, &misp.Event{Orgc: orgc}); !d.Allowed {
			return d, a.Distribution
		}
	}
	internal := inst.pushInternal(&d, srv)
	if !inst.checkPushDistribution(&d, srv, internal, &misp.Event{Distribution: a.Distribution, SharingGroup: a.SharingGroup}, Scheduled) {
		return d, a.Distribution
	}
	if a.Distribution == misp.ConnectedCommunity && !internal {
		return d, misp.CommunityOnly
	}
	return d, a.Distribution
}

// PullAnalystData decides whether a note, opinion or relationship fetched from srv may be
// stored here and at which distribution (AnalystData::pull, updatePulledBeforeInsert):
// only with the link's pull_analyst_data; community becomes organisation only and
// connected communities community, unless the link is internal; a group is kept, to be
// captured by ReceiveAnalystData.
func (inst *Instance) PullAnalystData(srv *Server, dist misp.Distribution) (Decision, misp.Distribution) {
	d := newDecision("pull")
	if !srv.PullAnalystData {
		d.block("server.pull_analyst_data", fmt.Sprintf("analyst data pull is off for server %q", srv.Name))
		return d, dist
	}
	if !dist.Valid() {
		d.block("distribution", fmt.Sprintf("distribution %d is not valid for analyst data", dist))
		return d, dist
	}
	if inst.pullInternal(&d, srv) {
		d.pass("distribution", fmt.Sprintf("distribution '%s' is kept from an internal server", dist))
		return d, dist
	}
	out := pullDowngrade(dist)
	if out != dist {
		d.change("distribution", fmt.Sprintf("distribution '%s' becomes '%s' here", dist, out))
	} else {
		d.pass("distribution", fmt.Sprintf("distribution '%s' stays '%s'", dist, dist))
	}
	return d, out
}

// ReceivedAnalystData is how an arriving note, opinion or relationship is stored.
type ReceivedAnalystData struct {
	Decision
	Distribution misp.Distribution
	// SharingGroup is the group to capture for distribution 4, made to mean here what it
	// meant on the sender; nil otherwise.
	SharingGroup *misp.SharingGroup
}

// ReceiveAnalystData decides whether a note, opinion or relationship that arrived (pushed
// by a sync account, or fetched by a pull and already decided by PullAnalystData) may be
// stored here, owned by owner (AnalystData::captureAnalystData): not when its creator
// organisation is blocklisted, nor when it was deleted here (the analyst data blocklist); its sharing group captured as an event's
// (Event::captureSGForElement) — kept when it includes owner or gives this instance 'all
// orgs', else the item becomes 'Your organisation only'. from is this instance's link to
// the sender, or nil. a is not changed.
func (inst *Instance) ReceiveAnalystData(owner misp.Org, from *Server, a *misp.AnalystData, orgcUUID string, bl Blocklists) ReceivedAnalystData {
	d := newDecision("receive")
	if bl.Orgs.Has(orgcUUID) {
		d.block("org_blocklist", fmt.Sprintf("Organisation blocklisted (%s)", orgcUUID))
		return ReceivedAnalystData{Decision: d}
	}
	if bl.AnalystData.Has(a.UUID) {
		d.block("analyst_data_blocklist", "Blocked by blocklist")
		return ReceivedAnalystData{Decision: d}
	}
	if !a.Distribution.Valid() {
		d.block("distribution", fmt.Sprintf("distribution %d is not valid for analyst data", a.Distribution))
		return ReceivedAnalystData{Decision: d}
	}
	dist, sg := a.Distribution, cloneSharingGroup(a.SharingGroup)
	var t tally
	inst.captureGroup(&dist, &sg, owner, from, "analyst data", &t)
	t.steps(&d)
	d.pass("receive", fmt.Sprintf("stored as owned by organisation %s with distribution '%s'", orgLabel(&owner), dist))
	return ReceivedAnalystData{Decision: d, Distribution: dist, SharingGroup: sg}
}

// pushAnalyst keeps, in an element's members, the embedded analyst data that may go to
// srv with its event when the link pushes analyst data, and removes all of it otherwise.
// Each item is judged on its own distribution (its element has passed): 0 never goes, 1
// only to an internal server, 2 becomes 1 unless internal, 3 goes, 5 never. Items shared with a
// sharing group go only standalone (PushAnalystData), where their group travels with them
// and is captured. What goes is marked locked, as MISP marks synced analyst data.
func pushAnalyst(srv *Server, internal bool, x *misp.Extra, t *tally) {
	if !srv.PushAnalystData {
		sieveAnalyst(x, t, func(*misp.AnalystData) verdict {
			return drop("server.push_analyst_data", fmt.Sprintf("analyst data push is off for server %q", srv.Name))
		})
		return
	}
	sieveAnalyst(x, t, func(a *misp.AnalystData) verdict {
		v := embeddedPushVerdict(a, internal)
		if !v.drop {
			if a.Extra == nil {
				a.Extra = misp.Extra{}
			}
			a.Extra["locked"] = jsontext.Value("true")
		}
		return v
	})
}

func embeddedPushVerdict(a *misp.AnalystData, internal bool) verdict {
	switch a.Distribution {
	case misp.OrgOnly:
		return drop("analyst_data.distribution", fmt.Sprintf("distribution '%s' never leaves this instance", a.Distribution))
	case misp.CommunityOnly:
		if !internal {
			return drop("analyst_data.distribution", fmt.Sprintf("distribution '%s' is never pushed to a non-internal server", a.Distribution))
		}
	case misp.ConnectedCommunity:
		if !internal {
			a.Distribution = misp.CommunityOnly
			return keepChanged("analyst_data.distribution", fmt.Sprintf("'%s' becomes '%s'", misp.ConnectedCommunity, misp.CommunityOnly))
		}
	case misp.AllCommunities:
	case misp.InheritEvent:
		return drop("analyst_data.distribution", "distribution 5 is its organisation's alone for analyst data (MISP's buildConditions), so it never leaves")
	case misp.SharingGroupDist:
		return drop("analyst_data.sharing_group", "analyst data shared with a sharing group goes only with analyst data sync, where its group travels")
	default:
		return drop("analyst_data.distribution", fmt.Sprintf("%s cannot be shared safely", a.Distribution))
	}
	a.SharingGroupID, a.SharingGroup = 0, nil
	return keep()
}

// pullAnalyst is the embedded analyst data of a pulled element: taken as takeAnalyst says
// when the link pulls analyst data, removed otherwise.
func pullAnalyst(srv *Server, x *misp.Extra, bl Blocklists, t *tally) {
	if srv.PullAnalystData {
		takeAnalyst(x, true, bl, t)
		return
	}
	sieveAnalyst(x, t, func(*misp.AnalystData) verdict {
		return drop("server.pull_analyst_data", fmt.Sprintf("analyst data pull is off for server %q", srv.Name))
	})
}
