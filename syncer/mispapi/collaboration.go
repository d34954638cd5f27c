package mispapi

// Collaboration over REST, as MISP's ThreadsController, PostsController,
// EventsController::contact and ::alert, the users' own mail settings (users/edit) and
// the instance settings of ServersController (serverSettings, serverSettingsEdit,
// getSetting): mail and the sightings policy. Comments and discussions never go to a sync account: the gate refuses
// them (gate.Check.Thread, Comments).

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"mispdesk/store"
	"mispdesk/syncer/mailer"
)

func (a *API) registerCollaboration() {
	a.handle("threads/index", methodsGet, permAuth, (*call).threadsIndex)
	a.handle("threads/view", methodsGet, permAuth, (*call).threadsView)
	a.handleWrite("posts/add", methodsPost, permAuth, (*call).postsAdd)
	a.handleWrite("events/contact", methodsPost, permAuth, (*call).eventsContact)
	a.handleWrite("events/alert", methodsPost, permPublish, (*call).eventsAlert)
	a.handleWrite("users/edit", methodsPost, permAuth, (*call).usersEditOwn)
	a.handle("servers/serverSettings", methodsGet, permSiteAdmin, (*call).serverSettings)
	a.handle("servers/getSetting", methodsGet, permSiteAdmin, (*call).getSetting)
	a.handleWrite("servers/serverSettingsEdit", methodsGetPost, permSiteAdmin, (*call).serverSettingsEdit)
}

// mispTime is MISP's datetime column as its JSON shows it.
func mispTime(unix int64) string { return time.Unix(unix, 0).UTC().Format("2006-01-02 15:04:05") }

func threadJSON(t *store.Thread) map[string]any {
	out := map[string]any{
		"id": itoa(t.ID), "date_created": mispTime(t.DateCreated), "date_modified": mispTime(t.DateModified),
		"distribution": strconv.Itoa(t.Distribution), "user_id": itoa(t.UserID), "post_count": strconv.Itoa(t.PostCount),
		"event_id": itoa(t.EventID), "title": t.Title, "org_id": itoa(t.OrgID), "sharing_group_id": itoa(t.SharingGroupID),
	}
	return out
}

// authorEmail is a post author's address as MISP shows it: to a site admin and the
// author's own organisation only.
func (c *call) authorEmail(p *store.Post) (string, bool) {
	me := &c.who.User
	if p.UserOrgID == 0 {
		return "Unavailable", me.Role.PermSiteAdmin
	}
	return p.UserEmail, me.Role.PermSiteAdmin || me.OrgID == p.UserOrgID
}

func (c *call) postJSON(p *store.Post) map[string]any {
	out := map[string]any{
		"id": itoa(p.ID), "date_created": mispTime(p.DateCreated), "date_modified": mispTime(p.DateModified),
		"contents": p.Contents, "post_id": itoa(p.PostID), "thread_id": itoa(p.ThreadID), "user_id": nil,
	}
	if p.UserOrgID == 0 {
		out["org_name"] = "Deactivated user"
	} else {
		out["user_id"] = itoa(p.UserID)
		out["org_id"], out["org_uuid"], out["org_name"] = itoa(p.UserOrgID), p.UserOrgUUID, p.UserOrgName
	}
	if email, shown := c.authorEmail(p); shown {
		out["user_email"] = email
	}
	return out
}

