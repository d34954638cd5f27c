// Package gate is the one place where store records meet policy. Every path that hands
// MISP data to anyone — the REST API's answers (users, and peers that pull), push
// payloads, feed export, the console — asks the gate, and the gate asks policy with inputs
// it builds from store records here and nowhere else.
//
// A Check is one viewer's questions within one request or run: it remembers the
// instance, the sharing groups it has read and the event-level decisions it has made, so
// that an index of 100,000 rows costs a handful of decisions. Anything the viewer may not
// see is reported as store.ErrNotFound, so that callers answer exactly as for data that
// does not exist (MISP's 404 "Invalid …"), and never reveal that it does.
package gate

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// Gate answers visibility questions against one store.
type Gate struct {
	st *store.Store
}

// New returns the gate of st.
func New(st *store.Store) *Gate { return &Gate{st: st} }

// Instance describes this instance to policy: its host organisation, the address peers
// know it by and its sightings policy.
func Instance(ctx context.Context, st *store.Store) (*policy.Instance, error) {
	in, err := st.Instance(ctx)
	if err != nil {
		return nil, err
	}
	pi := &policy.Instance{HostOrg: Org(in.HostOrg)}
	if in.BaseURL != "" {
		pi.BaseURLs = []string{in.BaseURL}
	}
	sc, err := st.SightingsConfig(ctx)
	if err != nil {
		return nil, err
	}
	pi.Sightings = policy.SightingsPolicy{Rule: policy.SightingsRule(sc.Policy), Anonymise: sc.Anonymise}
	if sc.AnonymiseAs != nil {
		as := Org(*sc.AnonymiseAs)
		pi.Sightings.AnonymiseAs = &as
	}
	return pi, nil
}

// Org is a stored organisation as policy names one.
func Org(o store.Org) misp.Org { return misp.Org{ID: misp.Int(o.ID), UUID: o.UUID, Name: o.Name} }

// Viewer is the user behind an API key as policy sees a viewer.
func Viewer(p *store.Principal) *policy.Viewer {
	u := &p.User
	return &policy.Viewer{OrgID: int64(u.OrgID), OrgUUID: u.Org.UUID, SiteAdmin: u.Role.PermSiteAdmin, PermSync: u.Role.PermSync, Audit: u.Role.PermAudit}
}

// RemoteViewer is the remote instance of a sync link as a viewer here: a sync account of
// its host organisation, as it would see this instance's data when it pulls.
func RemoteViewer(srv *store.Server) *policy.Viewer {
	return (&policy.Server{RemoteOrg: Org(srv.RemoteOrg)}).RemoteViewer()
}

// Server describes a sync link to policy, parsing its rules.
func Server(srv *store.Server) (*policy.Server, error) {
	push, err := policy.ParseRules(policy.PushRules, srv.PushRules)
	if err != nil {
		return nil, fmt.Errorf("server %q: %w", srv.Name, err)
	}
	pull, err := policy.ParseRules(policy.PullRules, srv.PullRules)
	if err != nil {
		return nil, fmt.Errorf("server %q: %w", srv.Name, err)
	}
	return &policy.Server{
		ID:                 int64(srv.ID),
		Name:               srv.Name,
		URL:                srv.URL,
		Internal:           srv.Internal,
		Org:                Org(srv.Organisation),
		RemoteOrg:          Org(srv.RemoteOrg),
		Push:               srv.Push,
		Pull:               srv.Pull,
		PushSightings:      srv.PushSightings,
		PushGalaxyClusters: srv.PushGalaxyClusters,
		PullGalaxyClusters: srv.PullGalaxyClusters,
		PushAnalystData:    srv.PushAnalystData,
		PullAnalystData:    srv.PullAnalystData,
		UnpublishEvent:     srv.UnpublishEvent,
		PushRules:          push,
		PullRules:          pull,
	}, nil
}

// Blocklists reads MISP's event, organisation and analyst data blocklists as policy takes them.
func Blocklists(ctx context.Context, st *store.Store) (policy.Blocklists, error) {
	sets, err := st.Blocklists(ctx)
	if err != nil {
		return policy.Blocklists{}, err
	}
	return policy.Blocklists{Events: policy.UUIDSet(sets.Events), Orgs: policy.UUIDSet(sets.Orgs),
		AnalystData: policy.UUIDSet(sets.AnalystData)}, nil
}

// LocalCopy is the stored copy of an event as policy compares an incoming one with it.
func LocalCopy(r *store.IndexRow) *policy.LocalCopy {
	if r == nil {
		return nil
	}
	return &policy.LocalCopy{Timestamp: r.Timestamp, Locked: r.Locked}
}

