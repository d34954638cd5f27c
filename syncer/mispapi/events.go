package mispapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// visibility decides, per index row, whether the caller may see the event, with policy.
// The decision depends only on ownership, distribution, sharing group and published, so
// it is made once per combination: an index of 100,000 rows costs a handful of decisions.
type visibility struct {
	c    *call
	memo map[visKey]bool
	sgs  map[int64]*misp.SharingGroup
}

type visKey struct {
	owner     bool
	dist      misp.Distribution
	sg        int64
	published bool
}

func (c *call) visibility() *visibility {
	return &visibility{c: c, memo: map[visKey]bool{}, sgs: map[int64]*misp.SharingGroup{}}
}

func (v *visibility) sharingGroup(id int64) (*misp.SharingGroup, error) {
	if id == 0 {
		return nil, nil
	}
	if sg, ok := v.sgs[id]; ok {
		return sg, nil
	}
	sg, err := v.c.a.st.SharingGroup(v.c.ctx, itoa(id))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	v.sgs[id] = sg
	return sg, nil
}

// rowEvent is the event-level part of a row, as policy reads it.
func (v *visibility) rowEvent(r *store.IndexRow) (*misp.Event, error) {
	ev := &misp.Event{
		ID: misp.Int(r.ID), UUID: r.UUID, OrgID: misp.Int(r.OrgID), OrgcID: misp.Int(r.OrgcID),
		Org:          &misp.Org{ID: misp.Int(r.OrgID), UUID: r.OrgUUID, Name: r.OrgName},
		Orgc:         &misp.Org{ID: misp.Int(r.OrgcID), UUID: r.OrgcUUID, Name: r.OrgcName},
		Distribution: r.Distribution, SharingGroupID: misp.Int(r.SharingGroupID),
		Published: misp.Bool(r.Published), Locked: misp.Bool(r.Locked), Timestamp: misp.Int(r.Timestamp),
	}
	if r.Distribution == misp.SharingGroupDist {
		sg, err := v.sharingGroup(r.SharingGroupID)
		if err != nil {
			return nil, err
		}
		ev.SharingGroup = sg
	}
	return ev, nil
}

func (v *visibility) canSee(r *store.IndexRow) (bool, error) {
	vw := v.c.viewer
	if vw.SiteAdmin {
		return true, nil
	}
	k := visKey{owner: r.OrgID == vw.OrgID, dist: r.Distribution, published: r.Published}
	if r.Distribution == misp.SharingGroupDist {
		k.sg = r.SharingGroupID
	}
	if ok, seen := v.memo[k]; seen {
		return ok, nil
	}
	inst, err := v.c.instance()
	if err != nil {
		return false, err
	}
	ev, err := v.rowEvent(r)
	if err != nil {
		return false, err
	}
	ok := inst.CanSeeEvent(vw, ev).Allowed
	v.memo[k] = ok
	return ok, nil
}

// visibleRow finds an event by id or UUID that the caller may see; anything else is
// MISP's 404 "Invalid event".
func (c *call) visibleRow(ref string) (*store.IndexRow, error) {
	if ref == "" {
		return nil, notFound("Invalid event")
	}
	r, err := c.a.st.EventRow(c.ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Invalid event")
	}
	if err != nil {
		return nil, err
	}
	ok, err := c.visibility().canSee(r)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("Invalid event")
	}
	return r, nil
}

// eventsView is GET|HEAD /events/view/<id|uuid>[/named params].
func (c *call) eventsView() error {
	row, err := c.visibleRow(c.path.Arg(0))
	if err != nil {
		return err
	}
	if c.r.Method == http.MethodHead {
		c.w.WriteHeader(http.StatusOK)
		return nil
	}
	ev, err := c.a.st.Event(c.ctx, itoa(row.ID))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("Invalid event")
	}
	if err != nil {
		return err
	}
	inst, err := c.instance()
	if err != nil {
		return err
	}
	out, d := inst.Visible(c.viewer, ev)
	if out == nil || !d.Allowed {
		return notFound("Invalid event")
	}
	c.trimView(out)
	b, err := misp.MarshalEvent(out)
	if err != nil {
		return err
	}
	c.replyRaw(http.StatusOK, b)
	return nil
}

