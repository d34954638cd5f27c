package mispapi

// Blocklists over REST: events, organisations and deleted analyst data, each index, add,
// edit and delete, as MISP's ACL allows them.

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-json-experiment/json"

	"mispdesk/store"
	"mispdesk/store/misp"
)

func (a *API) registerBlocklists() {
	a.handle("analystDataBlocklists/index", methodsGet, permSiteAdmin, (*call).analystDataBlocklistsIndex)
	a.handleWrite("analystDataBlocklists/add", methodsPost, permSiteAdmin, (*call).analystDataBlocklistsAdd)
	a.handleWrite("analystDataBlocklists/delete", methodsDelete, permSiteAdmin, (*call).analystDataBlocklistsDelete)
	a.handleWrite("analystDataBlocklists/edit", methodsPost, permSiteAdmin, (*call).analystDataBlocklistsEdit)
	for _, prefix := range []string{"", "admin/"} {
		a.handle(prefix+"eventBlocklists/index", methodsGet, permAdd, hostOrgOnly((*call).eventBlocklistsIndex))
		a.handleWrite(prefix+"eventBlocklists/add", methodsPost, permAdd, hostOrgOnly((*call).eventBlocklistsAdd))
		a.handleWrite(prefix+"eventBlocklists/delete", methodsDelete, permAdd, hostOrgOnly((*call).eventBlocklistsDelete))
		a.handleWrite(prefix+"eventBlocklists/edit", methodsPost, permAdd, hostOrgOnly((*call).eventBlocklistsEdit))
		a.handle(prefix+"orgBlocklists/index", methodsGet, permSiteAdmin, (*call).orgBlocklistsIndex)
		a.handleWrite(prefix+"orgBlocklists/add", methodsPost, permSiteAdmin, (*call).orgBlocklistsAdd)
		a.handleWrite(prefix+"orgBlocklists/delete", methodsDelete, permSiteAdmin, (*call).orgBlocklistsDelete)
		a.handleWrite(prefix+"orgBlocklists/edit", methodsPost, permSiteAdmin, (*call).orgBlocklistsEdit)
	}
}

// hostOrgOnly lets fn answer a site admin or a user of the host organisation only, as
// MISP's ACL host_org_user (the event blocklist: any host-organisation user who may add
// events manages it).
func hostOrgOnly(fn handler) handler {
	return func(c *call) error {
		ok, err := c.hostOrgUser()
		if err != nil {
			return err
		}
		if !ok {
			return forbidden(msgNoPerm)
		}
		return fn(c)
	}
}

// hostOrgUser reports whether the caller is a site admin or a user of the host
// organisation (MISP's host_org_user).
func (c *call) hostOrgUser() (bool, error) {
	if c.who.User.Role.PermSiteAdmin {
		return true, nil
	}
	in, err := c.instance()
	if err != nil {
		return false, err
	}
	return in.HostOrg.ID != 0 && store.OrgID(in.HostOrg.ID) == c.who.User.OrgID, nil
}

func eventBlockJSON(b *store.EventBlock) map[string]any {
	return map[string]any{"EventBlocklist": map[string]any{"id": itoa(b.ID), "event_uuid": b.EventUUID, "created": itoa(b.Created),
		"event_info": b.EventInfo, "event_orgc": b.EventOrgc, "comment": b.Comment}}
}

func orgBlockJSON(b *store.OrgBlock) map[string]any {
	return map[string]any{"OrgBlocklist": map[string]any{"id": itoa(b.ID), "org_uuid": b.OrgUUID, "created": itoa(b.Created),
		"org_name": b.OrgName, "comment": b.Comment}}
}

func (c *call) eventBlocklistsIndex() error {
	list, err := c.a.st.EventBlocks(c.ctx)
	if err != nil {
		return err
	}
	out := []any{}
	for i := range list {
		out = append(out, eventBlockJSON(&list[i]))
	}
	return c.reply(http.StatusOK, out)
}

