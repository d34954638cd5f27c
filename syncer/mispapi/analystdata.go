package mispapi

// Analyst data (notes, opinions, relationships): MISP's AnalystDataController, the
// user-facing add/view/index and the sync paths peers call.

import (
	"net/http"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/store"
	"mispdesk/store/misp"
)

func (a *API) registerAnalystData() {
	a.handleWrite("analyst_data/add", methodsPost, permAnalyst, (*call).analystDataAdd)
	a.handle("analyst_data/view", methodsGet, permAuth, (*call).analystDataView)
	a.handle("analyst_data/index", methodsGetPost, permAuth, (*call).analystDataIndex)
}

func analystKind(s string) string {
	for _, k := range store.AnalystKinds {
		if strings.EqualFold(k, s) {
			return k
		}
	}
	return ""
}

func analystJSON(d *store.AnalystData) map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal(d.Body, &m)
	m["id"], m["uuid"], m["object_uuid"], m["object_type"] = itoa(d.ID), d.UUID, d.ObjectUUID, d.ObjectType
	m["orgc_uuid"], m["org_uuid"], m["distribution"] = d.OrgcUUID, d.OrgUUID, itoa(d.Distribution)
	m["sharing_group_id"], m["created"], m["modified"], m["locked"] = itoa(d.SharingGroupID), d.Created, d.Modified, d.Locked
	m["note_type_name"] = d.Kind
	return m
}

// analystVisible reports whether the caller may see an analyst data element (the gate:
// its own distribution and the element it is about).
func (c *call) analystVisible(d *store.AnalystData) (bool, error) {
	chk, err := c.check()
	if err != nil {
		return false, err
	}
	if err := chk.AnalystData(d); isNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// analystDataAdd is POST /analyst_data/add/<Note|Opinion|Relationship>/<object uuid>/<object type>.
func (c *call) analystDataAdd() error {
	kind := analystKind(c.path.Arg(0))
	if kind == "" {
		return notFound("Invalid analyst data type.")
	}
	objUUID, objType := strings.ToLower(c.path.Arg(1)), c.path.Arg(2)
	if !misp.IsUUID(objUUID) {
		return notFound("Invalid object uuid.")
	}
	chk, err := c.check()
	if err != nil {
		return err
	}
	if err := chk.Target(objUUID); err != nil {
		return notFoundOr(err, "Invalid object uuid.")
	}
	f, err := c.fields(kind)
	if err != nil {
		return err
	}
	if kind == "Note" && strings.TrimSpace(f.str("note")) == "" {
		return saveFail(c, "Could not add "+kind, nil, map[string][]string{"note": {"A note needs a text."}})
	}
	dist := int64(0)
	if f.has("distribution") {
		dist = atoi64(f.str("distribution"))
	}
	if dist < 0 || dist > 5 {
		return saveFail(c, "Could not add "+kind, nil, map[string][]string{"distribution": {"Invalid distribution."}})
	}
	body := map[string]jsontext.Value{}
	for k, v := range f {
		body[k] = v
	}
	for _, k := range []string{"id", "uuid", "object_uuid", "object_type", "orgc_uuid", "org_uuid", "created", "modified"} {
		delete(body, k)
	}
	if _, ok := body["authors"]; !ok {
		body["authors"], _ = json.Marshal(c.who.User.Email)
	}
	bb, _ := json.Marshal(body, json.Deterministic(true))
	d, err := c.a.st.AddAnalystData(c.ctx, store.AnalystData{UUID: strings.ToLower(f.str("uuid")), Kind: kind, ObjectUUID: objUUID,
		ObjectType: objType, OrgcUUID: c.who.User.Org.UUID, OrgUUID: c.who.User.Org.UUID, Distribution: dist,
		SharingGroupID: atoi64(f.str("sharing_group_id")), Body: bb})
	if err != nil {
		return saveFail(c, "Could not add "+kind, nil, map[string][]string{kind: {err.Error()}})
	}
	return c.reply(http.StatusOK, map[string]any{kind: analystJSON(d)})
}

func (c *call) analystDataView() error {
	kind := analystKind(c.path.Arg(0))
	if kind == "" {
		return notFound("Invalid analyst data type.")
	}
	d, err := c.a.st.AnalystDataByRef(c.ctx, kind, c.path.Arg(1))
	if err != nil {
		return notFoundOr(err, "Invalid "+kind+".")
	}
	if ok, err := c.analystVisible(d); err != nil {
		return err
	} else if !ok {
		return notFound("Invalid " + kind + ".")
	}
	return c.reply(http.StatusOK, map[string]any{kind: analystJSON(d)})
}

func (c *call) analystDataIndex() error {
	kind := analystKind(c.path.Arg(0))
	if kind == "" {
		return notFound("Invalid analyst data type.")
	}
	list, err := c.a.st.AnalystDataList(c.ctx, kind, c.path.Param("object_uuid"))
	if err != nil {
		return err
	}
	out := []any{}
	for i := range list {
		ok, err := c.analystVisible(&list[i])
		if err != nil {
			return err
		}
		if ok {
			out = append(out, map[string]any{kind: analystJSON(&list[i])})
		}
	}
	return c.reply(http.StatusOK, out)
}
