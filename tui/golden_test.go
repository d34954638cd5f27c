package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"mispdesk/store"
	"mispdesk/syncer"
	"mispdesk/syncer/remote"
)

var goldenSizes = []struct{ w, h int }{{80, 24}, {100, 30}, {120, 40}}

// fixture is a console in a fixed state, without a store: three servers,
// their outbox counts, some log.
func fixture(t *testing.T, w, h int) *model {
	t.Helper()
	m := newTest(t, nil, w, h)
	m.mode = modeReady
	m.c.Instance = &store.Instance{UUID: "5a1e0c4e-7b0f-4c3a-9d6e-1f2a3b4c5d6e", HostOrg: store.Org{Name: "Example CERT", UUID: "11111111-2222-4333-8444-555555555555", Local: true}}
	peer := store.Org{ID: 2, Name: "CIRCL", UUID: "55f6ea5e-2c60-40e5-964f-47a8950d210f"}
	host := store.Org{ID: 1, Name: "Example CERT", UUID: "11111111-2222-4333-8444-555555555555", Local: true}
	servers := []store.Server{
		{ID: 1, Name: "circl-misp", URL: "https://misp.circl.lu", RemoteOrg: peer, Authkey: testKey, ServerOptions: store.ServerOptions{Push: true, Pull: true}},
		{ID: 2, Name: "backup", URL: "https://misp-backup.example.org:8443", RemoteOrg: host, Authkey: testKey, ServerOptions: store.ServerOptions{Push: true, Internal: true}},
		{ID: 3, Name: "partner-lab", URL: "http://10.0.4.17", RemoteOrg: store.Org{ID: 3, Name: "Partner Lab"}, Authkey: testKey, ServerOptions: store.ServerOptions{Pull: true}},
	}
	m.Update(serversMsg{servers: servers, stats: []store.OutboxStat{{ServerID: 2, ServerName: "backup", Queued: 3, Failing: 1, LastError: "push: 503 Service Unavailable"}}})
	var entries []store.LogEntry
	add := func(sv store.ServerID, name string, dir store.Direction, level store.Level, outcome store.LogOutcome, msg string, status int, ms int64, done, total int) {
		id := int64(len(entries) + 1)
		entries = append(entries, store.LogEntry{ID: id, TsMs: fixedNow.Add(-time.Duration(40-id) * 7 * time.Second).UnixMilli(),
			ServerID: sv, ServerName: name, Direction: dir, Level: level, Outcome: outcome, Message: msg, HTTPStatus: status, DurationMs: ms, Done: done, Total: total,
			EventUUID: map[bool]string{true: fmt.Sprintf("5bad1b96-53bc-4148-87eb-50d50a0162%02d", id)}[outcome == "pulled" || outcome == "pushed"]})
	}
	add(1, "circl-misp", "test", "info", "tested", "OK: compatible, MISP 2.5.1", 0, 120, 0, 0)
	add(1, "circl-misp", "pull", "info", "connected", "remote MISP 2.5.1 (sync true)", 200, 35, 0, 0)
	add(1, "circl-misp", "pull", "info", "index", "remote index lists 12 events", 200, 48, 0, 0)
	add(1, "circl-misp", "pull", "info", "selected", "4 events to fetch; 8 not: already here (8)", 0, 0, 0, 0)
	for i := 1; i <= 4; i++ {
		add(1, "circl-misp", "pull", "info", "pulled", "created", 200, int64(20*i), i, 4)
	}
	add(1, "circl-misp", "pull", "info", "finished", "pull circl-misp: 4 of 4 pulled (4 created), 8 skipped, 0 failed in 0.3s", 0, 310, 0, 0)
	add(2, "backup", "push", "error", "failed", "push 5bad1b96: 503 Service Unavailable", 503, 30012, 0, 0)
	m.Update(logEntriesMsg{entries: entries, fromTail: true, initial: true, last: int64(len(entries))})
	return m
}

func TestGoldenServers(t *testing.T) {
	for _, sz := range goldenSizes {
		m := fixture(t, sz.w, sz.h)
		goldenScreen(t, "servers", m)
	}
}

func TestGoldenServerForm(t *testing.T) {
	for _, sz := range goldenSizes {
		m := fixture(t, sz.w, sz.h)
		f := newServerForm(m.c, nil)
		m.Update(openScreenMsg{f})
		m.Update(orgsMsg{orgs: []store.Org{
			{ID: 1, Name: "Example CERT", UUID: "11111111-2222-4333-8444-555555555555", Local: true},
			{ID: 2, Name: "CIRCL", UUID: "55f6ea5e-2c60-40e5-964f-47a8950d210f"},
		}})
		press(t, m, "type:https//misp.example", "tab", "type:misp-b", "tab", "space")
		goldenScreen(t, "serverform", m)
	}
}

