package mispapi

// Proposals (MISP's ShadowAttributesController, and EventsController::pushProposals by
// which a peer sends the proposals of events both hold): every proposal handed out or
// taken in passes the gate — its event, the attribute it would change, and the proposal
// itself by policy.

import (
	"net/http"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/store"
	"mispdesk/store/misp"
)

func (a *API) registerProposals() {
	a.handleWrite("shadow_attributes/add", methodsPost, permAdd, (*call).shadowAttributesAdd)
	a.handleWrite("shadow_attributes/edit", methodsPost, permAdd, (*call).shadowAttributesAdd)
	a.handleWrite("shadow_attributes/delete", methodsDelete, permAdd, (*call).shadowAttributesDelete)
	a.handleWrite("shadow_attributes/accept", methodsPost, permModify, (*call).shadowAttributesAccept)
	a.handleWrite("shadow_attributes/discard", methodsPost, permAuth, (*call).shadowAttributesDiscard)
	a.handle("shadow_attributes/index", methodsGetPost, permAuth, (*call).shadowAttributesIndex)
	a.handle("shadow_attributes/view", methodsGet, permAuth, (*call).shadowAttributesView)
	a.handleWrite("events/pushProposals", methodsPost, permSync, (*call).eventsPushProposals)
}

// proposalAnswer is a proposal as MISP's REST answers show one: every column, those the
// model leaves out when empty included (old_id "0", comment "", deleted and
// proposal_to_delete false, first_seen and last_seen null).
func proposalAnswer(p *misp.ShadowAttribute) map[string]any {
	m := map[string]any{}
	b, _ := json.Marshal(p)
	_ = json.Unmarshal(b, &m)
	for k, v := range map[string]any{"old_id": "0", "comment": "", "deleted": false, "proposal_to_delete": false, "first_seen": nil, "last_seen": nil} {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	return m
}

func proposalJSON(p *misp.ShadowAttribute, row *store.IndexRow) map[string]any {
	m := proposalAnswer(p)
	m["event_id"], m["event_uuid"], m["event_org_id"] = itoa(row.ID), row.UUID, itoa(row.OrgID)
	return m
}

// shadowAttributesAdd is POST /shadow_attributes/add/<event id|uuid> (a new attribute)
// and /shadow_attributes/add|edit/<attribute id|uuid> (a change to one).
func (c *call) shadowAttributesAdd() error {
	const failName = "Could not add Proposal"
	ref := c.path.Arg(0)
	var (
		row      *store.IndexRow
		attrUUID string
		err      error
	)
	if c.path.Action == "add" || strings.EqualFold(c.path.Action, "add") {
		row, err = c.visibleRow(ref)
	}
	if row == nil {
		el, r, aerr := c.attributeRow(ref)
		if aerr != nil {
			if err != nil {
				return err
			}
			return aerr
		}
		row, attrUUID = r, el.UUID
	}
	f, err := c.fields("ShadowAttribute")
	if err != nil {
		return err
	}
	if inner, ok := f["Attribute"]; ok {
		g := fields{}
		if json.Unmarshal(inner, &g) == nil {
			f = g
		}
	}
	var base *misp.Attribute
	if attrUUID != "" {
		ev, err := c.visibleEvent(row)
		if err != nil {
			return err
		}
		base, _ = findAttribute(ev, attrUUID)
		if base == nil {
			return notFound("Invalid attribute")
		}
		cp := *base
		cp.Tag, cp.Galaxy, cp.Sighting, cp.ShadowAttribute = nil, nil, nil, nil
		base = &cp
	} else {
		base = &misp.Attribute{}
	}
	if err := overlay(base, f, "object_relation"); err != nil {
		return saveFail(c, failName, nil, map[string][]string{"ShadowAttribute": {err.Error()}})
	}
	if errs := checkAttribute(base, f); len(errs) > 0 {
		return saveFail(c, failName, nil, errs)
	}
	p := misp.ShadowAttribute{Type: base.Type, Category: base.Category, Value: base.Value, ToIDs: base.ToIDs, Comment: base.Comment,
		DisableCorrelation: base.DisableCorrelation, FirstSeen: base.FirstSeen, LastSeen: base.LastSeen}
	id, err := c.a.st.AddProposal(c.ctx, row.ID, attrUUID, c.who.User.OrgID, p)
	if err != nil {
		return saveFail(c, failName, nil, map[string][]string{"ShadowAttribute": {err.Error()}})
	}
	pr, _, err := c.a.st.Proposal(c.ctx, id)
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, map[string]any{"ShadowAttribute": proposalJSON(&pr.Proposal, row)})
}

