package mispapi

// Attributes, objects, object references and event reports: added, edited and deleted
// one at a time as PyMISP does. Every change writes the whole event through the store's
// upsert with newer timestamps on what changed and on the event, and unpublishes it, as
// MISP does, so that sync sees the change.

import (
	"errors"
	"net/http"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"

	"mispdesk/assets"
	"mispdesk/store"
	"mispdesk/store/misp"
)

func (a *API) registerElements() {
	a.handleWrite("attributes/add", methodsPost, permAdd, (*call).attributesAdd)
	a.handleWrite("attributes/edit", methodsPost, permModify, (*call).attributesEdit)
	a.handleWrite("attributes/delete", methodsDelete, permModify, (*call).attributesDelete)
	a.handleWrite("attributes/restore", methodsPost, permAdd, (*call).attributesRestore)
	a.handle("attributes/view", methodsGet, permAuth, (*call).attributesView)
	a.handleWrite("objects/add", methodsPost, permAdd, (*call).objectsAdd)
	a.handleWrite("objects/edit", methodsPost, permModify, (*call).objectsEdit)
	a.handleWrite("objects/delete", methodsDelete, permModify, (*call).objectsDelete)
	a.handle("objects/view", methodsGet, permAuth, (*call).objectsView)
	a.handleWrite("objectReferences/add", methodsPost, permAdd, (*call).objectReferencesAdd)
	a.handleWrite("objectReferences/delete", methodsDelete, permModify, (*call).objectReferencesDelete)
	a.handleWrite("eventReports/add", methodsGetPost, permAdd, (*call).eventReportsAdd)
	a.handleWrite("eventReports/edit", methodsPost, permModify, (*call).eventReportsEdit)
	a.handleWrite("eventReports/delete", methodsDelete, permModify, (*call).eventReportsDelete)
	a.handle("eventReports/view", methodsGet, permAuth, (*call).eventReportsView)
	a.handle("eventReports/index", methodsGetPost, permAuth, (*call).eventReportsIndex)
}

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

// newAttribute builds and checks an attribute from a request: type known, category
// known and allowing the type (defaulted from describeTypes' sane_defaults, as to_ids
// is), a value MISP takes, stored in MISP's form (misp.NormalizeValue). It returns
// MISP's validation errors by field.
func newAttribute(f fields, now misp.Int) (*misp.Attribute, map[string][]string) {
	a := &misp.Attribute{Distribution: misp.InheritEvent}
	if err := overlay(a, f); err != nil {
		return nil, map[string][]string{"Attribute": {"The attribute could not be read: " + err.Error()}}
	}
	if u := strings.ToLower(f.str("uuid")); misp.IsUUID(u) {
		a.UUID = u
	} else {
		a.UUID = uuid.NewString()
	}
	a.ID, a.EventID, a.ObjectID = 0, 0, 0
	a.Timestamp = now
	if errs := checkAttribute(a, f); len(errs) > 0 {
		return nil, errs
	}
	return a, nil
}

func checkAttribute(a *misp.Attribute, f fields) map[string][]string {
	errs := map[string][]string{}
	types, err := assets.DescribeTypes()
	if err != nil {
		errs["type"] = []string{err.Error()}
		return errs
	}
	a.Type = strings.TrimSpace(a.Type)
	if !types.IsType(a.Type) {
		errs["type"] = []string{"Options depend on the selected category."}
		return errs
	}
	def := types.SaneDefaults[a.Type]
	if f == nil || !f.has("category") || strings.TrimSpace(a.Category) == "" {
		if a.Category == "" {
			a.Category = def.DefaultCategory
		}
	}
	if f != nil && !f.has("to_ids") && !f.has("id") {
		a.ToIDs = misp.Bool(def.ToIDs)
	}
	if !types.IsCategory(a.Category) {
		errs["category"] = []string{"Options : " + strings.Join(types.Categories, ", ")}
	} else if !types.Allows(a.Category, a.Type) {
		errs["type"] = []string{"Options depend on the selected category."}
	}
	if v, err := misp.NormalizeValue(a.Type, a.Value); err != nil {
		errs["value"] = []string{err.Error()}
	} else {
		a.Value = v
	}
	if first, last, err := misp.NormalizeSeen(a.FirstSeen, a.LastSeen); err != nil {
		var se *misp.SeenError
		if errors.As(err, &se) {
			errs[se.Field] = []string{se.Message}
		}
	} else {
		a.FirstSeen, a.LastSeen = first, last
	}
	if a.Distribution < misp.OrgOnly || a.Distribution > misp.InheritEvent {
		errs["distribution"] = []string{"Options: Your organisation only, This community only, Connected communities, All communities, Sharing group, Inherit event"}
	}
	return errs
}

