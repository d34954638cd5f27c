package mispapi

// Feeds (MISP's FeedsController) over the feeds this instance reads: the site admin adds,
// edits, enables, fetches and caches them; the host organisation's users may list and view
// them (headers, which may hold credentials, only to the site admin).

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/store/misp"
)

func (a *API) registerFeeds() {
	a.handle("feeds/index", methodsGet, permAuth, (*call).feedsIndex)
	a.handle("feeds/view", methodsGet, permAuth, hostOrgOnly((*call).feedsView))
	a.handleWrite("feeds/add", methodsPost, permSiteAdmin, (*call).feedsAdd)
	a.handleWrite("feeds/edit", methodsPost, permSiteAdmin, (*call).feedsEdit)
	a.handleWrite("feeds/delete", methodsDelete, permSiteAdmin, (*call).feedsDelete)
	a.handleWrite("feeds/enable", methodsPost, permSiteAdmin, feedToggle(true))
	a.handleWrite("feeds/disable", methodsPost, permSiteAdmin, feedToggle(false))
	// PyMISP fetches and caches by GET; a read-only key is refused in the handlers
	a.handle("feeds/fetchFromFeed", methodsGetPost, permSiteAdmin, (*call).feedsFetch)
	a.handle("feeds/fetchFromAllFeeds", methodsGetPost, permSiteAdmin, (*call).feedsFetchAll)
	a.handle("feeds/cacheFeeds", methodsGetPost, permSiteAdmin, (*call).feedsCache)
}

// feedJSON is a feed as MISP's REST answers show it ({"Feed":{…}}, and Tag when it has
// one); headers only for the site admin.
func (c *call) feedJSON(f *store.Feed) map[string]any {
	m := map[string]any{
		"id": itoa(f.ID), "name": f.Name, "provider": f.Provider, "url": f.URL, "rules": f.Rules, "enabled": f.Enabled,
		"distribution": itoa(int64(f.Distribution)), "sharing_group_id": itoa(f.SharingGroupID), "tag_id": itoa(f.TagID),
		"default": f.Default, "source_format": f.SourceFormat, "fixed_event": false, "delta_merge": false, "event_id": "0",
		"publish": false, "override_ids": false, "settings": f.Settings, "input_source": f.InputSource,
		"delete_local_file": false, "lookup_visible": false, "caching_enabled": f.Caching, "force_to_ids": false,
		"orgc_id": "0", "tag_collection_id": "0", "cache_timestamp": f.CacheTimestamp, "cached_elements": f.CacheCount,
	}
	if c.who.User.Role.PermSiteAdmin {
		m["headers"] = f.Headers
	}
	out := map[string]any{"Feed": m}
	if f.TagID != 0 {
		out["Tag"] = map[string]any{"id": itoa(f.TagID), "name": f.Tag}
	}
	return out
}

// feedsIndex is GET /feeds/index (FeedsController::index): every feed for the site admin
// and the host organisation's users; MISP shows others only feeds marked lookup_visible,
// which no feed here is.
func (c *call) feedsIndex() error {
	out := []any{}
	ok, err := c.hostOrgUser()
	if err != nil {
		return err
	}
	if !ok {
		return c.reply(http.StatusOK, out)
	}
	feeds, err := c.a.st.Feeds(c.ctx)
	if err != nil {
		return err
	}
	for i := range feeds {
		out = append(out, c.feedJSON(&feeds[i]))
	}
	return c.reply(http.StatusOK, out)
}

// feedArg is the feed the path names by id (or name), MISP's 404 "Invalid feed." otherwise.
func (c *call) feedArg() (*store.Feed, error) {
	id, err := c.a.st.ResolveFeed(c.ctx, c.path.Arg(0))
	if err != nil {
		return nil, notFoundOr(err, "Invalid feed.")
	}
	f, err := c.a.st.Feed(c.ctx, id)
	if err != nil {
		return nil, notFoundOr(err, "Invalid feed.")
	}
	return f, nil
}

func (c *call) feedsView() error {
	f, err := c.feedArg()
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, c.feedJSON(f))
}

