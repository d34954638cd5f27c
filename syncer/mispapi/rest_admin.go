package mispapi

// Administration over REST: sharing groups, blocklists, organisations, users, auth keys
// and roles, as MISP's admin tooling and PyMISP call them.

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-json-experiment/json"

	"mispdesk/store"
	"mispdesk/store/misp"
)

func (a *API) registerAdmin() {
	a.handleWrite("sharing_groups/edit", methodsPost, permSiteAdmin, (*call).sharingGroupsEdit)
	a.handleWrite("sharing_groups/delete", methodsDelete, permSiteAdmin, (*call).sharingGroupsDelete)
	a.handleWrite("sharing_groups/removeOrg", methodsDelete, permSiteAdmin, (*call).sharingGroupsRemoveOrg)
	a.handleWrite("sharing_groups/removeServer", methodsDelete, permSiteAdmin, (*call).sharingGroupsRemoveServer)

	a.handleWrite("admin/users/edit", methodsPost, permAdmin, (*call).usersEdit) // users/edit: collaboration.go
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

		a.handle(prefix+"organisations/view", methodsGet, permAuth, (*call).organisationsView)
		a.handleWrite(prefix+"organisations/edit", methodsPost, permSiteAdmin, (*call).organisationsEdit)
		a.handleWrite(prefix+"organisations/delete", methodsDelete, permSiteAdmin, (*call).organisationsDelete)
		a.handle(prefix+"users/index", methodsGet, permAdmin, (*call).usersIndex)
		a.handleWrite(prefix+"users/delete", methodsDelete, permAdmin, (*call).usersDelete)
		a.handleWrite(prefix+"auth_keys/add", methodsPost, permAuth, (*call).authKeysAddChecked)
		a.handle(prefix+"auth_keys/index", methodsGet, permAuth, (*call).authKeysIndex)
		a.handleWrite(prefix+"auth_keys/delete", methodsDelete, permAuth, (*call).authKeysDelete)
		a.handle(prefix+"roles/index", methodsGet, permAuth, (*call).rolesIndex)
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

// sharingGroupArg is the sharing group the path's first argument names (id, UUID or name).
func (c *call) sharingGroupArg() (*misp.SharingGroup, error) {
	return store.ReadByRef(c.ctx, c.a.st.ResolveSharingGroup, c.a.st.SharingGroup, c.path.Arg(0))
}

func (c *call) sharingGroupsEdit() error {
	sg, err := c.sharingGroupArg()
	if err != nil || c.path.Arg(0) == "" {
		return notFound("Invalid sharing group")
	}
	f, err := c.fields("SharingGroup")
	if err != nil {
		return err
	}
	var ch store.SharingGroupChange
	str := func(k string) *string {
		if !f.has(k) {
			return nil
		}
		s := f.str(k)
		return &s
	}
	flag := func(k string) *bool {
		if !f.has(k) {
			return nil
		}
		b := f.flag(k)
		return &b
	}
	ch.Name, ch.Releasability, ch.Description, ch.Active, ch.Roaming = str("name"), str("releasability"), str("description"), flag("active"), flag("roaming")
	out, err := c.a.st.UpdateSharingGroup(c.ctx, store.SharingGroupID(sg.ID), ch)
	if err != nil {
		return saveFail(c, "The sharing group could not be edited.", itoa(int64(sg.ID)), map[string][]string{"SharingGroup": {err.Error()}})
	}
	return c.reply(http.StatusOK, sharingGroupJSON(out))
}

func (c *call) sharingGroupsDelete() error {
	sg, err := c.sharingGroupArg()
	if err != nil || c.path.Arg(0) == "" {
		return notFound("Invalid sharing group")
	}
	if err := c.a.st.DeleteSharingGroup(c.ctx, store.SharingGroupID(sg.ID)); err != nil {
		if errors.Is(err, store.ErrInUse) {
			return saveFail(c, "Sharing group could not be deleted.", itoa(int64(sg.ID)), err.Error())
		}
		return notFoundOr(err, "Invalid sharing group")
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Sharing group deleted.", "Sharing group deleted.", itoa(int64(sg.ID))))
}

func (c *call) sharingGroupsRemoveOrg() error {
	sgRef, orgRef := c.path.Arg(0), c.path.Arg(1)
	if sgRef == "" || orgRef == "" {
		return notFound("Invalid sharing group or organisation")
	}
	sg, org, err := resolveBoth(c.ctx, c.a.st.ResolveSharingGroup, sgRef, c.a.st.ResolveOrg, orgRef)
	if err == nil {
		err = c.a.st.RemoveSharingGroupOrg(c.ctx, sg, org)
	}
	if err != nil {
		return notFoundOr(err, "Invalid sharing group or organisation")
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Organisation removed from the sharing group.", "Organisation removed from the sharing group.", sgRef))
}

func (c *call) sharingGroupsRemoveServer() error {
	sgRef, srvRef := c.path.Arg(0), c.path.Arg(1)
	if sgRef == "" || srvRef == "" {
		return notFound("Invalid sharing group or server")
	}
	sg, srv, err := resolveBoth(c.ctx, c.a.st.ResolveSharingGroup, sgRef, c.a.st.ResolveSharingGroupServer, srvRef)
	if err == nil {
		err = c.a.st.RemoveSharingGroupServer(c.ctx, sg, srv)
	}
	if err != nil {
		return notFoundOr(err, "Invalid sharing group or server")
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Server removed from the sharing group.", "Server removed from the sharing group.", sgRef))
}

// blocklists

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

// organisations

// orgArg is the organisation the path names by id, UUID or name, resolved once.
func (c *call) orgArg() (*store.Org, error) {
	ref := c.path.Arg(0)
	if ref == "" {
		return nil, notFound("Invalid organisation")
	}
	id, err := c.a.st.ResolveOrg(c.ctx, ref)
	if err != nil {
		return nil, notFound("Invalid organisation")
	}
	o, err := c.a.st.Org(c.ctx, id)
	if err != nil {
		return nil, notFound("Invalid organisation")
	}
	return o, nil
}

func (c *call) organisationsView() error {
	o, err := c.orgArg()
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, map[string]any{"Organisation": orgJSON(o)})
}

func (c *call) organisationsEdit() error {
	old, err := c.orgArg()
	if err != nil {
		return err
	}
	f, err := c.fields("Organisation")
	if err != nil {
		return err
	}
	o := *old
	for k, dst := range map[string]*string{"name": &o.Name, "description": &o.Description, "type": &o.Type,
		"nationality": &o.Nationality, "sector": &o.Sector, "contacts": &o.Contacts} {
		if f.has(k) {
			*dst = f.str(k)
		}
	}
	if f.has("local") {
		o.Local = f.flag("local")
	}
	out, err := c.a.st.UpdateOrg(c.ctx, old.ID, o)
	if err != nil {
		return saveFail(c, "The organisation could not be saved.", itoa(old.ID), map[string][]string{"name": {err.Error()}})
	}
	return c.reply(http.StatusOK, map[string]any{"Organisation": orgJSON(out)})
}

func (c *call) organisationsDelete() error {
	o, err := c.orgArg()
	if err != nil {
		return err
	}
	if err := c.a.st.DeleteOrg(c.ctx, o.ID); err != nil {
		if errors.Is(err, store.ErrInUse) {
			return saveFail(c, "Organisation could not be deleted.", itoa(o.ID), err.Error())
		}
		return notFoundOr(err, "Invalid organisation")
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Organisation deleted", "Organisation deleted", itoa(o.ID)))
}

// users

// mayAdminUser: a site admin any user, an org admin the users of its organisation who
// are not site admins.
func (c *call) mayAdminUser(u *store.User) bool {
	me := &c.who.User
	return me.Role.PermSiteAdmin || (me.Role.PermAdmin && u.OrgID == me.OrgID && !u.Role.PermSiteAdmin)
}

func (c *call) usersIndex() error {
	users, err := c.a.st.Users(c.ctx)
	if err != nil {
		return err
	}
	out := []any{}
	for i := range users {
		if c.mayAdminUser(&users[i]) {
			out = append(out, userJSON(&users[i], c.who))
		}
	}
	return c.reply(http.StatusOK, out)
}

// userByRef is the user a request names by id or e-mail, resolved once.
func (c *call) userByRef(ref string) (*store.User, error) {
	return store.ReadByRef(c.ctx, c.a.st.ResolveUser, c.a.st.User, ref)
}

func (c *call) userArg() (*store.User, error) {
	if c.path.Arg(0) == "" {
		return nil, notFound("Invalid user")
	}
	u, err := c.userByRef(c.path.Arg(0))
	if err != nil || !c.mayAdminUser(u) {
		return nil, notFound("Invalid user")
	}
	return u, nil
}

func (c *call) usersEdit() error {
	u, err := c.userArg()
	if err != nil {
		return err
	}
	f, err := c.fields("User")
	if err != nil {
		return err
	}
	ch := store.UserChange{Email: f.str("email")}
	orgRef, roleRef := f.str("org_id"), f.str("role_id")
	if f.has("disabled") {
		d := f.flag("disabled")
		ch.Disabled = &d
	}
	me := &c.who.User
	if !me.Role.PermSiteAdmin {
		// an org admin keeps users in its organisation and cannot hand out site admin
		orgRef = ""
		if roleRef != "" {
			if r, err := store.ReadByRef(c.ctx, c.a.st.ResolveRole, c.a.st.Role, roleRef); err != nil || r.PermSiteAdmin {
				return forbidden("You do not have permission to do that.")
			}
		}
	}
	if err := c.setUserMail(u.ID, f); err != nil {
		return err
	}
	if orgRef != "" {
		ch.Org, err = c.a.st.ResolveOrg(c.ctx, orgRef)
	}
	if err == nil && roleRef != "" {
		ch.Role, err = c.a.st.ResolveRole(c.ctx, roleRef)
	}
	var out *store.User
	if err == nil {
		out, err = c.a.st.UpdateUser(c.ctx, u.ID, ch)
	}
	if err != nil {
		return saveFail(c, "The user could not be saved.", itoa(u.ID), map[string][]string{"User": {err.Error()}})
	}
	return c.reply(http.StatusOK, userJSON(out, nil))
}

func (c *call) usersDelete() error {
	u, err := c.userArg()
	if err != nil {
		return err
	}
	if u.ID == c.who.User.ID {
		return forbidden("You cannot delete yourself.")
	}
	if err := c.a.st.DeleteUser(c.ctx, u.ID); err != nil {
		return notFoundOr(err, "Invalid user")
	}
	return c.reply(http.StatusOK, saveSuccess(c, "User deleted.", "User deleted.", itoa(u.ID)))
}

// auth keys

// keyUser is the user whose keys a request addresses: the caller's own (any user with
// perm_auth), anyone's for a site admin, the org's users for an org admin.
func (c *call) keyUser(ref string) (*store.User, error) {
	me := &c.who.User
	if ref == "" || ref == "me" || ref == itoa(me.ID) {
		return me, nil
	}
	u, err := c.userByRef(ref)
	if err != nil || !c.mayAdminUser(u) {
		return nil, notFound("Invalid user")
	}
	return u, nil
}

func (c *call) authKeysAddChecked() error {
	if _, err := c.keyUser(c.path.Arg(0)); err != nil {
		return err
	}
	return c.authKeysAdd()
}

func authKeyJSON(k *store.AuthKey, u *store.User) map[string]any {
	ips := any(nil)
	if len(k.AllowedIPs) > 0 {
		ips = k.AllowedIPs
	}
	m := map[string]any{"AuthKey": map[string]any{
		"id": itoa(k.ID), "uuid": k.UUID, "authkey_start": k.AuthkeyStart, "authkey_end": k.AuthkeyEnd,
		"created": itoa(k.Created), "expiration": itoa(k.Expiration), "read_only": k.ReadOnly, "comment": k.Comment,
		"allowed_ips": ips, "unique_ips": []string{}, "user_id": itoa(k.UserID), "last_used": itoa(k.LastUsed),
	}}
	if u != nil {
		m["User"] = map[string]any{"id": itoa(u.ID), "email": u.Email, "org_id": itoa(u.OrgID), "role_id": itoa(u.RoleID)}
	}
	return m
}

// authKeysIndex is GET /auth_keys/index[/<user>]: the keys the caller may manage, never
// a key itself.
func (c *call) authKeysIndex() error {
	var users []store.User
	if ref := c.path.Arg(0); ref != "" || !permAdmin(&c.who.User.Role) {
		u, err := c.keyUser(ref)
		if err != nil {
			return err
		}
		users = []store.User{*u}
	} else {
		all, err := c.a.st.Users(c.ctx)
		if err != nil {
			return err
		}
		for i := range all {
			if all[i].ID == c.who.User.ID || c.mayAdminUser(&all[i]) {
				users = append(users, all[i])
			}
		}
	}
	out := []any{}
	for i := range users {
		keys, err := c.a.st.AuthKeys(c.ctx, users[i].ID)
		if err != nil {
			return err
		}
		for j := range keys {
			out = append(out, authKeyJSON(&keys[j], &users[i]))
		}
	}
	return c.reply(http.StatusOK, out)
}

func (c *call) authKeysDelete() error {
	ref := c.path.Arg(0)
	if ref == "" {
		return notFound("Invalid auth key")
	}
	k, err := store.ReadByRef(c.ctx, c.a.st.ResolveAuthKey, c.a.st.AuthKey, ref)
	if err != nil {
		return notFoundOr(err, "Invalid auth key")
	}
	u, err := c.a.st.User(c.ctx, k.UserID)
	if err != nil {
		return notFoundOr(err, "Invalid auth key")
	}
	if u.ID != c.who.User.ID && !c.mayAdminUser(u) {
		return notFound("Invalid auth key") // one the caller may not manage does not exist
	}
	if err := c.a.st.DeleteAuthKey(c.ctx, k.ID); err != nil {
		return notFoundOr(err, "Invalid auth key")
	}
	return c.reply(http.StatusOK, saveSuccess(c, "AuthKey deleted.", "AuthKey deleted.", itoa(k.ID)))
}

// rolesIndex is GET /roles/index: [{"Role":{…}},…].
func (c *call) rolesIndex() error {
	roles, err := c.a.st.Roles(c.ctx)
	if err != nil {
		return err
	}
	out := []any{}
	for i := range roles {
		out = append(out, map[string]any{"Role": roleJSON(&roles[i])})
	}
	return c.reply(http.StatusOK, out)
}
