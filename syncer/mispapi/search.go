package mispapi

// restSearch over REST: events and attributes by MISP's filters, each answer trimmed for
// the caller by the gate.

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"mispdesk/store"
	"mispdesk/store/misp"
)

func (a *API) registerSearch() {
	a.handle("events/restSearch", methodsGetPost, permAuth, (*call).eventsRestSearch)
	a.handle("attributes/restSearch", methodsGetPost, permAuth, (*call).attributesRestSearch)
}

// search is a parsed restSearch request.
type search struct {
	q                store.SearchQuery
	limit, page      int
	metadata         bool
	includeEventUUID bool
	// analystData embeds the notes, opinions and relationships the caller may see, as
	// MISP's includeAnalystData (events/restSearch only: MISP's attribute search does not
	// take it)
	analystData bool
	// attribute-level filters also decide which attributes of a found event are shown
	filterAttrs  bool
	correlations correlationWants
}

// parseSearch reads restSearch's filters (MISP's RestSearch component): the index's
// event filters plus value, type, category, to_ids, deleted, attribute uuid, and tags
// matched on the event or its attributes. forAttributes reads timestamp and uuid as the
// attribute's, as attributes/restSearch does.
func (c *call) parseSearch(forAttributes bool) (*search, error) {
	params, err := c.indexParams()
	if err != nil {
		return nil, err
	}
	if rf := strings.ToLower(scalar(params["returnformat"])); rf != "" && rf != "json" {
		return nil, httpError(http.StatusBadRequest, "Invalid return format: this instance serves json only.")
	}
	eventParams := map[string]any{}
	s := &search{page: 1}
	af := &s.q.Attribute
	now := time.Now()
	for k, v := range params {
		switch k {
		case "value", "values":
			vals := values(v)
			af.Values, af.ValuesNOT = append(af.Values, vals.or...), append(af.ValuesNOT, vals.not...)
		case "type", "types":
			vals := values(v)
			af.Types, af.TypesNOT = append(af.Types, vals.or...), append(af.TypesNOT, vals.not...)
		case "category", "categories":
			vals := values(v)
			af.Categories, af.CategoriesNOT = append(af.Categories, vals.or...), append(af.CategoriesNOT, vals.not...)
		case "to_ids":
			if vals := values(v).or; len(vals) == 1 {
				b := truthy(vals[0])
				af.ToIDs = &b
			}
		case "deleted":
			vals := values(v).or
			hasT, hasF := false, false
			for _, d := range vals {
				if truthy(d) {
					hasT = true
				} else {
					hasF = true
				}
			}
			af.OnlyDeleted = hasT && !hasF
			af.WithDeleted = hasT && hasF
		case "tags", "tag":
			vals := tagValues(v)
			s.q.AnyTagsOR = append(s.q.AnyTagsOR, vals.or...)
			s.q.AnyTagsAND = append(s.q.AnyTagsAND, vals.and...)
			s.q.AnyTagsNOT = append(s.q.AnyTagsNOT, vals.not...)
		case "limit":
			s.limit = atoiDefault(scalar(v), 0)
		case "page":
			s.page = max(atoiDefault(scalar(v), 1), 1)
		case "metadata":
			s.metadata = truthy(v)
		case "includeeventuuid":
			s.includeEventUUID = truthy(v)
		case "includeanalystdata":
			s.analystData = !forAttributes && truthy(v)
		case "includeeventcorrelations":
			s.correlations.events = truthy(v)
		case "includecorrelations", "includegranularcorrelations":
			s.correlations.attributes = s.correlations.attributes || truthy(v)
		case "includerelatedtags":
			s.correlations.tags = truthy(v)
			s.correlations.attributes = s.correlations.attributes || s.correlations.tags
		case "date":
			from, to, err := timeRange(v, now)
			if err != nil {
				return nil, err
			}
			if from != 0 {
				eventParams["datefrom"] = time.Unix(from, 0).UTC().Format("2006-01-02")
			}
			if to != 0 {
				eventParams["dateuntil"] = time.Unix(to, 0).UTC().Format("2006-01-02")
			}
		case "last":
			eventParams["publish_timestamp"] = v
		case "timestamp", "attribute_timestamp":
			if forAttributes || k == "attribute_timestamp" {
				from, to, err := timeRange(v, now)
				if err != nil {
					return nil, err
				}
				af.TimestampFrom, af.TimestampTo = from, to
			} else {
				eventParams[k] = v
			}
		case "event_timestamp":
			eventParams["timestamp"] = v
		case "uuid":
			if forAttributes {
				af.UUIDs = append(af.UUIDs, values(v).or...)
			} else {
				eventParams[k] = v
			}
		case "id":
			if forAttributes {
				af.UUIDs = append(af.UUIDs, values(v).or...)
			}
		default:
			eventParams[k] = v
		}
	}
	f, err := parseIndexFilter(eventParams, now)
	if err != nil {
		return nil, err
	}
	s.q.Event = f.q
	s.filterAttrs = len(af.Values)+len(af.ValuesNOT)+len(af.Types)+len(af.TypesNOT)+len(af.Categories)+len(af.CategoriesNOT)+len(af.UUIDs) > 0 ||
		af.ToIDs != nil || af.TimestampFrom != 0 || af.TimestampTo != 0
	return s, nil
}

