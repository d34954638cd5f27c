// Package syncer moves events between this instance and other MISP servers: pull and push
// runs, the outbox that pushes published events within a second, the scheduler, the
// connection test and the sync log that operators watch. What may move, and in what form,
// is decided by the policy package; the wire is syncer/remote; the data is in store.
package syncer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"mispdesk/assets"
	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/syncer/gate"
	"mispdesk/syncer/remote"
)

// Options tune an Engine. Zero values take the defaults.
type Options struct {
	Logger *slog.Logger
	// Concurrency bounds the requests one server's run has in flight (default 4).
	Concurrency int
	// Holder names this process in leases and outbox claims (default host-pid-random).
	Holder string
	// ClientConfig adjusts the HTTP client of each server (timeouts, retries) in tests.
	ClientConfig func(*remote.Config)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Engine runs sync for one store.
type Engine struct {
	st     *store.Store
	log    *slog.Logger
	bus    *Bus
	holder string
	conc   int
	now    func() time.Time
	tuneCl func(*remote.Config)

	runs      exclusive // one pull and one push per server at a time
	logw      logWriter
	closeOnce sync.Once
	mu        sync.Mutex
	clients   map[store.ServerID]cachedClient
	wake      chan struct{} // nudges the outbox worker after a local publish
	leader    atomic.Bool   // Run holds the leader lease and runs the outbox
	health    peerHealth    // every server's state, fed by every request
}

type cachedClient struct {
	modified int64
	client   *remote.Client
}

// New makes an engine over st. Close it when done, so the last sync log lines are written.
func New(st *store.Store, opts Options) *Engine {
	e := &Engine{
		st:      st,
		log:     opts.Logger,
		bus:     NewBus(),
		holder:  opts.Holder,
		conc:    opts.Concurrency,
		now:     opts.Now,
		tuneCl:  opts.ClientConfig,
		clients: map[store.ServerID]cachedClient{},
		wake:    make(chan struct{}, 1),
		logw:    logWriter{stop: make(chan struct{}), stopped: make(chan struct{})},
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.conc <= 0 {
		e.conc = 4
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.holder == "" {
		host, _ := os.Hostname()
		var b [4]byte
		rand.Read(b[:])
		e.holder = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	go e.logLoop()
	return e
}

// Bus is where the engine announces each sync log entry as it is written.
func (e *Engine) Bus() *Bus { return e.bus }

// Store is the engine's store.
func (e *Engine) Store() *store.Store { return e.st }

// IsLeader reports whether this engine's Run holds the syncer lease now, and so runs the
// outbox worker and the schedulers for every process sharing the database. The console's
// header reads it.
func (e *Engine) IsLeader() bool { return e.leader.Load() }

// Wake tells the outbox worker that new work was queued in this process.
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// client returns the HTTP client for a server, rebuilt when the server record changed.
func (e *Engine) client(ctx context.Context, srv *store.Server) (*remote.Client, error) {
	e.mu.Lock()
	c, ok := e.clients[srv.ID]
	e.mu.Unlock()
	if ok && c.modified == srv.Modified {
		return c.client, nil
	}
	key, err := e.st.ServerAuthKey(ctx, srv.ID)
	if err != nil {
		return nil, err
	}
	cfg := remote.Config{
		Name:          srv.Name,
		URL:           srv.URL,
		AuthKey:       key,
		SelfSigned:    srv.SelfSigned,
		CAPEM:         srv.CertFile,
		ClientCertPEM: srv.ClientCertFile,
		SkipProxy:     srv.SkipProxy,
		Observe:       e.observer(srv.ID, srv.Name),
	}
	if e.tuneCl != nil {
		e.tuneCl(&cfg)
	}
	cl, err := remote.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("server %q: %w", srv.Name, err)
	}
	e.mu.Lock()
	e.clients[srv.ID] = cachedClient{modified: srv.Modified, client: cl}
	e.mu.Unlock()
	return cl, nil
}

// localVersion is what this side shows in a connection test.
func localVersion() remote.LocalVersion {
	return remote.LocalVersion{MISPVersion: assets.MISPVersion, AppVersion: assets.Version}
}

// runContext is what every step of one pull or push run shares.
type runContext struct {
	e      *Engine
	runID  string
	srv    *store.Server
	psrv   *policy.Server
	inst   *policy.Instance
	bl     policy.Blocklists
	client *remote.Client
	dir    store.Direction
	logMu  sync.Mutex // a step's counts and its log entry go together
	// stop ends a run early with a cause (its server went down); nil outside runOne.
	stop context.CancelCauseFunc
}

func (e *Engine) newRun(ctx context.Context, server store.ServerID, dir store.Direction) (*runContext, error) {
	srv, err := e.st.Server(ctx, server)
	if err != nil {
		return nil, err
	}
	psrv, err := gate.Server(srv)
	if err != nil {
		return nil, err
	}
	inst, err := gate.Instance(ctx, e.st)
	if err != nil {
		return nil, err
	}
	bl, err := gate.Blocklists(ctx, e.st)
	if err != nil {
		return nil, err
	}
	cl, err := e.client(ctx, srv)
	if err != nil {
		return nil, err
	}
	var b [6]byte
	rand.Read(b[:])
	return &runContext{e: e, runID: hex.EncodeToString(b[:]), srv: srv, psrv: psrv, inst: inst, bl: bl, client: cl, dir: dir}, nil
}
