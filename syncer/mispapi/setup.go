package mispapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/store"
	"mispdesk/store/misp"
)

// registerSetup adds the site-admin endpoints that set sync up over REST, as MISP's
// admins and install scripts call them.
func (a *API) registerSetup() {
	for _, prefix := range []string{"", "admin/"} {
		a.handle(prefix+"organisations/index", methodsGet, permSiteAdmin, (*call).organisationsIndex)
		a.handle(prefix+"organisations/add", methodsPost, permSiteAdmin, (*call).organisationsAdd)
		a.handle(prefix+"users/add", methodsPost, permSiteAdmin, (*call).usersAdd)
	}
	a.handle("servers/index", methodsGet, permSiteAdmin, (*call).serversIndex)
	a.handle("servers/add", methodsPost, permSiteAdmin, (*call).serversAdd)
	a.handle("servers/edit", methodsPost, permSiteAdmin, (*call).serversEdit)
	a.handle("servers/delete", methodsPost, permSiteAdmin, (*call).serversDelete)
	a.handle("servers/testConnection", methodsGetPost, permSiteAdmin, (*call).serversTestConnection)
	a.handle("servers/pull", methodsGetPost, permSiteAdmin, (*call).serversPull)
	a.handle("servers/push", methodsGetPost, permSiteAdmin, (*call).serversPush)
	a.handle("sharing_groups/index", methodsGet, permAuth, (*call).sharingGroupsIndex)
	a.handle("sharing_groups/add", methodsPost, permSiteAdmin, (*call).sharingGroupsAdd)
	a.handle("sharing_groups/view", methodsGet, permAuth, (*call).sharingGroupsView)
	a.handle("sharing_groups/addOrg", methodsPost, permSiteAdmin, (*call).sharingGroupsAddOrg)
	a.handle("sharing_groups/addServer", methodsPost, permSiteAdmin, (*call).sharingGroupsAddServer)
}

// fields is a decoded request body: {"Model":{…}} or the bare object, members kept raw.
type fields map[string]jsontext.Value

func (c *call) fields(model string) (fields, error) {
	b, err := c.body()
	if err != nil {
		return nil, err
	}
	f := fields{}
	if len(strings.TrimSpace(string(b))) == 0 {
		return f, nil
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, httpError(http.StatusBadRequest, msgInvalidJSON)
	}
	if inner, ok := f[model]; ok {
		g := fields{}
		if err := json.Unmarshal(inner, &g); err == nil {
			return g, nil
		}
	}
	return f, nil
}

func (f fields) has(k string) bool { _, ok := f[k]; return ok }

func (f fields) str(k string) string {
	v, ok := f[k]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	if v.Kind() == '0' {
		return string(v)
	}
	return ""
}

func (f fields) flag(k string) bool {
	v, ok := f[k]
	if !ok {
		return false
	}
	var b misp.Bool
	if json.Unmarshal(v, &b) == nil {
		return bool(b)
	}
	return false
}

// raw is a member kept as JSON text when it is an object (rules), else its string.
func (f fields) rules(k string) string {
	v, ok := f[k]
	if !ok {
		return ""
	}
	if v.Kind() == '{' {
		return string(v)
	}
	return f.str(k)
}

func notFoundOr(err error, msg string) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound(msg)
	}
	return err
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