// matchAttr applies the attribute filter to one attribute, as the store's query does.
func matchAttr(f *store.AttributeFilter, a *misp.Attribute) bool {
	d := bool(a.Deleted)
	if (f.OnlyDeleted && !d) || (!f.OnlyDeleted && !f.WithDeleted && d) {
		return false
	}
	if f.ToIDs != nil && bool(a.ToIDs) != *f.ToIDs {
		return false
	}
	if len(f.Types) > 0 && !slices.Contains(f.Types, a.Type) || slices.Contains(f.TypesNOT, a.Type) {
		return false
	}
	if len(f.Categories) > 0 && !slices.Contains(f.Categories, a.Category) || slices.Contains(f.CategoriesNOT, a.Category) {
		return false
	}
	if f.TimestampFrom != 0 && int64(a.Timestamp) < f.TimestampFrom || f.TimestampTo != 0 && int64(a.Timestamp) > f.TimestampTo {
		return false
	}
	if len(f.UUIDs) > 0 {
		ok := false
		for _, u := range f.UUIDs {
			if strings.EqualFold(u, a.UUID) || u == itoa(int64(a.ID)) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	if len(f.Values) > 0 && !valueMatches(f.Values, a) || len(f.ValuesNOT) > 0 && valueMatches(f.ValuesNOT, a) {
		return false
	}
	return true
}

func valueMatches(pats []string, a *misp.Attribute) bool {
	v1, v2 := store.SplitValue(a.Type, a.Value)
	for _, p := range pats {
		if strings.Contains(p, "%") {
			if likeMatch(p, a.Value) || likeMatch(p, v1) || (v2 != "" && likeMatch(p, v2)) {
				return true
			}
		} else if p == a.Value || p == v1 || (v2 != "" && p == v2) {
			return true
		}
	}
	return false
}

// likeMatch is SQL LIKE with % only, case-insensitive as SQLite's LIKE is for ASCII.
func likeMatch(pattern, s string) bool {
	parts := strings.Split(strings.ToLower(pattern), "%")
	s = strings.ToLower(s)
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(s, p)
		}
		j := strings.Index(s, p)
		if j < 0 {
			return false
		}
		s = s[j+len(p):]
	}
	return s == ""
}

// rowEvent is an event's metadata from its index row and tags, without loading children.
func rowEventMeta(r *store.IndexRow, tags []misp.Tag) *misp.Event {
	ev := &misp.Event{
		ID: misp.Int(r.ID), UUID: r.UUID, Info: r.Info, Date: r.Date, ThreatLevelID: misp.Int(r.ThreatLevelID),
		Analysis: misp.Analysis(r.Analysis), AttributeCount: misp.Int(r.AttributeCount), Timestamp: misp.Int(r.Timestamp),
		PublishTimestamp: misp.Int(r.PublishTimestamp), SightingTimestamp: misp.Int(r.SightingTimestamp),
		Published: misp.Bool(r.Published), Locked: misp.Bool(r.Locked), Distribution: r.Distribution,
		SharingGroupID: misp.Int(r.SharingGroupID), DisableCorrelation: misp.Bool(r.DisableCorrelation),
		ProposalEmailLock: misp.Bool(r.ProposalEmailLock), ExtendsUUID: r.ExtendsUUID,
		OrgID: misp.Int(r.OrgID), OrgcID: misp.Int(r.OrgcID),
		Org:  &misp.Org{ID: misp.Int(r.OrgID), UUID: r.OrgUUID, Name: r.OrgName},
		Orgc: &misp.Org{ID: misp.Int(r.OrgcID), UUID: r.OrgcUUID, Name: r.OrgcName},
		Tag:  tags, Attribute: []misp.Attribute{}, Object: []misp.Object{},
	}
	if r.Protected.Valid {
		ev.Protected = misp.OptBool{Set: true, Value: r.Protected.Int64 != 0}
	}
	return ev
}