// shadowAttributesDelete is POST /shadow_attributes/delete/<attribute id|uuid>: a
// proposal to delete the attribute.
func (c *call) shadowAttributesDelete() error {
	a, _, el, row, err := c.visibleAttribute()
	if err != nil {
		return err
	}
	id, err := c.a.st.AddProposal(c.ctx, row.ID, el.UUID, c.who.User.OrgID, misp.ShadowAttribute{Type: a.Type, Category: a.Category,
		Value: a.Value, ToIDs: a.ToIDs, Comment: a.Comment, ProposalToDelete: true})
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Proposal to delete the attribute saved.", "Proposal to delete the attribute saved.", itoa(id)))
}

// proposalOf finds a proposal on an event the caller may see.
func (c *call) proposalOf(ref string) (*store.ProposalRow, string, error) {
	if ref == "" {
		return nil, "", notFound("Invalid proposal.")
	}
	id, err := c.a.st.ResolveProposal(c.ctx, ref)
	if err != nil {
		return nil, "", notFoundOr(err, "Invalid proposal.")
	}
	pr, attrUUID, err := c.a.st.Proposal(c.ctx, id)
	if err != nil {
		return nil, "", notFoundOr(err, "Invalid proposal.")
	}
	chk, err := c.check()
	if err != nil {
		return nil, "", err
	}
	if err := chk.Proposal(pr); err != nil {
		return nil, "", notFoundOr(err, "Invalid proposal.")
	}
	return pr, attrUUID, nil
}

// shadowAttributesView is GET /shadow_attributes/view/<id|uuid> (ShadowAttributesController::
// view, PyMISP's get_attribute_proposal): a proposal the caller may see (its event and the
// attribute it would change), not an accepted or discarded one.
func (c *call) shadowAttributesView() error {
	pr, _, err := c.proposalOf(c.path.Arg(0))
	if err != nil {
		return err
	}
	if pr.Proposal.Deleted {
		return notFound("Invalid proposal.")
	}
	return c.reply(http.StatusOK, map[string]any{"ShadowAttribute": proposalJSON(&pr.Proposal, pr.Event)})
}