func serverJSON(s *store.Server) map[string]any {
	o := &s.ServerOptions
	return map[string]any{
		"Server": map[string]any{
			"id": itoa(s.ID), "name": s.Name, "url": s.URL, "org_id": itoa(s.OrgID), "remote_org_id": itoa(s.RemoteOrgID),
			"push": o.Push, "pull": o.Pull, "push_sightings": o.PushSightings, "push_galaxy_clusters": o.PushGalaxyClusters,
			"pull_galaxy_clusters": o.PullGalaxyClusters, "push_analyst_data": o.PushAnalystData, "pull_analyst_data": o.PullAnalystData,
			"caching_enabled": o.CachingEnabled, "unpublish_event": o.UnpublishEvent, "publish_without_email": o.PublishWithoutEmail,
			"self_signed": o.SelfSigned, "skip_proxy": o.SkipProxy, "internal": o.Internal, "remove_missing_tags": o.RemoveMissingTags,
			"cert_file": nullable(o.CertFile), "client_cert_file": nullable(o.ClientCertFile), "push_rules": o.PushRules,
			"pull_rules": o.PullRules, "priority": itoa(s.Priority), "lastpushedid": itoa(s.LastPushedID),
			"lastpulledid": itoa(s.LastPulledID), "organization": nil,
		},
		"Organisation": map[string]any{"id": itoa(s.Organisation.ID), "name": s.Organisation.Name, "uuid": s.Organisation.UUID, "nationality": s.Organisation.Nationality, "sector": s.Organisation.Sector, "type": s.Organisation.Type},
		"RemoteOrg":    map[string]any{"id": itoa(s.RemoteOrg.ID), "name": s.RemoteOrg.Name, "uuid": s.RemoteOrg.UUID, "nationality": s.RemoteOrg.Nationality, "sector": s.RemoteOrg.Sector, "type": s.RemoteOrg.Type},
		"User":         []any{},
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// serversIndex is GET /servers/index: every link, never its authkey.
func (c *call) serversIndex() error {
	servers, err := c.a.st.Servers(c.ctx)
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, jsonList(servers, serverJSON))
}

func (c *call) serverSpec(f fields, old *store.Server) store.ServerSpec {
	var spec store.ServerSpec
	if old != nil {
		spec = old.Spec()
	}
	str := func(k string, dst *string) {
		if f.has(k) {
			*dst = f.str(k)
		}
	}
	str("name", &spec.Name)
	str("url", &spec.URL)
	str("authkey", &spec.Authkey)
	str("remote_org_id", &spec.RemoteOrgRef)
	str("cert_file", &spec.CertFile)
	str("client_cert_file", &spec.ClientCertFile)
	if f.has("push_rules") {
		spec.PushRules = f.rules("push_rules")
	}
	if f.has("pull_rules") {
		spec.PullRules = f.rules("pull_rules")
	}
	o := &spec.ServerOptions
	for k, dst := range map[string]*bool{
		"push": &o.Push, "pull": &o.Pull, "push_sightings": &o.PushSightings, "push_galaxy_clusters": &o.PushGalaxyClusters,
		"pull_galaxy_clusters": &o.PullGalaxyClusters, "push_analyst_data": &o.PushAnalystData, "pull_analyst_data": &o.PullAnalystData,
		"caching_enabled": &o.CachingEnabled, "unpublish_event": &o.UnpublishEvent, "publish_without_email": &o.PublishWithoutEmail,
		"self_signed": &o.SelfSigned, "skip_proxy": &o.SkipProxy, "internal": &o.Internal, "remove_missing_tags": &o.RemoveMissingTags,
	} {
		if f.has(k) {
			*dst = f.flag(k)
		}
	}
	if spec.Name == "" {
		spec.Name = spec.URL
	}
	return spec
}

func (c *call) serversAdd() error {
	f, err := c.fields("Server")
	if err != nil {
		return err
	}
	if f.str("remote_org_id") == "" {
		return saveFail(c, "Could not add Server", nil, map[string]any{"remote_org_id": []string{"The remote organisation is required."}})
	}
	spec := c.serverSpec(f, nil)
	spec.OrgRef = "" // the host organisation owns links made here, as MISP forces the admin's
	note, err := c.internalOnlyWithinHostOrg(&spec)
	if err != nil {
		return err
	}
	s, err := c.a.st.AddServer(c.ctx, spec)
	if err != nil {
		return saveFail(c, "Could not add Server", nil, map[string]any{"Server": []string{err.Error()}})
	}
	return c.reply(http.StatusOK, withNote(serverJSON(s), note))
}

// internalOnlyWithinHostOrg drops the internal flag of a link whose remote organisation is
// not this instance's host organisation, as MISP's servers/add and edit do (the flag only
// counts between two instances of one organisation), and says so in the log and in the
// returned note; the link itself is saved.
func (c *call) internalOnlyWithinHostOrg(spec *store.ServerSpec) (string, error) {
	if !spec.Internal {
		return "", nil
	}
	in, err := c.instance()
	if err != nil {
		return "", err
	}
	remoteID, err := c.a.st.ResolveOrg(c.ctx, spec.RemoteOrgRef)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil // the store names the unknown remote organisation when saving
	}
	if err != nil {
		return "", fmt.Errorf("remote org of server %q: %w", spec.Name, err)
	}
	remote, err := c.a.st.Org(c.ctx, remoteID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil // the store names the unknown remote organisation when saving
	}
	if err != nil {
		return "", fmt.Errorf("remote org of server %q: %w", spec.Name, err)
	}
	if in.HostOrg.ID != 0 && store.OrgID(in.HostOrg.ID) == remote.ID {
		return "", nil
	}
	spec.Internal = false
	c.a.log.Info("server saved without the internal flag", "server", spec.Name, "remote_org", remote.Name,
		"reason", "the remote organisation is not this instance's host organisation")
	return "internal was not set: a link is internal only when the remote organisation is this instance's host organisation.", nil
}

