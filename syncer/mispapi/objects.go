package mispapi

// Objects and object references over REST: add, view, edit, delete.

import (
	"net/http"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"

	"mispdesk/store"
	"mispdesk/store/misp"
)

func (a *API) registerObjects() {
	a.handleWrite("objects/add", methodsPost, permAdd, (*call).objectsAdd)
	a.handleWrite("objects/edit", methodsPost, permModify, (*call).objectsEdit)
	a.handleWrite("objects/delete", methodsDelete, permModify, (*call).objectsDelete)
	a.handle("objects/view", methodsGet, permAuth, (*call).objectsView)
	a.handleWrite("objectReferences/add", methodsPost, permAdd, (*call).objectReferencesAdd)
	a.handleWrite("objectReferences/delete", methodsDelete, permModify, (*call).objectReferencesDelete)
}

// objectJSON is an object as MISP answers it.
func objectJSON(o *misp.Object, ev *misp.Event) map[string]any {
	b, _ := json.Marshal(o)
	m := map[string]any{}
	_ = json.Unmarshal(b, &m)
	m["event_id"] = itoa(int64(ev.ID))
	attrs := []any{}
	for i := range o.Attribute {
		attrs = append(attrs, attributeJSON(&o.Attribute[i], ev))
	}
	m["Attribute"] = attrs
	return m
}

func findObject(ev *misp.Event, u string) *misp.Object {
	for i := range ev.Object {
		if ev.Object[i].UUID == u {
			return &ev.Object[i]
		}
	}
	return nil
}

// objectAttributes builds an object's attributes from the request's "Attribute" list.
func (c *call) objectAttributes(f fields, now misp.Int, failName string) ([]misp.Attribute, error) {
	var raws []jsontext.Value
	if v, ok := f["Attribute"]; ok {
		if err := json.Unmarshal(v, &raws); err != nil {
			return nil, saveFail(c, failName, nil, map[string][]string{"Attribute": {"want a list of attributes"}})
		}
	}
	var out []misp.Attribute
	for i, raw := range raws {
		af := fields{}
		if err := json.Unmarshal(raw, &af); err != nil {
			return nil, saveFail(c, failName, nil, map[string][]string{"Attribute": {"want a list of attributes"}})
		}
		a, errs := newAttribute(af, now)
		if len(errs) > 0 {
			return nil, saveFail(c, failName, nil, map[string]any{"Attribute": map[string]any{itoa(int64(i)): errs}})
		}
		if strings.TrimSpace(string(a.ObjectRelation)) == "" {
			return nil, saveFail(c, failName, nil, map[string]any{"Attribute": map[string]any{itoa(int64(i)): map[string][]string{"object_relation": {"An object attribute needs an object_relation."}}}})
		}
		out = append(out, *a)
	}
	return out, nil
}

// objectsAdd is POST /objects/add/<event id|uuid>[/<template>].
func (c *call) objectsAdd() error {
	const failName = "Could not add Object"
	row, err := c.visibleRow(c.path.Arg(0))
	if err != nil {
		return err
	}
	f, err := c.fields("Object")
	if err != nil {
		return err
	}
	var ouuid string
	saved, err := c.changeEvent(row, failName, func(ev *misp.Event, now misp.Int) error {
		o := &misp.Object{Distribution: misp.InheritEvent}
		if err := overlay(o, f, "Attribute", "ObjectReference"); err != nil {
			return saveFail(c, failName, nil, map[string][]string{"Object": {err.Error()}})
		}
		if strings.TrimSpace(o.Name) == "" {
			return saveFail(c, failName, nil, map[string][]string{"name": {"An object needs a name."}})
		}
		var err error
		if o.FirstSeen, o.LastSeen, err = misp.NormalizeSeen(o.FirstSeen, o.LastSeen); err != nil {
			return saveFail(c, failName, nil, "Object could not be saved.\n"+err.Error())
		}
		if u := strings.ToLower(f.str("uuid")); misp.IsUUID(u) {
			o.UUID = u
		} else {
			o.UUID = uuid.NewString()
		}
		if findObject(ev, o.UUID) != nil {
			return saveFail(c, failName, nil, map[string][]string{"uuid": {"An object with this uuid already exists."}})
		}
		o.ID, o.EventID, o.Timestamp = 0, 0, now
		attrs, err := c.objectAttributes(f, now, failName)
		if err != nil {
			return err
		}
		o.Attribute = attrs
		o.ObjectReference = nil
		if v, ok := f["ObjectReference"]; ok {
			var refs []fields
			if json.Unmarshal(v, &refs) == nil {
				for _, rf := range refs {
					r, errs := newReference(rf, now)
					if errs == nil {
						o.ObjectReference = append(o.ObjectReference, *r)
					}
				}
			}
		}
		ouuid = o.UUID
		ev.Object = append(ev.Object, *o)
		return nil
	})
	if err != nil {
		return err
	}
	o := findObject(saved, ouuid)
	if o == nil {
		return saveFail(c, failName, nil, "The object could not be saved.")
	}
	return c.reply(http.StatusOK, map[string]any{"Object": objectJSON(o, saved)})
}

