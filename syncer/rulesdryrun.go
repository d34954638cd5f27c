package syncer

import (
	"context"
	"fmt"

	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/gate"
)

// RulesDryRun decides, for each event, what a run of the server would decide with rules
// in place of the server's own push or pull rules: the whole event-level decision the
// run makes (push or pull flag, blocklists, published, distribution and sharing group,
// then the rules), not the rules alone. The console's Rules pane shows it while rules are
// edited. events are metadata with tags (store.RuleSample); an event shared with a
// sharing group is read again with its group.
func (e *Engine) RulesDryRun(ctx context.Context, server store.ServerID, kind policy.RulesKind, rules policy.Rules, events []*misp.Event) ([]policy.RuleVerdict, error) {
	srv, err := e.st.Server(ctx, server)
	if err != nil {
		return nil, fmt.Errorf("rules dry run: %w", err)
	}
	psrv, err := gate.Server(srv)
	if err != nil {
		return nil, fmt.Errorf("rules dry run: %w", err)
	}
	inst, err := gate.Instance(ctx, e.st)
	if err != nil {
		return nil, fmt.Errorf("rules dry run: %w", err)
	}
	bl, err := gate.Blocklists(ctx, e.st)
	if err != nil {
		return nil, fmt.Errorf("rules dry run: %w", err)
	}
	with := *psrv
	if kind == policy.PullRules {
		with.PullRules = rules
	} else {
		with.PushRules = rules
	}
	out := make([]policy.RuleVerdict, 0, len(events))
	for _, ev := range events {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if ev.Distribution == misp.SharingGroupDist && ev.SharingGroup == nil {
			if ev, err = e.st.EventMetadata(ctx, store.EventID(ev.ID)); err != nil {
				return nil, fmt.Errorf("rules dry run: %w", err)
			}
		}
		out = append(out, policy.RuleVerdict{EventUUID: ev.UUID, Info: ev.Info, Decision: runDecision(inst, &with, kind, ev, bl)})
	}
	return out, nil
}

// runDecision is the event-level decision of a run: a push's PushCandidate; for a pull,
// the index-row decision and then the pull rules the remote applies to its index.
func runDecision(inst *policy.Instance, srv *policy.Server, kind policy.RulesKind, ev *misp.Event, bl policy.Blocklists) policy.Decision {
	if kind != policy.PullRules {
		return inst.PushCandidate(srv, ev, policy.Scheduled, bl)
	}
	orgc := ""
	if ev.Orgc != nil {
		orgc = ev.Orgc.UUID
	}
	d := inst.PullCandidate(srv, policy.IndexRow{UUID: ev.UUID, Timestamp: int64(ev.Timestamp), Published: bool(ev.Published), OrgcUUID: orgc}, nil, bl)
	if !d.Allowed {
		return d
	}
	rules := policy.DryRun(kind, &srv.PullRules, []*misp.Event{ev})[0].Decision
	d.Steps, d.Allowed = append(d.Steps, rules.Steps...), rules.Allowed
	return d
}
