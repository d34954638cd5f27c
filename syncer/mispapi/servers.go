package mispapi

// Sync links over REST: servers/index, add, edit, delete, testConnection, pull and push, as
// MISP's admins and install scripts call them.

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"mispdesk/store"
)

func (a *API) registerServers() {
	a.handle("servers/index", methodsGet, permSiteAdmin, (*call).serversIndex)
	a.handle("servers/add", methodsPost, permSiteAdmin, (*call).serversAdd)
	a.handle("servers/edit", methodsPost, permSiteAdmin, (*call).serversEdit)
	a.handle("servers/delete", methodsPost, permSiteAdmin, (*call).serversDelete)
	a.handle("servers/testConnection", methodsGetPost, permSiteAdmin, (*call).serversTestConnection)
	a.handle("servers/pull", methodsGetPost, permSiteAdmin, (*call).serversPull)
	a.handle("servers/push", methodsGetPost, permSiteAdmin, (*call).serversPush)
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
