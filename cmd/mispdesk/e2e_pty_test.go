package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"
	"github.com/google/uuid"
)

// TestConsoleInATerminal drives the real binary: instance B is a mispdesk serve process,
// instance A's console runs in a pseudo-terminal at 80x24 read through a screen emulator.
// B is killed while A's queue drains: the console shows B down with the cause, the outbox
// backs off; B comes back on the same port, r on the Servers pane retries, everything
// queued arrives once and the down state clears; a push of 200 events never shows more
// done than its total; a push cancelled with x while B hangs is logged as cancelled, with
// what was done before it, and no error; q quits with exit 0.
func TestConsoleInATerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it in a terminal")
	}
	bin := buildBinary(t)
	a, b := initInstance(t, "OrgA"), initInstance(t, "OrgB")
	bSrv := startServe(t, bin, b.db, "127.0.0.1:0")
	link(t, a, b, bSrv.url, "B")

	// On A: 20 unpublished events, published during the kill; 200 published ones, queued
	// nowhere, for the push run.
	queued := importEvents(t, a.db, "queued", 20, nil)
	bulk := importEvents(t, a.db, "bulk", 200, published)

	con := startConsole(t, bin, a.db)
	con.waitFor(t, "the Servers pane with B", func(s string) bool {
		return strings.Contains(s, "Servers") && strings.Contains(s, bSrv.url)
	})

	// The console leads the outbox: publishing only queues. Half go while B is up.
	for _, u := range queued[:10] {
		mustRun(t, "event", "publish", u, "--db", a.db, "--queue-only")
	}
	waitUntil(t, "B receives a first event", func() bool { return len(eventUUIDs(t, b.db)) > 0 }, con.screen)
	bSrv.kill(t)
	for _, u := range queued[10:] {
		mustRun(t, "event", "publish", u, "--db", a.db, "--queue-only")
	}
	con.waitFor(t, "B down with its cause in the header, its row and its detail", func(s string) bool {
		header, _, _ := strings.Cut(s, "\n")
		return strings.Contains(header, "✗ B down: connection refused") && // cause first, in full
			downRow.MatchString(s) && downDetail.MatchString(s)
	})
	failedBefore := failedPushes(t, a.db)

	// B returns on the same port; r on the Servers pane retries at once.
	bSrv = startServe(t, bin, b.db, strings.TrimPrefix(bSrv.url, "http://"))
	con.press(t, "r")
	waitUntil(t, "all 20 queued events on B", func() bool { return len(eventUUIDs(t, b.db)) >= len(queued) }, con.screen)
	con.waitFor(t, "the down state cleared and the queue empty", func(s string) bool {
		return !strings.Contains(s, "✗ B") && !strings.Contains(s, "down: connection refused") && strings.Contains(s, "queued 0 failed 0")
	})
	got := eventUUIDs(t, b.db)
	if len(got) != len(queued) {
		t.Errorf("B holds %d events, want the %d queued", len(got), len(queued))
	}
	for _, u := range queued {
		if got[u] != 1 {
			t.Errorf("event %s arrived on B %d times, want once", u, got[u])
		}
	}
	// Down, the outbox waited rather than failing event after event.
	if n := failedPushes(t, a.db); n > 10 || failedBefore == 0 {
		t.Errorf("%d failed push attempts for 10 events queued while B was down (%d when it showed down)", n, failedBefore)
	}

	// A push run of 200 events, watched on the Log pane (at 80 columns the header cuts
	// the progress): it never says more done than total.
	con.press(t, "P")
	con.press(t, "4")
	con.waitFor(t, "the push of the 200 events finished", func(s string) bool {
		header, _, _ := strings.Cut(s, "\n")
		return strings.Contains(header, "syncer idle") && len(eventUUIDs(t, b.db)) == len(queued)+len(bulk)
	})
	if p := con.progress(); p.seen == 0 || p.overshoot != "" {
		t.Errorf("push progress: %d readings, overshoot %q", p.seen, p.overshoot)
	}

	// A push the user cancels: B, behind a proxy, stops answering once 5 of 30 new events
	// went (as a hung peer does); x on the Log pane cancels; the log says cancelled, with
	// what was done before it, and no error.
	hang := newHangingProxy(t, bSrv.url, 5)
	mustRun(t, "server", "edit", "B", "--db", a.db, "--url", hang.url)
	importEvents(t, a.db, "cancelled", 30, published)
	con.press(t, "1")
	con.press(t, "P")
	con.press(t, "4")
	select {
	case <-hang.holding:
	case <-time.After(30 * time.Second):
		t.Fatalf("the push never reached the hanging peer; the screen:\n%s", con.screen())
	}
	con.press(t, "x")
	con.waitFor(t, "the cancel in the log", func(s string) bool {
		return cancelled.MatchString(s) && strings.Contains(s, "Push B cancelled")
	})
	checkCancelLogged(t, a.db)

	con.press(t, "q")
	if err := con.wait(); err != nil {
		t.Errorf("the console's exit: %v\n%s", err, con.screen())
	}
}