// trimView applies the view's named parameters: excludeLocalTags, deleted, excludeGalaxy,
// noSightings, noShadowAttributes, noEventReports.
func (c *call) trimView(e *misp.Event) {
	p := &c.path
	noLocal := p.Flag("excludeLocalTags")
	withDeleted := false
	for _, d := range p.Named["deleted"] {
		if d == "1" || strings.EqualFold(d, "true") {
			withDeleted = true
		}
	}
	noGalaxy, noSight, noProp := p.Flag("excludeGalaxy"), p.Flag("noSightings"), p.Flag("noShadowAttributes")
	if p.Flag("noEventReports") {
		e.EventReport = nil
	}
	if noLocal {
		e.Tag = dropLocal(e.Tag)
	}
	if noGalaxy {
		e.Galaxy = nil
	}
	if noProp {
		e.ShadowAttribute = nil
	}
	attrs := func(in []misp.Attribute) []misp.Attribute {
		out := in[:0]
		for _, a := range in {
			if bool(a.Deleted) && !withDeleted {
				continue
			}
			if noLocal {
				a.Tag = dropLocal(a.Tag)
			}
			if noGalaxy {
				a.Galaxy = nil
			}
			if noSight {
				a.Sighting = nil
			}
			if noProp {
				a.ShadowAttribute = nil
			}
			out = append(out, a)
		}
		return out
	}
	e.Attribute = attrs(e.Attribute)
	objs := e.Object[:0]
	for _, o := range e.Object {
		if bool(o.Deleted) && !withDeleted {
			continue
		}
		o.Attribute = attrs(o.Attribute)
		objs = append(objs, o)
	}
	e.Object = objs
}

func dropLocal(tags []misp.Tag) []misp.Tag {
	out := tags[:0]
	for _, t := range tags {
		if !t.Local {
			out = append(out, t)
		}
	}
	return out
}

