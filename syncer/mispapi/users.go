package mispapi

// Users and roles over REST: add, index, edit, delete, roles/index.

import (
	"net/http"

	"mispdesk/store"
)

func (a *API) registerUsers() {
	a.handleWrite("admin/users/edit", methodsPost, permAdmin, (*call).usersEdit) // users/edit: collaboration.go
	for _, prefix := range []string{"", "admin/"} {
		a.handle(prefix+"users/add", methodsPost, permSiteAdmin, (*call).usersAdd)
		a.handle(prefix+"users/index", methodsGet, permAdmin, (*call).usersIndex)
		a.handleWrite(prefix+"users/delete", methodsDelete, permAdmin, (*call).usersDelete)
		a.handle(prefix+"roles/index", methodsGet, permAuth, (*call).rolesIndex)
	}
}

func (c *call) usersAdd() error {
	f, err := c.fields("User")
	if err != nil {
		return err
	}
	role := f.str("role_id")
	if role == "" {
		role = "user"
	}
	u, key, err := c.a.st.AddUser(c.ctx, store.NewUser{Email: f.str("email"), OrgRef: f.str("org_id"), RoleRef: role})
	if err != nil {
		return saveFail(c, "The user could not be saved.", nil, map[string]any{"User": []string{err.Error()}})
	}
	out := userJSON(u, nil)
	out["User"].(map[string]any)["authkey"] = key // shown this once
	return c.reply(http.StatusOK, out)
}

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