// fixedConnTest is a connection test to a mispdesk over TLS.
func fixedConnTest() *remote.ConnectionTest {
	return &remote.ConnectionTest{
		Server: "circl-misp", URL: "https://misp.circl.lu", Status: 1, StatusText: "OK",
		Local:         remote.LocalVersion{MISPVersion: "2.5.1", AppVersion: "dev"},
		Remote:        &remote.Version{Version: "2.5.1", Major: 2, Minor: 5, Hotfix: 1, AppVersion: "0.4.0", PermSync: true, PermSighting: true, PermGalaxyEditor: false, PermAnalystData: true, GalaxyEditorKnown: true, UUID: "c0ffee00-1234-4abc-8def-0123456789ab", RequestEncoding: []string{"gzip"}},
		Compatibility: "Compatible",
		Post:          1, PostText: "Received sent package",
		User:            &remote.RemoteUser{Email: "sync-example@circl.lu", Role: "Sync user", Org: remote.RemoteOrg{Name: "Example CERT"}, PermSync: true, PermSighting: true},
		RequestEncoding: []string{"gzip"},
		TLS: &remote.TLSInfo{Version: "TLS 1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", Verification: "system roots", Chain: 2,
			PeerCertificate: &remote.CertInfo{Subject: "CN=misp.circl.lu", Issuer: "CN=R11,O=Let's Encrypt,C=US",
				NotAfter: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC),
				SHA256:   "3F:2A:91:0C:7D:55:E4:18:AB:90:12:CD:34:EF:56:78:9A:BC:DE:F0:11:22:33:44:55:66:77:88:99:AA:BB:CC"}},
		RTTMillis: 42,
		Verdict:   "OK: compatible (MISP 2.5.1 on both sides), sync user with push and pull",
	}
}

func TestGoldenTestConnection(t *testing.T) {
	for _, sz := range goldenSizes {
		m := fixture(t, sz.w, sz.h)
		s := newTestConnScreen(m.c, m.c.Servers[0])
		s.busy = true
		m.Update(openScreenMsg{s})
		m.Update(connTestMsg{serverID: 1, ct: fixedConnTest()})
		goldenScreen(t, "testconn", m)
	}
}

func TestGoldenLog(t *testing.T) {
	for _, sz := range goldenSizes {
		m := fixture(t, sz.w, sz.h)
		m.c.Runs = []*SyncRun{{ID: 1, ServerID: 3, Server: "partner-lab", Direction: "pull", cancel: func() {},
			Progress: syncer.Progress{Server: "partner-lab", Direction: "pull", Done: 3, Total: 10}}}
		press(t, m, "4")
		goldenScreen(t, "log", m)
	}
}

func TestGoldenHelp(t *testing.T) {
	for _, sz := range goldenSizes {
		m := fixture(t, sz.w, sz.h)
		press(t, m, "?")
		goldenScreen(t, "help", m)
	}
}

func TestGoldenServerDetail(t *testing.T) {
	for _, sz := range goldenSizes {
		m := fixture(t, sz.w, sz.h)
		press(t, m, "j", "enter")
		if _, ok := m.topScreen().(*serverDetail); !ok {
			t.Fatalf("enter opens %T", m.topScreen())
		}
		goldenScreen(t, "serverdetail", m)
	}
}

func TestGoldenLogDetail(t *testing.T) {
	for _, sz := range goldenSizes {
		m := fixture(t, sz.w, sz.h)
		press(t, m, "4", "enter")
		goldenScreen(t, "logdetail", m)
	}
}

// TestGoldenDeleteTypo: a name typed wrong keeps the prompt, saying so.
func TestGoldenDeleteTypo(t *testing.T) {
	for _, sz := range goldenSizes {
		m := fixture(t, sz.w, sz.h)
		press(t, m, "d", "type:circl", "enter")
		goldenScreen(t, "deletetypo", m)
	}
}

// TestGoldenMessages: the Log tab's badge counts WARN and ERROR entries
// logged while it was out of view; ! lists the status messages.
func TestGoldenMessages(t *testing.T) {
	for _, sz := range goldenSizes {
		m := fixture(t, sz.w, sz.h)
		m.Update(logEntriesMsg{fromTail: true, last: 13, entries: []store.LogEntry{
			{ID: 11, TsMs: fixedNow.UnixMilli(), ServerID: 2, ServerName: "backup", Direction: "push", Level: "error", Outcome: "failed", Message: "push 5bad1b97: connection refused"},
			{ID: 12, TsMs: fixedNow.UnixMilli(), ServerID: 2, ServerName: "backup", Direction: "push", Level: "warn", Outcome: "skipped", Message: "distribution: org only"},
			{ID: 13, TsMs: fixedNow.UnixMilli(), ServerID: 2, ServerName: "backup", Direction: "push", Level: "error", Outcome: "failed", Message: "push 5bad1b98: connection refused"},
		}})
		m.Update(flashMsg{store.LevelInfo, "Pull circl-misp started"})
		m.Update(flashMsg{store.LevelError, "push backup: 2 failed: connection refused (the server is down since 09:26)"})
		goldenScreen(t, "badge", m)
		press(t, m, "!")
		goldenScreen(t, "messages", m)
	}
}

