package mispapi

// Sightings (MISP's SightingsController): sightings/add, delete, index and listSightings.

import (
	"net/http"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/google/uuid"

	"mispdesk/store"
	"mispdesk/store/misp"
)

func (a *API) registerSightings() {
	a.handleWrite("sightings/add", methodsPost, permSighting, (*call).sightingsAdd)
	a.handle("sightings/listSightings", methodsGetPost, permAuth, (*call).sightingsList)
	a.handle("sightings/index", methodsGet, permAuth, (*call).sightingsIndex)
	a.handleWrite("sightings/delete", methodsPost, permSightingDelete, (*call).sightingsDelete)
}

// permSightingDelete is MISP's ACL for sightings/delete: perm_sighting and perm_modify_org.
func permSightingDelete(r *store.Role) bool {
	return (r.PermSighting && r.PermModifyOrg) || r.PermSiteAdmin
}

// sightingsAdd is POST /sightings/add[/<attribute id|uuid>]: a sighting of one
// attribute, or (with "value" or "values") of every visible attribute with that value.
func (c *call) sightingsAdd() error {
	f, err := c.fields("Sighting")
	if err != nil {
		return err
	}
	typ := atoi64(f.str("type"))
	if typ < 0 || typ > 2 {
		return saveFail(c, "Could not add Sighting", nil, map[string][]string{"type": {"Invalid type."}})
	}
	date := time.Now().Unix()
	for _, k := range []string{"date_sighting", "timestamp"} {
		if v := f.str(k); v != "" {
			if t, ok := timeValue(v, time.Now()); ok && t > 0 {
				date = t
			}
		}
	}
	source := f.str("source")
	ref := c.path.Arg(0)
	for _, k := range []string{"id", "uuid", "attribute_uuid", "attribute_id"} {
		if ref == "" {
			ref = f.str(k)
		}
	}
	var targets []*store.ElementRef
	if ref != "" {
		el, _, err := c.attributeRow(ref)
		if err != nil {
			return err
		}
		targets = append(targets, el)
	} else {
		vals := nonEmpty([]string{f.str("value")})
		if v, ok := f["values"]; ok {
			var list []string
			if json.Unmarshal(v, &list) == nil {
				vals = append(vals, nonEmpty(list)...)
			}
		}
		if len(vals) == 0 {
			return saveFail(c, "Could not add Sighting", nil, "No valid attributes found.")
		}
		s := &search{page: 1}
		s.q.Attribute.Values = vals
		s.filterAttrs = true
		err := c.searchEvents(s, func(ev *misp.Event) bool {
			add := func(a *misp.Attribute) {
				targets = append(targets, &store.ElementRef{ID: int64(a.ID), UUID: a.UUID, EventID: store.EventID(ev.ID)})
			}
			for i := range ev.Attribute {
				add(&ev.Attribute[i])
			}
			for i := range ev.Object {
				for j := range ev.Object[i].Attribute {
					add(&ev.Object[i].Attribute[j])
				}
			}
			return true
		})
		if err != nil {
			return err
		}
	}
	if len(targets) == 0 {
		return saveFail(c, "Could not add Sighting", nil, "No valid attributes found.")
	}
	var last misp.Sighting
	for _, t := range targets {
		row, err := c.a.st.EventRow(c.ctx, t.EventID)
		if err != nil {
			return err
		}
		sg := misp.Sighting{UUID: uuid.NewString(), AttributeUUID: t.UUID, DateSighting: misp.Int(date), Source: source, Type: misp.Int(typ)}
		if _, err := c.a.st.SaveSightings(c.ctx, row.UUID, []misp.Sighting{sg}, false, c.who.User.OrgID); err != nil {
			return err
		}
		last = sg
		last.AttributeID, last.EventID, last.OrgID = misp.Int(t.ID), misp.Int(t.EventID), misp.Int(c.who.User.OrgID)
		last.EventUUID = row.UUID
	}
	c.a.wake() // push_sightings rows were queued
	if len(targets) == 1 {
		return c.reply(http.StatusOK, map[string]any{"Sighting": last})
	}
	msg := itoa(int64(len(targets))) + " sightings successfully added."
	return c.reply(http.StatusOK, saveSuccess(c, msg, msg, nil))
}