// searchEvents walks the visible events matching s, loading each whole unless metadata,
// with the attributes the filter selects; fn returns false to stop.
func (c *call) searchEvents(s *search, fn func(ev *misp.Event) bool) error {
	vis, err := c.check()
	if err != nil {
		return err
	}
	var rows []store.IndexRow
	var failure error
	flush := func() bool {
		if len(rows) == 0 {
			return true
		}
		batch := rows
		rows = nil
		var tags map[store.EventID][]misp.Tag
		if s.metadata {
			ids := make([]store.EventID, len(batch))
			for i := range batch {
				ids[i] = batch[i].ID
			}
			if tags, failure = c.a.st.EventTagsOf(c.ctx, ids); failure != nil {
				return false
			}
		}
		for i := range batch {
			r := &batch[i]
			var ev *misp.Event
			if s.metadata {
				if s.matchesBelowEvent() && !c.viewer.SiteAdmin && int64(r.OrgID) != c.viewer.OrgID {
					// The store matched on every attribute and tag; a viewer who does not
					// own the event must match on what it may see, or the answer confirms
					// an indicator it may not see.
					ok, err := c.matchesVisible(r, s)
					if err != nil {
						failure = err
						return false
					}
					if !ok {
						continue
					}
				}
				ev = rowEventMeta(r, tags[r.ID])
				if r.Distribution == misp.SharingGroupDist {
					if ev.SharingGroup, failure = vis.SharingGroup(r.SharingGroupID); failure != nil {
						return false
					}
				}
				ev.Tag = c.viewer.SharedTags(ev.Tag)
				if s.analystData {
					// the event's own analyst data, as MISP attaches it to the event row
					// even without its children; the gate keeps what the caller may see
					if ev, failure = c.viewAnalystData(ev); failure != nil {
						return false
					}
					if ev == nil {
						continue
					}
				}
			} else {
				full, err := c.a.st.Event(c.ctx, r.ID)
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				if err != nil {
					failure = err
					return false
				}
				view := c.view
				if s.analystData {
					view = c.viewAnalystData
				}
				out, err := view(full)
				if err != nil {
					failure = err
					return false
				}
				if out == nil {
					continue
				}
				ev = out
				if !keepAttributes(ev, &s.q.Attribute, s.filterAttrs) {
					continue
				}
			}
			if !fn(ev) {
				return false
			}
		}
		return true
	}
	stopped := false
	err = c.a.st.SearchEvents(c.ctx, s.q, func(r *store.IndexRow) bool {
		ok, err := vis.Row(r)
		if err != nil {
			failure = err
			return false
		}
		if !ok {
			return true
		}
		rows = append(rows, *r)
		if len(rows) >= 256 {
			if !flush() {
				stopped = true
				return false
			}
		}
		return true
	})
	if err == nil && !stopped && failure == nil {
		flush()
	}
	if err == nil {
		err = failure
	}
	return err
}

// keepAttributes trims a visible event to the attributes the filter selects (objects
// matchesBelowEvent reports whether the search matches on attributes or on tags, which an
// event's visible part may lack.
func (s *search) matchesBelowEvent() bool {
	return s.filterAttrs || len(s.q.AnyTagsOR) > 0 || len(s.q.AnyTagsAND) > 0
}

// matchesVisible reports whether the event of r still matches the search's attribute and
// tag filters once trimmed to what the caller may see.
func (c *call) matchesVisible(r *store.IndexRow, s *search) (bool, error) {
	full, err := c.a.st.Event(c.ctx, r.ID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ev, err := c.view(full)
	if err != nil || ev == nil {
		return false, err
	}
	if s.filterAttrs && !keepAttributes(ev, &s.q.Attribute, true) {
		return false, nil
	}
	var names []string
	for _, t := range ev.Tag {
		names = append(names, t.Name)
	}
	ev.ForEachAttribute(func(a *misp.Attribute) {
		for _, t := range a.Tag {
			names = append(names, t.Name)
		}
	})
	has := func(p string) bool {
		return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, p) || likeMatch(p, n) })
	}
	if len(s.q.AnyTagsOR) > 0 && !slices.ContainsFunc(s.q.AnyTagsOR, has) {
		return false, nil
	}
	for _, p := range s.q.AnyTagsAND {
		if !has(p) {
			return false, nil
		}
	}
	return true, nil
}