// attributeJSON is an attribute as MISP answers it, with its event id.
func attributeJSON(a *misp.Attribute, ev *misp.Event) map[string]any {
	b, _ := json.Marshal(a)
	m := map[string]any{}
	_ = json.Unmarshal(b, &m)
	if ev != nil {
		m["event_id"] = itoa(int64(ev.ID))
	}
	if _, ok := m["object_id"]; !ok {
		m["object_id"] = "0"
	}
	if _, ok := m["id"]; !ok {
		m["id"] = "0"
	}
	return m
}

// findAttribute locates an attribute in a loaded event by UUID.
func findAttribute(ev *misp.Event, u string) (*misp.Attribute, *misp.Object) {
	for i := range ev.Attribute {
		if ev.Attribute[i].UUID == u {
			return &ev.Attribute[i], nil
		}
	}
	for i := range ev.Object {
		o := &ev.Object[i]
		for j := range o.Attribute {
			if o.Attribute[j].UUID == u {
				return &o.Attribute[j], o
			}
		}
	}
	return nil, nil
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

// attributesAdd is POST /attributes/add/<event id|uuid>: one attribute or a list.
func (c *call) attributesAdd() error {
	const failName = "Could not add Attribute"
	row, err := c.visibleRow(c.path.Arg(0))
	if err != nil {
		return err
	}
	list, isList, err := c.decodeList("Attribute")
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return saveFail(c, failName, nil, map[string][]string{"value": {"Value not set."}})
	}
	var added []string
	saved, err := c.changeEvent(row, failName, func(ev *misp.Event, now misp.Int) error {
		for i, f := range list {
			a, errs := newAttribute(f, now)
			if len(errs) > 0 {
				if isList {
					return saveFail(c, failName, nil, map[string]any{itoa(int64(i)): errs})
				}
				return saveFail(c, failName, nil, errs)
			}
			if old, _ := findAttribute(ev, a.UUID); old != nil {
				return saveFail(c, failName, nil, map[string][]string{"uuid": {"An attribute with this uuid already exists."}})
			}
			ev.Attribute = append(ev.Attribute, *a)
			added = append(added, a.UUID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	out := make([]any, 0, len(added))
	for _, u := range added {
		if a, _ := findAttribute(saved, u); a != nil {
			out = append(out, attributeJSON(a, saved))
		}
	}
	if !isList && len(out) == 1 {
		return c.reply(http.StatusOK, map[string]any{"Attribute": out[0]})
	}
	return c.reply(http.StatusOK, map[string]any{"Attribute": out})
}

// attributeRow finds an attribute the caller may see, with its event row.
func (c *call) attributeRow(ref string) (*store.ElementRef, *store.IndexRow, error) {
	return c.element(store.ElemAttribute, ref, "Invalid attribute")
}

func (c *call) attributesView() error {
	el, row, err := c.attributeRow(c.path.Arg(0))
	if err != nil {
		return err
	}
	ev, err := c.visibleEvent(row)
	if err != nil {
		return err
	}
	a, _ := findAttribute(ev, el.UUID)
	if a == nil {
		return notFound("Invalid attribute")
	}
	return c.reply(http.StatusOK, map[string]any{"Attribute": attributeJSON(a, ev)})
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

// attributesEdit is POST|PUT /attributes/edit/<id|uuid>.
func (c *call) attributesEdit() error {
	const failName = "Could not edit Attribute"
	el, row, err := c.attributeRow(c.path.Arg(0))
	if err != nil {
		return err
	}
	list, _, err := c.decodeList("Attribute")
	if err != nil {
		return err
	}
	if len(list) != 1 {
		return httpError(http.StatusBadRequest, msgInvalidJSON)
	}
	saved, err := c.changeEvent(row, failName, func(ev *misp.Event, now misp.Int) error {
		a, _ := findAttribute(ev, el.UUID)
		if a == nil {
			return notFound("Invalid attribute")
		}
		if err := overlay(a, list[0], "object_relation"); err != nil {
			return saveFail(c, failName, itoa(el.ID), map[string][]string{"Attribute": {err.Error()}})
		}
		if errs := checkAttribute(a, nil); len(errs) > 0 {
			return saveFail(c, failName, itoa(el.ID), errs)
		}
		a.Timestamp = bump(a.Timestamp, now)
		return nil
	})
	if err != nil {
		return err
	}
	a, _ := findAttribute(saved, el.UUID)
	if a == nil {
		return notFound("Invalid attribute")
	}
	return c.reply(http.StatusOK, map[string]any{"Attribute": attributeJSON(a, saved)})
}

// attributesDelete is POST|DELETE /attributes/delete/<id|uuid>[/1]: soft (deleted, so
// sync carries it), or hard with 1.
func (c *call) attributesDelete() error {
	el, row, err := c.attributeRow(c.path.Arg(0))
	if err != nil {
		return err
	}
	hard := c.path.Arg(1) == "1" || c.path.Flag("hard")
	if hard {
		if err := c.mayModify(row); err != nil {
			return err
		}
		if err := c.a.st.HardDeleteElement(c.ctx, store.ElemAttribute, el.ID); err != nil {
			return notFoundOr(err, "Invalid attribute")
		}
		return c.reply(http.StatusOK, map[string]any{"message": "Attribute deleted."})
	}
	if el.Deleted {
		return notFound("Invalid attribute")
	}
	_, err = c.changeEvent(row, "Could not delete Attribute", func(ev *misp.Event, now misp.Int) error {
		a, _ := findAttribute(ev, el.UUID)
		if a == nil {
			return notFound("Invalid attribute")
		}
		a.Deleted = true
		a.Timestamp = bump(a.Timestamp, now)
		return nil
	})
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, map[string]any{"message": "Attribute deleted."})
}

// attributesRestore is POST /attributes/restore/<id|uuid> (AttributesController::restore,
// PyMISP's restore_attribute): a soft-deleted attribute is live again, with a new
// timestamp, its event edited and unpublished as every edit. The answer is the attribute,
// as MISP's redirect to attributes/view gives it. One the caller may see but not modify
// is MISP's 405; one it may not see is the 404 of one that does not exist.
func (c *call) attributesRestore() error {
	el, row, err := c.attributeRow(c.path.Arg(0))
	if err != nil {
		return err
	}
	if c.mayModify(row) != nil {
		return httpError(http.StatusMethodNotAllowed, "Invalid Attribute")
	}
	_, err = c.changeEvent(row, "Could not restore Attribute", func(ev *misp.Event, now misp.Int) error {
		a, _ := findAttribute(ev, el.UUID)
		if a == nil {
			return notFound("Invalid attribute")
		}
		a.Deleted = false
		a.Timestamp = bump(a.Timestamp, now)
		return nil
	})
	if err != nil {
		return err
	}
	return c.attributesView()
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

func reportJSON(r *misp.EventReport, ev *misp.Event) map[string]any {
	m := map[string]any{}
	b, _ := json.Marshal(r)
	_ = json.Unmarshal(b, &m)
	m["event_id"] = itoa(int64(ev.ID))
	return m
}

func findReport(ev *misp.Event, u string) *misp.EventReport {
	for i := range ev.EventReport {
		if ev.EventReport[i].UUID == u {
			return &ev.EventReport[i]
		}
	}
	return nil
}

// eventReportsAdd is POST /eventReports/add/<event id|uuid>; GET describes the endpoint
// (sync pushers ask it before sending reports).
func (c *call) eventReportsAdd() error {
	if c.r.Method == http.MethodGet || c.r.Method == http.MethodHead {
		return c.eventReportsAddDescribe()
	}
	const failName = "Could not add EventReport"
	row, err := c.visibleRow(c.path.Arg(0))
	if err != nil {
		return err
	}
	f, err := c.fields("EventReport")
	if err != nil {
		return err
	}
	var ruuid string
	saved, err := c.changeEvent(row, failName, func(ev *misp.Event, now misp.Int) error {
		r := &misp.EventReport{Distribution: misp.InheritEvent}
		if err := overlay(r, f); err != nil {
			return saveFail(c, failName, nil, map[string][]string{"EventReport": {err.Error()}})
		}
		if strings.TrimSpace(r.Name) == "" {
			return saveFail(c, failName, nil, map[string][]string{"name": {"A report needs a name."}})
		}
		r.UUID = strings.ToLower(f.str("uuid"))
		if !misp.IsUUID(r.UUID) {
			r.UUID = uuid.NewString()
		}
		if findReport(ev, r.UUID) != nil {
			return saveFail(c, failName, nil, map[string][]string{"uuid": {"A report with this uuid already exists."}})
		}
		r.ID, r.EventID, r.Timestamp = 0, 0, now
		ruuid = r.UUID
		ev.EventReport = append(ev.EventReport, *r)
		return nil
	})
	if err != nil {
		return err
	}
	r := findReport(saved, ruuid)
	if r == nil {
		return saveFail(c, failName, nil, "The report could not be saved.")
	}
	return c.reply(http.StatusOK, map[string]any{"EventReport": reportJSON(r, saved)})
}

func (c *call) reportOf(ref string) (*store.ElementRef, *store.IndexRow, *misp.Event, *misp.EventReport, error) {
	el, row, err := c.element(store.ElemReport, ref, "Invalid Event Report")
	if err != nil {
		return nil, nil, nil, nil, err
	}
	ev, err := c.visibleEvent(row)
	if err != nil {
		return nil, nil, nil, nil, notFound("Invalid Event Report")
	}
	r := findReport(ev, el.UUID)
	if r == nil {
		return nil, nil, nil, nil, notFound("Invalid Event Report")
	}
	return el, row, ev, r, nil
}

func (c *call) eventReportsView() error {
	_, _, ev, r, err := c.reportOf(c.path.Arg(0))
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, map[string]any{"EventReport": reportJSON(r, ev)})
}

// eventReportsIndex is GET /eventReports/index[/event_id:<id>]: the reports the caller
// may see.
func (c *call) eventReportsIndex() error {
	params, err := c.indexParams()
	if err != nil {
		return err
	}
	var q store.SearchQuery
	if ev := scalar(params["event_id"]); ev != "" {
		q.Event.EventIDs = []string{ev}
	}
	out := []any{}
	s := &search{q: q, page: 1}
	err = c.searchEvents(s, func(ev *misp.Event) bool {
		for i := range ev.EventReport {
			if r := &ev.EventReport[i]; !bool(r.Deleted) || truthy(params["deleted"]) {
				out = append(out, map[string]any{"EventReport": reportJSON(r, ev)})
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, out)
}

func (c *call) eventReportsEdit() error {
	const failName = "Could not edit EventReport"
	el, row, _, _, err := c.reportOf(c.path.Arg(0))
	if err != nil {
		return err
	}
	f, err := c.fields("EventReport")
	if err != nil {
		return err
	}
	saved, err := c.changeEvent(row, failName, func(ev *misp.Event, now misp.Int) error {
		r := findReport(ev, el.UUID)
		if r == nil {
			return notFound("Invalid Event Report")
		}
		if err := overlay(r, f); err != nil {
			return saveFail(c, failName, itoa(el.ID), map[string][]string{"EventReport": {err.Error()}})
		}
		r.Timestamp = bump(r.Timestamp, now)
		return nil
	})
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, map[string]any{"EventReport": reportJSON(findReport(saved, el.UUID), saved)})
}

func (c *call) eventReportsDelete() error {
	el, row, _, _, err := c.reportOf(c.path.Arg(0))
	if err != nil {
		return err
	}
	if c.path.Arg(1) == "1" {
		if err := c.mayModify(row); err != nil {
			return err
		}
		if err := c.a.st.HardDeleteElement(c.ctx, store.ElemReport, el.ID); err != nil {
			return notFoundOr(err, "Invalid Event Report")
		}
	} else if _, err := c.changeEvent(row, "Could not delete EventReport", func(ev *misp.Event, now misp.Int) error {
		r := findReport(ev, el.UUID)
		if r == nil {
			return notFound("Invalid Event Report")
		}
		r.Deleted = true
		r.Timestamp = bump(r.Timestamp, now)
		return nil
	}); err != nil {
		return err
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Event Report deleted.", "Event Report deleted.", itoa(el.ID)))
}