// feedSpec reads a feeds/add or edit body ({"Feed":{…}} or bare) over spec: MISP's
// fields, pull_rules taken as rules, tag_id as the tag's name, distribution 0 when an
// added feed names none.
func (c *call) feedSpec(spec *store.FeedSpec) error {
	f, err := c.fields("Feed")
	if err != nil {
		return err
	}
	for k, p := range map[string]*string{"name": &spec.Name, "provider": &spec.Provider, "url": &spec.URL,
		"input_source": &spec.InputSource, "source_format": &spec.SourceFormat, "headers": &spec.Headers} {
		if f.has(k) {
			*p = strings.TrimSpace(f.str(k))
		}
	}
	for k, p := range map[string]*bool{"enabled": &spec.Enabled, "caching_enabled": &spec.Caching} {
		if f.has(k) {
			*p = f.flag(k)
		}
	}
	if f.has("settings") {
		spec.Settings = f.rules("settings")
	}
	for _, k := range []string{"rules", "pull_rules"} {
		if !f.has(k) {
			continue
		}
		text := f.rules(k)
		if _, err := policy.ParseRules(policy.RulesKind("rules"), text); err != nil {
			return fmt.Errorf("%w: %s: %v", store.ErrInvalidEvent, k, err)
		}
		spec.Rules = text
	}
	if f.has("distribution") {
		d, err := strconv.Atoi(strings.TrimSpace(f.str("distribution")))
		if err != nil || !misp.Distribution(d).Valid() {
			return fmt.Errorf("%w: distribution %q is not one of 0-5", store.ErrInvalidEvent, f.str("distribution"))
		}
		spec.Distribution = misp.Distribution(d)
	}
	if f.has("sharing_group_id") {
		spec.SharingGroupRef = f.str("sharing_group_id")
	}
	if spec.Distribution != misp.SharingGroupDist {
		spec.SharingGroupRef = ""
	}
	if f.has("tag_id") {
		spec.Tag = ""
		if id := atoi64(f.str("tag_id")); id != 0 {
			t, err := c.a.st.Tag(c.ctx, store.TagID(id))
			if err != nil {
				return fmt.Errorf("%w: tag_id %d: %v", store.ErrInvalidEvent, id, err)
			}
			spec.Tag = t.Name
		}
	}
	return nil
}

// feedSaved answers a feed add or edit: the feed, or MISP's save failure naming why.
func (c *call) feedSaved(action string, id any, f *store.Feed, err error) error {
	if err != nil {
		return saveFail(c, "Could not "+action+" Feed", id, map[string][]string{"Feed": {err.Error()}})
	}
	return c.reply(http.StatusOK, c.feedJSON(f))
}

// feedsAdd is POST /feeds/add (PyMISP's add_feed): a feed read by this instance.
func (c *call) feedsAdd() error {
	spec := store.FeedSpec{Distribution: misp.OrgOnly}
	if err := c.feedSpec(&spec); err != nil {
		return c.feedSaved("add", nil, nil, err)
	}
	f, err := c.a.st.AddFeed(c.ctx, spec)
	return c.feedSaved("add", nil, f, err)
}

// feedsEdit is POST /feeds/edit/<id> (PyMISP's update_feed, enable_feed, disable_feed): the
// fields given change, the rest stay.
func (c *call) feedsEdit() error {
	old, err := c.feedArg()
	if err != nil {
		return err
	}
	spec := old.Spec()
	if err := c.feedSpec(&spec); err != nil {
		return c.feedSaved("edit", itoa(old.ID), nil, err)
	}
	f, err := c.a.st.UpdateFeed(c.ctx, old.ID, spec)
	return c.feedSaved("edit", itoa(old.ID), f, err)
}