// threadsIndex is GET /threads/index: the discussions and event comments the caller may
// read, most recently changed first, each with its latest post.
func (c *call) threadsIndex() error {
	chk, err := c.check()
	if err != nil {
		return err
	}
	threads, last, err := c.a.st.Threads(c.ctx)
	if err != nil {
		return err
	}
	out := []any{}
	for i := range threads {
		t := &threads[i]
		ok, err := chk.Thread(t)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		entry := map[string]any{"Thread": threadJSON(t), "Organisation": map[string]any{"id": itoa(t.OrgID), "name": t.OrgName}}
		posts := []any{}
		if p, ok := last[t.ID]; ok {
			email, shown := c.authorEmail(&p)
			if !shown {
				email = fmt.Sprintf("User %d (%s)", p.UserID, p.UserOrgName)
			}
			if p.UserOrgID == 0 {
				email = "Deactivated user"
			}
			posts = append(posts, map[string]any{"id": itoa(p.ID), "thread_id": itoa(t.ID), "date_created": mispTime(p.DateCreated),
				"date_modified": mispTime(p.DateModified), "user_id": itoa(p.UserID), "contents": p.Contents, "post_id": itoa(p.PostID),
				"User": map[string]any{"id": itoa(p.UserID), "email": email, "org_id": itoa(p.UserOrgID),
					"Organisation": map[string]any{"id": itoa(p.UserOrgID), "name": p.UserOrgName}}})
		}
		entry["Post"] = posts
		// MISP contains the thread's sharing group ({id, name}, nulls without one)
		sg := map[string]any{"id": nil, "name": nil}
		if t.Distribution == 4 && t.SharingGroupID != 0 {
			if g, err := chk.SharingGroup(t.SharingGroupID); err == nil && g != nil {
				sg = map[string]any{"id": itoa(t.SharingGroupID), "name": g.Name}
			}
		}
		entry["SharingGroup"] = sg
		out = append(out, entry)
	}
	return c.reply(http.StatusOK, out)
}

// readableThread is a thread the caller may read, by id; 404 "Invalid thread." else.
func (c *call) readableThread(ref string) (*store.Thread, error) {
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil || id <= 0 {
		return nil, notFound("Invalid thread.")
	}
	t, err := c.a.st.Thread(c.ctx, id)
	if err != nil {
		return nil, notFoundOr(err, "Invalid thread.")
	}
	chk, err := c.check()
	if err != nil {
		return nil, err
	}
	ok, err := chk.Thread(t)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("Invalid thread.")
	}
	return t, nil
}

// threadsView is GET /threads/view/<id>: the thread with its posts.
func (c *call) threadsView() error {
	t, err := c.readableThread(c.path.Arg(0))
	if err != nil {
		return err
	}
	return c.replyThread(t)
}

func (c *call) replyThread(t *store.Thread) error {
	posts, err := c.a.st.Posts(c.ctx, t.ID)
	if err != nil {
		return err
	}
	out := threadJSON(t)
	if len(posts) > 0 {
		list := make([]any, 0, len(posts))
		for i := range posts {
			list = append(list, c.postJSON(&posts[i]))
		}
		out["Post"] = list
	}
	return c.reply(http.StatusOK, map[string]any{"Thread": out})
}

// postsAdd is POST /posts/add[/event|thread|post/<id>] with {"message", "title"}: a
// comment on an event, a reply in a thread or to a post, or a new discussion. The
// people MISP tells of a post are mailed in the same transaction. The answer is the
// thread, as threads/view shows it (MISP redirects there).
func (c *call) postsAdd() error {
	f, err := c.fields("Post")
	if err != nil {
		return err
	}
	message := f.str("message")
	if strings.TrimSpace(message) == "" {
		return httpError(http.StatusMethodNotAllowed, "Cannot post an empty message.")
	}
	me := &c.who.User
	np := store.NewPost{UserID: me.ID, OrgID: me.OrgID, Contents: message, Distribution: 1}
	chk, err := c.check()
	if err != nil {
		return err
	}
	switch c.path.Arg(0) {
	case "event":
		row, err := c.visibleRow(c.path.Arg(1))
		if err != nil {
			return err
		}
		if !chk.Comments() {
			return notFound("Invalid event")
		}
		np = store.EventComment(row, me.ID, me.OrgID, message)
	case "thread":
		t, err := c.readableThread(c.path.Arg(1))
		if err != nil {
			return err
		}
		np.ThreadID = t.ID
	case "post":
		id, _ := strconv.ParseInt(c.path.Arg(1), 10, 64)
		p, err := c.a.st.PostByID(c.ctx, id)
		if err != nil {
			return notFoundOr(err, "Invalid post")
		}
		t, err := c.readableThread(itoa(p.ThreadID))
		if err != nil {
			return err
		}
		np.ThreadID, np.ReplyTo = t.ID, p.ID
	case "":
		np.Title = strings.TrimSpace(f.str("title"))
		if np.Title == "" {
			return saveFail(c, "The post could not be added.", nil, map[string][]string{"title": {"A new discussion needs a title."}})
		}
	default:
		return notFound("Invalid target.")
	}
	cfg, err := c.a.st.MailConfig(c.ctx)
	if err != nil {
		return err
	}
	site, err := c.site()
	if err != nil {
		return err
	}
	t, err := c.a.st.AddPost(c.ctx, np, site.PostNotify(cfg, np.Contents))
	if err != nil {
		return saveFail(c, "The post could not be added.", nil, err.Error())
	}
	return c.replyThread(t)
}