// eventsAdd is POST /events/add[/metadata:1].
func (c *call) eventsAdd() error {
	ev, err := c.eventBody("Could not add Event")
	if err != nil {
		return err
	}
	if row, err := c.a.st.EventRow(c.ctx, ev.UUID); err == nil {
		base := ""
		if inst, err := c.instance(); err == nil && len(inst.BaseURLs) > 0 {
			base = strings.TrimRight(inst.BaseURLs[0], "/")
		}
		e := notFound("Event already exists, if you would like to edit it, use the url in the location header.")
		e.header = http.Header{"Location": {base + "/events/" + itoa(row.ID)}}
		return e
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return c.storeEvent(ev, nil, "Could not add Event")
}

// eventsEdit is POST|PUT /events/edit/<id|uuid>[/metadata:1].
func (c *call) eventsEdit() error {
	row, err := c.visibleRow(c.path.Arg(0))
	if err != nil {
		return err
	}
	ev, err := c.eventBody("Could not edit Event")
	if err != nil {
		return err
	}
	if ev.UUID != row.UUID {
		return saveFail(c, "Could not edit Event", itoa(row.ID), "Event could not be saved: the event in the request has another UUID than the event edited.")
	}
	role := &c.who.User.Role
	creator := row.OrgcID == c.who.User.OrgID
	if !role.PermSiteAdmin && !creator && !(role.PermSync && row.Locked) {
		return saveFail(c, "Could not edit Event", itoa(row.ID), "Event could not be saved: you are not authorised to do so, the event was created by another organisation.")
	}
	if !role.PermSiteAdmin && !creator && !role.PermSync && !role.PermModify {
		return forbidden(msgNoPerm)
	}
	return c.storeEvent(ev, row, "Could not edit Event")
}

// eventBody decodes the pushed event as it arrives (a large event is never held twice, as
// text and as data): MISP's validation envelope when it cannot.
func (c *call) eventBody(failName string) (*misp.Event, error) {
	rb, err := c.bodyReader()
	if err != nil {
		return nil, err
	}
	defer rb.close()
	ev, err := misp.ReadEvent(rb)
	if err != nil {
		if e := rb.failure(); e != nil {
			return nil, e
		}
		var de *misp.DecodeError
		if errors.As(err, &de) && de.Syntax {
			return nil, httpError(http.StatusBadRequest, msgInvalidJSON)
		}
		return nil, saveFail(c, failName, nil, map[string]any{"Event": []string{err.Error()}})
	}
	return ev, nil
}

// storeEvent decides with policy what of ev the caller may store, stores it, and queues
// onward pushes of a published event. local is the stored copy for an edit.
func (c *call) storeEvent(ev *misp.Event, local *store.IndexRow, failName string) error {
	u := &c.who.User
	role := &u.Role
	var idOut any
	if local != nil {
		idOut = itoa(local.ID)
	}
	bl, err := c.a.st.Blocklists(c.ctx)
	if err != nil {
		return err
	}
	pbl := policy.Blocklists{Events: policy.UUIDSet(bl.Events), Orgs: policy.UUIDSet(bl.Orgs)}
	var lc *policy.LocalCopy
	if local != nil {
		lc = &policy.LocalCopy{Timestamp: local.Timestamp, Locked: local.Locked}
	}
	if bool(ev.Published) && !role.PermPublish {
		ev.Published = false // MISP stores it unpublished, silently
	}
	toStore := ev
	opts := store.UpsertOptions{OwnerOrgID: u.OrgID, UserID: u.ID, DefaultDistribution: misp.OrgOnly}
	var link int64 // the sync link the event arrived by
	if role.PermSync {
		inst, err := c.instance()
		if err != nil {
			return err
		}
		from, err := c.senderLink()
		if err != nil {
			return err
		}
		res := inst.Receive(c.viewer, from, ev, lc, pbl)
		if !res.Allowed {
			return c.refusal(res.Decision, failName, idOut)
		}
		toStore = res.Event
		if from != nil {
			link = from.ID
		}
	} else {
		// A user that is not a sync account creates events of its own organisation
		// (MISP forces Orgc), with this instance's sharing-group ids.
		opts.LocalIDs = true
		if local == nil {
			ev.Orgc = &misp.Org{ID: misp.Int(u.Org.ID), UUID: u.Org.UUID, Name: u.Org.Name}
		} else {
			ev.Orgc = nil
		}
		if pbl.Events.Has(ev.UUID) {
			return forbidden("Event blocked by event blocklist.")
		}
		if local == nil && pbl.Orgs.Has(u.Org.UUID) {
			return forbidden("Event blocked by organisation blocklist.")
		}
		if ev.Timestamp == 0 {
			ev.Timestamp = misp.Int(max(time.Now().Unix(), lcTimestamp(lc)+1))
		}
		if lc != nil && int64(ev.Timestamp) <= lc.Timestamp {
			return saveFail(c, failName, idOut, msgNotNewer)
		}
	}
	// A received published event flows on to this instance's push servers, queued in the
	// same transaction as the event, never back to the sender.
	res, err := c.a.events.UpsertEvent(c.ctx, toStore, opts.PassAlong(link))
	if err != nil {
		if errors.Is(err, misp.ErrGalaxyDocument) || errors.Is(err, store.ErrInvalidEvent) {
			return saveFail(c, failName, idOut, map[string]any{"Event": []string{err.Error()}})
		}
		return err
	}
	if res.Outcome == store.Skipped {
		msg := msgNotNewer
		if !strings.HasPrefix(res.Reason, "not newer") {
			msg = "Event could not be saved: " + res.Reason
		}
		return saveFail(c, failName, idOut, msg)
	}
	read := c.a.st.Event
	if c.path.Flag("metadata") {
		read = c.a.st.EventMetadata // a pusher asks for metadata only: no need to read the rest
	}
	saved, err := read(c.ctx, itoa(res.EventID))
	if err != nil {
		return err
	}
	if inst, err := c.instance(); err == nil {
		if out, _ := inst.Visible(c.viewer, saved); out != nil {
			saved = out
		}
	}
	b, err := misp.MarshalEvent(saved)
	if err != nil {
		return err
	}
	c.replyRaw(http.StatusOK, b)
	return nil
}

func lcTimestamp(lc *policy.LocalCopy) int64 {
	if lc == nil {
		return 0
	}
	return lc.Timestamp
}

// refusal turns a policy refusal into MISP's answer for it.
func (c *call) refusal(d policy.Decision, failName string, id any) error {
	step := d.BlockedBy()
	if step == nil {
		return saveFail(c, failName, id, "Event could not be saved.")
	}
	switch step.Rule {
	case "event_blocklist":
		return forbidden("Event blocked by event blocklist.")
	case "org_blocklist":
		return forbidden("Event blocked by organisation blocklist.")
	case "perm_sync":
		return forbidden(msgNoPerm)
	case "empty_event":
		return saveFail(c, failName, id, "Received a published event that was empty. Event add process blocked.")
	}
	msg := step.Reason
	if !strings.HasPrefix(msg, "Event could not be saved") {
		msg = "Event could not be saved: " + msg
	}
	return saveFail(c, failName, id, msg)
}

// senderLink is this instance's sync link to the instance a sync account pushes for: the
// server whose remote organisation is the account's organisation, if any.
func (c *call) senderLink() (*policy.Server, error) {
	servers, err := c.a.st.Servers(c.ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range servers {
		if s.RemoteOrgID == c.who.User.OrgID {
			return &policy.Server{ID: s.ID, Name: s.Name, URL: s.URL, Internal: s.Internal,
				Org:       misp.Org{ID: misp.Int(s.Organisation.ID), UUID: s.Organisation.UUID, Name: s.Organisation.Name},
				RemoteOrg: misp.Org{ID: misp.Int(s.RemoteOrg.ID), UUID: s.RemoteOrg.UUID, Name: s.RemoteOrg.Name},
				Push:      s.Push, Pull: s.Pull}, nil
		}
	}
	return nil, nil
}

// filterEventIdsForPush is POST /events/filterEventIdsForPush: of the offered events, the
// UUIDs this instance wants — unknown, or known, locked and older.
func (c *call) filterEventIdsForPush() error {
	var in []struct {
		Event struct {
			UUID      string   `json:"uuid"`
			Timestamp misp.Int `json:"timestamp"`
		} `json:"Event"`
	}
	b, err := c.body()
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return httpError(http.StatusBadRequest, msgInvalidJSON)
	}
	want := []string{}
	refs := make([]string, 0, len(in))
	for _, e := range in {
		if misp.IsUUID(e.Event.UUID) {
			refs = append(refs, strings.ToLower(e.Event.UUID))
		}
	}
	have := map[string]store.IndexRow{}
	for len(refs) > 0 {
		n := min(len(refs), 500)
		err := c.a.st.EventIndex(c.ctx, store.IndexQuery{EventIDs: refs[:n]}, func(r *store.IndexRow) bool {
			have[r.UUID] = *r
			return true
		})
		if err != nil {
			return err
		}
		refs = refs[n:]
	}
	seen := map[string]bool{}
	for _, e := range in {
		u := strings.ToLower(e.Event.UUID)
		if !misp.IsUUID(u) || seen[u] {
			continue
		}
		seen[u] = true
		r, ok := have[u]
		if !ok || (r.Locked && r.Timestamp < int64(e.Event.Timestamp)) {
			want = append(want, u)
		}
	}
	return c.reply(http.StatusOK, want)
}

// eventReportsAddDescribe is GET /eventReports/add: MISP's API description of the
// endpoint. Pushers send event reports only when it answers with a description.
func (c *call) eventReportsAddDescribe() error {
	return c.reply(http.StatusOK, map[string]any{
		"name":        "Add Event Report",
		"description": "POST an Event Report object in JSON format to this API to add an Event Report.",
		"url":         "/eventReports/add/[event_id]",
		"mandatory":   []string{"name"},
		"optional":    []string{"distribution", "sharing_group_id", "content"},
	})
}

// intParam reads a positive integer named parameter or body value.
func atoiDefault(s string, def int) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return def
	}
	return n
}