func (c *call) objectsView() error {
	el, row, err := c.element(store.ElemObject, c.path.Arg(0), "Invalid object")
	if err != nil {
		return err
	}
	ev, err := c.visibleEvent(row)
	if err != nil {
		return err
	}
	o := findObject(ev, el.UUID)
	if o == nil {
		return notFound("Invalid object")
	}
	return c.reply(http.StatusOK, map[string]any{"Object": objectJSON(o, ev)})
}

// objectsEdit is POST|PUT /objects/edit/<id|uuid>: the object's fields, its attributes
// matched by uuid (changed), new ones added.
func (c *call) objectsEdit() error {
	const failName = "Could not edit Object"
	el, row, err := c.element(store.ElemObject, c.path.Arg(0), "Invalid object")
	if err != nil {
		return err
	}
	f, err := c.fields("Object")
	if err != nil {
		return err
	}
	saved, err := c.changeEvent(row, failName, func(ev *misp.Event, now misp.Int) error {
		o := findObject(ev, el.UUID)
		if o == nil {
			return notFound("Invalid object")
		}
		if err := overlay(o, f, "Attribute", "ObjectReference"); err != nil {
			return saveFail(c, failName, itoa(el.ID), map[string][]string{"Object": {err.Error()}})
		}
		var err error
		if o.FirstSeen, o.LastSeen, err = misp.NormalizeSeen(o.FirstSeen, o.LastSeen); err != nil {
			return saveFail(c, failName, itoa(el.ID), "Object could not be saved.\n"+err.Error())
		}
		o.Timestamp = bump(o.Timestamp, now)
		var raws []fields
		if v, ok := f["Attribute"]; ok {
			if json.Unmarshal(v, &raws) != nil {
				return saveFail(c, failName, itoa(el.ID), map[string][]string{"Attribute": {"want a list of attributes"}})
			}
		}
		for _, af := range raws {
			u := strings.ToLower(af.str("uuid"))
			if old, _ := findAttribute(ev, u); old != nil && u != "" {
				if err := overlay(old, af, "object_relation"); err != nil {
					return saveFail(c, failName, itoa(el.ID), map[string][]string{"Attribute": {err.Error()}})
				}
				if errs := checkAttribute(old, nil); len(errs) > 0 {
					return saveFail(c, failName, itoa(el.ID), errs)
				}
				old.Timestamp = bump(old.Timestamp, now)
				continue
			}
			a, errs := newAttribute(af, now)
			if len(errs) > 0 {
				return saveFail(c, failName, itoa(el.ID), errs)
			}
			o.Attribute = append(o.Attribute, *a)
		}
		return nil
	})
	if err != nil {
		return err
	}
	o := findObject(saved, el.UUID)
	if o == nil {
		return notFound("Invalid object")
	}
	return c.reply(http.StatusOK, map[string]any{"Object": objectJSON(o, saved)})
}

