package mispapi

// Analyst data (notes, opinions, relationships): MISP's AnalystDataController, the
// user-facing add/view/index and the sync paths peers call.

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/gate"
)

func (a *API) registerAnalystData() {
	a.handleWrite("analyst_data/add", methodsPost, permAnalyst, (*call).analystDataAdd)
	a.handle("analyst_data/view", methodsGet, permAuth, (*call).analystDataView)
	a.handleWrite("analyst_data/edit", methodsPost, permAnalyst, (*call).analystDataEdit)
	a.handleWrite("analyst_data/delete", methodsDelete, permAnalyst, (*call).analystDataDelete)
	a.handle("analyst_data/index", methodsGetPost, permAuth, (*call).analystDataIndex)
	a.handle("analyst_data/indexMinimal", methodsGetPost, permAuth, (*call).analystDataIndexMinimal)
	a.handle("analyst_data/filterAnalystDataForPush", methodsPost, permSync, (*call).filterAnalystDataForPush)
	a.handleWrite("analyst_data/pushAnalystData", methodsPost, permAuth, (*call).pushAnalystData)
}

func analystKind(s string) string {
	for _, k := range store.AnalystKinds {
		if strings.EqualFold(k, s) {
			return k
		}
	}
	return ""
}

// analystTarget is the item /analyst_data/<action>/<Kind|all>/<id|uuid> names, when the
// caller may see it (the gate): MISP's 405 for an unknown kind, and its 404 ("Invalid
// <Kind>.", or "Invalid UUID" for kind all) alike for an item that does not exist and for
// one the caller may not see.
func (c *call) analystTarget() (*store.AnalystData, error) {
	kind, ref := analystKind(c.path.Arg(0)), c.path.Arg(1)
	missing := "Invalid " + kind + "."
	if kind == "" {
		if !strings.EqualFold(c.path.Arg(0), "all") || !misp.IsUUID(ref) {
			return nil, httpError(http.StatusMethodNotAllowed, "Invalid type.")
		}
		missing = "Invalid UUID"
	}
	d, err := store.ReadByRef(c.ctx, c.a.st.ResolveAnalystData, c.a.st.AnalystData, ref)
	if err == nil && kind != "" && d.Kind != kind {
		err = store.ErrNotFound // another kind's id or UUID
	}
	if err != nil {
		return nil, notFoundOr(err, missing)
	}
	if ok, err := c.analystVisible(d); err != nil {
		return nil, err
	} else if !ok {
		return nil, notFound(missing)
	}
	return d, nil
}

// mayEditAnalyst refuses with MISP's 405 a caller that may not change the item
// (policy.Viewer.MayEditAnalystData, which the item's _canEdit shows too).
func (c *call) mayEditAnalyst(d *store.AnalystData) error {
	if c.viewer.MayEditAnalystData(d.OrgcUUID) {
		return nil
	}
	return httpError(http.StatusMethodNotAllowed, "You are not authorised to do that.")
}

// analystEditable are the members a user's edit may change, by kind (MISP's
// getEditableFields; relationship_type for a Relationship, which MISP's model declares
// but does not apply).
var analystEditable = map[string][]string{
	"":             {"language", "authors"},
	"Note":         {"note"},
	"Opinion":      {"opinion", "comment"},
	"Relationship": {"relationship_type"},
}

// analystJSON lists stored items as the gate shows them on their own
// (Check.AnalystListJSON).
func (c *call) analystJSON(list []store.AnalystData) ([]map[string]any, error) {
	chk, err := c.check()
	if err != nil {
		return nil, err
	}
	return chk.AnalystListJSON(list)
}

// replyAnalyst answers {"<Kind>": item}.
func (c *call) replyAnalyst(d *store.AnalystData) error {
	ms, err := c.analystJSON([]store.AnalystData{*d})
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, map[string]any{d.Kind: ms[0]})
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
		return httpError(http.StatusMethodNotAllowed, "Invalid type.")
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
		SharingGroupID: store.SharingGroupID(atoi64(f.str("sharing_group_id"))), Body: bb})
	if err != nil {
		return saveFail(c, "Could not add "+kind, nil, map[string][]string{kind: {err.Error()}})
	}
	return c.replyAnalyst(d)
}

func (c *call) analystDataView() error {
	d, err := c.analystTarget()
	if err != nil {
		return err
	}
	return c.replyAnalyst(d)
}

