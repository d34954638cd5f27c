package mispapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/gate"
)

// visibleRow finds an event by id or UUID that the caller may see; anything else is
// MISP's 404 "Invalid event".
func (c *call) visibleRow(ref string) (*store.IndexRow, error) {
	if ref == "" {
		return nil, notFound("Invalid event")
	}
	chk, err := c.check()
	if err != nil {
		return nil, err
	}
	id, err := c.a.st.ResolveEvent(c.ctx, ref)
	if err != nil {
		return nil, notFoundOr(err, "Invalid event")
	}
	r, err := chk.EventRow(id)
	if err != nil {
		return nil, notFoundOr(err, "Invalid event")
	}
	return r, nil
}

// view is a stored event as the caller may see it (the gate), or nil when it may not.
func (c *call) view(ev *misp.Event) (*misp.Event, error) {
	chk, err := c.check()
	if err != nil {
		return nil, err
	}
	out, d, err := chk.Event(ev)
	if err != nil || out == nil || !d.Allowed {
		return nil, err
	}
	return out, nil
}

// viewAnalystData is view with the stored analyst data about the event and its elements
// embedded first (MISP's includeAnalystData), so that the gate keeps of it only what the
// caller may see, each item by its own distribution, on the elements the caller sees.
func (c *call) viewAnalystData(ev *misp.Event) (*misp.Event, error) {
	chk, err := c.check()
	if err != nil {
		return nil, err
	}
	if err := chk.EmbedAnalystData(ev); err != nil {
		return nil, err
	}
	return c.view(ev)
}

// eventsView is GET|HEAD /events/view/<id|uuid>[/named params], and POST with the body's
// deleted and extended (PyMISP's get_event(deleted=…, extended=…)), which MISP reads as
// those named parameters. extended merges in the events that extend this one, those the
// caller may see and as it may see them (Event::__mergeExtensions).
func (c *call) eventsView() error {
	row, err := c.visibleRow(c.path.Arg(0))
	if err != nil {
		return err
	}
	if c.r.Method == http.MethodHead {
		c.w.WriteHeader(http.StatusOK)
		return nil
	}
	if err := c.viewBodyParams(); err != nil {
		return err
	}
	ev, err := c.a.st.Event(c.ctx, row.ID)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("Invalid event")
	}
	if err != nil {
		return err
	}
	// MISP's REST view always embeds the analyst data (includeAnalystData)
	out, err := c.viewAnalystData(ev)
	if err != nil {
		return err
	}
	if out == nil {
		return notFound("Invalid event")
	}
	c.trimView(out)
	if c.path.Flag("extended") {
		if err := c.mergeExtensions(out); err != nil {
			return err
		}
	}
	// MISP's summary of each reference's target, taken from the event as trimmed for
	// the caller: a target it may not see is not there to be summarised
	if err := out.SummariseReferenceTargets(); err != nil {
		return err
	}
	if err := c.attachCorrelations(out, c.viewCorrelations()); err != nil {
		return err
	}
	b, err := misp.MarshalEvent(out)
	if err != nil {
		return err
	}
	c.replyRaw(http.StatusOK, b)
	return nil
}

// viewBodyParams takes a POSTed view's deleted and extended (true, a number, or a list of
// them) as the named parameters of those names.
func (c *call) viewBodyParams() error {
	if c.r.Method == http.MethodGet {
		return nil
	}
	f, err := c.fields("Event")
	if err != nil {
		return err
	}
	for _, k := range []string{"deleted", "extended"} {
		v, ok := f[k]
		if !ok {
			continue
		}
		var list []jsontext.Value
		if json.Unmarshal(v, &list) != nil {
			list = []jsontext.Value{v}
		}
		if c.path.Named == nil {
			c.path.Named = map[string][]string{}
		}
		for _, x := range list {
			switch s := strings.Trim(string(x), `"`); s {
			case "true":
				c.path.Named[k] = append(c.path.Named[k], "1")
			case "false", "null":
				c.path.Named[k] = append(c.path.Named[k], "0")
			default:
				c.path.Named[k] = append(c.path.Named[k], s)
			}
		}
	}
	return nil
}

