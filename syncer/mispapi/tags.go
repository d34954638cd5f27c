package mispapi

// Tags (MISP's TagsController) and tags on events and attributes (events/addTag,
// attributes/addTag …); galaxy tags name clusters (galaxies.go).

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-json-experiment/json"

	"mispdesk/store"
	"mispdesk/store/misp"
)

func (a *API) registerTags() {
	a.handle("tags/index", methodsGet, permAuth, (*call).tagsIndex)
	a.handle("tags/view", methodsGet, permAuth, (*call).tagsView)
	a.handle("tags/search", methodsGetPost, permAuth, (*call).tagsIndex)
	a.handleWrite("tags/add", methodsPost, permTagEditor, (*call).tagsAdd)
	a.handleWrite("tags/delete", methodsDelete, permSiteAdmin, (*call).tagsDelete)
	a.handleWrite("tags/edit", methodsPost, permSiteAdmin, (*call).tagsEdit)
	a.handleWrite("tags/attachTagToObject", methodsPost, permTagger, (*call).tagsAttach)
	a.handleWrite("tags/removeTagFromObject", methodsPost, permTagger, (*call).tagsRemove)
	a.handleWrite("events/addTag", methodsPost, permTagger, tagAction("Event", true))
	a.handleWrite("events/removeTag", methodsPost, permTagger, tagAction("Event", false))
	a.handleWrite("attributes/addTag", methodsPost, permTagger, tagAction("Attribute", true))
	a.handleWrite("attributes/removeTag", methodsPost, permTagger, tagAction("Attribute", false))

}

func tagJSON(t *store.TagRow) map[string]any {
	return map[string]any{
		"id": itoa(t.ID), "name": t.Name, "colour": t.Colour, "exportable": t.Exportable, "org_id": itoa(t.OrgID),
		"user_id": itoa(t.UserID), "hide_tag": t.HideTag, "numerical_value": nullable(t.NumericalValue), "is_galaxy": t.IsGalaxy,
		"is_custom_galaxy": t.IsCustomGalaxy, "local_only": t.LocalOnly, "count": t.EventCount, "attribute_count": t.AttributeCount,
		"favourite": false, "inherited": 0,
	}
}

// tagsIndex is GET /tags/index[/searchall:…]: {"Tag":[…]}.
func (c *call) tagsIndex() error {
	search := c.path.Param("searchall")
	if search == "" {
		search = c.path.Arg(0)
	}
	tags, err := c.a.st.Tags(c.ctx, search)
	if err != nil {
		return err
	}
	if err := c.countVisible(tags, 0); err != nil {
		return err
	}
	return c.reply(http.StatusOK, map[string]any{"Tag": jsonList(tags, tagJSON)})
}

// countVisible sets each tag's event count to the events carrying it that the caller may
// see (the gate's TagEventCounts); only, when not 0, is the one tag of tags.
func (c *call) countVisible(tags []store.TagRow, only store.TagID) error {
	chk, err := c.check()
	if err != nil {
		return err
	}
	counts, err := chk.TagEventCounts(only)
	if err != nil {
		return err
	}
	for i := range tags {
		tags[i].EventCount = counts[tags[i].ID]
	}
	return nil
}

// tagReply answers {"Tag":{…}} with one tag, its count the caller's (countVisible).
func (c *call) tagReply(t *store.TagRow) error {
	one := []store.TagRow{*t}
	if err := c.countVisible(one, t.ID); err != nil {
		return err
	}
	return c.reply(http.StatusOK, map[string]any{"Tag": tagJSON(&one[0])})
}

// tagByRef is the tag a request names by id or name, resolved once.
func (c *call) tagByRef(ref string) (*store.TagRow, error) {
	return store.ReadByRef(c.ctx, c.a.st.ResolveTag, c.a.st.Tag, ref)
}

func (c *call) tagsView() error {
	t, err := c.tagByRef(c.path.Arg(0))
	if err != nil {
		return notFoundOr(err, "Invalid tag")
	}
	return c.tagReply(t)
}

// tagsAdd is POST /tags/add: {"Tag":{…}} back.
func (c *call) tagsAdd() error {
	f, err := c.fields("Tag")
	if err != nil {
		return err
	}
	t := store.TagRow{Name: f.str("name"), Colour: f.str("colour"), Exportable: true, HideTag: f.flag("hide_tag"),
		NumericalValue: f.str("numerical_value"), LocalOnly: f.flag("local_only"), UserID: c.who.User.ID}
	if f.has("exportable") {
		t.Exportable = f.flag("exportable")
	}
	if f.flag("org_id") || f.str("org_id") != "" {
		t.OrgID = store.OrgID(atoi64(f.str("org_id")))
	}
	out, err := c.a.st.AddTag(c.ctx, t)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			// MISP answers an add of a tag it has with that tag: scripts add tags idempotently
			existing, err := c.tagByRef(t.Name)
			if err != nil {
				return fmt.Errorf("tags/add: the tag %q exists but could not be read: %w", t.Name, err)
			}
			return c.tagReply(existing)
		}
		if errors.Is(err, store.ErrInvalidEvent) {
			return saveFail(c, "Could not add Tag", nil, map[string][]string{"name": {"This field cannot be left empty."}})
		}
		return err
	}
	return c.tagReply(out)
}

