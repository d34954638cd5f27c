package mispapi

// Correlations on the REST API: RelatedEvent on events/view (MISP's default; a puller asks
// includeEventCorrelations:0, as MISP's own pull does, and receivers drop it anyway),
// RelatedAttribute on attributes with includeGranularCorrelations (events/view) or
// includeCorrelations (restSearch), RelatedTags on attributes with includeRelatedTags,
// and MISP's correlation exclusion list
// (CorrelationExclusionsController). What a viewer sees of correlations is decided by the
// gate (gate.Check.Related).

import (
	"errors"
	"net/http"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/store"
	"mispdesk/store/misp"
)

func (a *API) registerCorrelation() {
	a.handle("correlation_exclusions/index", methodsGet, permSiteAdmin, (*call).correlationExclusionsIndex)
	a.handle("correlation_exclusions/view", methodsGet, permSiteAdmin, (*call).correlationExclusionsView)
	a.handleWrite("correlation_exclusions/add", methodsPost, permSiteAdmin, (*call).correlationExclusionsAdd)
	a.handleWrite("correlation_exclusions/delete", methodsDelete, permSiteAdmin, (*call).correlationExclusionsDelete)
	a.handleWrite("correlation_exclusions/clean", methodsPost, permSiteAdmin, (*call).correlationExclusionsClean)
}

// correlationWants says which correlations an answer carries.
type correlationWants struct {
	events, attributes bool
	// tags: RelatedTags on each attribute (includeRelatedTags, which implies attributes);
	// noLocalTags leaves local tags out of them (excludeLocalTags).
	tags, noLocalTags bool
}