// analystDataEdit is POST /analyst_data/edit/<Kind|all>/<id|uuid> (AnalystDataController::
// edit): the creator organisation or a site admin changes the editable members, the
// distribution and the sharing group; modified becomes now, so that a push or pull
// carries the edit to peers holding the item. The answer is the item, {"<Kind>":{…}}.
func (c *call) analystDataEdit() error {
	d, err := c.analystTarget()
	if err != nil {
		return err
	}
	if err := c.mayEditAnalyst(d); err != nil {
		return err
	}
	f, err := c.fields(d.Kind)
	if err != nil {
		return err
	}
	fail := func(field, msg string) error {
		return saveFail(c, "Could not edit "+d.Kind, d.ID, map[string][]string{field: {msg}})
	}
	if f.has("note") && strings.TrimSpace(f.str("note")) == "" {
		return fail("note", "A note needs a text.")
	}
	if f.has("opinion") {
		if o, err := strconv.Atoi(f.str("opinion")); err != nil || o < 0 || o > 100 {
			return fail("opinion", "An opinion is a number from 0 to 100.")
		}
	}
	if f.has("distribution") {
		d.Distribution = atoi64(f.str("distribution"))
		if d.Distribution < 0 || d.Distribution > 5 || f.str("distribution") == "" {
			return fail("distribution", "Invalid distribution.")
		}
	}
	if f.has("sharing_group_id") {
		d.SharingGroupID = store.SharingGroupID(atoi64(f.str("sharing_group_id")))
	}
	if err := c.mayUseSharingGroup(&misp.Event{Distribution: misp.Distribution(d.Distribution), SharingGroupID: misp.Int(d.SharingGroupID)}); err != nil {
		return err
	}
	body := map[string]jsontext.Value{}
	if err := json.Unmarshal(d.Body, &body); err != nil {
		return fmt.Errorf("%s %s: stored body: %w", d.Kind, d.UUID, err)
	}
	for _, k := range append(analystEditable[""], analystEditable[d.Kind]...) {
		if v, ok := f[k]; ok {
			body[k] = v
		}
	}
	delete(body, "distribution") // columns, which AnalystJSON shows
	delete(body, "sharing_group_id")
	if d.Body, err = json.Marshal(body, json.Deterministic(true)); err != nil {
		return fmt.Errorf("%s %s: %w", d.Kind, d.UUID, err)
	}
	saved, err := c.a.st.EditAnalystData(c.ctx, *d)
	if err != nil {
		return err
	}
	return c.replyAnalyst(saved)
}

// analystDataDelete is POST|DELETE /analyst_data/delete/<Kind|all>/<id|uuid>
// (AnalystDataController::delete): the creator organisation or a site admin removes it.
func (c *call) analystDataDelete() error {
	d, err := c.analystTarget()
	if err != nil {
		return err
	}
	if err := c.mayEditAnalyst(d); err != nil {
		return err
	}
	if err := c.a.st.DeleteAnalystData(c.ctx, d.ID); err != nil {
		return err
	}
	return c.reply(http.StatusOK, saveSuccess(c, d.Kind+" deleted.", d.Kind+" deleted.", itoa(d.ID)))
}

// analystDataIndex is /analyst_data/index/<Kind>[/object_uuid:…][/uuid[]:…]: the items of
// a kind the caller may see, as [{"<Kind>":{…}}]; MISP's pull asks for 100 by uuid at a time.
func (c *call) analystDataIndex() error {
	kind := analystKind(c.path.Arg(0))
	if kind == "" {
		return notFound("Invalid analyst data type.")
	}
	var list []store.AnalystData
	var err error
	if uuids := c.path.Named["uuid"]; len(uuids) > 0 {
		list, err = c.a.st.AnalystDataByUUIDs(c.ctx, kind, uuids)
	} else {
		list, err = c.a.st.AnalystDataList(c.ctx, kind, c.path.Param("object_uuid"))
	}
	if err != nil {
		return err
	}
	visible := list[:0]
	for i := range list {
		ok, err := c.analystVisible(&list[i])
		if err != nil {
			return err
		}
		if ok {
			visible = append(visible, list[i])
		}
	}
	ms, err := c.analystJSON(visible)
	if err != nil {
		return err
	}
	out := make([]any, 0, len(ms))
	for _, m := range ms {
		out = append(out, map[string]any{kind: m})
	}
	return c.reply(http.StatusOK, out)
}

// analystDataIndexMinimal is /analyst_data/indexMinimal (AnalystDataController::indexMinimal):
// {"<Kind>":{"<uuid>":"<modified>"}} of every item the caller may see; a POST body's
// orgc_name lists creator organisations to keep, or with a leading '!' to leave out (the
// pull rules' organisations, as MISP's pull sends them).
func (c *call) analystDataIndexMinimal() error {
	var filter struct {
		OrgcName []string `json:"orgc_name"`
	}
	if c.r.Method == http.MethodPost {
		b, err := c.body()
		if err != nil {
			return err
		}
		if len(b) > 0 {
			if err := json.Unmarshal(b, &filter); err != nil {
				return httpError(http.StatusBadRequest, msgInvalidJSON)
			}
		}
	}
	keep, err := c.orgcFilter(filter.OrgcName)
	if err != nil {
		return err
	}
	list, err := c.a.st.AnalystDataList(c.ctx, "", "")
	if err != nil {
		return err
	}
	out := map[string]map[string]string{}
	for i := range list {
		d := &list[i]
		if !keep(d.OrgcUUID) {
			continue
		}
		ok, err := c.analystVisible(d)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if out[d.Kind] == nil {
			out[d.Kind] = map[string]string{}
		}
		out[d.Kind][d.UUID] = d.Modified
	}
	if len(out) == 0 {
		return c.reply(http.StatusOK, []any{}) // MISP's empty array
	}
	return c.reply(http.StatusOK, out)
}