// objectsDelete is POST|DELETE /objects/delete/<id|uuid>[/1].
func (c *call) objectsDelete() error {
	el, row, err := c.element(store.ElemObject, c.path.Arg(0), "Invalid object")
	if err != nil {
		return err
	}
	if c.path.Arg(1) == "1" || c.path.Flag("hard") {
		if err := c.mayModify(row); err != nil {
			return err
		}
		if err := c.a.st.HardDeleteElement(c.ctx, store.ElemObject, el.ID); err != nil {
			return notFoundOr(err, "Invalid object")
		}
		return c.reply(http.StatusOK, map[string]any{"message": "Object deleted."})
	}
	_, err = c.changeEvent(row, "Could not delete Object", func(ev *misp.Event, now misp.Int) error {
		o := findObject(ev, el.UUID)
		if o == nil {
			return notFound("Invalid object")
		}
		o.Deleted = true
		o.Timestamp = bump(o.Timestamp, now)
		for i := range o.Attribute {
			o.Attribute[i].Deleted = true
			o.Attribute[i].Timestamp = bump(o.Attribute[i].Timestamp, now)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, map[string]any{"message": "Object deleted."})
}

func newReference(f fields, now misp.Int) (*misp.ObjectReference, map[string][]string) {
	r := &misp.ObjectReference{}
	if err := overlay(r, f); err != nil {
		return nil, map[string][]string{"ObjectReference": {err.Error()}}
	}
	r.UUID = strings.ToLower(f.str("uuid"))
	if !misp.IsUUID(r.UUID) {
		r.UUID = uuid.NewString()
	}
	r.ID, r.Timestamp = 0, now
	r.ReferencedUUID = strings.ToLower(r.ReferencedUUID)
	if !misp.IsUUID(r.ReferencedUUID) {
		return nil, map[string][]string{"referenced_uuid": {"The referenced element must be given by its uuid."}}
	}
	if strings.TrimSpace(r.RelationshipType) == "" {
		return nil, map[string][]string{"relationship_type": {"A reference needs a relationship_type."}}
	}
	return r, nil
}

// objectReferencesAdd is POST /objectReferences/add[/<object id|uuid>]: the source
// object by path or by object_uuid/object_id (PyMISP), the target by referenced_uuid.
func (c *call) objectReferencesAdd() error {
	const failName = "Could not add ObjectReference"
	f, err := c.fields("ObjectReference")
	if err != nil {
		return err
	}
	src := c.path.Arg(0)
	for _, k := range []string{"object_uuid", "source_uuid", "object_id"} {
		if src == "" {
			src = f.str(k)
		}
	}
	el, row, err := c.element(store.ElemObject, src, "Invalid object")
	if err != nil {
		return err
	}
	var ruuid string
	saved, err := c.changeEvent(row, failName, func(ev *misp.Event, now misp.Int) error {
		o := findObject(ev, el.UUID)
		if o == nil {
			return notFound("Invalid object")
		}
		r, errs := newReference(f, now)
		if errs != nil {
			return saveFail(c, failName, nil, errs)
		}
		if a, _ := findAttribute(ev, r.ReferencedUUID); a != nil {
			r.ReferencedType = 0
		} else if findObject(ev, r.ReferencedUUID) != nil {
			r.ReferencedType = 1
		} else {
			return saveFail(c, failName, nil, map[string][]string{"referenced_uuid": {"No attribute or object of this event has this uuid."}})
		}
		r.ObjectUUID = o.UUID
		o.ObjectReference = append(o.ObjectReference, *r)
		o.Timestamp = bump(o.Timestamp, now)
		ruuid = r.UUID
		return nil
	})
	if err != nil {
		return err
	}
	for _, o := range saved.Object {
		for _, r := range o.ObjectReference {
			if r.UUID == ruuid {
				m := map[string]any{}
				b, _ := json.Marshal(r)
				_ = json.Unmarshal(b, &m)
				m["object_uuid"], m["event_id"] = o.UUID, itoa(int64(saved.ID))
				return c.reply(http.StatusOK, map[string]any{"ObjectReference": m})
			}
		}
	}
	return saveFail(c, failName, nil, "The reference could not be saved.")
}

// objectReferencesDelete is POST|DELETE /objectReferences/delete/<id|uuid>[/1].
func (c *call) objectReferencesDelete() error {
	el, row, err := c.element(store.ElemReference, c.path.Arg(0), "Invalid object reference")
	if err != nil {
		return err
	}
	if c.path.Arg(1) == "1" {
		if err := c.mayModify(row); err != nil {
			return err
		}
		if err := c.a.st.HardDeleteElement(c.ctx, store.ElemReference, el.ID); err != nil {
			return notFoundOr(err, "Invalid object reference")
		}
	} else {
		_, err = c.changeEvent(row, "Could not delete ObjectReference", func(ev *misp.Event, now misp.Int) error {
			for i := range ev.Object {
				for j := range ev.Object[i].ObjectReference {
					if r := &ev.Object[i].ObjectReference[j]; r.UUID == el.UUID {
						r.Deleted = true
						r.Timestamp = bump(r.Timestamp, now)
						return nil
					}
				}
			}
			return notFound("Invalid object reference")
		})
		if err != nil {
			return err
		}
	}
	return c.reply(http.StatusOK, saveSuccess(c, "ObjectReference deleted.", "ObjectReference deleted.", itoa(el.ID)))
}
