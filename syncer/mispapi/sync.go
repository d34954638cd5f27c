package mispapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/assets"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// register sets up the routes: controller/action (case-insensitive, as PHP's method
// dispatch is), the methods MISP accepts, and the permission MISP's ACL asks.
func (a *API) register() {
	// sync
	a.handle("servers/getVersion", methodsGet, permAuth, (*call).getVersion)
	a.handle("servers/getPyMISPVersion", methodsGet, permAuth, (*call).getPyMISPVersion)
	a.handle("servers/postTest", methodsPost, permAuth, (*call).postTest)
	a.handle("users/view", methodsGet, permAuth, (*call).usersView)
	a.handle("admin/users/view", methodsGet, permAuth, (*call).usersView)
	a.handle("events/index", methodsGetPost, permAuth, (*call).eventsIndex)
	a.handle("events/view", methodsGetPost, permAuth, (*call).eventsView)
	a.handle("events/add", methodsPost, permAdd, (*call).eventsAdd)
	a.handle("events/edit", methodsPost, permModify, (*call).eventsEdit)
	a.handle("events/filterEventIdsForPush", methodsPost, permSync, (*call).filterEventIdsForPush)
	a.handle("sightings/restSearch", methodsGetPost, permAuth, (*call).sightingsRestSearch)
	a.handle("sightings/filterSightingUuidsForPush", methodsPost, permSync, (*call).filterSightingUuidsForPush)
	a.handle("sightings/bulkSaveSightings", methodsPost, permSighting, (*call).bulkSaveSightings)
	a.handleWrite("events/delete", methodsDelete, permModify, (*call).eventsDelete)
	a.handleWrite("events/publish", methodsPost, permPublish, (*call).eventsPublish)
	a.handleWrite("events/unpublish", methodsPost, permPublish, (*call).eventsUnpublish)
	a.registerSearch()
	a.registerAttributes()
	a.registerObjects()
	a.registerEventReports()
	a.registerTags()
	a.registerGalaxies()
	a.registerClusterRelations()
	a.registerProposals()
	a.registerSightings()
	a.registerAnalystData()
	a.registerCorrelation()
	a.registerCollaboration()
	a.registerFeeds()
	a.registerServers()
	a.registerOrgs()
	a.registerUsers()
	a.registerAuthKeys()
	a.registerSharingGroups()
	a.registerBlocklists()
}

// getVersion is GET /servers/getVersion (ServersController::getVersion): the caller's permissions and what this
// instance speaks.
func (c *call) getVersion() error {
	role := &c.who.User.Role
	uuid := "-"
	if role.PermSync {
		in, err := c.a.st.Instance(c.ctx)
		if err != nil {
			return err
		}
		uuid = in.UUID
	}
	return c.reply(http.StatusOK, map[string]any{
		"version":                    assets.MISPVersion,
		"pymisp_recommended_version": assets.MISPVersion,
		"perm_sync":                  role.PermSync,
		"perm_sighting":              role.PermSighting,
		"perm_galaxy_editor":         role.PermGalaxyEditor,
		"perm_analyst_data":          role.PermAnalystData, // the role's, as MISP answers
		"uuid":                       uuid,
		"request_encoding":           []string{"gzip"},
		"filter_sightings":           true,
		"mispdesk_version":           assets.Version,
	})
}

func (c *call) getPyMISPVersion() error {
	return c.reply(http.StatusOK, map[string]any{"version": assets.MISPVersion})
}

// postTest is POST /servers/postTest (ServersController::postTest): the body and three headers echoed.
func (c *call) postTest() error {
	b, err := c.body()
	if err != nil {
		return err
	}
	var body jsontext.Value
	if len(strings.TrimSpace(string(b))) == 0 {
		body = jsontext.Value("[]")
	} else if v := jsontext.Value(b); v.IsValid() {
		body = v
	} else {
		return httpError(http.StatusBadRequest, msgInvalidJSON)
	}
	hdr := func(name string) any {
		if v := c.r.Header.Get(name); v != "" {
			return v
		}
		return 0
	}
	auth := any(0)
	if c.r.Header.Get("Authorization") != "" || c.r.Header.Get("X-MISP-AUTH") != "" {
		auth = "OK"
	}
	return c.reply(http.StatusOK, map[string]any{
		"body":    body,
		"headers": map[string]any{"Content-type": hdr("Content-Type"), "Accept": hdr("Accept"), "Authorization": auth},
	})
}

