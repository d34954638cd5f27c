package syncer

import (
	"context"
	"fmt"

	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// Explanation is why an event would or would not move between this instance and a server.
type Explanation struct {
	Event     string          `json:"event"`
	Server    string          `json:"server"`
	Direction store.Direction `json:"direction"`
	Decision  policy.Decision `json:"decision"`
	// Sent is the event as it would travel (push) or be stored (pull), when it would.
	Sent *misp.Event `json:"-"`
}

// ExplainPush decides, without sending anything, whether a local event would be pushed to
// a server now (as a push run would) and in what form.
func (e *Engine) ExplainPush(ctx context.Context, eventID store.EventID, server store.ServerID) (*Explanation, error) {
	r, err := e.explainRun(ctx, server, store.DirPush)
	if err != nil {
		return nil, err
	}
	ev, err := e.st.Event(ctx, eventID)
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	res := r.inst.Push(r.psrv, ev, policy.Scheduled, r.bl)
	return &Explanation{Event: ev.UUID, Server: r.srv.Name, Direction: store.DirPush, Decision: res.Decision, Sent: res.Event}, nil
}

// ExplainPull fetches an event from a server and decides, without storing anything,
// whether a pull would bring it here and in what form.
func (e *Engine) ExplainPull(ctx context.Context, eventUUID string, server store.ServerID) (*Explanation, error) {
	r, err := e.explainRun(ctx, server, store.DirPull)
	if err != nil {
		return nil, err
	}
	if r.client == nil {
		return nil, fmt.Errorf("explain pull: no client for server %q", r.srv.Name)
	}
	remoteEv, err := r.client.ViewEvent(ctx, eventUUID, !r.psrv.Internal)
	if err != nil {
		return nil, fmt.Errorf("explain pull: %w", err)
	}
	stamps, err := e.st.EventStamps(ctx)
	if err != nil {
		return nil, err
	}
	res := r.inst.Pull(r.psrv, remoteEv, localCopy(stamps, remoteEv.UUID), r.bl)
	return &Explanation{Event: remoteEv.UUID, Server: r.srv.Name, Direction: store.DirPull, Decision: res.Decision, Sent: res.Event}, nil
}

func (e *Engine) explainRun(ctx context.Context, server store.ServerID, dir store.Direction) (*runContext, error) {
	r, err := e.newRun(ctx, server, dir)
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	return r, nil
}
