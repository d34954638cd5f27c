package mispapi

// Attributes over REST: add (one or a list), view, edit, soft and hard delete, restore,
// describeTypes, as PyMISP calls them.

import (
	"errors"
	"net/http"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/google/uuid"

	"mispdesk/assets"
	"mispdesk/store"
	"mispdesk/store/misp"
)

func (a *API) registerAttributes() {
	a.handle("attributes/describeTypes", methodsGet, permAuth, (*call).describeTypes)
	a.handleWrite("attributes/add", methodsPost, permAdd, (*call).attributesAdd)
	a.handleWrite("attributes/edit", methodsPost, permModify, (*call).attributesEdit)
	a.handleWrite("attributes/delete", methodsDelete, permModify, (*call).attributesDelete)
	a.handleWrite("attributes/restore", methodsPost, permAdd, (*call).attributesRestore)
	a.handle("attributes/view", methodsGet, permAuth, (*call).attributesView)
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

// visibleAttribute is the attribute the path names as the caller may see it, in its event
// as the caller may see it, with the attribute's and the event's rows.
func (c *call) visibleAttribute() (*misp.Attribute, *misp.Event, *store.ElementRef, *store.IndexRow, error) {
	el, row, err := c.attributeRow(c.path.Arg(0))
	if err != nil {
		return nil, nil, nil, nil, err
	}
	ev, err := c.visibleEvent(row)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	a, _ := findAttribute(ev, el.UUID)
	if a == nil {
		return nil, nil, nil, nil, notFound("Invalid attribute")
	}
	return a, ev, el, row, nil
}

func (c *call) attributesView() error {
	a, ev, _, _, err := c.visibleAttribute()
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, map[string]any{"Attribute": attributeJSON(a, ev)})
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

func (c *call) describeTypes() error {
	c.replyRaw(http.StatusOK, assets.DescribeTypesJSON())
	return nil
}
