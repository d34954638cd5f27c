package syncer

// Bounds at every edge, over real HTTP: a bomb or an endless body costs either side no
// more than its limit, and fails with one line naming what and where.

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"mispdesk/assets"
	"mispdesk/internal/procstat"
	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/mispapi"
	"mispdesk/syncer/remote"
)

const bombUUID = "00000000-0000-4000-8000-00000000b0b0"

// bombAttribute is one element of a bomb: a real attribute, 102 bytes.
const bombAttribute = `{"type":"ip-dst","category":"Network activity","value":"10.0.0.1","to_ids":true,"distribution":"5"},`

// endlessEvent is an event document of size bytes that never closes: an event header,
// then unit repeated.
func endlessEvent(size int64, unit string) io.Reader {
	head := `{"Event":{"uuid":"` + bombUUID + `","info":"bomb","date":"2024-01-01","timestamp":"1700000000","distribution":"3","published":true,"Attribute":[`
	return io.LimitReader(io.MultiReader(strings.NewReader(head), &repeatReader{unit: []byte(unit)}), size)
}

// endlessIndex is an events/index answer of size bytes that never closes.
func endlessIndex(size int64) io.Reader {
	row := `{"id":"1","uuid":"` + bombUUID + `","timestamp":"1700000000","published":true,"orgc_uuid":"00000000-0000-4000-8000-0000000000be"},`
	return io.LimitReader(io.MultiReader(strings.NewReader("["), &repeatReader{unit: []byte(row)}), size)
}

type repeatReader struct {
	unit []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.unit[r.off:])
		n += c
		r.off = (r.off + c) % len(r.unit)
	}
	return n, nil
}

var bombs sync.Map // size → gzip bytes

// gzipBomb is an endless event of size bytes, gzipped (about size/1000 bytes).
func gzipBomb(t testing.TB, size int64) []byte {
	if b, ok := bombs.Load(size); ok {
		return b.([]byte)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := io.Copy(zw, endlessEvent(size, bombAttribute)); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	bombs.Store(size, buf.Bytes())
	return buf.Bytes()
}

// syncKey adds a sync user of a new organisation on n and returns its key.
func syncKey(t testing.TB, n *node) string {
	t.Helper()
	org, err := n.st.AddOrg(ctx, store.Org{Name: "Peer of " + n.name})
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := n.st.AddUser(ctx, store.NewUser{Email: "sync@peer-of-" + strings.ToLower(n.name) + ".test", OrgRef: org.UUID, RoleRef: "sync"})
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// post sends body to n's API with key and returns the status and the answer.
func post(t testing.TB, n *node, key, path string, body io.Reader, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, n.http.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", key)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// A 200 MB event inflating from a small gzip body is refused with 413 at the limit, in one
// line naming it; nothing is stored.
func TestAPIRefusesGzipBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("a 200 MB bomb: the non-race pass of make test runs it")
	}
	b := newNode(t, "B")
	b.setHandler(mispapi.New(mispapi.Config{Store: b.st, MaxBodyBytes: 4 << 20}))
	key := syncKey(t, b)
	bomb := gzipBomb(t, 200<<20)
	status, answer := post(t, b, key, "/events/add", bytes.NewReader(bomb), "Content-Encoding", "gzip")
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(answer, "larger than this instance accepts (4194304 bytes after decompression)") {
		t.Fatalf("%d %s", status, answer)
	}
	if strings.Count(answer, "\n") > 0 {
		t.Errorf("answer over several lines: %q", answer)
	}
	// Uncompressed and announced too large: refused before a byte of it is read.
	status, _ = post(t, b, key, "/events/add", endlessEvent(5<<20, bombAttribute))
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("plain 5 MiB body: %d", status)
	}
	if n := b.count(t); n != 0 {
		t.Errorf("%d events stored", n)
	}
}