// withNote adds a message MISP's tools ignore to a saved record's answer.
func withNote(body map[string]any, note string) map[string]any {
	if note != "" {
		body["message"] = note
	}
	return body
}

func (c *call) serverArg() (*store.Server, error) {
	id, err := strconv.ParseInt(c.path.Arg(0), 10, 64)
	if err != nil {
		return nil, notFound("Invalid server")
	}
	s, err := c.a.st.Server(c.ctx, store.ServerID(id))
	if err != nil {
		return nil, notFoundOr(err, "Invalid server")
	}
	return s, nil
}

func (c *call) serversEdit() error {
	old, err := c.serverArg()
	if err != nil {
		return err
	}
	f, err := c.fields("Server")
	if err != nil {
		return err
	}
	spec := c.serverSpec(f, old)
	note, err := c.internalOnlyWithinHostOrg(&spec)
	if err != nil {
		return err
	}
	s, err := c.a.st.UpdateServer(c.ctx, old.ID, spec)
	if err != nil {
		return saveFail(c, "Could not edit Server", itoa(old.ID), map[string]any{"Server": []string{err.Error()}})
	}
	return c.reply(http.StatusOK, withNote(serverJSON(s), note))
}

func (c *call) serversDelete() error {
	s, err := c.serverArg()
	if err != nil {
		return err
	}
	if err := c.a.st.DeleteServer(c.ctx, s.ID); err != nil {
		return notFoundOr(err, "Invalid server")
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Server deleted", "Server deleted", itoa(s.ID)))
}

func (c *call) noSyncer() error {
	return httpError(http.StatusNotImplemented, "Synchronisation is not running in this process.")
}

func (c *call) serversTestConnection() error {
	s, err := c.serverArg()
	if err != nil {
		return err
	}
	if c.a.cfg.Syncer == nil {
		return c.noSyncer()
	}
	res, err := c.a.cfg.Syncer.TestConnection(c.ctx, s.ID)
	if err != nil {
		return c.reply(http.StatusOK, map[string]any{"status": 2, "error": err.Error()})
	}
	return c.reply(http.StatusOK, res)
}

func (c *call) serversPull() error { return c.runSync("pull", "full") }
func (c *call) serversPush() error { return c.runSync("push", "full") }

func (c *call) runSync(kind, def string) error {
	s, err := c.serverArg()
	if err != nil {
		return err
	}
	if c.a.cfg.Syncer == nil {
		return c.noSyncer()
	}
	technique := c.path.Arg(1)
	if technique == "" {
		technique = def
	}
	var summary string
	if kind == "pull" {
		summary, err = c.a.cfg.Syncer.Pull(c.ctx, s.ID, technique)
	} else {
		summary, err = c.a.cfg.Syncer.Push(c.ctx, s.ID, technique)
	}
	name := "Pull"
	if kind == "push" {
		name = "Push"
	}
	if err != nil {
		return saveFail(c, name+" failed", itoa(s.ID), err.Error())
	}
	return c.reply(http.StatusOK, saveSuccess(c, name+" queued for background execution.", summary, itoa(s.ID)))
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

// resolveBoth resolves the two refs a route names (a sharing group and a member, say),
// stopping at the first that names nothing.
func resolveBoth[A, B ~int64](ctx context.Context, resolveA func(context.Context, string) (A, error), refA string,
	resolveB func(context.Context, string) (B, error), refB string) (A, B, error) {
	a, err := resolveA(ctx, refA)
	if err != nil {
		return 0, 0, err
	}
	b, err := resolveB(ctx, refB)
	return a, b, err
}

// isNotFound reports whether err says that something does not exist, or is not visible
// to the caller, which answers the same.
func isNotFound(err error) bool {
	var ae *apiError
	return errors.Is(err, store.ErrNotFound) || (errors.As(err, &ae) && ae.status == http.StatusNotFound)
}