// blockUUIDs reads {"uuids":[…]} (or a single "uuid"/"event_uuid"/"org_uuid").
func blockUUIDs(f fields, single ...string) []string {
	var out []string
	if v, ok := f["uuids"]; ok {
		var list []string
		if json.Unmarshal(v, &list) == nil {
			out = append(out, list...)
		} else if s := f.str("uuids"); s != "" {
			out = append(out, strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ',' || r == ' ' })...)
		}
	}
	for _, k := range single {
		if s := f.str(k); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// eventBlocklistsAdd is POST /eventBlocklists/add {"uuids":[…],"comment","event_info","event_orgc"}.
func (c *call) eventBlocklistsAdd() error {
	f, err := c.fields("EventBlocklist")
	if err != nil {
		return err
	}
	uuids := blockUUIDs(f, "uuid", "event_uuid")
	if len(uuids) == 0 {
		return saveFail(c, "Could not add EventBlocklist", nil, map[string][]string{"uuids": {"No UUID given."}})
	}
	var last *store.EventBlock
	for _, u := range uuids {
		u = strings.ToLower(strings.TrimSpace(u))
		if !misp.IsUUID(u) {
			return saveFail(c, "Could not add EventBlocklist", nil, map[string][]string{"event_uuid": {"Invalid UUID " + u}})
		}
		b, err := c.a.st.AddEventBlock(c.ctx, store.EventBlock{EventUUID: u, Comment: f.str("comment"), EventInfo: f.str("event_info"), EventOrgc: f.str("event_orgc")})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return saveFail(c, "Could not add EventBlocklist", nil, map[string][]string{"event_uuid": {err.Error()}})
		}
		if b != nil {
			last = b
		}
	}
	if len(uuids) == 1 && last != nil {
		return c.reply(http.StatusOK, eventBlockJSON(last))
	}
	return c.reply(http.StatusOK, saveSuccess(c, "EventBlocklist saved", itoa(int64(len(uuids)))+" entries saved.", nil))
}

// eventBlockArg is the event blocklist entry the path names by id or event UUID; a 404 with
// the message missing when there is none.
func (c *call) eventBlockArg(missing string) (*store.EventBlock, error) {
	ref := strings.ToLower(c.path.Arg(0))
	list, err := c.a.st.EventBlocks(c.ctx)
	if err != nil {
		return nil, err
	}
	for i, b := range list {
		if itoa(b.ID) == ref || b.EventUUID == ref {
			return &list[i], nil
		}
	}
	return nil, notFound(missing)
}