// A body that trickles in is cut off with 408; one that arrives slowly but steadily is
// read whole.
func TestAPICutsTricklingBody(t *testing.T) {
	b := newNode(t, "B")
	b.setHandler(mispapi.New(mispapi.Config{Store: b.st, BodyTimeout: 300 * time.Millisecond}))
	key := syncKey(t, b)

	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte(`{"Event":{"info":"`))
		for i := 0; i < 100; i++ { // one byte each 100 ms, for at most 10 s
			time.Sleep(100 * time.Millisecond)
			if _, err := pw.Write([]byte("x")); err != nil {
				return
			}
		}
		pw.Close()
	}()
	status, answer := post(t, b, key, "/events/add", pr)
	pr.CloseWithError(io.ErrClosedPipe)
	if status != http.StatusRequestTimeout || !strings.Contains(answer, "did not arrive in time") {
		t.Fatalf("trickle: %d %s", status, answer)
	}

	// 1 MiB in 64 KiB steps each 50 ms (1.25 MiB/s): slow, steady, accepted.
	ev := bigEvent(3000)
	ev.UUID = bombUUID
	doc, err := misp.MarshalEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	steadyR, steadyW := io.Pipe()
	go func() {
		for rest := doc; len(rest) > 0; {
			n := min(len(rest), 64<<10)
			if _, err := steadyW.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
			time.Sleep(50 * time.Millisecond)
		}
		steadyW.Close()
	}()
	if status, answer := post(t, b, key, "/events/add", steadyR); status != http.StatusOK {
		t.Fatalf("steady upload of %d bytes: %d %.300s", len(doc), status, answer)
	}
	if got := b.event(t, bombUUID); got == nil || len(got.Attribute) != 3000 {
		t.Errorf("steady upload not stored whole")
	}
}

// An info longer than MISP's TEXT column is refused naming the field; the store is
// unchanged.
func TestAPIRefusesOverlongInfo(t *testing.T) {
	b := newNode(t, "B")
	key := syncKey(t, b)
	ev := bigEvent(1)
	ev.UUID = bombUUID
	ev.Info = strings.Repeat("i", 65_536)
	doc, err := misp.MarshalEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	status, answer := post(t, b, key, "/events/add", bytes.NewReader(doc))
	if status != http.StatusForbidden || !strings.Contains(answer, "/Event/info is 65536 bytes long; MISP stores at most 65535 bytes there") {
		t.Fatalf("%d %.300s", status, answer)
	}
	if n := b.count(t); n != 0 {
		t.Errorf("%d events stored", n)
	}
}

// A hostile peer answering the index or an event with a bomb or an endless body makes
// the pull fail with one line naming the server and the limit, never the key; the client
// stops reading at its limit.
func TestPullFromHostilePeerStopsAtLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("a 1.5 GB answer: the non-race pass of make test runs it")
	}
	for _, tc := range []struct {
		name, path string
		answer     func(w http.ResponseWriter)
	}{
		{"index endless", "/events/index", func(w http.ResponseWriter) { io.Copy(w, endlessIndex(1<<40)) }},
		{"event endless", "/events/view/", func(w http.ResponseWriter) { io.Copy(w, endlessEvent(1<<40, bombAttribute)) }},
		{"event gzip bomb", "/events/view/", func(w http.ResponseWriter) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gzipBomb(t, 200<<20))
		}},
		{"event announced huge", "/events/view/", func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", "1600000000")
			io.Copy(w, endlessEvent(1_600_000_000, bombAttribute))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, bn := newNode(t, "A"), newNode(t, "B")
			loadInto(t, a.st, []*misp.Event{bigEvent(10)})
			srv := connect(t, bn, a, store.ServerOptions{Pull: true})
			var sent int64
			var mu sync.Mutex
			faultOn(a, tc.path, func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
				w.Header().Set("Content-Type", "application/json")
				cw := &countingWriter{w: w}
				tc.answer(cw)
				mu.Lock()
				sent += cw.n
				mu.Unlock()
			})
			bn.eng.tuneCl = func(c *remote.Config) { fastClient(c); c.MaxBodyBytes = 4 << 20 }
			sum, err := bn.eng.Pull(ctx, bn.serverID("A"), RunOptions{})
			msg := ""
			if err != nil {
				msg = err.Error()
			} else if len(sum.Errors) > 0 {
				msg = sum.Errors[0]
			}
			if !strings.Contains(msg, `server "A"`) || !strings.Contains(msg, "larger than 4194304 bytes") || strings.Contains(msg, "\n") {
				t.Fatalf("pull: %q (%s)", msg, sum.Line())
			}
			if strings.Contains(msg, srv.Authkey) {
				t.Errorf("the error shows the key: %s", msg)
			}
			if bn.event(t, bigEvent(10).UUID) != nil {
				t.Error("event stored from a refused answer")
			}
			mu.Lock()
			defer mu.Unlock()
			if sent > 64<<20 {
				t.Errorf("the peer could send %d bytes before the client hung up", sent)
			}
		})
	}
}

