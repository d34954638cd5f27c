package syncer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/mispapi"
	"mispdesk/syncer/remote"
)

// node is one full mispdesk instance: its own database, REST API on 127.0.0.1 and engine.
type node struct {
	name string
	st   *store.Store
	eng  *Engine
	http *httptest.Server
	host store.Org
	// handler can be swapped to put a fault in front of the real API.
	mu      sync.Mutex
	handler http.Handler
}

// serverID is the id of n's sync link named name (0 when there is none).
func (n *node) serverID(name string) store.ServerID { return testsupport.ServerID(n.st, name) }

func (n *node) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	h := n.handler
	n.mu.Unlock()
	h.ServeHTTP(w, r)
}

func (n *node) setHandler(h http.Handler) {
	n.mu.Lock()
	n.handler = h
	n.mu.Unlock()
}

var fastClient = func(c *remote.Config) {
	c.Timeout = 5 * time.Second
	c.Retries = 1
}

func newNode(t testing.TB, name string) *node {
	return newNodeWith(t, name, store.InitOptions{OrgName: "Org" + name})
}

// newNodeWith makes an instance whose host organisation is as init says (two instances of
// one organisation are joined by an internal link).
func newNodeWith(t testing.TB, name string, init store.InitOptions) *node {
	t.Helper()
	return newNodeAt(t, name, init, nil)
}

// newNodeAt makes an instance whose store and engine read the time from now (nil: the
// real clock), for tests of backoff that step time rather than wait for it.
func newNodeAt(t testing.TB, name string, init store.InitOptions, now func() time.Time) *node {
	t.Helper()
	ctx := context.Background()
	var opts []store.Option
	if now != nil {
		opts = append(opts, store.WithClock(now))
	}
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), name+".db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	res, err := st.Init(ctx, init)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{name: name, st: st, host: res.Org}
	n.eng = New(st, Options{ClientConfig: fastClient, Holder: name, Now: now})
	t.Cleanup(n.eng.Close)
	n.handler = mispapi.New(mispapi.Config{Store: st, Syncer: APIRunner{Engine: n.eng}})
	n.http = httptest.NewServer(n)
	t.Cleanup(n.http.Close)
	if err := st.SetBaseURL(ctx, n.http.URL); err != nil {
		t.Fatal(err)
	}
	return n
}

// connect sets up what MISP's sync needs for `from` to reach `to` (the book's three
// steps): from's host organisation on `to` with a sync user there, and on `from` a server
// record for `to` holding that user's key. It returns the server record on `from`.
func connect(t testing.TB, from, to *node, opts store.ServerOptions) *store.Server {
	t.Helper()
	ctx := context.Background()
	if _, err := to.st.OrgByUUID(ctx, from.host.UUID); err != nil {
		if _, err := to.st.AddOrg(ctx, store.Org{Name: from.host.Name, UUID: from.host.UUID, Local: true}); err != nil {
			t.Fatal(err)
		}
	}
	_, key, err := to.st.AddUser(ctx, store.NewUser{Email: "sync-" + from.name + "@" + to.name + ".test", OrgRef: from.host.UUID, RoleRef: "sync"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := from.st.OrgByUUID(ctx, to.host.UUID); err != nil {
		if _, err := from.st.AddOrg(ctx, store.Org{Name: to.host.Name, UUID: to.host.UUID}); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := from.st.AddServer(ctx, store.ServerSpec{Name: to.name, URL: to.http.URL, Authkey: key, RemoteOrgRef: to.host.UUID, ServerOptions: opts})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func (n *node) importFile(t testing.TB, path string, edit func(*misp.Event)) *misp.Event {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := misp.ParseEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(e)
	}
	if _, err := n.st.UpsertEvent(context.Background(), e, store.UpsertOptions{DefaultDistribution: misp.AllCommunities}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (n *node) event(t testing.TB, uuid string) *misp.Event {
	t.Helper()
	id, err := n.st.ResolveEvent(context.Background(), uuid)
	if err != nil {
		return nil
	}
	e, err := n.st.Event(context.Background(), id)
	if err != nil {
		return nil
	}
	return e
}

func (n *node) count(t testing.TB) int {
	t.Helper()
	c, err := n.st.CountEvents(context.Background(), store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	smallEvent = "../testdata/feeds/osint-mixed/5a0a9aa9-23a4-4607-b6df-41a9950d210f.json"
	objEvent   = "../testdata/feeds/osint-mixed/13cb1207-0674-4a54-a999-df5ff8e35c1a.json"
)

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
