package mispapi

// Auth keys over REST: add, index, delete; a key is shown once, when it is made.

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"

	"mispdesk/store"
)

func (a *API) registerAuthKeys() {
	for _, prefix := range []string{"", "admin/"} {
		a.handleWrite(prefix+"auth_keys/add", methodsPost, permAuth, (*call).authKeysAddChecked)
		a.handle(prefix+"auth_keys/index", methodsGet, permAuth, (*call).authKeysIndex)
		a.handleWrite(prefix+"auth_keys/delete", methodsDelete, permAuth, (*call).authKeysDelete)
	}
}

func (c *call) authKeysAdd() error {
	f, err := c.fields("AuthKey")
	if err != nil {
		return err
	}
	opts := store.AuthKeyOptions{Comment: f.str("comment"), ReadOnly: f.flag("read_only")}
	if exp := f.str("expiration"); exp != "" && exp != "0" {
		if n, err := strconv.ParseInt(exp, 10, 64); err == nil {
			opts.Expiration = time.Unix(n, 0)
		} else if t, err := time.Parse("2006-01-02", exp); err == nil {
			opts.Expiration = t
		} else {
			return saveFail(c, "The auth key could not be saved.", nil, map[string]any{"expiration": []string{"want a date YYYY-MM-DD or unix time"}})
		}
	}
	if v, ok := f["allowed_ips"]; ok {
		var list []string
		if json.Unmarshal(v, &list) != nil {
			list = nonEmpty(strings.FieldsFunc(f.str("allowed_ips"), func(r rune) bool { return r == '\n' || r == ',' }))
		}
		opts.AllowedIPs = list
	}
	user := c.who.User.ID
	if ref := c.path.Arg(0); ref != "" && ref != "me" {
		user, err = c.a.st.ResolveUser(c.ctx, ref)
	}
	var k *store.AuthKey
	var key string
	if err == nil {
		k, key, err = c.a.st.AddAuthKey(c.ctx, user, opts)
	}
	if errors.Is(err, store.ErrNotFound) {
		return notFound("Invalid user")
	}
	if err != nil {
		return saveFail(c, "The auth key could not be saved.", nil, map[string]any{"AuthKey": []string{err.Error()}})
	}
	ips := any(nil)
	if len(k.AllowedIPs) > 0 {
		ips = k.AllowedIPs
	}
	return c.reply(http.StatusOK, map[string]any{"AuthKey": map[string]any{
		"id": itoa(k.ID), "uuid": k.UUID, "authkey_start": k.AuthkeyStart, "authkey_end": k.AuthkeyEnd,
		"created": itoa(k.Created), "expiration": itoa(k.Expiration), "read_only": k.ReadOnly, "comment": k.Comment,
		"allowed_ips": ips, "unique_ips": []string{}, "user_id": itoa(k.UserID), "authkey_raw": key,
	}})
}

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