// site is what mail says of this instance.
func (c *call) site() (mailer.Site, error) {
	in, err := c.a.st.Instance(c.ctx)
	if err != nil {
		return mailer.Site{}, err
	}
	return mailer.Site{Org: in.HostOrg.Name, BaseURL: in.BaseURL}, nil
}

// eventsContact is POST /events/contact/<id|uuid> with {"message", "person"}: a message
// to the event's creator (person) or to its creator organisation's users who asked for
// contact mail, queued for the daemon to send. Where encryption is enforced, a recipient
// without a key gets nothing and the answer says so.
func (c *call) eventsContact() error {
	row, err := c.visibleRow(c.path.Arg(0))
	if err != nil {
		return err
	}
	f, err := c.fields("Event")
	if err != nil {
		return err
	}
	message := f.str("message")
	if strings.TrimSpace(message) == "" {
		return httpError(http.StatusMethodNotAllowed, "You must specify a message.")
	}
	site, err := c.site()
	if err != nil {
		return err
	}
	res, err := site.Contact(c.ctx, c.a.st, &c.who.User, row, message, f.flag("person"))
	switch {
	case errors.Is(err, mailer.ErrEmailingDisabled), errors.Is(err, mailer.ErrNobodyToContact), errors.Is(err, mailer.ErrNoKey):
		return saveFail(c, "Sending of email failed.", itoa(row.ID), err.Error())
	case err != nil:
		return err
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Events", res.Line(), itoa(row.ID)))
}

// eventsAlert is POST /events/alert/<id|uuid>: publish, and alert the users who asked
// for alerts (sent by the daemon; each hears only of what they may see).
func (c *call) eventsAlert() error {
	row, err := c.visibleRow(c.path.Arg(0))
	if err != nil {
		return err
	}
	if !c.who.User.Role.PermSiteAdmin && row.OrgcID != c.who.User.OrgID {
		return forbidden("You do not have the permission to do that.")
	}
	res, err := c.a.st.PublishAlert(c.ctx, row.ID, c.who.User.ID)
	if err != nil {
		return notFoundOr(err, "Invalid event")
	}
	if res.Queued > 0 {
		c.a.wake()
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Job queued.", "Job queued.", itoa(row.ID)))
}

// usersEditOwn is POST /users/edit[/<id>]: a user changes their own profile's mail
// settings (autoalert, contactalert, gpgkey); an admin may edit others as
// admin/users/edit.
func (c *call) usersEditOwn() error {
	me := &c.who.User
	if ref := c.path.Arg(0); ref != "" && ref != "me" && ref != itoa(me.ID) {
		if !permAdmin(&me.Role) {
			return notFound("Invalid user")
		}
		return c.usersEdit()
	}
	f, err := c.fields("User")
	if err != nil {
		return err
	}
	if err := c.setUserMail(me.ID, f); err != nil {
		return err
	}
	u, err := c.a.st.User(c.ctx, me.ID)
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, userJSON(u, c.who))
}

// setUserMail applies the mail settings a users/edit body names; a key that cannot
// encrypt is refused with MISP's message.
func (c *call) setUserMail(userID store.UserID, f fields) error {
	var ch store.UserMailChange
	if f.has("autoalert") {
		v := f.flag("autoalert")
		ch.Autoalert = &v
	}
	if f.has("contactalert") {
		v := f.flag("contactalert")
		ch.Contactalert = &v
	}
	if f.has("gpgkey") {
		v := f.str("gpgkey")
		if err := mailer.CheckKey(v); err != nil {
			return saveFail(c, "The user could not be saved.", itoa(userID), map[string][]string{"gpgkey": {strings.TrimPrefix(err.Error(), mailer.ErrRefused.Error()+": ")}})
		}
		ch.GPGKey = &v
	}
	if err := c.a.st.SetUserMail(c.ctx, userID, ch); err != nil {
		return saveFail(c, "The user could not be saved.", itoa(userID), map[string][]string{"User": {err.Error()}})
	}
	return nil
}

func settingJSON(d *store.SettingDef, value string) map[string]any {
	out := map[string]any{"setting": d.Name, "name": d.Name, "value": d.Shown(value), "type": d.Type, "level": 0,
		"description": d.Description, "tab": strings.SplitN(d.Name, ".", 2)[0]}
	if d.Redacted {
		out["redacted"] = true
	}
	if len(d.Options) > 0 {
		out["options"] = d.Options
	}
	return out
}

// serverSettings is GET /servers/serverSettings: the settings this instance keeps, as
// MISP's report lists them (finalSettings).
func (c *call) serverSettings() error {
	values, err := c.a.st.InstanceSettingValues(c.ctx)
	if err != nil {
		return err
	}
	defs := store.InstanceSettings()
	list := make([]any, 0, len(defs))
	for i := range defs {
		d := &defs[i]
		s := settingJSON(d, values[d.Name])
		delete(s, "description") // as MISP's REST answer
		list = append(list, s)
	}
	return c.reply(http.StatusOK, map[string]any{"finalSettings": list})
}

// knownSetting is the setting a path names; 404 "Setting X is invalid." else.
func (c *call) knownSetting() (*store.SettingDef, error) {
	name := c.path.Arg(0)
	d := store.InstanceSettingDef(name)
	if d == nil {
		return nil, notFound(fmt.Sprintf("Setting %s is invalid.", name))
	}
	return d, nil
}

// getSetting is GET /servers/getSetting/<name>.
func (c *call) getSetting() error {
	d, err := c.knownSetting()
	if err != nil {
		return err
	}
	if d.Redacted {
		return forbidden("This setting is redacted.")
	}
	values, err := c.a.st.InstanceSettingValues(c.ctx)
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, settingJSON(d, values[d.Name]))
}

