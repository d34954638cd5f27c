package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/syncer"
)

func TestFirstRun(t *testing.T) {
	st := openStore(t, "")
	m := newTest(t, st, 80, 24)
	if m.mode != modeFirstRun || !strings.Contains(screen(m), "Host organisation") {
		t.Fatalf("mode %d, screen:\n%s", m.mode, screen(m))
	}
	press(t, m, "enter", "enter") // empty org name
	if m.first.orgErr == "" || !strings.Contains(screen(m), "✗ required") {
		t.Fatalf("no inline error for an empty org:\n%s", screen(m))
	}
	press(t, m, "type:Example CERT", "tab", "type:not-an-email", "enter")
	if m.first.mailErr == "" || m.first.step != 0 {
		t.Fatalf("bad e-mail accepted (step %d)", m.first.step)
	}
	for range len("not-an-email") {
		press(t, m, "backspace")
	}
	press(t, m, "type:admin@example.org", "enter")
	if m.first.step != 1 {
		t.Fatalf("step %d, err %q", m.first.step, m.first.err)
	}
	key := m.first.result.AuthKey
	if !store.IsAuthKey(key) || !strings.Contains(screen(m), key) || !strings.Contains(screen(m), "not shown again") {
		t.Fatalf("admin key not shown once:\n%s", screen(m))
	}
	press(t, m, "enter")
	if strings.Contains(screen(m), key) || m.first.result.AuthKey != "" {
		t.Fatal("the key is still shown or kept after enter")
	}
	press(t, m, "y")
	if m.mode != modeReady || m.c.Instance == nil || m.c.Instance.HostOrg.Name != "Example CERT" {
		t.Fatalf("mode %d instance %+v", m.mode, m.c.Instance)
	}
	n, err := st.CountEvents(context.Background(), store.EventFilter{})
	if err != nil || n != 4 {
		t.Fatalf("%d sample events loaded, err %v", n, err)
	}
	if !strings.Contains(m.flashText, "Loaded 4 sample events") {
		t.Errorf("flash %q", m.flashText)
	}
	// Loading the samples makes the Events pane list them, even when its first look came
	// while they were being stored (seen in tmux: it kept showing two of four).
	press(t, m, "2")
	p := eventsPaneOf(m)
	p.total = 2
	_, cmd := m.Update(loadSamples(context.Background(), st)())
	settle(t, m, cmd)
	if !await(t, m, 10*time.Second, func() bool { return p.total == 4 }) {
		t.Errorf("after the samples loaded the Events pane lists %d events", p.total)
	}
}

func TestPaneKeys(t *testing.T) {
	m := newTest(t, openStore(t, "Host"), 80, 24)
	for _, c := range []struct {
		key   string
		title string
	}{{"2", "Events"}, {"3", "Rules"}, {"4", "Log"}, {"1", "Servers"}, {"tab", "Events"}, {"shift+tab", "Servers"}, {"shift+tab", "Log"}} {
		press(t, m, c.key)
		if got := m.activePane().Title(); got != c.title {
			t.Errorf("after %s: pane %s, want %s", c.key, got, c.title)
		}
	}
	press(t, m, "2")
	if !strings.Contains(screen(m), "No events yet") {
		t.Errorf("the empty Events pane does not say how to start:\n%s", screen(m))
	}
}

func TestQuit(t *testing.T) {
	m := newTest(t, openStore(t, "Host"), 80, 24)
	if msgs := press(t, m, "q"); !hasQuit(msgs) {
		t.Error("q does not quit when nothing runs")
	}
	// With a sync running, q asks; the default is No.
	m.c.Runs = []*SyncRun{{ID: 1, Server: "peer", Direction: "pull", cancel: func() {}}}
	if msgs := press(t, m, "q"); hasQuit(msgs) || m.topScreen() == nil {
		t.Fatal("q quits during a sync without asking")
	}
	if !strings.Contains(screen(m), "Quit anyway") {
		t.Errorf("no question:\n%s", screen(m))
	}
	if msgs := press(t, m, "enter"); hasQuit(msgs) || m.topScreen() != nil {
		t.Fatal("enter (the default) quits")
	}
	press(t, m, "q")
	if msgs := press(t, m, "y"); !hasQuit(msgs) {
		t.Error("y does not quit")
	}
	if msgs := press(t, m, "ctrl+c"); !hasQuit(msgs) {
		t.Error("ctrl+c does not quit")
	}
}

