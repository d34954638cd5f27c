package mispapi

// Sharing groups over REST: index and view for every user (the groups its organisation made
// or belongs to), add, edit, delete and membership for the site admin.

import (
	"errors"
	"net/http"

	"mispdesk/store"
	"mispdesk/store/misp"
)

func (a *API) registerSharingGroups() {
	a.handle("sharing_groups/index", methodsGet, permAuth, (*call).sharingGroupsIndex)
	a.handle("sharing_groups/add", methodsPost, permSiteAdmin, (*call).sharingGroupsAdd)
	a.handle("sharing_groups/view", methodsGet, permAuth, (*call).sharingGroupsView)
	a.handle("sharing_groups/addOrg", methodsPost, permSiteAdmin, (*call).sharingGroupsAddOrg)
	a.handle("sharing_groups/addServer", methodsPost, permSiteAdmin, (*call).sharingGroupsAddServer)
	a.handleWrite("sharing_groups/edit", methodsPost, permSiteAdmin, (*call).sharingGroupsEdit)
	a.handleWrite("sharing_groups/delete", methodsDelete, permSiteAdmin, (*call).sharingGroupsDelete)
	a.handleWrite("sharing_groups/removeOrg", methodsDelete, permSiteAdmin, (*call).sharingGroupsRemoveOrg)
	a.handleWrite("sharing_groups/removeServer", methodsDelete, permSiteAdmin, (*call).sharingGroupsRemoveServer)
}

// sharingGroupJSON is a sharing group as sharing_groups/index and view list it.
func sharingGroupJSON(sg *misp.SharingGroup) map[string]any {
	meta := map[string]any{
		"id": itoa(int64(sg.ID)), "uuid": sg.UUID, "name": sg.Name, "releasability": sg.Releasability,
		"description": sg.Description, "org_id": itoa(int64(sg.OrgID)), "organisation_uuid": sg.OrganisationUUID,
		"sync_user_id": itoa(int64(sg.SyncUserID)), "active": sg.Active.True(true), "local": bool(sg.Local),
		"roaming": bool(sg.Roaming), "created": sg.Created, "modified": sg.Modified,
	}
	orgs := []any{}
	for _, m := range sg.SharingGroupOrg {
		e := map[string]any{"id": itoa(int64(m.ID)), "sharing_group_id": itoa(int64(sg.ID)), "org_id": itoa(int64(m.OrgID)), "extend": bool(m.Extend)}
		if m.Organisation != nil {
			e["Organisation"] = map[string]any{"id": itoa(int64(m.Organisation.ID)), "name": m.Organisation.Name, "uuid": m.Organisation.UUID}
		}
		orgs = append(orgs, e)
	}
	servers := []any{}
	for _, m := range sg.SharingGroupServer {
		e := map[string]any{"id": itoa(int64(m.ID)), "sharing_group_id": itoa(int64(sg.ID)), "server_id": itoa(int64(m.ServerID)), "all_orgs": bool(m.AllOrgs)}
		if m.Server != nil {
			e["Server"] = map[string]any{"id": itoa(int64(m.Server.ID)), "name": m.Server.Name, "url": m.Server.URL}
		} else {
			e["Server"] = []any{}
		}
		servers = append(servers, e)
	}
	out := map[string]any{"SharingGroup": meta, "SharingGroupOrg": orgs, "SharingGroupServer": servers, "editable": true, "deletable": true}
	if sg.Organisation != nil {
		out["Organisation"] = map[string]any{"id": itoa(int64(sg.Organisation.ID)), "name": sg.Organisation.Name, "uuid": sg.Organisation.UUID}
	}
	return out
}

// sharingGroupsIndex lists the sharing groups the caller may see (all of them for a site
// admin; for others those their organisation made or belongs to, as MISP).
func (c *call) sharingGroupsIndex() error {
	sgs, err := c.a.st.SharingGroups(c.ctx)
	if err != nil {
		return err
	}
	inst, err := c.instance()
	if err != nil {
		return err
	}
	visible := sgs[:0]
	for i := range sgs {
		if inst.CanSeeSharingGroup(c.viewer, &sgs[i]) {
			visible = append(visible, sgs[i])
		}
	}
	return c.reply(http.StatusOK, map[string]any{"response": jsonList(visible, sharingGroupJSON)})
}

func (c *call) sharingGroupsView() error {
	sg, err := c.sharingGroupArg()
	if err != nil || c.path.Arg(0) == "" {
		if err == nil {
			err = store.ErrNotFound
		}
		return notFoundOr(err, "Invalid sharing group")
	}
	inst, err := c.instance()
	if err != nil {
		return err
	}
	if !inst.CanSeeSharingGroup(c.viewer, sg) {
		return notFound("Invalid sharing group") // as MISP: one the caller may not see does not exist
	}
	return c.reply(http.StatusOK, sharingGroupJSON(sg))
}

func (c *call) sharingGroupsAdd() error {
	f, err := c.fields("SharingGroup")
	if err != nil {
		return err
	}
	sg, err := c.a.st.AddSharingGroup(c.ctx, store.NewSharingGroup{Name: f.str("name"), UUID: f.str("uuid"),
		Releasability: f.str("releasability"), Description: f.str("description"), OrgRef: f.str("organisation_uuid"), Roaming: f.flag("roaming")})
	if err != nil {
		return saveFail(c, "The sharing group could not be added.", nil, map[string]any{"SharingGroup": []string{err.Error()}})
	}
	out := sharingGroupJSON(sg)
	return c.reply(http.StatusOK, out)
}

func (c *call) sharingGroupsAddOrg() error {
	sgRef, orgRef := c.path.Arg(0), c.path.Arg(1)
	if sgRef == "" || orgRef == "" {
		return notFound("Invalid sharing group or organisation")
	}
	sg, org, err := resolveBoth(c.ctx, c.a.st.ResolveSharingGroup, sgRef, c.a.st.ResolveOrg, orgRef)
	if err == nil {
		err = c.a.st.AddSharingGroupOrg(c.ctx, sg, org, c.path.Flag("extend"))
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("Invalid sharing group or organisation")
		}
		return saveFail(c, "Organisation could not be added to the sharing group.", sgRef, err.Error())
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Organisation added to the sharing group.", "Organisation added to the sharing group.", sgRef))
}

func (c *call) sharingGroupsAddServer() error {
	sgRef, srvRef := c.path.Arg(0), c.path.Arg(1)
	if sgRef == "" || srvRef == "" {
		return notFound("Invalid sharing group or server")
	}
	sg, srv, err := resolveBoth(c.ctx, c.a.st.ResolveSharingGroup, sgRef, c.a.st.ResolveSharingGroupServer, srvRef)
	if err == nil {
		err = c.a.st.AddSharingGroupServer(c.ctx, sg, srv, c.path.Flag("all_orgs"))
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("Invalid sharing group or server")
		}
		return saveFail(c, "Server could not be added to the sharing group.", sgRef, err.Error())
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Server added to the sharing group.", "Server added to the sharing group.", sgRef))
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
