package syncer

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"mispdesk/store"
	"mispdesk/syncer/remote"
)

// PeerState is how a server looks from here, fed by every request made to it.
type PeerState string

const (
	PeerUp          PeerState = "up"
	PeerDegraded    PeerState = "degraded"     // some requests fail (5xx, a connection failure or two)
	PeerDown        PeerState = "down"         // downAfter connection failures in a row
	PeerAuthFailing PeerState = "auth failing" // the server refuses our authkey
)

const (
	// downAfter connection failures in a row make a server down: runs stop, the outbox
	// waits for it with a growing backoff.
	downAfter = 3
	// A down server is tried again after peerFirstRetry, doubled each time it still
	// fails, up to peerMaxRetry, each wait lengthened by up to a fifth at random.
	peerFirstRetry = 3 * time.Second
	peerMaxRetry   = 5 * time.Minute
	// stateHealth is the server state key of the health, for other processes to read.
	stateHealth = "health"
	// stateResume is the server state key of the last "retry now" (Unix ms), for the
	// process whose outbox waits for the server (mispdesk serve) to honour it.
	stateResume = "resume"
)

// PeerHealth is one server's health as this instance last saw it.
type PeerHealth struct {
	State PeerState `json:"state"`
	Since time.Time `json:"since"`
	// Cause is the failure behind a state other than up: "connection refused", "HTTP 503"…
	Cause string `json:"cause,omitempty"`
	// Failures counts the failed requests in a row.
	Failures int `json:"failures,omitempty"`
	// RetryAt is when the outbox tries a down (or auth failing) server again.
	RetryAt time.Time `json:"retry_at,omitzero"`
}

// Blocked reports whether work for the server should wait: it is down or refuses our key.
func (h PeerHealth) Blocked() bool { return h.State == PeerDown || h.State == PeerAuthFailing }

// String is the state as operators read it, cause first: "down since 08:13: connection
// refused", "up".
func (h PeerHealth) String() string {
	switch h.State {
	case "":
		return "unknown"
	case PeerUp:
		return string(PeerUp)
	}
	return fmt.Sprintf("%s since %s: %s", h.State, h.Since.Local().Format("15:04"), h.Cause)
}

// peerHealth is the tracker of every server's health in this engine.
type peerHealth struct {
	mu    sync.Mutex
	peers map[store.ServerID]*peer
}

type peer struct {
	name    string
	h       PeerHealth
	backoff time.Duration
	probing bool  // a down server's one trial request is under way
	resumed int64 // the last stored "retry now" honoured (Unix ms)
}

func (e *Engine) peer(id store.ServerID, name string) *peer {
	if e.health.peers == nil {
		e.health.peers = map[store.ServerID]*peer{}
	}
	p := e.health.peers[id]
	if p == nil {
		p = &peer{name: name}
		e.health.peers[id] = p
	}
	return p
}

// observer is the remote client's Observe hook for one server.
func (e *Engine) observer(id store.ServerID, name string) func(remote.Signal) {
	return func(s remote.Signal) { e.observe(id, name, s) }
}

// observe moves a server's state on the outcome of one request; a change of state is
// stored for other processes and logged once.
func (e *Engine) observe(id store.ServerID, name string, s remote.Signal) {
	now := e.now()
	e.health.mu.Lock()
	p := e.peer(id, name)
	old := p.h
	h := &p.h
	switch s.Kind {
	case remote.Answered:
		*h = PeerHealth{State: PeerUp, Since: h.Since}
		p.backoff, p.probing = 0, false
	case remote.ServerError:
		h.Failures++
		h.State, h.Cause = PeerDegraded, s.Cause
		p.probing = false
	case remote.Unreachable, remote.AuthRefused:
		h.Failures++
		h.Cause = s.Cause
		switch {
		case s.Kind == remote.AuthRefused:
			h.State = PeerAuthFailing
		case h.Failures >= downAfter || h.State == PeerDown:
			h.State = PeerDown
		default:
			h.State = PeerDegraded
		}
		// The wait grows on becoming blocked and on each failed retry, not on the
		// failures of requests already under way when the server went down.
		if h.Blocked() && (!old.Blocked() || !now.Before(old.RetryAt)) {
			p.backoff = nextRetry(p.backoff)
			h.RetryAt = now.Add(p.backoff)
		}
		p.probing = false
	}
	if h.State != old.State || h.Since.IsZero() {
		h.Since = now
	}
	cur := *h
	e.health.mu.Unlock()
	if cur.State != old.State {
		e.healthChanged(id, name, old, cur)
	}
}

func nextRetry(last time.Duration) time.Duration {
	d := min(max(last*2, peerFirstRetry), peerMaxRetry)
	return d + rand.N(d/5+1)
}