// serverSettingsEdit is GET|POST /servers/serverSettingsEdit/<name>: read one setting
// ({name: value}), or set it from {"value": …}.
func (c *call) serverSettingsEdit() error {
	d, err := c.knownSetting()
	if err != nil {
		return err
	}
	if c.r.Method == http.MethodGet || c.r.Method == http.MethodHead {
		if d.Redacted {
			return forbidden("This setting is redacted.")
		}
		values, err := c.a.st.InstanceSettingValues(c.ctx)
		if err != nil {
			return err
		}
		return c.reply(http.StatusOK, map[string]any{d.Name: settingJSON(d, values[d.Name])["value"]})
	}
	const name = "Servers"
	f, err := c.fields("Server")
	if err != nil {
		return err
	}
	raw, ok := f["value"]
	value := f.str("value")
	switch {
	case !ok || raw.Kind() == '{' || raw.Kind() == '[' || raw.Kind() == 'n':
		return saveFail(c, name, nil, `Invalid input. Expected: {"value": "new_setting"}`)
	case raw.Kind() == 't' || raw.Kind() == 'f':
		value = string(raw) // PyMISP sends booleans as JSON booleans
	}
	if strings.TrimSpace(value) == "*****" {
		return saveFail(c, name, nil, "No change.")
	}
	if err := c.a.st.SetInstanceSetting(c.ctx, d.Name, value); err != nil {
		return saveFail(c, name, nil, err.Error())
	}
	c.a.log.Info("server setting changed", "setting", d.Name, "by", c.who.User.Email)
	return c.reply(http.StatusOK, saveSuccess(c, name, "Field updated", nil))
}