// usersView is GET /users/view/me (and /admin/users/view/<id> for site admins).
func (c *call) usersView() error {
	u := &c.who.User
	ref := c.path.Arg(0)
	if ref != "" && ref != "me" && ref != itoa(u.ID) {
		if !u.Role.PermSiteAdmin {
			return notFound("Invalid user")
		}
		other, err := c.userByRef(ref)
		if errors.Is(err, store.ErrNotFound) {
			return notFound("Invalid user")
		}
		if err != nil {
			return err
		}
		u = other
	} else if ref == "" {
		return notFound("Invalid user")
	}
	return c.reply(http.StatusOK, userJSON(u, c.who))
}

func userJSON(u *store.User, who *store.Principal) map[string]any {
	role := u.Role
	if who != nil && who.User.ID == u.ID {
		role = who.User.Role // a read-only key shows the permissions it has
	}
	return map[string]any{
		"User": map[string]any{
			"id": itoa(u.ID), "password": "*****", "org_id": itoa(u.OrgID), "server_id": itoa(u.ServerID), "email": u.Email,
			"autoalert": u.Autoalert, "invited_by": "0", "gpgkey": u.GPGKey, "certif_public": "", "nids_sid": "0", "termsaccepted": true,
			"newsread": "0", "role_id": itoa(u.RoleID), "change_pw": false, "contactalert": u.Contactalert, "disabled": u.Disabled,
			"expiration": nil, "current_login": itoa(u.LastLogin), "last_login": itoa(u.LastLogin), "force_logout": false,
			"date_created": itoa(u.Created), "date_modified": itoa(u.Created), "last_pw_change": itoa(u.Created),
			"sub": nil, "external_auth_required": false, "external_auth_key": "", "notification_daily": false,
			"notification_weekly": false, "notification_monthly": false, "totp": "*****", "hotp_counter": nil,
			"last_api_access": itoa(u.LastLogin),
		},
		"Role":         roleJSON(&role),
		"UserSetting":  []any{},
		"Organisation": orgJSON(&u.Org),
	}
}

func roleJSON(r *store.Role) map[string]any {
	return map[string]any{
		"id": itoa(r.ID), "name": r.Name, "perm_site_admin": r.PermSiteAdmin, "perm_admin": r.PermAdmin,
		"perm_sync": r.PermSync, "perm_auth": r.PermAuth, "perm_audit": r.PermAudit, "perm_add": r.PermAdd,
		"perm_modify": r.PermModify, "perm_modify_org": r.PermModifyOrg, "perm_publish": r.PermPublish,
		"perm_delegate": r.PermDelegate, "perm_tagger": r.PermTagger, "perm_tag_editor": r.PermTagEditor,
		"perm_sharing_group": r.PermSharingGroup, "perm_sighting": r.PermSighting,
		"perm_galaxy_editor": r.PermGalaxyEditor, "perm_analyst_data": r.PermAnalystData,
		"perm_object_template": r.PermObjectTemplate, "perm_template": r.PermTemplate,
		"perm_warninglist": r.PermWarninglist, "perm_decaying": r.PermDecaying, "perm_regexp_access": r.PermRegexpAccess,
		"perm_publish_zmq": false, "perm_publish_kafka": false, "perm_skip_otp": false, "perm_server_sign": false,
		"perm_view_feed_correlations": false, "perm_full": r.PermSiteAdmin, "default_role": false,
		"memory_limit": "", "max_execution_time": "", "restricted_to_site_admin": false, "enforce_rate_limit": false,
		"rate_limit_count": "0",
	}
}

func orgJSON(o *store.Org) map[string]any {
	return map[string]any{
		"id": itoa(o.ID), "name": o.Name, "uuid": o.UUID, "description": o.Description, "type": o.Type,
		"nationality": o.Nationality, "sector": o.Sector, "contacts": o.Contacts, "local": o.Local,
		"date_created":  time.Unix(o.Created, 0).UTC().Format("2006-01-02 15:04:05"),
		"date_modified": time.Unix(o.Modified, 0).UTC().Format("2006-01-02 15:04:05"),
		"created_by":    "0", "restricted_to_domain": []string{}, "landingpage": nil,
	}
}

