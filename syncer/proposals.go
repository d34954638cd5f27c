package syncer

// Proposals between instances as MISP moves them: a pull fetches the remote's proposals
// of the last 90 days (ShadowAttribute::pullProposals); a push sends, for every event
// the remote holds, the proposals of it that the remote's organisation may see, deleted
// ones too (Server::syncProposals and events/pushProposals), so that a proposal accepted
// or discarded on the event's owner is retired on every copy.

import (
	"context"
	"fmt"
	"time"

	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/gate"
)

// proposalWindow is how far back a pull asks for proposals, as MISP does.
const proposalWindow = 90 * 24 * time.Hour

// pullProposals fetches the proposals of the last 90 days and keeps those of events and
// attributes held here; a proposal that names no organisation is the remote's.
func (r *runContext) pullProposals(ctx context.Context) {
	t0 := time.Now()
	proposals, err := r.client.Proposals(ctx, r.e.now().Add(-proposalWindow).Unix())
	if err != nil {
		r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, "proposals: "+err.Error(), t0, statusOf(err))
		return
	}
	remoteOrg := gate.Org(r.srv.RemoteOrg)
	n, err := r.e.st.SaveProposals(ctx, proposals, &remoteOrg)
	if err != nil {
		r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, "proposals: "+err.Error(), t0, 0)
		return
	}
	if len(proposals) > 0 {
		r.step(ctx, store.LevelInfo, "", store.OutcomeProposals, fmt.Sprintf("%d proposals of events held here stored or updated (%d listed)", n, len(proposals)), t0, 200)
	}
}

// pushProposals sends the remote the proposals of the events it holds, each event's in
// one events/pushProposals request, as far as the gate lets the remote's organisation
// see them (the event, the attribute a proposal would change, and the proposal).
func (r *runContext) pushProposals(ctx context.Context) {
	rows, err := r.e.st.Proposals(ctx, 0, true, 0)
	if err != nil {
		r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, "proposals: "+err.Error(), time.Time{}, 0)
		return
	}
	if len(rows) == 0 {
		return
	}
	chk := gate.New(r.e.st).For(ctx, r.inst, gate.RemoteViewer(r.srv))
	byEvent := map[string][]misp.ShadowAttribute{}
	var order []string
	for i := range rows {
		if err := chk.Proposal(&rows[i]); err != nil {
			continue // not the remote's to see (or gone since): never named to it
		}
		p := rows[i].ForSync()
		p.ID = 0
		uuid := rows[i].Event.UUID
		if byEvent[uuid] == nil {
			order = append(order, uuid)
		}
		byEvent[uuid] = append(byEvent[uuid], p)
	}
	if len(order) == 0 {
		return
	}
	t0 := time.Now()
	held, _, err := r.client.Index(ctx, map[string]any{"minimal": 1, "published": 1}, "")
	if err != nil {
		r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, "proposals: event index: "+err.Error(), t0, statusOf(err))
		return
	}
	has := make(map[string]bool, len(held))
	for _, h := range held {
		has[h.UUID] = true
	}
	sent, events := 0, 0
	for _, uuid := range order {
		if ctx.Err() != nil || !has[uuid] {
			continue
		}
		n, err := r.client.PushProposals(ctx, uuid, byEvent[uuid])
		if err != nil {
			r.step(ctx, store.LevelWarn, uuid, store.OutcomeFailed, "proposals: "+err.Error(), time.Time{}, statusOf(err))
			continue
		}
		sent += n
		events++
	}
	r.step(ctx, store.LevelInfo, "", store.OutcomeProposals, fmt.Sprintf("%d proposals taken by the remote, of %d events it holds", sent, events), t0, 200)
}