// Check is one viewer's questions to the gate; not safe for concurrent use.
type Check struct {
	g      *Gate
	ctx    context.Context
	Viewer *policy.Viewer
	inst   *policy.Instance
	memo   map[rowKey]bool
	sgs    map[store.SharingGroupID]*misp.SharingGroup
	tags   map[string]*store.TagRow // by name; nil: no such tag here
}

type rowKey struct {
	owner     bool
	dist      misp.Distribution
	sg        store.SharingGroupID
	published bool
}

// For starts the questions of viewer v about the data of this instance inst.
func (g *Gate) For(ctx context.Context, inst *policy.Instance, v *policy.Viewer) *Check {
	return &Check{g: g, ctx: ctx, Viewer: v, inst: inst, memo: map[rowKey]bool{}, sgs: map[store.SharingGroupID]*misp.SharingGroup{},
		tags: map[string]*store.TagRow{}}
}

// SharingGroup reads a local sharing group once per check; nil when there is none.
func (c *Check) SharingGroup(id store.SharingGroupID) (*misp.SharingGroup, error) {
	if id == 0 {
		return nil, nil
	}
	if sg, ok := c.sgs[id]; ok {
		return sg, nil
	}
	sg, err := c.g.st.SharingGroup(c.ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	c.sgs[id] = sg
	return sg, nil
}

// rowEvent is the event-level part of an index row, as policy reads it.
func (c *Check) rowEvent(r *store.IndexRow) (*misp.Event, error) {
	ev := &misp.Event{
		ID: misp.Int(r.ID), UUID: r.UUID, OrgID: misp.Int(r.OrgID), OrgcID: misp.Int(r.OrgcID),
		Org:          &misp.Org{ID: misp.Int(r.OrgID), UUID: r.OrgUUID, Name: r.OrgName},
		Orgc:         &misp.Org{ID: misp.Int(r.OrgcID), UUID: r.OrgcUUID, Name: r.OrgcName},
		Distribution: r.Distribution, SharingGroupID: misp.Int(r.SharingGroupID),
		Published: misp.Bool(r.Published), Locked: misp.Bool(r.Locked), Timestamp: misp.Int(r.Timestamp),
	}
	if r.Distribution == misp.SharingGroupDist {
		sg, err := c.SharingGroup(r.SharingGroupID)
		if err != nil {
			return nil, err
		}
		ev.SharingGroup = sg
	}
	return ev, nil
}

// Row reports whether the viewer may see the event of an index row. The decision depends
// only on ownership, distribution, sharing group and published, so it is made once per
// combination.
func (c *Check) Row(r *store.IndexRow) (bool, error) {
	v := c.Viewer
	if v.SiteAdmin {
		return true, nil
	}
	k := rowKey{owner: int64(r.OrgID) == v.OrgID, dist: r.Distribution, published: r.Published}
	if r.Distribution == misp.SharingGroupDist {
		k.sg = r.SharingGroupID
	}
	if ok, seen := c.memo[k]; seen {
		return ok, nil
	}
	ev, err := c.rowEvent(r)
	if err != nil {
		return false, err
	}
	ok := c.inst.CanSeeEvent(v, ev).Allowed
	c.memo[k] = ok
	return ok, nil
}

// EventRow finds an event that the viewer may see.
func (c *Check) EventRow(id store.EventID) (*store.IndexRow, error) {
	r, err := c.g.st.EventRow(c.ctx, id)
	if err != nil {
		return nil, err
	}
	ok, err := c.Row(r)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("event %d: %w", id, store.ErrNotFound)
	}
	return r, nil
}

// Event returns a stored event as the viewer may see it, with every child kind trimmed
// (policy.Instance.Visible), or nil with the decision when the viewer may not see it. ev
// is the caller's own copy: clusters are given their local sharing groups in place.
func (c *Check) Event(ev *misp.Event) (*misp.Event, policy.Decision, error) {
	if err := c.localClusterGroups(ev); err != nil {
		return nil, policy.Decision{}, err
	}
	out, d := c.inst.Visible(c.Viewer, ev)
	return out, d, nil
}

// Element finds an attribute, object, report, reference or proposal by id or UUID that
// the viewer may see: its event, and every level of its own sharing (an object attribute's
// object and itself), or for a proposal the attribute it would change. It is the check
// for every write that targets an element (sightings, proposals, tags, analyst data).
func (c *Check) Element(table, ref string) (*store.ElementRef, *store.IndexRow, error) {
	el, err := c.g.st.ResolveElement(c.ctx, table, ref)
	if err != nil {
		return nil, nil, err
	}
	row, err := c.EventRow(el.EventID)
	if err != nil {
		return nil, nil, err
	}
	if el.Target != "" {
		if _, _, err := c.Element(store.ElemAttribute, el.Target); err != nil {
			return nil, nil, fmt.Errorf("%s %q: %w", table, ref, store.ErrNotFound)
		}
		return el, row, nil
	}
	ok, err := c.path(row, el.Path)
	if err != nil {
		return nil, nil, err
	}
	if ok && (table == store.ElemObject || table == store.ElemReference) {
		ok, err = c.inVisibleEvent(table, el)
		if err != nil {
			return nil, nil, err
		}
	}
	if !ok {
		return nil, nil, fmt.Errorf("%s %q: %w", table, ref, store.ErrNotFound)
	}
	return el, row, nil
}