// shadowAttributesAccept is POST /shadow_attributes/accept/<id>: the event's owner takes
// the proposal into the event.
func (c *call) shadowAttributesAccept() error {
	pr, attrUUID, err := c.proposalOf(c.path.Arg(0))
	if err != nil {
		return err
	}
	p := pr.Proposal
	_, err = c.changeEvent(pr.Event, "Could not accept Proposal", func(ev *misp.Event, now misp.Int) error {
		return notFoundOr(store.ApplyProposal(ev, &p, attrUUID, now), "Invalid attribute")
	})
	if err != nil {
		return err
	}
	if err := c.a.st.DeleteProposal(c.ctx, int64(p.ID)); err != nil {
		return notFoundOr(err, "Invalid proposal.")
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Proposed change accepted.", "Proposed change accepted.", itoa(int64(p.ID))))
}

// shadowAttributesDiscard is POST /shadow_attributes/discard/<id>: by the event's owner
// or the proposing organisation.
func (c *call) shadowAttributesDiscard() error {
	pr, _, err := c.proposalOf(c.path.Arg(0))
	if err != nil {
		return err
	}
	u := &c.who.User
	if c.who.ReadOnly || !(u.Role.PermSiteAdmin || int64(pr.Proposal.OrgID) == int64(u.OrgID) ||
		(pr.Event.OrgcID == u.OrgID && permModify(&u.Role))) {
		return forbidden("You do not have permission to do that.")
	}
	if err := c.a.st.DeleteProposal(c.ctx, int64(pr.Proposal.ID)); err != nil {
		return notFoundOr(err, "Invalid proposal.")
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Proposal discarded.", "Proposal discarded.", itoa(int64(pr.Proposal.ID))))
}

// shadowAttributesIndex is GET /shadow_attributes/index/all:1/timestamp:…/limit:…/page:…
// (ShadowAttributesController::index): proposals on events the caller may see.
func (c *call) shadowAttributesIndex() error {
	params, err := c.indexParams()
	if err != nil {
		return err
	}
	since := int64(0)
	if v, ok := params["timestamp"]; ok {
		if since, _, err = timeRange(v, time.Now()); err != nil {
			return err
		}
	}
	withDeleted := false
	for _, d := range values(params["deleted"]).or {
		if truthy(d) {
			withDeleted = true
		}
	}
	limit := atoiDefault(scalar(params["limit"]), 0)
	page := max(atoiDefault(scalar(params["page"]), 1), 1)
	var eventID store.EventID
	if ref := scalar(params["eventid"]); ref != "" {
		eventID, err = c.a.st.ResolveEvent(c.ctx, ref)
		if isNotFound(err) {
			return c.reply(http.StatusOK, []any{}) // no such event: no proposals
		}
		if err != nil {
			return err
		}
	}
	rows, err := c.a.st.Proposals(c.ctx, since, withDeleted, eventID)
	if err != nil {
		return err
	}
	vis, err := c.check()
	if err != nil {
		return err
	}
	out := []any{}
	skip := 0
	if limit > 0 {
		skip = (page - 1) * limit
	}
	for _, r := range rows {
		// the proposal's event, the attribute it would change and the proposal itself
		if err := vis.Proposal(&r); isNotFound(err) {
			continue
		} else if err != nil {
			return err
		}
		if skip > 0 {
			skip--
			continue
		}
		if limit > 0 && len(out) >= limit {
			break
		}
		p := r.ForSync()
		out = append(out, map[string]any{"ShadowAttribute": proposalAnswer(&p)})
	}
	return c.reply(http.StatusOK, out)
}

// eventsPushProposals is POST /events/pushProposals/<event uuid> (MISP's
// EventsController::pushProposals): a peer sends the proposals it holds of an event both
// hold, deleted ones too, so that an accepted or discarded proposal is retired here.
// Only a sync user who may add events may; each proposal is taken only on an event and
// an attribute the caller may see, and stored as store.SaveProposals captures them (the
// proposing organisation by UUID, else the caller's).
func (c *call) eventsPushProposals() error {
	if !c.who.User.Role.PermSync || !permAdd(&c.who.User.Role) || c.who.ReadOnly {
		return httpError(http.StatusMethodNotAllowed, "You do not have the permission to do that.")
	}
	answer := func(success bool, message string, counter int) error {
		return c.reply(http.StatusOK, map[string]any{"success": success, "message": message, "counter": counter})
	}
	row, err := c.visibleRow(c.path.Arg(0))
	if isNotFound(err) {
		return answer(false, "Event not found.", 0)
	} else if err != nil {
		return err
	}
	b, err := c.body()
	if err != nil {
		return err
	}
	var raw []jsontext.Value
	if err := json.Unmarshal(b, &raw); err != nil {
		return httpError(http.StatusBadRequest, msgInvalidJSON)
	}
	chk, err := c.check()
	if err != nil {
		return err
	}
	in := make([]misp.ShadowAttribute, 0, len(raw))
	for _, r := range raw {
		var wrapped struct {
			ShadowAttribute *misp.ShadowAttribute `json:"ShadowAttribute"`
		}
		var p misp.ShadowAttribute
		if json.Unmarshal(r, &wrapped) == nil && wrapped.ShadowAttribute != nil {
			p = *wrapped.ShadowAttribute
		} else if json.Unmarshal(r, &p) != nil {
			continue
		}
		p.EventUUID, p.ID = row.UUID, 0
		if attr := store.ProposalTarget(&p); attr != "" {
			if _, _, err := chk.Element(store.ElemAttribute, attr); isNotFound(err) {
				continue // an attribute the caller may not see: as if it did not exist
			} else if err != nil {
				return err
			}
		}
		in = append(in, p)
	}
	own := c.who.User.Org
	n, err := c.a.st.SaveProposals(c.ctx, in, &misp.Org{ID: misp.Int(own.ID), UUID: own.UUID, Name: own.Name})
	if err != nil {
		c.a.log.Warn("pushed proposals not saved", "event", row.UUID, "by", c.who.User.Email, "err", err)
		return answer(false, "Some of the proposals could not be saved.", 0)
	}
	if n == 0 {
		return answer(true, "Nothing to update.", 0)
	}
	return answer(true, itoa(int64(n))+" Proposal(s) added.", n)
}