func (c *call) eventBlocklistsDelete() error {
	b, err := c.eventBlockArg("Invalid blocklist entry")
	if err != nil {
		return err
	}
	if err := c.a.st.DeleteEventBlock(c.ctx, b.EventUUID); err != nil {
		return notFoundOr(err, "Invalid blocklist entry")
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Blocklist entry removed", "Blocklist entry removed", itoa(b.ID)))
}

// eventBlocklistsEdit is POST /eventBlocklists/edit/<id|event uuid> {"comment","event_info",
// "event_orgc"} (bare, under EventBlocklist or under request), PyMISP's
// update_event_blocklist: the given fields change, the UUID never (MISP's BlockList edit).
func (c *call) eventBlocklistsEdit() error {
	b, err := c.eventBlockArg("Blocklist item not found.")
	if err != nil {
		return err
	}
	f, err := c.blocklistFields("EventBlocklist")
	if err != nil {
		return err
	}
	for k, p := range map[string]*string{"comment": &b.Comment, "event_info": &b.EventInfo, "event_orgc": &b.EventOrgc} {
		if f.has(k) {
			*p = f.str(k)
		}
	}
	if err := c.a.st.EditEventBlock(c.ctx, *b); err != nil {
		return notFoundOr(err, "Blocklist item not found.")
	}
	return c.reply(http.StatusOK, eventBlockJSON(b))
}

// blocklistFields reads a blocklist edit's body: its fields bare, under the model or under
// "request", as MISP's BlockListComponent takes them.
func (c *call) blocklistFields(model string) (fields, error) {
	f, err := c.fields("request")
	if err != nil {
		return nil, err
	}
	if inner, ok := f[model]; ok {
		g := fields{}
		if err := json.Unmarshal(inner, &g); err != nil {
			return nil, httpError(http.StatusBadRequest, msgInvalidJSON)
		}
		return g, nil
	}
	return f, nil
}

func (c *call) orgBlocklistsIndex() error {
	list, err := c.a.st.OrgBlocks(c.ctx)
	if err != nil {
		return err
	}
	out := []any{}
	for i := range list {
		out = append(out, orgBlockJSON(&list[i]))
	}
	return c.reply(http.StatusOK, out)
}

func (c *call) orgBlocklistsAdd() error {
	f, err := c.fields("OrgBlocklist")
	if err != nil {
		return err
	}
	uuids := blockUUIDs(f, "uuid", "org_uuid")
	if len(uuids) == 0 {
		return saveFail(c, "Could not add OrgBlocklist", nil, map[string][]string{"uuids": {"No UUID given."}})
	}
	var last *store.OrgBlock
	for _, u := range uuids {
		u = strings.ToLower(strings.TrimSpace(u))
		if !misp.IsUUID(u) {
			return saveFail(c, "Could not add OrgBlocklist", nil, map[string][]string{"org_uuid": {"Invalid UUID " + u}})
		}
		b, err := c.a.st.AddOrgBlock(c.ctx, store.OrgBlock{OrgUUID: u, Comment: f.str("comment"), OrgName: f.str("org_name")})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return saveFail(c, "Could not add OrgBlocklist", nil, map[string][]string{"org_uuid": {err.Error()}})
		}
		if b != nil {
			last = b
		}
	}
	if len(uuids) == 1 && last != nil {
		return c.reply(http.StatusOK, orgBlockJSON(last))
	}
	return c.reply(http.StatusOK, saveSuccess(c, "OrgBlocklist saved", itoa(int64(len(uuids)))+" entries saved.", nil))
}

// orgBlockArg is the organisation blocklist entry the path names by id or organisation
// UUID; a 404 with the message missing when there is none.
func (c *call) orgBlockArg(missing string) (*store.OrgBlock, error) {
	ref := strings.ToLower(c.path.Arg(0))
	list, err := c.a.st.OrgBlocks(c.ctx)
	if err != nil {
		return nil, err
	}
	for i, b := range list {
		if itoa(b.ID) == ref || b.OrgUUID == ref {
			return &list[i], nil
		}
	}
	return nil, notFound(missing)
}