// mergeExtensions adds to ev what the events extending it hold (attributes, objects,
// proposals, galaxies, reports unless left out, tags it lacks), each extension as the
// caller may see it, and names them in extensionEvents, as MISP's extended view.
func (c *call) mergeExtensions(ev *misp.Event) error {
	ids, err := c.a.st.ExtendingEvents(c.ctx, ev.UUID)
	if err != nil {
		return err
	}
	chk, err := c.check()
	if err != nil {
		return err
	}
	meta := map[string]any{}
	for _, id := range ids {
		if _, err := chk.EventRow(id); isNotFound(err) {
			continue
		} else if err != nil {
			return err
		}
		full, err := c.a.st.Event(c.ctx, id)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		ext, err := c.view(full)
		if err != nil {
			return err
		}
		if ext == nil {
			continue
		}
		c.trimView(ext)
		m := map[string]any{"id": itoa(int64(ext.ID)), "info": ext.Info, "orgc_id": itoa(int64(ext.OrgcID))}
		if u, ok := ext.Extra["user_id"]; ok {
			m["user_id"] = u
		}
		if ext.Orgc != nil {
			m["Orgc"] = map[string]any{"id": itoa(int64(ext.Orgc.ID)), "name": ext.Orgc.Name, "uuid": ext.Orgc.UUID}
		}
		meta[itoa(int64(ext.ID))] = m
		ev.Attribute = append(ev.Attribute, ext.Attribute...)
		ev.Object = append(ev.Object, ext.Object...)
		ev.ShadowAttribute = append(ev.ShadowAttribute, ext.ShadowAttribute...)
		ev.Galaxy = append(ev.Galaxy, ext.Galaxy...)
		if !c.path.Flag("noEventReports") {
			ev.EventReport = append(ev.EventReport, ext.EventReport...)
		}
		for _, t := range ext.Tag {
			if !slices.ContainsFunc(ev.Tag, func(have misp.Tag) bool { return strings.EqualFold(have.Name, t.Name) }) {
				ev.Tag = append(ev.Tag, t)
			}
		}
	}
	if len(meta) == 0 {
		return nil
	}
	b, err := json.Marshal(meta, json.Deterministic(true))
	if err != nil {
		return err
	}
	if ev.Extra == nil {
		ev.Extra = misp.Extra{}
	}
	ev.Extra["extensionEvents"] = b
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
	if id, err := c.a.st.ResolveEvent(c.ctx, ev.UUID); err == nil {
		base := ""
		if inst, err := c.instance(); err == nil && len(inst.BaseURLs) > 0 {
			base = strings.TrimRight(inst.BaseURLs[0], "/")
		}
		e := notFound("Event already exists, if you would like to edit it, use the url in the location header.")
		e.header = http.Header{"Location": {base + "/events/" + itoa(id)}}
		return e
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return c.storeEvent(ev, nil, "Could not add Event")
}

// eventsEdit is POST|PUT /events/edit/<id|uuid>[/metadata:1], in MISP's order
// (EventsController::edit, Event::_edit): a caller that may not modify the event and is
// no sync account is refused; then an event in the request not newer than the stored one
// is refused, before anything else is said about it, as pushers match that answer; then
// only the creator organisation, a site admin, or a sync account for an event that came
// by sync may change it. Fields the request leaves out keep their stored values.
func (c *call) eventsEdit() error {
	const failName = "Could not edit Event"
	row, err := c.visibleRow(c.path.Arg(0))
	if err != nil {
		return err
	}
	role := &c.who.User.Role
	if c.mayModify(row) != nil && !role.PermSync {
		return forbidden("You are not authorised to do that.")
	}
	ev, err := c.editBody(row, failName)
	if err != nil {
		return err
	}
	if ev.UUID != row.UUID {
		return saveFail(c, failName, itoa(row.ID), "Event could not be saved: the event in the request has another UUID than the event edited.")
	}
	if ev.Timestamp != 0 && int64(ev.Timestamp) <= row.Timestamp {
		return saveFail(c, failName, itoa(row.ID), msgNotNewer)
	}
	if ev.Timestamp == 0 {
		ev.Timestamp = misp.Int(max(time.Now().Unix(), row.Timestamp+1)) // MISP stamps an edit without one
	}
	if row.OrgcID != c.who.User.OrgID && !role.PermSiteAdmin && !(role.PermSync && row.Locked) {
		return saveFail(c, failName, itoa(row.ID), "Event could not be saved: The user used to edit the event is not authorised to do so. This can be caused by the user not being of the same organisation as the original creator of the event whilst also not being a site administrator.")
	}
	return c.storeEvent(ev, row, failName)
}

// editBody decodes an edit's event with what it leaves out taken from the stored event,
// as MISP's _edit recovers them: the UUID (an edit may name the event by its path alone),
// info, date, threat level, analysis and distribution with its sharing group.
func (c *call) editBody(row *store.IndexRow, failName string) (*misp.Event, error) {
	b, err := c.body()
	if err != nil {
		return nil, err
	}
	var doc map[string]jsontext.Value
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, httpError(http.StatusBadRequest, msgInvalidJSON)
	}
	fields := doc
	if inner, ok := doc["Event"]; ok {
		if err := json.Unmarshal(inner, &fields); err != nil {
			return nil, saveFail(c, failName, itoa(row.ID), map[string]any{"Event": []string{"Event must be a JSON object."}})
		}
	}
	stored := map[string]any{"uuid": row.UUID, "info": row.Info, "date": row.Date, "threat_level_id": itoa(row.ThreatLevelID),
		"analysis": itoa(row.Analysis), "distribution": itoa(int64(row.Distribution)), "sharing_group_id": itoa(row.SharingGroupID)}
	for k, v := range stored {
		if _, ok := fields[k]; !ok {
			if fields[k], err = json.Marshal(v); err != nil {
				return nil, fmt.Errorf("edit event %s: %w", row.UUID, err)
			}
		}
	}
	if b, err = json.Marshal(map[string]any{"Event": fields}); err != nil {
		return nil, fmt.Errorf("edit event %s: %w", row.UUID, err)
	}
	ev, err := misp.ParseEvent(b)
	if err != nil {
		return nil, saveFail(c, failName, itoa(row.ID), map[string]any{"Event": []string{err.Error()}})
	}
	return ev, nil
}