// inVisibleEvent reports whether an object or a reference is in its event as the viewer
// sees it. Their own path is not the whole rule: an object none of whose attributes the
// viewer may see is left out, and so is a reference to what the viewer may not see, so
// the event is read and judged by Visible, as events/view would show it.
func (c *Check) inVisibleEvent(table string, el *store.ElementRef) (bool, error) {
	ev, err := c.g.st.Event(c.ctx, el.EventID)
	if err != nil {
		return false, err
	}
	out, _, err := c.Event(ev)
	if err != nil || out == nil {
		return false, err
	}
	for i := range out.Object {
		o := &out.Object[i]
		if table == store.ElemObject && o.UUID == el.UUID {
			return true, nil
		}
		if table == store.ElemReference && slices.ContainsFunc(o.ObjectReference, func(r misp.ObjectReference) bool { return r.UUID == el.UUID }) {
			return true, nil
		}
	}
	return false, nil
}

// Proposal reports store.ErrNotFound unless the viewer may see a stored proposal: its
// event and the attribute it would change (Element). Whoever sees the attribute sees every
// organisation's proposals on it, as MISP (and events/view) shows them.
func (c *Check) Proposal(r *store.ProposalRow) error {
	_, _, err := c.Element(store.ElemProposal, r.Proposal.UUID)
	return err
}

// path reports whether the viewer may see an element whose sharing below the event row
// is path.
func (c *Check) path(row *store.IndexRow, path []store.ElementSharing) (bool, error) {
	ev, err := c.rowEvent(row)
	if err != nil {
		return false, err
	}
	r := policy.EventReach(ev)
	for _, p := range path {
		var sg *misp.SharingGroup
		if p.Distribution == misp.SharingGroupDist {
			if sg, err = c.SharingGroup(p.SharingGroupID); err != nil {
				return false, err
			}
		}
		r = r.Child(p.Distribution, sg)
	}
	return c.inst.CanSee(c.Viewer, ev, r), nil
}

// Target finds the element an analyst data item, a sighting or a tag is about, by UUID,
// of any kind: an event, an attribute, an object, a report, or other analyst data. It
// reports store.ErrNotFound for what does not exist or the viewer may not see.
func (c *Check) Target(uuid string) error { return c.target(uuid, 0) }

// maxAnalystDepth bounds how many notes about notes a target is looked through.
const maxAnalystDepth = 8

func (c *Check) target(uuid string, depth int) error {
	if !misp.IsUUID(uuid) { // what a peer names is never a local id
		return fmt.Errorf("%q: %w", uuid, store.ErrNotFound)
	}
	id, err := c.g.st.ResolveEvent(c.ctx, uuid)
	if err == nil {
		_, err = c.EventRow(id)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	for _, table := range [...]string{store.ElemAttribute, store.ElemObject, store.ElemReport} {
		if _, _, err := c.Element(table, uuid); !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	d, err := store.ReadByRef(c.ctx, c.g.st.ResolveAnalystData, c.g.st.AnalystData, uuid)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err == nil && slices.Contains(misp.AnalystKinds[:], d.Kind) && depth < maxAnalystDepth {
		return c.analystData(d, depth+1)
	}
	return fmt.Errorf("%q: %w", uuid, store.ErrNotFound)
}

// AnalystData reports store.ErrNotFound unless the viewer may see a stored analyst data
// item: by its own distribution, and the element it is about (notes about notes: the note
// they are about).
func (c *Check) AnalystData(d *store.AnalystData) error { return c.analystData(d, 0) }

func (c *Check) analystData(d *store.AnalystData, depth int) error {
	m := misp.AnalystData{UUID: d.UUID, OrgUUID: d.OrgUUID, OrgcUUID: d.OrgcUUID, Distribution: misp.Distribution(d.Distribution)}
	if m.Distribution == misp.SharingGroupDist {
		sg, err := c.SharingGroup(d.SharingGroupID)
		if err != nil {
			return err
		}
		m.SharingGroup = sg
	}
	if !c.inst.CanSeeAnalystData(c.Viewer, &m) {
		return fmt.Errorf("%s %q: %w", d.Kind, d.UUID, store.ErrNotFound)
	}
	return c.target(d.ObjectUUID, depth)
}