// downFixture is the fixture with backup down (its pushes failing) and circl-misp up.
func downFixture(t *testing.T, w, h int) *model {
	m := fixture(t, w, h)
	since := fixedNow.Add(-4 * time.Minute)
	m.Update(serversMsg{servers: m.c.Servers, stats: []store.OutboxStat{{ServerID: 2, ServerName: "backup", Queued: 20, Failing: 20,
		LastError: `connection refused (server "backup" POST https://misp-backup.example.org:8443/events/add)`}},
		health: map[store.ServerID]syncer.PeerHealth{
			1: {State: syncer.PeerUp, Since: since},
			2: {State: syncer.PeerDown, Since: since, Cause: "connection refused", Failures: 5, RetryAt: fixedNow.Add(40 * time.Second)},
		}})
	return m
}

// TestGoldenServerDown: a down server shows in the header (cause first), in its row and
// under the table with its next retry; the header does not say idle.
func TestGoldenServerDown(t *testing.T) {
	for _, sz := range goldenSizes {
		m := downFixture(t, sz.w, sz.h)
		press(t, m, "j")
		goldenScreen(t, "serverdown", m)
		if got := screen(m); !strings.Contains(got, "backup down: connection refused") || !strings.Contains(got, "down since 09:22: connection refused") || strings.Contains(got, "syncer idle") {
			t.Errorf("%dx%d:\n%s", sz.w, sz.h, got)
		}
		// The outbox's last failure: cause first, the request at the end, the URL only in the row.
		if got := screen(m); !strings.Contains(got, "20 failing: connection refused · POST /events/add") || strings.Count(got, "misp-backup.example") > 1 {
			t.Errorf("%dx%d outbox line:\n%s", sz.w, sz.h, got)
		}
	}
}

// TestGoldenServersRunning: a running push shows on its server's row (done/total) and,
// whole, under the table (done of total, events/s, ETA), at 80 columns too.
func TestGoldenServersRunning(t *testing.T) {
	for _, sz := range goldenSizes {
		m := fixture(t, sz.w, sz.h)
		m.c.Runs = []*SyncRun{{ID: 1, ServerID: 1, Server: "circl-misp", Direction: store.DirPush, cancel: func() {}}}
		m.Update(progressMsg{runID: 1, p: syncer.Progress{Server: "circl-misp", Direction: store.DirPush, Done: 120, Total: 3543, Moved: 100, Skipped: 20, Elapsed: 30 * time.Second}})
		goldenScreen(t, "serversrunning", m)
		got := screen(m)
		if !strings.Contains(got, "↑ 120/3543") || !strings.Contains(got, " Running    ↑ push 120 of 3543 events, 4.0/s, ETA 14m16s") {
			t.Errorf("%dx%d: the run's progress is not on the Servers pane:\n%s", sz.w, sz.h, got)
		}
	}
}

// TestGoldenQuitAsks: q while a sync started here runs asks first, naming it.
func TestGoldenQuitAsks(t *testing.T) {
	for _, sz := range goldenSizes {
		m := fixture(t, sz.w, sz.h)
		m.c.Runs = []*SyncRun{{ID: 1, ServerID: 3, Server: "partner-lab", Direction: store.DirPull, cancel: func() {},
			Progress: syncer.Progress{Server: "partner-lab", Direction: store.DirPull, Done: 3, Total: 10}}}
		press(t, m, "q")
		goldenScreen(t, "quitask", m)
	}
}

// TestServersSort: s sorts the Servers pane by each column in turn, the sorted one marked
// ▲ or ▼, S reverses, and after the last column the order they were added comes back.
func TestServersSort(t *testing.T) {
	for _, sz := range goldenSizes {
		m := fixture(t, sz.w, sz.h)
		p := m.panes[0].(*serversPane)
		names := func() string {
			var out []string
			for _, sv := range p.shown {
				out = append(out, sv.Name)
			}
			return strings.Join(out, ",")
		}
		press(t, m, "s")
		if got := names(); got != "backup,circl-misp,partner-lab" || !strings.Contains(screen(m), "Name▲") {
			t.Errorf("by name: %s\n%s", got, screen(m))
		}
		press(t, m, "S")
		if got := names(); got != "partner-lab,circl-misp,backup" || !strings.Contains(screen(m), "Name▼") {
			t.Errorf("by name, reversed: %s", got)
		}
		press(t, m, "s", "s", "s") // URL, Remote org, Q/F: the failing one first
		if got := names(); !strings.HasPrefix(got, "backup,") || !strings.Contains(screen(m), "Q/F▼") {
			t.Errorf("by Q/F: %s\n%s", got, screen(m))
		}
		goldenScreen(t, "serverssorted", m)
		press(t, m, "s", "s")
		if got := names(); got != "circl-misp,backup,partner-lab" || strings.ContainsAny(screen(m), "▲▼") {
			t.Errorf("unsorted again: %s", got)
		}
	}
}