// syncPush says whether an event sent to events/add or events/edit is another
// instance's push, to be received as policy says, rather than a user's add or edit: the
// caller is a sync account and the event is marked locked, as every MISP (and mispdesk)
// pusher marks what it pushes and as MISP stores it. A site admin's or a user's event is
// theirs to make, with this instance's sharing groups.
func (c *call) syncPush(ev *misp.Event) bool {
	return c.who.User.Role.PermSync && bool(ev.Locked)
}

// eventBody decodes the pushed event as it arrives (a large event is never held twice, as
// text and as data): MISP's validation envelope when it cannot.
func (c *call) eventBody(failName string) (*misp.Event, error) {
	rb, err := c.bodyReader()
	if err != nil {
		return nil, err
	}
	defer rb.close()
	ev, err := misp.ReadEvent(c.keepSigned(rb))
	if err != nil {
		if e := rb.failure(); e != nil {
			return nil, e
		}
		if errors.Is(err, misp.ErrTooLarge) {
			e := httpError(http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than this instance accepts (its elements pass %d bytes in memory).", misp.MaxElementBytes))
			e.header = http.Header{"Connection": {"close"}}
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
	if err := c.checkProtected(ev, local); err != nil {
		return err
	}
	u := &c.who.User
	role := &u.Role
	var idOut any
	if local != nil {
		idOut = itoa(local.ID)
	}
	pbl, err := gate.Blocklists(c.ctx, c.a.st)
	if err != nil {
		return err
	}
	lc := gate.LocalCopy(local)
	if bool(ev.Published) && !role.PermPublish {
		ev.Published = false // MISP stores it unpublished, silently
	}
	toStore := ev
	opts := store.UpsertOptions{OwnerOrgID: u.OrgID, UserID: u.ID, DefaultDistribution: misp.OrgOnly}
	if c.syncPush(ev) {
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
	} else {
		// A user that is not a sync account creates events of its own organisation
		// (MISP forces Orgc), with this instance's sharing-group ids.
		opts.LocalIDs = true
		if local == nil {
			ev.Orgc = &misp.Org{ID: misp.Int(u.Org.ID), UUID: u.Org.UUID, Name: u.Org.Name}
			ev.EventCreatorEmail = u.Email // MISP's event_creator_email: its user_id's address
		} else {
			ev.Orgc = nil
		}
		if pbl.Events.Has(ev.UUID) {
			return forbidden("Event blocked by event blocklist.")
		}
		if err := c.mayUseSharingGroup(ev); err != nil {
			return err
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
	res, err := c.a.events.UpsertEvent(c.ctx, toStore, opts.PassAlong(0))
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
	saved, err := read(c.ctx, res.EventID)
	if err != nil {
		return err
	}
	out, err := c.view(saved)
	if err != nil {
		return err
	}
	if out != nil {
		saved = out
	}
	b, err := misp.MarshalEvent(saved)
	if err != nil {
		return err
	}
	c.replyRaw(http.StatusOK, b)
	return nil
}

// mayUseSharingGroup refuses a user's event with distribution 4 whose sharing group the
// user may not see here, as MISP's add and edit do.
func (c *call) mayUseSharingGroup(ev *misp.Event) error {
	if ev.Distribution != misp.SharingGroupDist {
		return nil
	}
	_, err := c.usableSharingGroup(ev.SharingGroupID, ev.SharingGroup)
	return err
}

// usableSharingGroup is the local sharing group named by sg's UUID, or else by id, when the
// caller may use it (mayUseSharingGroup).
func (c *call) usableSharingGroup(id misp.Int, sg *misp.SharingGroup) (*misp.SharingGroup, error) {
	ref := itoa(int64(id))
	if sg != nil && sg.UUID != "" {
		ref = sg.UUID
	}
	refused := httpError(http.StatusMethodNotAllowed, "Invalid Sharing Group or not authorised.")
	local, err := store.ReadByRef(c.ctx, c.a.st.ResolveSharingGroup, c.a.st.SharingGroup, ref)
	if errors.Is(err, store.ErrNotFound) {
		return nil, refused
	}
	if err != nil {
		return nil, err
	}
	inst, err := c.instance()
	if err != nil {
		return nil, err
	}
	if !inst.CanSeeSharingGroup(c.viewer, local) {
		return nil, refused
	}
	return local, nil
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

// senderLink is this instance's sync link to the instance a sync account pushes for, by
// which the event's sharing groups are read: the one server whose remote organisation is
// the account's organisation. When several links have that organisation (two instances of
// one organisation) the sender cannot be told, and there is none.
//
// A received push is passed on to every push server, the sender's link included, as MISP's
// EventsController::add passes no passAlong: a link cannot be told from its organisation
// alone (a sync account of this instance's own organisation pushes for one instance while
// the link of that organisation leads to another), and the sender answers the offer of its
// own event by wanting nothing.
func (c *call) senderLink() (*policy.Server, error) {
	servers, err := c.a.st.Servers(c.ctx)
	if err != nil {
		return nil, err
	}
	var found *store.Server
	for i := range servers {
		if servers[i].RemoteOrgID != c.who.User.OrgID {
			continue
		}
		if found != nil {
			return nil, nil
		}
		found = &servers[i]
	}
	if found == nil {
		return nil, nil
	}
	return gate.Server(found)
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

func atoi64(s string) int64 { return int64(atoiDefault(s, 0)) }

// eventsDelete is POST|DELETE /events/delete/<id|uuid>.
func (c *call) eventsDelete() error {
	ref := c.path.Arg(0)
	if ref == "" {
		// MISP also takes {"id": …} in the body for a bulk delete.
		f, err := c.fields("Event")
		if err != nil {
			return err
		}
		ref = f.str("id")
	}
	row, err := c.visibleRow(ref)
	if err != nil {
		return err
	}
	if err := c.mayModify(row); err != nil {
		return err
	}
	block := c.a.cfg.BlocklistOnDelete || c.path.Flag("blocklist")
	if err := c.a.st.DeleteEvent(c.ctx, row.ID, block, "Deleted over the API by "+c.who.User.Email); err != nil {
		return notFoundOr(err, "Invalid event")
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Event deleted.", "Event deleted.", itoa(row.ID)))
}

// eventsPublish is POST /events/publish/<id|uuid>: publish and queue the pushes.
func (c *call) eventsPublish() error {
	row, err := c.visibleRow(c.path.Arg(0))
	if err != nil {
		return err
	}
	if !c.who.User.Role.PermSiteAdmin && row.OrgcID != c.who.User.OrgID {
		return forbidden("You do not have the permission to do that.")
	}
	res, err := c.a.st.Publish(c.ctx, row.ID)
	if err != nil {
		return notFoundOr(err, "Invalid event")
	}
	if res.Queued > 0 {
		c.a.wake()
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Job queued", "Job queued", itoa(row.ID)))
}

// eventsUnpublish is POST /events/unpublish/<id|uuid>.
func (c *call) eventsUnpublish() error {
	row, err := c.visibleRow(c.path.Arg(0))
	if err != nil {
		return err
	}
	if !c.who.User.Role.PermSiteAdmin && row.OrgcID != c.who.User.OrgID {
		return forbidden("You do not have the permission to do that.")
	}
	if err := c.a.st.Unpublish(c.ctx, row.ID); err != nil {
		return notFoundOr(err, "Invalid event")
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Event unpublished.", "Event unpublished.", itoa(row.ID)))
}