func TestTooSmall(t *testing.T) {
	m := newTest(t, openStore(t, "Host"), 50, 12)
	if s := screen(m); !strings.Contains(s, "needs at least") {
		t.Errorf("no too-small notice:\n%s", s)
	}
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if s := screen(m); strings.Contains(s, "needs at least") || len(strings.Split(s, "\n")) != 24 {
		t.Errorf("no reflow at 80x24:\n%s", s)
	}
	for _, l := range strings.Split(screen(m), "\n") {
		if w := widthOf(l); w > 80 {
			t.Errorf("line wider than 80 (%d): %q", w, l)
		}
	}
}

// addServer fills the server form: name, URL, key, a remote org of the pool.
func addPeerOrg(t testing.TB, st *store.Store, name string) *store.Org {
	t.Helper()
	o, err := st.AddOrg(context.Background(), store.Org{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

const testKey = "abcdefghijABCDEFGHIJ0123456789abcdefghij"

func TestServerFormValidatesAndSaves(t *testing.T) {
	st := openStore(t, "Host")
	addPeerOrg(t, st, "Peer Org")
	m := newTest(t, st, 80, 24)
	press(t, m, "a")
	f, ok := m.topScreen().(*serverForm)
	if !ok {
		t.Fatalf("a opens %T", m.topScreen())
	}
	if f.selectedOrg() == nil || f.selectedOrg().Name != "Peer Org" {
		t.Fatalf("the org picker does not offer the known remote org: %+v", f.selectedOrg())
	}
	press(t, m, "type:ftp://x", "tab", "type:peer", "tab")
	if f.field("url").err == "" || !strings.Contains(screen(m), "✗ must be an http") {
		t.Errorf("bad URL not flagged inline:\n%s", screen(m))
	}
	// Internal is refused while the remote org is not the host org.
	press(t, m, "space")
	if f.field("internal").err == "" {
		t.Error("internal with a remote org accepted")
	}
	press(t, m, "space", "tab", "tab", "tab", "type:short")
	if !strings.Contains(f.field("authkey").err, "40 letters") {
		t.Errorf("short key: %q", f.field("authkey").err)
	}
	if strings.Contains(screen(m), "short") {
		t.Error("the authkey is echoed")
	}
	press(t, m, "ctrl+s")
	if _, still := m.topScreen().(*serverForm); !still {
		t.Fatal("an invalid form was saved")
	}
	// Fix the URL and the key, then save.
	f.field("url").input.SetValue("https://peer.example.org")
	f.field("authkey").input.SetValue(testKey)
	press(t, m, "ctrl+s")
	if m.topScreen() != nil {
		t.Fatalf("form still open: %s\n%s", f.err, screen(m))
	}
	sv, err := st.Server(context.Background(), testsupport.ServerID(st, "peer"))
	if err != nil || sv.URL != "https://peer.example.org" || sv.RemoteOrg.Name != "Peer Org" || !sv.Pull || sv.Push || sv.Authkey != testKey {
		t.Fatalf("stored %+v, %v", sv, err)
	}
	if len(m.c.Servers) != 1 || !strings.Contains(screen(m), "https://peer.example") {
		t.Errorf("the table does not show the new server:\n%s", screen(m))
	}
	// Edit: the form shows the server; an empty key keeps it.
	press(t, m, "e")
	f = m.topScreen().(*serverForm)
	if f.field("name").input.Value() != "peer" || f.selectedOrg() == nil || f.selectedOrg().Name != "Peer Org" {
		t.Fatalf("edit form: name %q org %+v", f.field("name").input.Value(), f.selectedOrg())
	}
	f.field("push").on = true
	press(t, m, "ctrl+s")
	if sv, _ := st.Server(context.Background(), testsupport.ServerID(st, "peer")); !sv.Push || sv.Authkey != testKey {
		t.Errorf("edit: push %v, key kept %v", sv.Push, sv.Authkey == testKey)
	}
}

func TestServerFormNewExternalOrgAndStoreError(t *testing.T) {
	st := openStore(t, "Host")
	m := newTest(t, st, 120, 40)
	press(t, m, "a")
	f := m.topScreen().(*serverForm)
	// No remote orgs yet: the local pool; pick "new external".
	press(t, m, "type:https://b.example.org", "tab", "type:b", "tab", "tab", "right", "right")
	if !f.visible(f.field("neworg")) || f.visible(f.field("org")) {
		t.Fatal("new external org fields not shown")
	}
	press(t, m, "tab", "type:B Org", "tab", "type:not-a-uuid")
	if f.field("neworguuid").err == "" {
		t.Error("bad UUID accepted")
	}
	f.field("neworguuid").input.SetValue("")
	f.field("authkey").input.SetValue(testKey)
	press(t, m, "ctrl+s")
	sv, err := st.Server(context.Background(), testsupport.ServerID(st, "b"))
	if err != nil || sv.RemoteOrg.Name != "B Org" || sv.RemoteOrg.Local {
		t.Fatalf("%+v %v", sv, err)
	}
	// The store's refusal shows at its field.
	press(t, m, "a")
	f = m.topScreen().(*serverForm)
	_, err = st.AddServer(context.Background(), store.ServerSpec{Name: "x", URL: "https://x.example", Authkey: testKey,
		RemoteOrgRef: sv.RemoteOrg.UUID, ServerOptions: store.ServerOptions{Internal: true}})
	if err == nil {
		t.Fatal("store accepted internal with a remote org")
	}
	m.Update(formErrMsg{err})
	if !strings.Contains(f.field("internal").err, "internal is only allowed") || !strings.Contains(screen(m), "✗ add server") {
		t.Errorf("store error not inline: %q\n%s", f.field("internal").err, screen(m))
	}
	press(t, m, "esc")
	if m.topScreen() != nil {
		t.Error("esc does not close the form")
	}
}

func TestDeleteServerTypesTheName(t *testing.T) {
	st := openStore(t, "Host")
	o := addPeerOrg(t, st, "Peer")
	if _, err := st.AddServer(context.Background(), store.ServerSpec{Name: "peer", URL: "https://p.example", Authkey: testKey, RemoteOrgRef: o.UUID}); err != nil {
		t.Fatal(err)
	}
	m := newTest(t, st, 80, 24)
	press(t, m, "d")
	if _, ok := m.topScreen().(*confirm); !ok || !strings.Contains(screen(m), "Type the name") {
		t.Fatalf("d does not ask:\n%s", screen(m))
	}
	press(t, m, "enter") // nothing typed: No
	if _, err := st.Server(context.Background(), testsupport.ServerID(st, "peer")); err != nil || m.topScreen() != nil {
		t.Fatal("deleted without the name")
	}
	press(t, m, "d", "type:pee", "enter")
	if _, err := st.Server(context.Background(), testsupport.ServerID(st, "peer")); err != nil {
		t.Fatal("deleted with a wrong name")
	}
	// a typo keeps the prompt, with a message: the next keys stay in it
	if _, ok := m.topScreen().(*confirm); !ok || !strings.Contains(screen(m), `"pee" is not "peer"`) {
		t.Fatalf("a typo closed the prompt or said nothing:\n%s", screen(m))
	}
	press(t, m, "type:r", "enter")
	if _, err := st.Server(context.Background(), testsupport.ServerID(st, "peer")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("not deleted: %v", err)
	}
	if len(m.c.Servers) != 0 || !strings.Contains(m.flashText, "Deleted server peer") {
		t.Errorf("servers %d flash %q", len(m.c.Servers), m.flashText)
	}
}

func TestCommandLine(t *testing.T) {
	st := openStore(t, "Host")
	o := addPeerOrg(t, st, "Peer")
	for _, n := range []string{"alpha", "beta"} {
		if _, err := st.AddServer(context.Background(), store.ServerSpec{Name: n, URL: "http://127.0.0.1:1", Authkey: testKey, RemoteOrgRef: o.UUID,
			ServerOptions: store.ServerOptions{Pull: true}}); err != nil {
			t.Fatal(err)
		}
	}
	m := newTest(t, st, 80, 24)
	press(t, m, ":", "type:pull be")
	if got := m.cmdline.input.CurrentSuggestion(); got != "pull beta" {
		t.Errorf("completion %q", got)
	}
	press(t, m, "tab")
	if got := m.cmdline.input.Value(); got != "pull beta" {
		t.Errorf("tab completed to %q", got)
	}
	press(t, m, "esc")
	if m.cmdline != nil {
		t.Error("esc leaves the command line open")
	}
	// While the command line is open, q types.
	if msgs := press(t, m, ":", "type:q"); hasQuit(msgs) || m.cmdline.input.Value() != "q" {
		t.Error("q quits from inside the command line")
	}
	press(t, m, "esc", ":", "type:test nosuch", "enter")
	if m.flashLevel != "warn" || !strings.Contains(m.flashText, `No server "nosuch"`) {
		t.Errorf("flash %s %q", m.flashLevel, m.flashText)
	}
	press(t, m, ":", "type:log", "enter")
	if m.activePane().Title() != "Log" {
		t.Errorf(":log went to %s", m.activePane().Title())
	}
	// :pull runs a pull (the peer is down: it fails, and says so).
	press(t, m, ":", "type:pull alpha", "enter")
	await(t, m, 10*time.Second, func() bool { return m.running() == 0 })
	if m.running() != 0 || m.flashLevel != "error" || !strings.Contains(m.flashText, "alpha") {
		t.Errorf("runs %d, flash %s %q", m.running(), m.flashLevel, m.flashText)
	}
}

func TestHelpOverlay(t *testing.T) {
	m := newTest(t, openStore(t, "Host"), 80, 24)
	press(t, m, "?")
	s := screen(m)
	for _, want := range []string{"Servers pane", "Everywhere", "add", "test", "command", "quit"} {
		if !strings.Contains(s, want) {
			t.Errorf("help lacks %q:\n%s", want, s)
		}
	}
	if msgs := press(t, m, "q"); hasQuit(msgs) || m.topScreen() != nil {
		t.Error("q in help should close it, not quit")
	}
	press(t, m, "4", "?")
	if !strings.Contains(screen(m), "Log pane") || !strings.Contains(screen(m), "cancel run") {
		t.Errorf("help of the Log pane:\n%s", screen(m))
	}
}

func logEntry(id int64, server string, dir store.Direction, level store.Level, outcome store.LogOutcome, msg string) store.LogEntry {
	return store.LogEntry{ID: id, TsMs: fixedNow.Add(time.Duration(id) * time.Second).UnixMilli(), ServerID: 1, ServerName: server,
		Direction: dir, Level: level, Outcome: outcome, Message: msg}
}

func TestLogPaneFollowPauseFilter(t *testing.T) {
	m := newTest(t, nil, 80, 24)
	m.mode = modeReady
	m.c.Instance = &store.Instance{UUID: "x", HostOrg: store.Org{Name: "Host"}}
	press(t, m, "4")
	p := m.activePane().(*logPane)
	var batch []store.LogEntry
	for i := int64(1); i <= 50; i++ {
		batch = append(batch, logEntry(i, "peer", "pull", "info", "pulled", fmt.Sprintf("event %d", i)))
	}
	m.Update(logEntriesMsg{entries: batch, fromTail: true, last: 50})
	// The bus brings some again (dedup by id) and one new.
	m.Update(logEntriesMsg{entries: []store.LogEntry{batch[48], batch[49], logEntry(51, "peer", "push", "error", "failed", "push refused")}})
	if len(p.entries) != 51 || !p.follow || !strings.Contains(screen(m), "FOLLOW") || !strings.Contains(screen(m), "push refused") {
		t.Fatalf("entries %d follow %v:\n%s", len(p.entries), p.follow, screen(m))
	}
	// Out of order: an entry of another process with a smaller id.
	m.Update(logEntriesMsg{entries: []store.LogEntry{logEntry(52, "peer", "pull", "info", "pulled", "late")}, fromTail: true, last: 52})
	press(t, m, "k", "k")
	if p.follow || !strings.Contains(screen(m), "PAUSED +0 new") {
		t.Fatalf("k does not pause:\n%s", screen(m))
	}
	m.Update(logEntriesMsg{entries: []store.LogEntry{logEntry(53, "peer", "pull", "info", "pulled", "more"), logEntry(54, "peer", "pull", "info", "pulled", "more")}})
	if !strings.Contains(screen(m), "PAUSED +2 new") {
		t.Errorf("no PAUSED +2:\n%s", screen(m))
	}
	press(t, m, "G")
	if !p.follow || !strings.Contains(screen(m), "FOLLOW") {
		t.Error("G does not resume")
	}
	press(t, m, "L")
	if p.f.level != "warn" || len(p.shown) != 1 {
		t.Errorf("level filter: %q shows %d", p.f.level, len(p.shown))
	}
	press(t, m, "esc", "f", "type:dir:push level:error refused", "enter")
	if p.f.dir != "push" || p.f.level != "error" || p.f.text != "refused" || len(p.shown) != 1 {
		t.Errorf("filter %+v shows %d", p.f, len(p.shown))
	}
	press(t, m, "k", "enter")
	d, ok := m.topScreen().(*logDetail)
	if !ok || d.e.ID != 51 || !strings.Contains(screen(m), "push refused") {
		t.Fatalf("enter: %T\n%s", m.topScreen(), screen(m))
	}
	press(t, m, "esc", "esc")
	if !p.f.empty() || len(p.shown) != 54 {
		t.Errorf("esc does not clear the filter: %+v", p.f)
	}
}

func TestLogPaneIsBounded(t *testing.T) {
	p := newLogPane(&Context{Styles: NewStyles(true)}).(*logPane)
	for i := int64(1); i <= 3*logCap; i++ {
		p.add([]store.LogEntry{logEntry(i, "s", "pull", "info", "x", "y")})
	}
	if len(p.entries) > logCap+logCap/5 || len(p.ids) != len(p.entries) || p.entries[len(p.entries)-1].e.ID != 3*logCap {
		t.Errorf("%d entries kept, %d ids", len(p.entries), len(p.ids))
	}
}

func TestDataIsSanitisedOnScreen(t *testing.T) {
	m := newTest(t, nil, 100, 30)
	m.mode = modeReady
	m.c.Instance = &store.Instance{UUID: "x", HostOrg: store.Org{Name: "Host\x1b]0;pwned\x07"}}
	evil := "srv\x1b[2J\x1b]52;c;AAAA\x07\u202e"
	m.Update(serversMsg{servers: []store.Server{{ID: 1, Name: evil, URL: "https://x\x1b[31m", RemoteOrg: store.Org{Name: "org\u009b1m"}}}})
	m.Update(logEntriesMsg{entries: []store.LogEntry{logEntry(1, evil, "pull", "error", "failed", "bad \x1b]0;title\x07 thing")}})
	for _, pane := range []string{"1", "4"} {
		press(t, m, pane)
		raw := m.View().Content
		for _, bad := range []string{"\x1b]0;", "\x1b]52", "\x1b[2J", "\u202e", "\u009b", "\x07"} {
			if strings.Contains(raw, bad) {
				t.Errorf("pane %s: %q reaches the terminal", pane, bad)
			}
		}
		if !strings.Contains(screen(m), "^[") {
			t.Errorf("pane %s: escape not shown as text:\n%s", pane, screen(m))
		}
	}
}

// TestHeaderLeader: the header says this process runs the outbox when its
// engine holds the syncer lease (Engine.IsLeader), and stops saying so.
func TestHeaderLeader(t *testing.T) {
	m := newTest(t, openStore(t, "Host"), 120, 40)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = m.c.Engine.Run(ctx, syncer.DaemonOptions{}) }()
	deadline := time.Now().Add(5 * time.Second)
	for !m.c.Engine.IsLeader() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	m.Update(refreshTickMsg{})
	if !strings.Contains(screen(m), "(outbox here)") {
		t.Errorf("leader, but the header does not say so:\n%s", strings.SplitN(screen(m), "\n", 2)[0])
	}
	cancel()
	<-done
	m.Update(refreshTickMsg{})
	if strings.Contains(screen(m), "(outbox here)") {
		t.Error("the header still says the outbox runs here")
	}
}

// TestHeaderUser: the header names the person at the console.
func TestHeaderUser(t *testing.T) {
	m := newTest(t, openStore(t, "Host"), 80, 24)
	m.opts.User = "analyst\x1b[2J"
	header := strings.SplitN(screen(m), "\n", 2)[0]
	if !strings.Contains(header, "analyst") || strings.Contains(header, "\x1b[2J") {
		t.Errorf("header %q; want the user, sanitised", header)
	}
}

// TestServerFormEscAsksWhenChanged: esc closes an untouched form at once
// (moving through fields is no change), and asks on a changed one; n keeps it.
func TestServerFormEscAsksWhenChanged(t *testing.T) {
	st := openStore(t, "Host")
	m := newTest(t, st, 80, 24)
	press(t, m, "a", "tab", "tab", "esc")
	if m.topScreen() != nil {
		t.Fatalf("esc on an untouched form: %T", m.topScreen())
	}
	press(t, m, "a", "type:https://misp.example", "esc")
	if _, ok := m.topScreen().(*confirm); !ok || !strings.Contains(screen(m), "discard what you typed") {
		t.Fatalf("esc on a filled form did not ask:\n%s", screen(m))
	}
	press(t, m, "n")
	f, ok := m.topScreen().(*serverForm)
	if !ok || f.field("url").input.Value() != "https://misp.example" {
		t.Fatalf("n lost the form: %T", m.topScreen())
	}
	press(t, m, "esc", "y")
	if m.topScreen() != nil {
		t.Fatalf("y kept %T", m.topScreen())
	}
}