type countingWriter struct {
	w http.ResponseWriter
	n int64
}

func (c *countingWriter) Header() http.Header { return c.w.Header() }
func (c *countingWriter) WriteHeader(s int)   { c.w.WriteHeader(s) }
func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// BenchmarkBoundsPeakMemory reports the peak RSS of the process (server or client with
// the default limits, under mispdesk's heap limit) while a 200 MB gzip bomb is posted to
// the API, and while a pull reads a peer's 1.5 GB answer (generated as it is sent).
func BenchmarkBoundsPeakMemory(b *testing.B) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(assets.MemoryLimit))
	measure := func(b *testing.B, run func()) {
		for i := 0; i < b.N; i++ {
			runtime.GC()
			procstat.ResetPeakRSS()
			run()
		}
		b.ReportMetric(procstat.PeakRSSMB(), "peak-RSS-MB")
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.Sys)/(1<<20), "go-sys-MB")
	}
	for _, unit := range []struct{ name, attr string }{
		{"attributes", bombAttribute},
		{"minimal-attributes", `{"type":"a","value":"b"},`},
	} {
		b.Run("server-gzip-bomb-200MB-"+unit.name, func(b *testing.B) {
			n := newNode(b, "B")
			key := syncKey(b, n)
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			io.Copy(zw, endlessEvent(200<<20, unit.attr))
			zw.Close()
			measure(b, func() {
				if status, answer := post(b, n, key, "/events/add", bytes.NewReader(buf.Bytes()), "Content-Encoding", "gzip"); status != http.StatusRequestEntityTooLarge {
					b.Fatalf("%d %.200s", status, answer)
				}
			})
		})
		b.Run("client-1.5GB-event-"+unit.name, func(b *testing.B) {
			a, bn := newNode(b, "A"), newNode(b, "B")
			loadInto(b, a.st, []*misp.Event{bigEvent(10)})
			connect(b, bn, a, store.ServerOptions{Pull: true})
			faultOn(a, "/events/view/", func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
				io.Copy(w, endlessEvent(1_500_000_000, unit.attr))
			})
			bn.eng.tuneCl = nil // the default limits
			measure(b, func() {
				sum, err := bn.eng.Pull(context.Background(), bn.serverID("A"), RunOptions{})
				if err == nil && len(sum.Errors) == 0 {
					b.Fatalf("pull of a 1.5 GB answer succeeded: %s", sum.Line())
				}
			})
		})
	}
	b.Run("client-1.5GB-index", func(b *testing.B) {
		a, bn := newNode(b, "A"), newNode(b, "B")
		connect(b, bn, a, store.ServerOptions{Pull: true})
		faultOn(a, "/events/index", func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			io.Copy(w, endlessIndex(1_500_000_000))
		})
		bn.eng.tuneCl = nil
		measure(b, func() {
			if _, err := bn.eng.Pull(context.Background(), bn.serverID("A"), RunOptions{}); err == nil {
				b.Fatal("pull of a 1.5 GB index succeeded")
			}
		})
	})
}