// tagsEdit is POST /tags/edit/<id|name> (TagsController::edit, PyMISP's update_tag), a
// site admin's: the fields given change, the rest stay; {"Tag":{…}} back. A name another
// tag has is refused with MISP's 405.
func (c *call) tagsEdit() error {
	t, err := c.tagByRef(c.path.Arg(0))
	if err != nil {
		return notFoundOr(err, "Invalid tag")
	}
	f, err := c.fields("Tag")
	if err != nil {
		return err
	}
	for k, p := range map[string]*string{"name": &t.Name, "colour": &t.Colour, "numerical_value": &t.NumericalValue} {
		if f.has(k) {
			*p = f.str(k)
		}
	}
	for k, p := range map[string]*bool{"exportable": &t.Exportable, "hide_tag": &t.HideTag, "local_only": &t.LocalOnly} {
		if f.has(k) {
			*p = f.flag(k)
		}
	}
	if f.has("org_id") {
		t.OrgID = store.OrgID(atoi64(f.str("org_id")))
	}
	if f.has("user_id") {
		t.UserID = store.UserID(atoi64(f.str("user_id")))
	}
	out, err := c.a.st.EditTag(c.ctx, *t)
	switch {
	case errors.Is(err, store.ErrConflict):
		return httpError(http.StatusMethodNotAllowed, "Could not add the Tag. [name]: A similar name already exists.")
	case errors.Is(err, store.ErrInvalidEvent):
		return httpError(http.StatusMethodNotAllowed, "Could not add the Tag. [name]: This field is required.")
	case err != nil:
		return notFoundOr(err, "Invalid tag")
	}
	return c.tagReply(out)
}