// keep the matching ones and go when none do); it reports whether anything matched.
func keepAttributes(ev *misp.Event, f *store.AttributeFilter, filtering bool) bool {
	if !filtering {
		attrs := ev.Attribute[:0]
		for _, a := range ev.Attribute {
			if matchAttr(f, &a) {
				attrs = append(attrs, a)
			}
		}
		ev.Attribute = attrs
		for i := range ev.Object {
			o := &ev.Object[i]
			oa := o.Attribute[:0]
			for _, a := range o.Attribute {
				if matchAttr(f, &a) {
					oa = append(oa, a)
				}
			}
			o.Attribute = oa
		}
		return true
	}
	n := 0
	attrs := ev.Attribute[:0]
	for _, a := range ev.Attribute {
		if matchAttr(f, &a) {
			attrs = append(attrs, a)
		}
	}
	ev.Attribute = attrs
	n += len(attrs)
	objs := ev.Object[:0]
	for _, o := range ev.Object {
		oa := o.Attribute[:0]
		for _, a := range o.Attribute {
			if matchAttr(f, &a) {
				oa = append(oa, a)
			}
		}
		if len(oa) > 0 {
			o.Attribute = oa
			objs = append(objs, o)
			n += len(oa)
		}
	}
	ev.Object = objs
	return n > 0
}

// eventsRestSearch is GET|POST /events/restSearch: {"response":[{"Event":{…}},…]}.
func (c *call) eventsRestSearch() error {
	s, err := c.parseSearch(false)
	if err != nil {
		return err
	}
	skip := 0
	if s.limit > 0 {
		skip = min((s.page-1)*s.limit, 1<<40)
	}
	b := make([]byte, 0, 4096)
	b = append(b, `{"response":[`...)
	n := 0
	var encErr error
	err = c.searchEvents(s, func(ev *misp.Event) bool {
		if skip > 0 {
			skip--
			return true
		}
		if s.metadata {
			ev.Attribute, ev.Object = nil, nil
		} else if err := ev.SummariseReferenceTargets(); err != nil {
			// as events/view: each target the answer holds, once the gate and the
			// filters have trimmed it
			encErr = err
			return false
		}
		if err := c.attachCorrelations(ev, s.correlations); err != nil {
			encErr = err
			return false
		}
		eb, err := misp.MarshalEvent(ev)
		if err != nil {
			encErr = err
			return false
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, eb...)
		n++
		return s.limit == 0 || n < s.limit
	})
	if err == nil {
		err = encErr
	}
	if err != nil {
		return err
	}
	b = append(b, "]}"...)
	c.w.Header().Set("X-Result-Count", strconv.Itoa(n))
	c.replyRaw(http.StatusOK, b)
	return nil
}

// attributesRestSearch is GET|POST /attributes/restSearch:
// {"response":{"Attribute":[…]}}, each attribute with its Event's summary.
func (c *call) attributesRestSearch() error {
	var encErr error
	s, err := c.parseSearch(true)
	if err != nil {
		return err
	}
	s.metadata = false
	s.filterAttrs = true // attributes are listed one by one: every filter applies
	skip := 0
	if s.limit > 0 {
		skip = min((s.page-1)*s.limit, 1<<40)
	}
	out := []any{}
	err = c.searchEvents(s, func(ev *misp.Event) bool {
		var related map[int64][]any
		if s.correlations.attributes {
			if related, encErr = c.relatedByAttribute(ev); encErr != nil {
				return false
			}
		}
		evSum := map[string]any{"id": itoa(int64(ev.ID)), "org_id": itoa(int64(ev.OrgID)), "orgc_id": itoa(int64(ev.OrgcID)),
			"distribution": itoa(int64(ev.Distribution)), "info": ev.Info, "uuid": ev.UUID, "date": ev.Date, "published": bool(ev.Published)}
		emit := func(a misp.Attribute, obj *misp.Object) bool {
			if skip > 0 {
				skip--
				return true
			}
			m := attributeJSON(&a, ev)
			m["Event"] = evSum
			if related != nil {
				m["RelatedAttribute"] = append([]any{}, related[int64(a.ID)]...)
			}
			if obj != nil {
				m["Object"] = map[string]any{"id": itoa(int64(obj.ID)), "uuid": obj.UUID, "name": obj.Name,
					"meta-category": obj.MetaCategory, "distribution": itoa(int64(obj.Distribution)), "sharing_group_id": itoa(int64(obj.SharingGroupID))}
			}
			if s.includeEventUUID {
				m["event_uuid"] = ev.UUID
			}
			out = append(out, m)
			return s.limit == 0 || len(out) < s.limit
		}
		for _, a := range ev.Attribute {
			if !emit(a, nil) {
				return false
			}
		}
		for i := range ev.Object {
			for _, a := range ev.Object[i].Attribute {
				if !emit(a, &ev.Object[i]) {
					return false
				}
			}
		}
		return true
	})
	if err == nil {
		err = encErr
	}
	if err != nil {
		return err
	}
	c.w.Header().Set("X-Result-Count", strconv.Itoa(len(out)))
	return c.reply(http.StatusOK, map[string]any{"response": map[string]any{"Attribute": out}})
}
