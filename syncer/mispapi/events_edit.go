package mispapi

// Changes to one element of an event over REST (attributes, objects, references, reports):
// each writes the whole event through the store's upsert with newer timestamps on what
// changed and on the event, and unpublishes it, as MISP does, so that sync sees the change.

import (
	"errors"
	"net/http"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/store"
	"mispdesk/store/misp"
)

// changeEvent applies fn to the stored event and writes it back with a newer timestamp,
// unpublished, on behalf of the caller, who must be allowed to modify it. fn gets the
// timestamp the changed elements take. It returns the stored event.
func (c *call) changeEvent(row *store.IndexRow, failName string, fn func(ev *misp.Event, now misp.Int) error) (*misp.Event, error) {
	if err := c.mayModify(row); err != nil {
		return nil, err
	}
	var fnErr error
	saved, res, err := c.a.st.EditEvent(c.ctx, row.ID, c.who.User.ID, func(ev *misp.Event, now misp.Int) error {
		fnErr = fn(ev, now)
		return fnErr
	})
	switch {
	case fnErr != nil:
		return nil, fnErr
	case errors.Is(err, store.ErrNotFound):
		return nil, notFoundOr(err, "Invalid event")
	case errors.Is(err, store.ErrInvalidEvent):
		return nil, saveFail(c, failName, nil, err.Error())
	case err != nil:
		return nil, err
	case res.Outcome == store.Skipped:
		return nil, saveFail(c, failName, nil, res.Reason)
	}
	return saved, nil
}

// bump is a changed element's new timestamp: now, and always newer than its old one.
func bump(old, now misp.Int) misp.Int { return store.BumpTimestamp(old, now) }

// decodeList reads a body that is one element or a list of them, each bare or wrapped in
// {"Model":…}, as PyMISP sends them.
func (c *call) decodeList(model string) ([]fields, bool, error) {
	b, err := c.body()
	if err != nil {
		return nil, false, err
	}
	v := jsontext.Value(b)
	if !v.IsValid() || len(strings.TrimSpace(string(b))) == 0 {
		return nil, false, httpError(http.StatusBadRequest, msgInvalidJSON)
	}
	var list []jsontext.Value
	isList := false
	switch v.Kind() {
	case '[':
		isList = true
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, false, httpError(http.StatusBadRequest, msgInvalidJSON)
		}
	case '{':
		var f fields
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, false, httpError(http.StatusBadRequest, msgInvalidJSON)
		}
		if inner, ok := f[model]; ok && inner.Kind() == '[' {
			isList = true
			if err := json.Unmarshal(inner, &list); err != nil {
				return nil, false, httpError(http.StatusBadRequest, msgInvalidJSON)
			}
		} else {
			list = []jsontext.Value{v}
		}
	default:
		return nil, false, httpError(http.StatusBadRequest, msgInvalidJSON)
	}
	out := make([]fields, 0, len(list))
	for _, raw := range list {
		f := fields{}
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, false, httpError(http.StatusBadRequest, msgInvalidJSON)
		}
		if inner, ok := f[model]; ok && inner.Kind() == '{' {
			g := fields{}
			if json.Unmarshal(inner, &g) == nil {
				f = g
			}
		}
		out = append(out, f)
	}
	return out, isList, nil
}

// overlay sets the members of f on dst (an element decoded from the same JSON), leaving
// out the members that identify it or that the server stamps.
func overlay(dst any, f fields, keep ...string) error {
	cur, err := json.Marshal(dst)
	if err != nil {
		return err
	}
	m := map[string]jsontext.Value{}
	if err := json.Unmarshal(cur, &m); err != nil {
		return err
	}
	protected := map[string]bool{"id": true, "uuid": true, "event_id": true, "object_id": true, "timestamp": true}
	for _, k := range keep {
		protected[k] = true
	}
	for k, v := range f {
		if protected[k] {
			continue
		}
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}

// element finds an element by id or UUID in an event the caller may see.
func (c *call) element(table, ref, notFoundMsg string) (*store.ElementRef, *store.IndexRow, error) {
	if ref == "" {
		return nil, nil, notFound(notFoundMsg)
	}
	chk, err := c.check()
	if err != nil {
		return nil, nil, err
	}
	el, row, err := chk.Element(table, ref)
	if err != nil {
		return nil, nil, notFoundOr(err, notFoundMsg)
	}
	return el, row, nil
}

// visibleEvent loads an event as the caller may see it.
func (c *call) visibleEvent(row *store.IndexRow) (*misp.Event, error) {
	ev, err := c.a.st.Event(c.ctx, row.ID)
	if err != nil {
		return nil, notFoundOr(err, "Invalid event")
	}
	out, err := c.view(ev)
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, notFound("Invalid event")
	}
	return out, nil
}

// mayModify says whether the caller may change the event, as MISP's ACL
// (canModifyEvent) does: a site admin any, perm_modify_org the events its organisation
// created, perm_modify the events its user created.
func (c *call) mayModify(row *store.IndexRow) error {
	u := &c.who.User
	r := &u.Role
	if r.PermSiteAdmin || (r.PermModifyOrg && row.OrgcID == u.OrgID) || (r.PermModify && row.UserID == u.ID) {
		return nil
	}
	return forbidden("You do not have permission to do that.")
}