// attachCorrelations puts on an event the viewer sees (out, as the gate returned it)
// MISP's RelatedEvent and, per attribute, RelatedAttribute and RelatedTags.
func (c *call) attachCorrelations(out *misp.Event, want correlationWants) error {
	if !want.events && !want.attributes {
		return nil
	}
	chk, err := c.check()
	if err != nil {
		return err
	}
	rel, err := chk.Related(out)
	if err != nil {
		return err
	}
	if want.events {
		list := make([]any, 0, len(rel.Events))
		for _, id := range rel.EventIDs() {
			list = append(list, map[string]any{"Event": relatedEventJSON(rel.Events[id])})
		}
		if err := setExtra(&out.Extra, "RelatedEvent", list); err != nil {
			return err
		}
	}
	if !want.attributes {
		return nil
	}
	byAttr := map[int64][]any{}
	for _, cor := range rel.Correlations {
		ev := rel.Events[cor.Other.EventID]
		byAttr[cor.Own.AttributeID] = append(byAttr[cor.Own.AttributeID], map[string]any{
			"id": itoa(ev.ID), "attribute_id": itoa(cor.Other.AttributeID), "value": cor.Value,
			"org_id": itoa(ev.OrgcID), "info": ev.Info, "date": ev.Date})
	}
	tagsByAttr := map[int64][]any{}
	if want.tags {
		tags, err := chk.RelatedTags(rel, want.noLocalTags)
		if err != nil {
			return err
		}
		for id, ts := range tags {
			for _, t := range ts {
				tagsByAttr[id] = append(tagsByAttr[id], relatedTagJSON(&t))
			}
		}
	}
	attach := func(as []misp.Attribute) error {
		for i := range as {
			id := int64(as[i].ID)
			if list, ok := byAttr[id]; ok {
				if err := setExtra(&as[i].Extra, "RelatedAttribute", list); err != nil {
					return err
				}
			}
			if list, ok := tagsByAttr[id]; ok {
				if err := setExtra(&as[i].Extra, "RelatedTags", list); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := attach(out.Attribute); err != nil {
		return err
	}
	for i := range out.Object {
		if err := attach(out.Object[i].Attribute); err != nil {
			return err
		}
	}
	return nil
}

// relatedTagJSON is a tag as MISP's includeRelatedTags lists it.
func relatedTagJSON(t *misp.Tag) map[string]any {
	var num any
	if t.NumericalValue != "" {
		num = string(t.NumericalValue)
	}
	return map[string]any{"id": itoa(int64(t.ID)), "name": t.Name, "colour": t.Colour, "numerical_value": num}
}

// relatedEventJSON is a related event as MISP's getRelatedEvents lists it.
func relatedEventJSON(r *store.IndexRow) map[string]any {
	return map[string]any{
		"id": itoa(r.ID), "date": r.Date, "threat_level_id": itoa(int64(r.ThreatLevelID)), "info": r.Info,
		"published": r.Published, "uuid": r.UUID, "analysis": itoa(int64(r.Analysis)), "timestamp": itoa(r.Timestamp),
		"distribution": itoa(int64(r.Distribution)), "org_id": itoa(r.OrgID), "orgc_id": itoa(r.OrgcID),
		"Org":  map[string]any{"id": itoa(r.OrgID), "name": r.OrgName, "uuid": r.OrgUUID},
		"Orgc": map[string]any{"id": itoa(r.OrgcID), "name": r.OrgcName, "uuid": r.OrgcUUID},
	}
}

// relatedByAttribute lists the correlations of each attribute of an event the viewer
// sees, as attributes/restSearch's includeCorrelations shows them: the other attribute's
// fields and its event's.
func (c *call) relatedByAttribute(visible *misp.Event) (map[int64][]any, error) {
	chk, err := c.check()
	if err != nil {
		return nil, err
	}
	rel, err := chk.Related(visible)
	if err != nil {
		return nil, err
	}
	out := map[int64][]any{}
	for _, cor := range rel.Correlations {
		o, ev := cor.Other, rel.Events[cor.Other.EventID]
		out[cor.Own.AttributeID] = append(out[cor.Own.AttributeID], map[string]any{
			"id": itoa(o.AttributeID), "event_id": itoa(o.EventID), "object_id": itoa(o.ObjectID), "category": o.Category,
			"type": o.Type, "value": o.Value, "uuid": o.AttributeUUID,
			"distribution": itoa(int64(o.Path[len(o.Path)-1].Distribution)), "sharing_group_id": itoa(o.Path[len(o.Path)-1].SharingGroupID),
			"Event": map[string]any{"id": itoa(ev.ID), "uuid": ev.UUID, "threat_level_id": itoa(int64(ev.ThreatLevelID)),
				"analysis": itoa(int64(ev.Analysis)), "info": ev.Info, "extends_uuid": ev.ExtendsUUID,
				"distribution": itoa(int64(ev.Distribution)), "sharing_group_id": itoa(ev.SharingGroupID),
				"published": ev.Published, "date": ev.Date, "orgc_id": itoa(ev.OrgcID), "org_id": itoa(ev.OrgID)},
		})
	}
	return out, nil
}

func setExtra(x *misp.Extra, key string, v any) error {
	b, err := json.Marshal(v, json.Deterministic(true))
	if err != nil {
		return err
	}
	if *x == nil {
		*x = misp.Extra{}
	}
	(*x)[key] = jsontext.Value(b)
	return nil
}

// viewCorrelations reads events/view's correlation flags: RelatedEvent unless
// includeEventCorrelations is 0, RelatedAttribute with includeGranularCorrelations (or
// includeRelatedTags, which implies it in MISP).
func (c *call) viewCorrelations() correlationWants {
	w := correlationWants{events: true}
	if v := c.path.Param("includeEventCorrelations"); v != "" && !c.path.Flag("includeEventCorrelations") {
		w.events = false
	}
	w.tags = c.path.Flag("includeRelatedTags")
	w.attributes = c.path.Flag("includeGranularCorrelations") || w.tags
	w.noLocalTags = c.path.Flag("excludeLocalTags")
	return w
}

func exclusionJSON(x *store.CorrelationExclusion) map[string]any {
	return map[string]any{"CorrelationExclusion": map[string]any{"id": itoa(x.ID), "value": x.Value,
		"from_json": x.FromJSON, "comment": x.Comment}}
}

// correlationExclusionsIndex is GET /correlation_exclusions/index.
func (c *call) correlationExclusionsIndex() error {
	xs, err := c.a.st.CorrelationExclusions(c.ctx)
	if err != nil {
		return err
	}
	out := make([]any, 0, len(xs))
	for i := range xs {
		out = append(out, exclusionJSON(&xs[i]))
	}
	return c.reply(http.StatusOK, out)
}

// correlationExclusionsView is GET /correlation_exclusions/view/<id>.
func (c *call) correlationExclusionsView() error {
	x, err := store.ReadByRef(c.ctx, c.a.st.ResolveCorrelationExclusion, c.a.st.CorrelationExclusion, c.path.Arg(0))
	if err != nil {
		return notFoundOr(err, "Invalid CorrelationExclusion")
	}
	return c.reply(http.StatusOK, exclusionJSON(x))
}

// correlationExclusionsAdd is POST /correlation_exclusions/add {"value","comment"}.
func (c *call) correlationExclusionsAdd() error {
	const name = "CorrelationExclusion"
	f, err := c.fields(name)
	if err != nil {
		return err
	}
	value := f.str("value")
	if strings.TrimSpace(value) == "" {
		return saveFail(c, name, nil, map[string]any{"value": []string{"A value is required."}})
	}
	x, err := c.a.st.AddCorrelationExclusion(c.ctx, value, f.str("comment"))
	switch {
	case errors.Is(err, store.ErrExclusionExists):
		return saveFail(c, name, nil, map[string]any{"value": []string{"Value is already in the exclusion list."}})
	case errors.Is(err, store.ErrInvalidEvent):
		return saveFail(c, name, nil, map[string]any{"value": []string{err.Error()}})
	case err != nil:
		return err
	}
	c.a.log.Info("correlation exclusion added", "value", x.Value, "by", c.who.User.Email)
	return c.reply(http.StatusOK, exclusionJSON(x))
}

// correlationExclusionsDelete is POST|DELETE /correlation_exclusions/delete/<id>: the value
// correlates again at once.
func (c *call) correlationExclusionsDelete() error {
	x, err := store.ReadByRef(c.ctx, c.a.st.ResolveCorrelationExclusion, c.a.st.CorrelationExclusion, c.path.Arg(0))
	if err != nil {
		return notFoundOr(err, "Invalid CorrelationExclusion")
	}
	if err := c.a.st.DeleteCorrelationExclusion(c.ctx, x.ID); err != nil {
		return notFoundOr(err, "Invalid CorrelationExclusion")
	}
	c.a.log.Info("correlation exclusion deleted", "value", x.Value, "by", c.who.User.Email)
	return c.reply(http.StatusOK, saveSuccess(c, "CorrelationExclusion", "CorrelationExclusion deleted.", itoa(x.ID)))
}

// correlationExclusionsClean is POST /correlation_exclusions/clean: the stored
// correlations of excluded values are deleted.
func (c *call) correlationExclusionsClean() error {
	n, err := c.a.st.CleanCorrelationExclusions(c.ctx)
	if err != nil {
		return err
	}
	c.a.log.Info("correlations cleaned", "removed", n, "by", c.who.User.Email)
	return c.reply(http.StatusOK, saveSuccess(c, "CorrelationExclusion", "Correlations cleanup initiated, based on the exclusion rules.", nil))
}