func (c *call) tagsDelete() error {
	t, err := c.tagByRef(c.path.Arg(0))
	if err != nil {
		return notFoundOr(err, "Invalid tag")
	}
	if err := c.a.st.DeleteTag(c.ctx, t.ID); err != nil {
		return notFoundOr(err, "Invalid tag")
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Tag deleted.", "Tag deleted.", itoa(t.ID)))
}

// tagTarget is what a tag is attached to: an event, or an attribute of it.
type tagTarget struct {
	row  *store.IndexRow
	attr *store.ElementRef // nil: the event
}

func (c *call) tagTarget(ref string) (*tagTarget, error) {
	if ref == "" {
		return nil, notFound("Invalid object.")
	}
	if misp.IsUUID(strings.ToLower(ref)) {
		if row, err := c.visibleRow(ref); err == nil {
			return &tagTarget{row: row}, nil
		} else if !isNotFound(err) {
			return nil, err
		}
	}
	el, row, err := c.element(store.ElemAttribute, ref, "Invalid object.")
	if err != nil {
		return nil, err
	}
	return &tagTarget{row: row, attr: el}, nil
}

// tagsAttach is POST /tags/attachTagToObject {"uuid","tag","local"}: attach a tag (by
// name or id; a galaxy cluster's tag attaches the cluster too) to an event or attribute.
func (c *call) tagsAttach() error { return c.tagLink(true) }

// tagsRemove is POST /tags/removeTagFromObject {"uuid","tag"}.
func (c *call) tagsRemove() error { return c.tagLink(false) }

func (c *call) tagLink(attach bool) error {
	f, err := c.fields("")
	if err != nil {
		return err
	}
	ref, tagRef := f.str("uuid"), f.str("tag")
	if ref == "" {
		ref = c.path.Arg(0)
	}
	if tagRef == "" {
		tagRef = c.path.Arg(1)
	}
	if strings.TrimSpace(tagRef) == "" {
		return saveFail(c, "Invalid Tag", nil, "Tag not given.")
	}
	tg, err := c.tagTarget(ref)
	if err != nil {
		return err
	}
	tag, err := c.linkTag(tg, tagRef, f.flag("local") || c.path.Flag("local"), f.str("relationship_type"), attach, true)
	if err != nil {
		return err
	}
	what, whatID := "Event", itoa(tg.row.ID)
	if tg.attr != nil {
		what, whatID = "Attribute", itoa(tg.attr.ID)
	}
	verb := "attached to"
	if !attach {
		verb = "removed from"
	}
	return c.reply(http.StatusOK, map[string]any{"saved": true,
		"success":       fmt.Sprintf("Tag %s(%s) successfully %s %s(%s).", tag.Name, itoa(tag.ID), verb, what, whatID),
		"check_publish": true})
}

// tagAction is events/addTag, events/removeTag, attributes/addTag and
// attributes/removeTag: the target (an event or an attribute, by id or UUID) and the tag
// (by id or name) from the path (/<target>/<tag>) or the body ({"event"|"attribute"|"id",
// "tag"|"tag_id"}, bare or inside "request" and "Event"/"Attribute"), local:1 named or in
// the body. It answers as MISP's controllers: 200 with saved true and success, or saved
// false and errors.
func tagAction(scope string, attach bool) handler {
	return func(c *call) error {
		f, err := c.fields("")
		if err != nil {
			return err
		}
		for _, wrapper := range []string{"request", scope} { // MISP's RequestRearrangeTool
			if inner, ok := f[wrapper]; ok {
				g := fields{}
				if json.Unmarshal(inner, &g) == nil {
					f = g
				}
			}
		}
		key := strings.ToLower(scope)
		ref := c.path.Arg(0)
		for _, k := range []string{key, key + "_id", "id", "uuid"} {
			if ref == "" {
				ref = f.str(k)
			}
		}
		tagRef := c.path.Arg(1)
		for _, k := range []string{"tag", "tag_id"} {
			if tagRef == "" {
				tagRef = f.str(k)
			}
		}
		local := f.flag("local") || c.path.Flag("local")
		var tg *tagTarget
		if scope == "Event" {
			var row *store.IndexRow
			if row, err = c.visibleRow(ref); err == nil {
				tg = &tagTarget{row: row}
			}
		} else {
			var el *store.ElementRef
			var row *store.IndexRow
			if el, row, err = c.element(store.ElemAttribute, ref, "Invalid attribute."); err == nil {
				tg = &tagTarget{row: row, attr: el}
			}
		}
		if err == nil {
			if strings.TrimSpace(tagRef) == "" {
				err = notFound("Invalid Tag.")
			} else {
				_, err = c.linkTag(tg, tagRef, local, f.str("relationship_type"), attach, false)
			}
		}
		var ae *apiError
		if errors.As(err, &ae) {
			c.a.log.Info("tag not changed", "path", logPath(c.r), "reason", ae.msg)
			return c.reply(http.StatusOK, map[string]any{"saved": false, "errors": ae.msg})
		}
		if err != nil {
			return err
		}
		if attach {
			return c.reply(http.StatusOK, map[string]any{"saved": true, "success": "Tag added.", "check_publish": true})
		}
		return c.reply(http.StatusOK, map[string]any{"saved": true, "success": "Tag removed.", "check_publish": !local})
	}
}

// linkTag attaches the tag tagRef (id or name) to tg, or removes it, locally or not, and
// returns the tag as stored. With create, an unknown name is created on attach as
// tags/attachTagToObject does for a tag editor; events/addTag and attributes/addTag only
// look the name up (Tag::lookupTagIdForUser) and answer "Invalid Tag.".
func (c *call) linkTag(tg *tagTarget, tagRef string, local bool, relationship string, attach, create bool) (*store.TagRow, error) {
	tag, err := c.tagByRef(tagRef)
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound) && create && attach && !isNumeric(tagRef) && (permTagEditor(&c.who.User.Role) || local || c.isClusterTag(tagRef)):
		// MISP creates a galaxy cluster's tag on first use, whoever attaches it
		tag = &store.TagRow{Name: strings.TrimSpace(tagRef)}
	case errors.Is(err, store.ErrNotFound):
		return nil, notFound("Invalid Tag.")
	default:
		return nil, err
	}
	if local {
		// Local tags belong to this instance: the caller's org must own the event, or the
		// caller be a site admin (MISP lets an org tag locally what it can see; it does
		// so here too).
		var attrID int64
		if tg.attr != nil {
			attrID = tg.attr.ID
		}
		if _, err := c.a.st.SetLocalTag(c.ctx, tg.row.ID, attrID, tag.Name, attach); err != nil {
			return nil, err
		}
	} else {
		var cluster map[string]any
		if attach && strings.HasPrefix(tag.Name, "misp-galaxy:") {
			cluster, _ = c.clusterByTag(tag.Name)
		}
		_, err := c.changeEvent(tg.row, "Could not change tags", func(ev *misp.Event, now misp.Int) error {
			tags := &ev.Tag
			if tg.attr != nil {
				a, _ := findAttribute(ev, tg.attr.UUID)
				if a == nil {
					return notFound("Invalid object.")
				}
				a.Timestamp = bump(a.Timestamp, now)
				tags = &a.Tag
				if cluster != nil {
					a.Galaxy = addCluster(a.Galaxy, cluster)
				}
			} else if cluster != nil {
				ev.Galaxy = addCluster(ev.Galaxy, cluster)
			}
			kept := (*tags)[:0]
			for _, t := range *tags {
				if !strings.EqualFold(t.Name, tag.Name) || bool(t.Local) {
					kept = append(kept, t)
				}
			}
			*tags = kept
			if attach {
				*tags = append(*tags, misp.Tag{Name: tag.Name, Colour: tag.Colour, Exportable: misp.OptBool{Set: true, Value: tag.Exportable || tag.ID == 0},
					IsGalaxy: misp.Bool(strings.HasPrefix(tag.Name, "misp-galaxy:")), RelationshipType: misp.Text(relationship)})
			} else if tg.attr != nil {
				a, _ := findAttribute(ev, tg.attr.UUID)
				a.Galaxy = dropCluster(a.Galaxy, tag.Name)
			} else {
				ev.Galaxy = dropCluster(ev.Galaxy, tag.Name)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if t, err := c.tagByRef(tag.Name); err == nil {
		tag = t
	}
	return tag, nil
}

func isNumeric(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }

// sightings