// sightingsRestSearch is POST /sightings/restSearch[/event] (SightingsController::restSearch): sightings of the
// events given by uuid, as the caller may see them.
func (c *call) sightingsRestSearch() error {
	params, err := c.indexParams()
	if err != nil {
		return err
	}
	var uuids []string
	for _, k := range []string{"uuid", "id", "eventid", "event_uuid"} {
		uuids = append(uuids, values(params[k]).or...)
	}
	blockedOrgs := map[string]bool{}
	for _, o := range values(params["org_id"]).not {
		blockedOrgs[strings.ToLower(o)] = true
	}
	vis, err := c.check()
	if err != nil {
		return err
	}
	var refs []string
	visible := map[string]bool{}
	for _, u := range uuids {
		id, err := c.a.st.ResolveEvent(c.ctx, u)
		var r *store.IndexRow
		if err == nil {
			r, err = c.a.st.EventRow(c.ctx, id)
		}
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if ok, err := vis.Row(r); err != nil {
			return err
		} else if !ok {
			continue
		}
		refs = append(refs, r.UUID)
		if err := c.visibleSightings(r, visible); err != nil {
			return err
		}
	}
	out := []any{}
	if len(refs) > 0 {
		sightings, err := c.a.st.EventSightings(c.ctx, refs)
		if err != nil {
			return err
		}
		for _, s := range sightings {
			if !visible[strings.ToLower(s.UUID)] {
				continue
			}
			if s.Organisation != nil && (blockedOrgs[strings.ToLower(s.Organisation.UUID)] || blockedOrgs[itoa(int64(s.OrgID))]) {
				continue
			}
			out = append(out, map[string]any{"Sighting": s})
		}
	}
	return c.reply(http.StatusOK, map[string]any{"response": out})
}

// filterSightingUuidsForPush is POST /sightings/filterSightingUuidsForPush/<event uuid>:
// of the offered sighting UUIDs, those this instance already has.
func (c *call) filterSightingUuidsForPush() error {
	if _, err := c.visibleRow(c.path.Arg(0)); err != nil {
		return err
	}
	var uuids []string
	b, err := c.body()
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &uuids); err != nil {
		return httpError(http.StatusBadRequest, msgInvalidJSON)
	}
	known, err := c.a.st.KnownSightings(c.ctx, uuids)
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, known)
}

// bulkSaveSightings is POST /sightings/bulkSaveSightings/<event uuid>.
func (c *call) bulkSaveSightings() error {
	row, err := c.visibleRow(c.path.Arg(0))
	if err != nil {
		return err
	}
	b, err := c.body()
	if err != nil {
		return err
	}
	var raw []jsontext.Value
	if err := json.Unmarshal(b, &raw); err != nil {
		var one map[string]jsontext.Value
		if json.Unmarshal(b, &one) != nil {
			return httpError(http.StatusBadRequest, msgInvalidJSON)
		}
		raw = []jsontext.Value{jsontext.Value(b)}
	}
	var in []misp.Sighting
	for _, r := range raw {
		var wrapped struct {
			Sighting *misp.Sighting `json:"Sighting"`
		}
		var s misp.Sighting
		if json.Unmarshal(r, &wrapped) == nil && wrapped.Sighting != nil {
			s = *wrapped.Sighting
		} else if json.Unmarshal(r, &s) != nil {
			continue
		}
		in = append(in, s)
	}
	n, err := c.a.st.SaveSightings(c.ctx, row.UUID, in, c.who.User.Role.PermSync, c.who.User.OrgID)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("Invalid event")
	}
	if err != nil {
		return err
	}
	if n == 0 {
		return c.reply(http.StatusOK, map[string]any{"saved": false, "success": "No sightings added."})
	}
	return c.reply(http.StatusOK, map[string]any{"saved": true, "success": itoa(int64(n)) + " sightings added."})
}