func (c *call) orgBlocklistsDelete() error {
	b, err := c.orgBlockArg("Invalid blocklist entry")
	if err != nil {
		return err
	}
	if err := c.a.st.DeleteOrgBlock(c.ctx, b.OrgUUID); err != nil {
		return notFoundOr(err, "Invalid blocklist entry")
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Blocklist entry removed", "Blocklist entry removed", itoa(b.ID)))
}

// orgBlocklistsEdit is POST /orgBlocklists/edit/<id|org uuid> {"comment","org_name"},
// PyMISP's update_organisation_blocklist: as eventBlocklistsEdit.
func (c *call) orgBlocklistsEdit() error {
	b, err := c.orgBlockArg("Blocklist item not found.")
	if err != nil {
		return err
	}
	f, err := c.blocklistFields("OrgBlocklist")
	if err != nil {
		return err
	}
	for k, p := range map[string]*string{"comment": &b.Comment, "org_name": &b.OrgName} {
		if f.has(k) {
			*p = f.str(k)
		}
	}
	if err := c.a.st.EditOrgBlock(c.ctx, *b); err != nil {
		return notFoundOr(err, "Blocklist item not found.")
	}
	return c.reply(http.StatusOK, orgBlockJSON(b))
}

// analystDataBlockJSON is an entry as MISP's BlockListComponent lists it (bare in index).
func analystDataBlockJSON(b *store.AnalystDataBlock) map[string]any {
	return map[string]any{"id": itoa(b.ID), "analyst_data_uuid": b.AnalystDataUUID, "created": itoa(b.Created),
		"analyst_data_info": b.AnalystDataInfo, "analyst_data_orgc": b.AnalystDataOrgc, "comment": b.Comment}
}

// analystDataBlocklistsIndex is GET /analystDataBlocklists/index: [{…entry…},…], newest
// first (MISP's BlockListComponent::index for REST).
func (c *call) analystDataBlocklistsIndex() error {
	list, err := c.a.st.AnalystDataBlocks(c.ctx)
	if err != nil {
		return err
	}
	out := []any{}
	for i := range list {
		out = append(out, analystDataBlockJSON(&list[i]))
	}
	return c.reply(http.StatusOK, out)
}

// analystDataBlocklistsAdd is POST /analystDataBlocklists/add {"uuids":[…] or one per line,
// "comment","analyst_data_info","analyst_data_orgc"} (bare, under AnalystDataBlocklist or
// under request): MISP's {"result":{"successes":[…],"fails":[…]},"message":…}, a UUID
// already listed or not a UUID among the fails.
func (c *call) analystDataBlocklistsAdd() error {
	f, err := c.blocklistFields("AnalystDataBlocklist")
	if err != nil {
		return err
	}
	successes, fails := []string{}, []string{}
	for _, u := range blockUUIDs(f) {
		u = strings.TrimSpace(u)
		_, err := c.a.st.AddAnalystDataBlock(c.ctx, store.AnalystDataBlock{AnalystDataUUID: u, Comment: f.str("comment"),
			AnalystDataInfo: f.str("analyst_data_info"), AnalystDataOrgc: f.str("analyst_data_orgc")})
		if err != nil {
			fails = append(fails, u)
			continue
		}
		successes = append(successes, u)
	}
	return c.reply(http.StatusOK, map[string]any{"result": map[string]any{"successes": successes, "fails": fails},
		"message": fmt.Sprintf("Done. Added %d new entries to the blocklist. %d entries could not be saved.", len(successes), len(fails))})
}

// analystDataBlockArg is the entry the path names by id or analyst data UUID; a 404 with
// the message missing when there is none.
func (c *call) analystDataBlockArg(missing string) (*store.AnalystDataBlock, error) {
	ref := strings.ToLower(c.path.Arg(0))
	list, err := c.a.st.AnalystDataBlocks(c.ctx)
	if err != nil {
		return nil, err
	}
	for i, b := range list {
		if itoa(b.ID) == ref || b.AnalystDataUUID == ref {
			return &list[i], nil
		}
	}
	return nil, notFound(missing)
}

// analystDataBlocklistsDelete is POST|DELETE /analystDataBlocklists/delete/<id|uuid>: the
// UUID may be taken back again.
func (c *call) analystDataBlocklistsDelete() error {
	b, err := c.analystDataBlockArg("Invalid blocklist entry")
	if err != nil {
		return err
	}
	if err := c.a.st.DeleteAnalystDataBlock(c.ctx, b.AnalystDataUUID); err != nil {
		return notFoundOr(err, "Invalid blocklist entry")
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Blocklist entry removed", "Blocklist entry removed", c.path.Arg(0)))
}

// analystDataBlocklistsEdit is POST /analystDataBlocklists/edit/<id|uuid> {"comment",
// "analyst_data_info","analyst_data_orgc"}: as eventBlocklistsEdit, the answer
// {"AnalystDataBlocklist":{…}}.
func (c *call) analystDataBlocklistsEdit() error {
	b, err := c.analystDataBlockArg("Blocklist item not found.")
	if err != nil {
		return err
	}
	f, err := c.blocklistFields("AnalystDataBlocklist")
	if err != nil {
		return err
	}
	for k, p := range map[string]*string{"comment": &b.Comment, "analyst_data_info": &b.AnalystDataInfo, "analyst_data_orgc": &b.AnalystDataOrgc} {
		if f.has(k) {
			*p = f.str(k)
		}
	}
	if err := c.a.st.EditAnalystDataBlock(c.ctx, *b); err != nil {
		return notFoundOr(err, "Blocklist item not found.")
	}
	return c.reply(http.StatusOK, map[string]any{"AnalystDataBlocklist": analystDataBlockJSON(b)})
}