// eventSightings are the event's sightings the caller may see, as it may see them: those
// left on its attributes once the gate has trimmed the event for the caller (the
// attribute visible on its whole path; which organisations' sightings, and whether named,
// as Plugin.Sightings_policy and anonymisation say), each with its attribute's UUID.
func (c *call) eventSightings(row *store.IndexRow) ([]misp.Sighting, error) {
	ev, err := c.visibleEvent(row)
	if err != nil {
		return nil, err
	}
	var out []misp.Sighting
	ev.ForEachAttribute(func(a *misp.Attribute) {
		for _, s := range a.Sighting {
			if s.AttributeUUID == "" {
				s.AttributeUUID = a.UUID
			}
			out = append(out, s)
		}
	})
	return out, nil
}

// visibleSightings adds to seen the UUIDs of the event's sightings the caller may see
// (eventSightings).
func (c *call) visibleSightings(row *store.IndexRow, seen map[string]bool) error {
	list, err := c.eventSightings(row)
	for _, s := range list {
		seen[strings.ToLower(s.UUID)] = true
	}
	return err
}

// sightingsIndex is GET /sightings/index[/<event id|uuid>] (SightingsController::index):
// the sightings the caller may see, of that event or of every event, as a flat list. An
// event the caller may not see has none, as in MISP.
func (c *call) sightingsIndex() error {
	chk, err := c.check()
	if err != nil {
		return err
	}
	var ids []store.EventID
	if ref := c.path.Arg(0); ref != "" {
		id, err := c.a.st.ResolveEvent(c.ctx, ref)
		if err != nil && !isNotFound(err) {
			return err
		}
		if err == nil {
			ids = append(ids, id)
		}
	} else if ids, err = c.a.st.SightedEvents(c.ctx); err != nil {
		return err
	}
	out := []misp.Sighting{}
	for _, id := range ids {
		row, err := chk.EventRow(id)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		list, err := c.eventSightings(row)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		out = append(out, list...)
	}
	return c.reply(http.StatusOK, out)
}

// sightingsDelete is POST /sightings/delete/<id|uuid> (SightingsController::delete): a site
// admin, or an org admin of the organisation that made it, removes a sighting. Any other
// caller, and one that may not see it, gets MISP's 404 for a sighting that does not exist.
func (c *call) sightingsDelete() error {
	const missing = "Invalid sighting."
	s, err := store.ReadByRef(c.ctx, c.a.st.ResolveSighting, c.a.st.Sighting, c.path.Arg(0))
	if err != nil {
		return notFoundOr(err, missing)
	}
	me := &c.who.User
	if !me.Role.PermSiteAdmin && (!me.Role.PermModifyOrg || int64(s.OrgID) != int64(me.OrgID)) {
		return notFound(missing)
	}
	chk, err := c.check()
	if err != nil {
		return err
	}
	row, err := chk.EventRow(s.EventID)
	if err != nil {
		return notFoundOr(err, missing)
	}
	visible := map[string]bool{}
	if err := c.visibleSightings(row, visible); err != nil {
		return notFoundOr(err, missing)
	}
	if !visible[s.UUID] {
		return notFound(missing)
	}
	if err := c.a.st.DeleteSighting(c.ctx, s.ID); err != nil {
		return notFoundOr(err, missing)
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Sighting successfully deleted.", "Sighting successfully deleted.", c.path.Arg(0)))
}

// sightingsList is GET|POST /sightings/listSightings/<id|uuid>/<attribute|event>[/<org>]:
// [{"Sighting":{…}},…] as the caller may see them.
func (c *call) sightingsList() error {
	ref, ctxKind := c.path.Arg(0), strings.ToLower(c.path.Arg(1))
	if ctxKind == "" {
		ctxKind = "attribute"
	}
	var (
		row      *store.IndexRow
		attrUUID string
		err      error
	)
	if ctxKind == "event" {
		row, err = c.visibleRow(ref)
	} else {
		var el *store.ElementRef
		el, row, err = c.attributeRow(ref)
		if el != nil {
			attrUUID = el.UUID
		}
	}
	if err != nil {
		return err
	}
	visible := map[string]bool{}
	if err := c.visibleSightings(row, visible); err != nil {
		return err
	}
	sightings, err := c.a.st.EventSightings(c.ctx, []string{row.UUID})
	if err != nil {
		return err
	}
	out := []any{}
	for _, s := range sightings {
		if attrUUID != "" && !strings.EqualFold(s.AttributeUUID, attrUUID) {
			continue
		}
		if !visible[strings.ToLower(s.UUID)] {
			continue
		}
		out = append(out, map[string]any{"Sighting": s})
	}
	return c.reply(http.StatusOK, out)
}
