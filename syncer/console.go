package syncer

import (
	"context"
	"fmt"

	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/syncer/gate"
)

// PushTarget is one server's answer to "would a publish of this event go there?".
type PushTarget struct {
	Server   store.Server
	Decision policy.Decision
	// Err is why the server could not be asked (its rules do not parse…).
	Err error
}

// PublishTargets decides, for every server, whether publishing the event now would push
// it there: the event-level decision of a push on publish (push flag, blocklists,
// distribution and sharing group, push rules), taken as if the event were published. The
// console names these servers before a publish.
func (e *Engine) PublishTargets(ctx context.Context, eventID store.EventID) ([]PushTarget, error) {
	ev, err := e.st.EventMetadata(ctx, eventID)
	if err != nil {
		return nil, fmt.Errorf("publish targets: %w", err)
	}
	ev.Published = true
	inst, err := gate.Instance(ctx, e.st)
	if err != nil {
		return nil, fmt.Errorf("publish targets: %w", err)
	}
	bl, err := gate.Blocklists(ctx, e.st)
	if err != nil {
		return nil, fmt.Errorf("publish targets: %w", err)
	}
	servers, err := e.st.Servers(ctx)
	if err != nil {
		return nil, fmt.Errorf("publish targets: %w", err)
	}
	out := make([]PushTarget, 0, len(servers))
	for _, srv := range servers {
		t := PushTarget{Server: srv}
		psrv, err := gate.Server(&srv)
		if err != nil {
			t.Err = err
		} else {
			t.Decision = inst.PushCandidate(psrv, ev, policy.OnPublish, bl)
		}
		out = append(out, t)
	}
	return out, nil
}
