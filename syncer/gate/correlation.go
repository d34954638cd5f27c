package gate

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"mispdesk/store"
	"mispdesk/store/misp"
)

// Related is what a viewer may see of an event's correlations: each correlation whose
// both attributes the viewer may see, and the related events by id.
type Related struct {
	Correlations []store.Correlation
	Events       map[int64]*store.IndexRow
}

// EventIDs lists the related events, newest date first (as MISP orders RelatedEvent).
func (r *Related) EventIDs() []int64 {
	ids := make([]int64, 0, len(r.Events))
	for id := range r.Events {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b int64) int {
		if d := strings.Compare(r.Events[b].Date, r.Events[a].Date); d != 0 {
			return d
		}
		return int(a - b)
	})
	return ids
}

// Related reads the correlations of an event the viewer sees as visible (the event as
// Check.Event returned it) and keeps those whose own attribute is in visible and whose
// other attribute the viewer may see: its event, object and own distribution. MISP judges
// only the other side; a correlation of an attribute the viewer may not see would tell
// that attribute's value, so it is left out here too.
func (c *Check) Related(visible *misp.Event) (*Related, error) {
	all, err := c.g.st.EventCorrelations(c.ctx, int64(visible.ID))
	if err != nil {
		return nil, err
	}
	return c.related(all, visibleAttributeIDs(visible))
}

func visibleAttributeIDs(e *misp.Event) map[int64]struct{} {
	ids := map[int64]struct{}{}
	for _, a := range e.Attribute {
		ids[int64(a.ID)] = struct{}{}
	}
	for _, o := range e.Object {
		for _, a := range o.Attribute {
			ids[int64(a.ID)] = struct{}{}
		}
	}
	return ids
}

func (c *Check) related(all []store.Correlation, own map[int64]struct{}) (*Related, error) {
	out := &Related{Events: map[int64]*store.IndexRow{}}
	rows := map[int64]*store.IndexRow{} // nil: the viewer may not see the event
	for _, cor := range all {
		if _, ok := own[cor.Own.AttributeID]; !ok {
			continue
		}
		row, seen := rows[cor.Other.EventID]
		if !seen {
			r, err := c.EventRow(store.EventID(cor.Other.EventID))
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			row, rows[cor.Other.EventID] = r, r
		}
		if row == nil {
			continue
		}
		ok, err := c.path(row, cor.Other.Path)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		out.Correlations = append(out.Correlations, cor)
		out.Events[int64(row.ID)] = row
	}
	return out, nil
}

// ErrSiteAdminOnly: MISP shows the most correlated values (correlations/top) to site
// admins only, since a value counted across every event tells what events hold.
var ErrSiteAdminOnly = errors.New("only a site admin sees the most correlated values")

// TopCorrelations lists the most correlated values (store.TopCorrelations) to a site
// admin, as MISP's ACL allows correlations/top.
func (c *Check) TopCorrelations(limit int) ([]store.CorrelationCount, error) {
	if !c.Viewer.SiteAdmin {
		return nil, ErrSiteAdminOnly
	}
	return c.g.st.TopCorrelations(c.ctx, limit)
}

// RelatedTags lists, for each attribute of the event Related was read for (by attribute
// id), the tags of what it correlates with, as MISP's includeRelatedTags gives them: the
// other event's tags and the other attribute's own. Each related event is read as the
// viewer may see it (Check.Event), so a tag the viewer may not see there (a local tag for
// a sync account, an attribute it may not see) is never named; excludeLocal leaves local
// tags out, as MISP's excludeLocalTags. A tag is listed once per attribute, by name.
func (c *Check) RelatedTags(rel *Related, excludeLocal bool) (map[int64][]misp.Tag, error) {
	events := map[int64]*misp.Event{} // as the viewer sees it; nil: not at all
	out := map[int64][]misp.Tag{}
	add := func(own int64, tags []misp.Tag) {
		for _, t := range tags {
			if excludeLocal && bool(t.Local) {
				continue
			}
			if !slices.ContainsFunc(out[own], func(x misp.Tag) bool { return x.Name == t.Name }) {
				out[own] = append(out[own], t)
			}
		}
	}
	for _, cor := range rel.Correlations {
		ev, read := events[cor.Other.EventID]
		if !read {
			full, err := c.g.st.Event(c.ctx, store.EventID(cor.Other.EventID))
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, fmt.Errorf("related tags: %w", err)
			}
			if full != nil {
				if ev, _, err = c.Event(full); err != nil {
					return nil, fmt.Errorf("related tags: %w", err)
				}
			}
			events[cor.Other.EventID] = ev
		}
		if ev == nil {
			continue
		}
		if a := findAttribute(ev, cor.Other.AttributeID); a != nil {
			add(cor.Own.AttributeID, ev.Tag)
			add(cor.Own.AttributeID, a.Tag)
		}
	}
	return out, nil
}

// findAttribute finds an attribute of an event, in it or in one of its objects.
func findAttribute(ev *misp.Event, id int64) *misp.Attribute {
	for i := range ev.Attribute {
		if int64(ev.Attribute[i].ID) == id {
			return &ev.Attribute[i]
		}
	}
	for i := range ev.Object {
		for j := range ev.Object[i].Attribute {
			if int64(ev.Object[i].Attribute[j].ID) == id {
				return &ev.Object[i].Attribute[j]
			}
		}
	}
	return nil
}

// maxValueCorrelations bounds the correlations ValueEvents reads of one value.
const maxValueCorrelations = 5000

// ValueEvents lists the events holding a correlated value in an attribute the viewer may
// see (its event, object and own distribution), newest date first: where a value of the
// most correlated ones (TopCorrelations) is found.
func (c *Check) ValueEvents(value string) ([]*store.IndexRow, error) {
	all, err := c.g.st.ValueCorrelations(c.ctx, value, maxValueCorrelations)
	if err != nil {
		return nil, err
	}
	rel := &Related{Events: map[int64]*store.IndexRow{}}
	rows := map[int64]*store.IndexRow{} // nil: the viewer may not see the event
	for _, cor := range all {
		for _, side := range []store.CorrelationSide{cor.Own, cor.Other} {
			row, seen := rows[side.EventID]
			if !seen {
				r, err := c.EventRow(store.EventID(side.EventID))
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return nil, err
				}
				row, rows[side.EventID] = r, r
			}
			if row == nil {
				continue
			}
			if ok, err := c.path(row, side.Path); err != nil {
				return nil, err
			} else if ok {
				rel.Events[side.EventID] = row
			}
		}
	}
	out := make([]*store.IndexRow, 0, len(rel.Events))
	for _, id := range rel.EventIDs() {
		out = append(out, rel.Events[id])
	}
	return out, nil
}
