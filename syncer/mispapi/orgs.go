package mispapi

// Organisations over REST: index, add, view, edit, delete, as MISP's admin tooling and
// PyMISP call them.

import (
	"errors"
	"net/http"

	"mispdesk/store"
)

func (a *API) registerOrgs() {
	for _, prefix := range []string{"", "admin/"} {
		a.handle(prefix+"organisations/index", methodsGet, permSiteAdmin, (*call).organisationsIndex)
		a.handle(prefix+"organisations/add", methodsPost, permSiteAdmin, (*call).organisationsAdd)
		a.handle(prefix+"organisations/view", methodsGet, permAuth, (*call).organisationsView)
		a.handleWrite(prefix+"organisations/edit", methodsPost, permSiteAdmin, (*call).organisationsEdit)
		a.handleWrite(prefix+"organisations/delete", methodsDelete, permSiteAdmin, (*call).organisationsDelete)
	}
}

func (c *call) organisationsIndex() error {
	orgs, err := c.a.st.Orgs(c.ctx)
	if err != nil {
		return err
	}
	scope := c.path.Param("scope")
	out := []any{}
	for i := range orgs {
		o := &orgs[i]
		if (scope == "local" && !o.Local) || (scope == "external" && o.Local) {
			continue
		}
		out = append(out, map[string]any{"Organisation": orgJSON(o)})
	}
	return c.reply(http.StatusOK, out)
}

func (c *call) organisationsAdd() error {
	f, err := c.fields("Organisation")
	if err != nil {
		return err
	}
	local := true
	if f.has("local") {
		local = f.flag("local")
	}
	o, err := c.a.st.AddOrg(c.ctx, store.Org{Name: f.str("name"), UUID: f.str("uuid"), Description: f.str("description"),
		Type: f.str("type"), Nationality: f.str("nationality"), Sector: f.str("sector"), Contacts: f.str("contacts"), Local: local})
	if err != nil {
		return saveFail(c, "The organisation could not be saved.", nil, map[string]any{"name": []string{err.Error()}})
	}
	return c.reply(http.StatusOK, map[string]any{"Organisation": orgJSON(o)})
}

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