// buildBinary builds mispdesk once for the test.
func buildBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build the binary")
	}
	bin := filepath.Join(t.TempDir(), "mispdesk")
	// With the packages go test has just compiled (a CGO_ENABLED=0 build, as make build
	// does, would compile everything again); without debug information, which only slows
	// the link.
	cmd := exec.Command(goTool, "build", "-ldflags=-s -w", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// serveProc is a mispdesk serve process.
type serveProc struct {
	url  string
	cmd  *exec.Cmd
	done chan struct{}
}

// startServe starts mispdesk serve on listen and waits for its listening line.
func startServe(t *testing.T, bin, db, listen string) *serveProc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--db", db, "--listen", listen)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start serve: %v", err)
	}
	p := &serveProc{cmd: cmd, done: make(chan struct{})}
	t.Cleanup(func() { p.kill(t) })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("serve on %s: no listening line: %v; stderr %q", listen, err, stderr.String())
	}
	go func() { io.Copy(io.Discard, stdout); cmd.Wait(); close(p.done) }()
	const prefix = "mispdesk serve: listening on "
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("serve's first line %q", line)
	}
	p.url = strings.TrimSpace(strings.TrimPrefix(line, prefix))
	return p
}

// kill ends the process at once, as a crash would, and waits for it.
func (p *serveProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("kill serve: %v", err)
	}
	<-p.done
}

// importEvents imports n new events with distribution "all communities" and one
// attribute into db, each shaped by shape (nil: unpublished), and returns their UUIDs.
func importEvents(t *testing.T, db, name string, n int, shape func(i int, ev map[string]any)) []string {
	t.Helper()
	dir := t.TempDir()
	uuids := make([]string, n)
	paths := make([]string, n)
	for i := range n {
		uuids[i] = uuid.NewString()
		ev := map[string]any{"Event": map[string]any{
			"uuid": uuids[i], "info": fmt.Sprintf("%s %d", name, i), "date": "2026-01-02",
			"distribution": "3", "threat_level_id": "4", "analysis": "0", "published": false,
			"Attribute": []map[string]any{{
				"uuid": uuid.NewString(), "type": "ip-dst", "category": "Network activity",
				"value": fmt.Sprintf("198.51.100.%d", i%250+1), "to_ids": true, "distribution": "5",
			}},
		}}
		if shape != nil {
			shape(i, ev["Event"].(map[string]any))
		}
		raw, _ := json.Marshal(ev)
		paths[i] = filepath.Join(dir, uuids[i]+".json")
		if err := os.WriteFile(paths[i], raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mustRun(t, append([]string{"import", "--db", db}, paths...)...)
	return uuids
}

// published shapes an event for importEvents: published.
func published(_ int, ev map[string]any) { ev["published"] = true }

// eventUUIDs counts db's events by UUID, as event list --json prints them.
func eventUUIDs(t *testing.T, db string) map[string]int {
	t.Helper()
	var evs []struct {
		UUID string `json:"uuid"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "event", "list", "--db", db, "--json")), &evs); err != nil {
		t.Fatalf("event list --json: %v", err)
	}
	n := map[string]int{}
	for _, e := range evs {
		n[e.UUID]++
	}
	return n
}

// failedPushes counts the failed push attempts in db's sync log.
func failedPushes(t *testing.T, db string) int {
	t.Helper()
	out := mustRun(t, "log", "--db", db, "--direction", "push", "--limit", "0", "--json")
	n := 0
	for line := range strings.Lines(out) {
		var e struct {
			Outcome string `json:"outcome"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log --json line %q: %v", line, err)
		}
		if e.Outcome == "failed" {
			n++
		}
	}
	return n
}

// waitUntil polls cond until it holds; a generous deadline, for a wait, not a measure.
func waitUntil(t *testing.T, what string, cond func() bool, screen func() string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s; the screen:\n%s", what, screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// console is the mispdesk console in a pseudo-terminal, its output fed to a screen
// emulator.
type console struct {
	pty *os.File
	cmd *exec.Cmd
	// exited is closed when the process has ended, with its outcome in exitErr
	exited  chan struct{}
	exitErr error

	mu  sync.Mutex
	emu *vt.Emulator
	// every header the console drew carrying a run's progress: how many, and the first
	// with more done than total
	prog progressCheck
}

type progressCheck struct {
	seen      int
	overshoot string
}

// startConsole runs mispdesk --db db in an 80x24 terminal.
func startConsole(t *testing.T, bin, db string) *console {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(bin, "--db", db)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color", "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"))
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		t.Fatalf("start the console in a pty: %v", err)
	}
	c := &console{pty: f, cmd: cmd, exited: make(chan struct{}), emu: vt.NewEmulator(80, 24)}
	output := make(chan struct{})
	go func() { defer close(output); c.read() }()
	// The terminal's answers to the console's queries go back to it.
	go io.Copy(f, c.emu)
	go func() { c.exitErr = cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			cmd.Process.Kill()
			<-c.exited
		}
		f.Close()
		<-output
		c.emu.Close()
	})
	return c
}