func (c *call) feedsDelete() error {
	f, err := c.feedArg()
	if err != nil {
		return err
	}
	if err := c.a.st.DeleteFeed(c.ctx, f.ID); err != nil {
		return notFoundOr(err, "Invalid feed.")
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Feed deleted.", "Feed deleted.", itoa(f.ID)))
}

// feedToggle is POST /feeds/enable|disable/<id>: {"name","message","url"} as MISP answers.
func feedToggle(enable bool) handler {
	return func(c *call) error {
		f, err := c.feedArg()
		if err != nil {
			return httpError(http.StatusMethodNotAllowed, "Invalid Feed.")
		}
		spec := f.Spec()
		spec.Enabled = enable
		action := map[bool]string{true: "enable", false: "disable"}[enable]
		if _, err := c.a.st.UpdateFeed(c.ctx, f.ID, spec); err != nil {
			msg := "Could not " + action + " feed."
			return c.reply(http.StatusOK, map[string]any{"name": msg, "message": msg, "url": c.r.URL.Path, "errors": err.Error()})
		}
		msg := "Feed " + action + "d."
		return c.reply(http.StatusOK, map[string]any{"name": msg, "message": msg, "url": c.r.URL.Path})
	}
}

// runsFeeds refuses a read-only key the fetch and cache endpoints, which PyMISP calls by
// GET, and answers 501 where no sync engine runs.
func (c *call) runsFeeds() error {
	if c.who.ReadOnly {
		return forbidden(msgNoPerm)
	}
	if c.a.cfg.Syncer == nil {
		return httpError(http.StatusNotImplemented, "Feeds are fetched by the sync engine, which this server does not run.")
	}
	return nil
}

// feedsFetch is /feeds/fetchFromFeed/<id> (PyMISP's fetch_feed): the feed fetched now,
// {"result": MISP's message}.
func (c *call) feedsFetch() error {
	if err := c.runsFeeds(); err != nil {
		return err
	}
	f, err := c.feedArg()
	if err != nil {
		return err
	}
	if !f.Enabled {
		return c.reply(http.StatusOK, map[string]string{"result": "Feed is currently not enabled. Make sure you enable it."})
	}
	return c.reply(http.StatusOK, map[string]string{"result": c.fetchResult(f)})
}

// fetchResult fetches a feed and words the outcome as MISP's fetchFromFeed.
func (c *call) fetchResult(f *store.Feed) string {
	created, updated, err := c.a.cfg.Syncer.FetchFeed(c.ctx, f.ID)
	if err != nil {
		c.a.log.Info("feed fetch failed", "feed", f.Name, "err", err)
		return "Fetching the feed has failed."
	}
	msg := "Fetching the feed has successfully completed."
	if f.SourceFormat == "misp" {
		msg += fmt.Sprintf(" Downloaded %d new event(s). Updated %d event(s).", created, updated)
	}
	return msg
}

// feedsFetchAll is /feeds/fetchFromAllFeeds (PyMISP's fetch_all_feeds): every enabled
// feed fetched in turn; the last one's message, or "No feed enabled.".
func (c *call) feedsFetchAll() error {
	if err := c.runsFeeds(); err != nil {
		return err
	}
	feeds, err := c.a.st.Feeds(c.ctx)
	if err != nil {
		return err
	}
	msg := "No feed enabled."
	for i := range feeds {
		if feeds[i].Enabled {
			msg = c.fetchResult(&feeds[i])
		}
	}
	return c.reply(http.StatusOK, map[string]string{"result": msg})
}

// feedsCache is /feeds/cacheFeeds/<all|misp|freetext|id> (PyMISP's cache_all_feeds,
// cache_feed, cache_freetext_feeds, cache_misp_feeds): the caches of the caching feeds in
// scope refreshed now (every feed here is a MISP feed, so freetext has none).
func (c *call) feedsCache() error {
	if err := c.runsFeeds(); err != nil {
		return err
	}
	scope := strings.ToLower(c.path.Arg(0))
	if scope == "" {
		scope = "freetext"
	}
	feeds, err := c.a.st.Feeds(c.ctx)
	if err != nil {
		return err
	}
	failed := false
	for i := range feeds {
		f := &feeds[i]
		inScope := scope == "all" || scope == f.SourceFormat || scope == itoa(f.ID)
		if !inScope || !f.Caching {
			continue
		}
		if _, err := c.a.cfg.Syncer.CacheFeed(c.ctx, f.ID); err != nil {
			c.a.log.Info("feed cache failed", "feed", f.Name, "err", err)
			failed = true
		}
	}
	if failed {
		return saveFail(c, "Caching the feeds has failed.", nil, "Caching the feeds has failed.")
	}
	msg := "Caching the feeds has successfully completed."
	return c.reply(http.StatusOK, saveSuccess(c, msg, msg, nil))
}