// orgcFilter turns orgc_name values (names, ids or UUIDs; '!' to leave out) into a test on
// a creator's UUID. Organisations unknown here are ignored, as MISP ignores them.
func (c *call) orgcFilter(names []string) (func(string) bool, error) {
	var in, out []string
	for _, n := range names {
		neg := strings.HasPrefix(n, "!")
		id, err := c.a.st.ResolveOrg(c.ctx, strings.TrimPrefix(n, "!"))
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		o, err := c.a.st.Org(c.ctx, id)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if neg {
			out = append(out, o.UUID)
		} else {
			in = append(in, o.UUID)
		}
	}
	return func(uuid string) bool {
		if len(in) > 0 && !containsFold(in, uuid) {
			return false
		}
		return !containsFold(out, uuid)
	}, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// filterAnalystDataForPush is POST /analyst_data/filterAnalystDataForPush
// (AnalystData::filterAnalystDataForPush): of the offered {"<Kind>":{"<uuid>":"<modified>"}},
// those this instance wants — unknown, or known, locked and older. Every kind is answered;
// an empty one as [] (MISP's empty array).
func (c *call) filterAnalystDataForPush() error {
	b, err := c.body()
	if err != nil {
		return err
	}
	var in map[string]map[string]string
	if err := json.Unmarshal(b, &in); err != nil {
		return httpError(http.StatusBadRequest, msgInvalidJSON)
	}
	out := map[string]any{}
	for _, kind := range store.AnalystKinds {
		want := map[string]string{}
		offered := in[kind]
		uuids := make([]string, 0, len(offered))
		for u, modified := range offered {
			if misp.IsUUID(u) {
				want[strings.ToLower(u)] = modified
				uuids = append(uuids, u)
			}
		}
		have, err := c.a.st.AnalystDataByUUIDs(c.ctx, kind, uuids)
		if err != nil {
			return err
		}
		for _, h := range have {
			if !h.Locked || h.Modified >= want[h.UUID] {
				delete(want, h.UUID)
			}
		}
		if len(want) == 0 {
			out[kind] = []any{}
		} else {
			out[kind] = want
		}
	}
	return c.reply(http.StatusOK, out)
}

// pushAnalystData is POST /analyst_data/pushAnalystData (AnalystDataController::pushAnalystData):
// a peer's sync account sends one item, {"<Kind>":{…}}, with the analyst data nested under
// it. Each is decided by policy (blocklists, its sharing group captured as an event's) and
// stored owned by the sync account's organisation, its creator captured from Orgc.
func (c *call) pushAnalystData() error {
	role := &c.who.User.Role
	if !role.PermSync || !(role.PermAnalystData || role.PermSiteAdmin) {
		return httpError(http.StatusMethodNotAllowed, "You do not have the permission to do that.")
	}
	b, err := c.body()
	if err != nil {
		return err
	}
	var in map[string]misp.AnalystData
	if err := json.Unmarshal(b, &in); err != nil {
		return httpError(http.StatusBadRequest, msgInvalidJSON)
	}
	var items []gate.ArrivingAnalystData
	for _, kind := range store.AnalystKinds {
		if a, ok := in[kind]; ok {
			items = append(items, gate.FlattenAnalystData(kind, a)...)
		}
	}
	if len(items) == 0 {
		return notFound("Invalid or could not deduce analyst data type")
	}
	inst, err := c.instance()
	if err != nil {
		return err
	}
	from, err := c.senderLink()
	if err != nil {
		return err
	}
	bl, err := gate.Blocklists(c.ctx, c.a.st)
	if err != nil {
		return err
	}
	to := gate.Arrival{Owner: c.who.User.Org, From: from, Bl: bl, Internal: from != nil && from.Internal}
	imported, ignored, failed := 0, 0, 0
	var errs []string
	for _, it := range items {
		saved, d, err := c.a.gate.ReceiveAnalystData(c.ctx, inst, to, it)
		switch {
		case errors.Is(err, store.ErrNotNewer):
			ignored++
			errs = append(errs, fmt.Sprintf("Remote version is not newer than local one for analyst data (%s)", it.Item.UUID))
		case errors.Is(err, store.ErrLocalAnalystData):
			failed++
			errs = append(errs, msgLocalAnalystData)
		case err != nil:
			failed++
			errs = append(errs, err.Error())
		case saved == nil:
			ignored++
			errs = append(errs, d.Reason())
		default:
			imported++
		}
	}
	msg := fmt.Sprintf("%d imported, %d ignored, %d failed. %s", imported, ignored, failed, strings.Join(errs, ", "))
	if imported == 0 {
		return saveFail(c, "Could not import analyst data. "+msg, nil, errs)
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Analyst Data imported. "+msg, "Analyst Data imported. "+msg, nil))
}

const msgLocalAnalystData = "Blocked an edit to an analyst data that was created locally. This can happen if a synchronised analyst data that was created on this instance was modified by an administrator on the remote side."