var (
	// B's Servers row down (its cause cut at 80 columns), its detail with the cause in full,
	// and a run's progress.
	downRow    = regexp.MustCompile(`(?m)^ B .*down: conn`)
	downDetail = regexp.MustCompile(`(?m)^ Health +down since \d\d:\d\d: connection refused`)
	progressRe = regexp.MustCompile(`(\d+) of (\d+) events`)
	// the cancelled push's last line on the Log pane
	cancelled = regexp.MustCompile(`(?m) WARN  ↑ push B +finished +cancelled after \d+ of \d+`)
)

// hangingProxy passes requests to a peer until it has passed pushes event pushes, then
// holds every request until its caller gives up: a peer that stops answering mid-run.
type hangingProxy struct {
	url     string
	holding chan struct{} // closed when the first request is held
}

func newHangingProxy(t *testing.T, peer string, pushes int) *hangingProxy {
	t.Helper()
	target, err := url.Parse(peer)
	if err != nil {
		t.Fatal(err)
	}
	fwd := httputil.NewSingleHostReverseProxy(target)
	p := &hangingProxy{holding: make(chan struct{})}
	var mu sync.Mutex
	passed := 0
	var once sync.Once
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hold := passed >= pushes
		if strings.HasPrefix(r.URL.Path, "/events/add") || strings.HasPrefix(r.URL.Path, "/events/edit") {
			passed++
		}
		mu.Unlock()
		if hold {
			once.Do(func() { close(p.holding) })
			select {
			case <-r.Context().Done():
			case <-release: // the test is over
			}
			return
		}
		fwd.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	p.url = srv.URL
	return p
}

// checkCancelLogged: the newest push run of db ends in one WARN "cancelled after N of
// total events" with N > 0, and none of its entries is an error or a failure.
func checkCancelLogged(t *testing.T, db string) {
	t.Helper()
	var entries []struct {
		RunID   string `json:"run_id"`
		Level   string `json:"level"`
		Outcome string `json:"outcome"`
		Message string `json:"message"`
	}
	for line := range strings.Lines(mustRun(t, "log", "--db", db, "--direction", "push", "--limit", "0", "--json")) {
		var e struct {
			RunID   string `json:"run_id"`
			Level   string `json:"level"`
			Outcome string `json:"outcome"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log --json line %q: %v", line, err)
		}
		entries = append(entries, e)
	}
	run := ""
	for _, e := range entries {
		if e.Outcome == "finished" && e.RunID != "" {
			run = e.RunID // the newest run's
		}
	}
	var done, n int
	var last string
	for _, e := range entries {
		if e.RunID != run {
			continue
		}
		n++
		last = e.Level + " " + e.Message
		if e.Level == "error" || e.Outcome == "failed" {
			t.Errorf("the cancelled run logged %s %s %q", e.Level, e.Outcome, e.Message)
		}
	}
	t.Logf("the cancelled run: %d entries, the last %q", n, last)
	var total int
	if _, err := fmt.Sscanf(strings.TrimPrefix(last, "warn cancelled after "), "%d of %d", &done, &total); err != nil ||
		!strings.HasPrefix(last, fmt.Sprintf("warn cancelled after %d of %d events", done, total)) || done == 0 || done >= total {
		t.Errorf("the cancelled run (%d entries) ends %q, want a warning: cancelled after N of M events, 0 < N < M", n, last)
	}
}

// read feeds the console's output to the emulator until the terminal closes, checking
// the header after each piece.
func (c *console) read() {
	buf := make([]byte, 32<<10)
	for {
		n, err := c.pty.Read(buf)
		if n > 0 {
			c.mu.Lock()
			c.emu.Write(buf[:n])
			for _, m := range progressRe.FindAllStringSubmatch(c.emu.String(), -1) {
				c.prog.seen++
				done, _ := strconv.Atoi(m[1])
				total, _ := strconv.Atoi(m[2])
				if done > total && c.prog.overshoot == "" {
					c.prog.overshoot = m[0]
				}
			}
			c.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

func (c *console) screen() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.emu.String()
}

func (c *console) progress() progressCheck {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.prog
}

func (c *console) press(t *testing.T, keys string) {
	t.Helper()
	if _, err := c.pty.Write([]byte(keys)); err != nil {
		t.Fatalf("type %q: %v", keys, err)
	}
}

func (c *console) waitFor(t *testing.T, what string, cond func(screen string) bool) {
	t.Helper()
	waitUntil(t, what, func() bool { return cond(c.screen()) }, c.screen)
}

// wait waits for the console to exit, and says how it did.
func (c *console) wait() error {
	select {
	case <-c.exited:
		return c.exitErr
	case <-time.After(15 * time.Second):
		return errors.New("still running 15 s after quit")
	}
}
