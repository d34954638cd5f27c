package mispapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// env is one served instance: a real store in a temporary directory and the API on a
// real HTTP server, with keys for the accounts tests use.
type env struct {
	t   testing.TB
	st  *store.Store
	srv *httptest.Server
	// keys
	admin, syncKey, other, readOnly, expired, sameOrgUser string
	hostOrg, otherOrg, peerOrg                            *store.Org
	clock                                                 *clock
	syncer                                                *fakeRunner
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeRunner stands in for the sync engine, which lives in another package; it records
// what the API asked.
type fakeRunner struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeRunner) Pull(_ context.Context, id store.ServerID, technique string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "pull "+itoa(id)+" "+technique)
	return "1 events pulled", nil
}
func (f *fakeRunner) Push(_ context.Context, id store.ServerID, technique string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "push "+itoa(id)+" "+technique)
	return "1 events pushed", nil
}
func (f *fakeRunner) TestConnection(_ context.Context, id store.ServerID) (any, error) {
	return map[string]any{"status": 1, "local_version": "2.5.1", "version": "2.5.1"}, nil
}
func (f *fakeRunner) FetchFeed(_ context.Context, id store.FeedID) (int, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "fetch feed "+itoa(id))
	return 2, 1, nil
}
func (f *fakeRunner) CacheFeed(_ context.Context, id store.FeedID) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "cache feed "+itoa(id))
	return 3, nil
}
func (f *fakeRunner) Wake() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "wake")
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	ck := &clock{t: time.Now()}
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "m.db"), store.WithClock(ck.now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	res, err := st.Init(ctx, store.InitOptions{OrgName: "HOSTORG"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetBaseURL(ctx, "https://misp-b.example"); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, admin: res.AuthKey, clock: ck, syncer: &fakeRunner{}}
	e.hostOrg = &res.Org
	if e.otherOrg, err = st.AddOrg(ctx, store.Org{Name: "OTHERORG", Local: true}); err != nil {
		t.Fatal(err)
	}
	if e.peerOrg, err = st.AddOrg(ctx, store.Org{Name: "PEERORG", UUID: "55f6ea5e-2c60-40e5-964f-47a8950d210f"}); err != nil {
		t.Fatal(err)
	}
	if _, e.syncKey, err = st.AddUser(ctx, store.NewUser{Email: "sync@peer.test", OrgRef: "PEERORG", RoleRef: "sync"}); err != nil {
		t.Fatal(err)
	}
	if _, e.other, err = st.AddUser(ctx, store.NewUser{Email: "user@other.test", OrgRef: "OTHERORG", RoleRef: "user"}); err != nil {
		t.Fatal(err)
	}
	if _, e.sameOrgUser, err = st.AddUser(ctx, store.NewUser{Email: "pub@host.test", OrgRef: "HOSTORG", RoleRef: "publisher"}); err != nil {
		t.Fatal(err)
	}
	if _, e.readOnly, err = st.AddAuthKey(ctx, testsupport.UserID(st, "pub@host.test"), store.AuthKeyOptions{ReadOnly: true}); err != nil {
		t.Fatal(err)
	}
	if _, e.expired, err = st.AddAuthKey(ctx, testsupport.UserID(st, "pub@host.test"), store.AuthKeyOptions{Expiration: ck.now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(New(Config{Store: st, Syncer: e.syncer, MaxBodyBytes: 8 << 20}))
	t.Cleanup(e.srv.Close)
	return e
}

// importFile stores a fixture event as if created locally by the host org.
func (e *env) importFile(path string, edit func(*misp.Event)) *misp.Event {
	e.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatal(err)
	}
	ev, err := misp.ParseEvent(b)
	if err != nil {
		e.t.Fatal(err)
	}
	if edit != nil {
		edit(ev)
	}
	if _, err := e.st.UpsertEvent(context.Background(), ev, store.UpsertOptions{}); err != nil {
		e.t.Fatal(err)
	}
	return ev
}

// event makes a small event.
func testEvent(uuid string, dist misp.Distribution, published bool, ts int64) *misp.Event {
	return &misp.Event{
		UUID: uuid, Info: "test event " + uuid[:8], Date: "2024-10-01", Distribution: dist, Published: misp.Bool(published),
		Timestamp: misp.Int(ts), ThreatLevelID: 2, Analysis: 1,
		Orgc: &misp.Org{Name: "CIRCL", UUID: "55f6ea5e-2c60-40e5-964f-47a8950d210f"},
		Attribute: []misp.Attribute{{Type: "ip-dst", Category: "Network activity", Value: "198.51.100.7",
			UUID: misp.DerivedUUID(uuid, "a1"), Distribution: misp.InheritEvent, Timestamp: misp.Int(ts), ToIDs: true}},
	}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("answer is not JSON (%v): %.300s", err, r.body)
	}
	return v
}

func (r resp) obj(t testing.TB) map[string]any {
	t.Helper()
	m, ok := r.json(t).(map[string]any)
	if !ok {
		t.Fatalf("answer is not an object: %.300s", r.body)
	}
	return m
}

// do sends a request with key in Authorization (none when key is "").
func (e *env) do(method, path, key string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var r io.Reader = res.Body
	if res.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			e.t.Fatal(err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func wantStatus(t testing.TB, r resp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %.500s", r.status, status, r.body)
	}
}

// wantEnvelope checks MISP's thrown-exception envelope.
func wantEnvelope(t testing.TB, r resp, status int, name string) {
	t.Helper()
	wantStatus(t, r, status)
	m := r.obj(t)
	for _, k := range []string{"name", "message", "url"} {
		if _, ok := m[k].(string); !ok {
			t.Fatalf("envelope lacks %q: %s", k, r.body)
		}
	}
	if name != "" && m["name"] != name {
		t.Fatalf("name %q, want %q", m["name"], name)
	}
}

func wantKeys(t testing.TB, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Fatalf("missing %q in %v", k, m)
		}
	}
}

// recorder is a minimal ResponseWriter for calling the handler without a server.
type recorder struct {
	h    http.Header
	code int
	buf  bytes.Buffer
}

func newRecorder() *recorder                    { return &recorder{h: http.Header{}} }
func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(b []byte) (int, error) { return r.buf.Write(b) }
func (r *recorder) WriteHeader(c int)           { r.code = c }