// healthChanged stores the new state and logs the change in one line.
func (e *Engine) healthChanged(id store.ServerID, name string, old, cur PeerHealth) {
	ctx := context.Background()
	if b, err := json.Marshal(cur); err == nil {
		if err := e.st.SetServerState(ctx, id, stateHealth, string(b)); err != nil {
			e.log.Error("server health", "server", name, "err", err)
		}
	}
	entry := store.LogEntry{ServerID: id, ServerName: name, Direction: store.DirHealth, Outcome: store.LogOutcome(cur.State)}
	switch {
	case cur.Blocked():
		entry.Level, entry.Message = store.LevelError, cur.String()
	case cur.State == PeerDegraded:
		entry.Level, entry.Message = store.LevelWarn, cur.String()
	case old.Blocked() || old.State == PeerDegraded:
		entry.Level, entry.Message = store.LevelInfo, "up again (was "+old.String()+")"
	default:
		return // first sight of a server that answers: nothing to say
	}
	e.record(ctx, entry)
	if old.Blocked() && !cur.Blocked() {
		// Back: what waited for it goes now.
		if _, err := e.st.RetryServerNow(ctx, id); err != nil {
			e.log.Error("server health", "server", name, "err", err)
		}
		e.Wake()
	}
}

// holdOff says whether an outbox row of a server must wait, and how long: while the
// server is down or refuses our key, one row at a time tries it when its retry is due,
// the others wait for that retry. A "retry now" stored since it went down (by the
// console, in this process or another) makes the retry due at once.
func (e *Engine) holdOff(ctx context.Context, id store.ServerID) time.Duration {
	e.health.mu.Lock()
	p := e.health.peers[id]
	waiting := p != nil && p.h.Blocked() && p.h.RetryAt.After(e.now())
	e.health.mu.Unlock()
	var resumed int64
	if waiting {
		raw, err := e.st.ServerState(ctx, id, stateResume)
		if err != nil {
			e.log.Error("server resume", "server", id, "err", err)
		}
		resumed, _ = strconv.ParseInt(raw, 10, 64)
	}
	now := e.now()
	e.health.mu.Lock()
	defer e.health.mu.Unlock()
	if p == nil || !p.h.Blocked() {
		return 0
	}
	if resumed > p.resumed && resumed >= p.h.Since.UnixMilli() {
		p.resumed, p.h.RetryAt, p.probing = resumed, time.Time{}, false
	}
	if wait := p.h.RetryAt.Sub(now); wait > 0 || p.probing {
		return max(wait, time.Second)
	}
	p.probing = true
	return 0
}

// probeDone ends a trial of a down server however it went (a request's outcome has
// already moved its state).
func (e *Engine) probeDone(id store.ServerID) {
	e.health.mu.Lock()
	if p := e.health.peers[id]; p != nil {
		p.probing = false
	}
	e.health.mu.Unlock()
}

// peerBlocked is the health of a server when it is down or refuses our key, for a run
// to stop rather than fail event after event.
func (e *Engine) peerBlocked(id store.ServerID) (PeerHealth, bool) {
	e.health.mu.Lock()
	defer e.health.mu.Unlock()
	if p := e.health.peers[id]; p != nil && p.h.Blocked() {
		return p.h, true
	}
	return PeerHealth{}, false
}

// ResumeServer ends the wait of a down server's outbox at once: its queued pushes are due
// now, and the worker is woken. The console's "retry now". It is stored too, for the
// outbox of another process (mispdesk serve) to see before it waits again (holdOff).
func (e *Engine) ResumeServer(ctx context.Context, server store.ServerID) error {
	srv, err := e.st.Server(ctx, server)
	if err != nil {
		return fmt.Errorf("resume %d: %w", server, err)
	}
	at := e.now().UnixMilli()
	e.health.mu.Lock()
	if p := e.health.peers[srv.ID]; p != nil {
		p.h.RetryAt, p.probing, p.resumed = time.Time{}, false, at
	}
	e.health.mu.Unlock()
	if err := e.st.SetServerState(ctx, srv.ID, stateResume, strconv.FormatInt(at, 10)); err != nil {
		return fmt.Errorf("resume %s: %w", srv.Name, err)
	}
	if _, err := e.st.RetryServerNow(ctx, srv.ID); err != nil {
		return fmt.Errorf("resume %s: %w", srv.Name, err)
	}
	e.Wake()
	return nil
}

// ReadPeerHealth is a server's health as the process running its sync last stored it
// (State "" when nothing is known yet).
func ReadPeerHealth(ctx context.Context, st *store.Store, serverID store.ServerID) (PeerHealth, error) {
	var h PeerHealth
	raw, err := st.ServerState(ctx, serverID, stateHealth)
	if err != nil || raw == "" {
		return h, err
	}
	if err := json.Unmarshal([]byte(raw), &h); err != nil {
		return h, fmt.Errorf("health of server %d: %w", serverID, err)
	}
	return h, nil
}

// PeerDownError stops a run whose server went down or refuses our key.
type PeerDownError struct {
	Server string
	Health PeerHealth
}

func (e *PeerDownError) Error() string {
	return fmt.Sprintf("stopped: server %q is %s", e.Server, e.Health)
}
