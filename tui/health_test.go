package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"mispdesk/store"
	"mispdesk/syncer"

	"github.com/charmbracelet/x/ansi"
)

// r on a down server ends its backoff through the engine (a command, not in Update);
// on a healthy one it says there is nothing to retry.
func TestServersRetryNow(t *testing.T) {
	st := openStore(t, "Host")
	sv := addPushServer(t, st, "peer", "")
	m := newTest(t, st, 80, 24)
	m.Update(serversMsg{servers: []store.Server{*sv}, health: map[store.ServerID]syncer.PeerHealth{sv.ID: {State: syncer.PeerUp, Since: fixedNow}}})
	press(t, m, "r")
	if !strings.Contains(m.flashText, "nothing waits for a retry") {
		t.Errorf("r on an up server: %q", m.flashText)
	}
	down := syncer.PeerHealth{State: syncer.PeerDown, Since: fixedNow, Cause: "connection refused", RetryAt: fixedNow.Add(time.Minute)}
	m.Update(serversMsg{servers: []store.Server{*sv}, health: map[store.ServerID]syncer.PeerHealth{sv.ID: down}})
	if !strings.Contains(m.headerLine(), "syncer error") || !strings.Contains(ansi.Strip(m.headerLine()), "peer down: connection refused") {
		t.Errorf("header with a down server: %q", m.headerLine())
	}
	_, cmd := m.Update(keyMsg("r"))
	if cmd == nil {
		t.Fatal("r on a down server gave no command")
	}
	var resumed *resumedMsg
	for _, msg := range settle(t, m, cmd) {
		if r, ok := msg.(resumedMsg); ok {
			resumed = &r
		}
	}
	if resumed == nil || resumed.err != nil || !strings.Contains(m.flashText, "peer: its queued pushes are due now") {
		t.Errorf("resumed %+v, flash %q", resumed, m.flashText)
	}
}

// The header is idle only when nothing is wrong: queued pushes make it busy.
func TestHeaderNotIdleWhileWorkWaits(t *testing.T) {
	m := fixture(t, 80, 24)
	m.Update(serversMsg{servers: m.c.Servers, stats: []store.OutboxStat{{ServerID: 1, Queued: 200}}})
	if h := ansi.Strip(m.headerLine()); !strings.Contains(h, "syncer busy") {
		t.Errorf("header while 200 pushes drain: %q", h)
	}
	m.Update(serversMsg{servers: m.c.Servers})
	if h := ansi.Strip(m.headerLine()); !strings.Contains(h, "syncer idle") {
		t.Errorf("header with nothing to do: %q", h)
	}
}

func TestSparkline(t *testing.T) {
	if got := sparkline([]int{0, 1, 4, 8}); got != "▁▃▅█" {
		t.Errorf("sparkline = %q", got)
	}
	var tp throughput
	at := fixedNow.Add(-90 * time.Second).UnixMilli()
	for range 3 {
		tp.add(store.LogEntry{ServerID: 2, TsMs: at, EventUUID: "e", Outcome: store.OutcomePushed})
	}
	tp.add(store.LogEntry{ServerID: 2, TsMs: at, EventUUID: "e", Outcome: store.OutcomeFailed})
	tp.add(store.LogEntry{ServerID: 2, TsMs: at, Outcome: store.OutcomeFinished}) // a run's line, no event
	moved, failed := tp.series(2, fixedNow, 3)
	if moved[1] != 3 || failed[1] != 1 || moved[2] != 0 {
		t.Errorf("moved %v failed %v", moved, failed)
	}
	if all, _ := tp.series(0, fixedNow, 3); all[1] != 3 {
		t.Errorf("all servers %v", all)
	}
}

// Sync/min counts each moved event once: the engine's entries reach the console twice,
// on its bus and in the stored log's tail (which also carries other processes'), and
// only one of the two may count. 5 pushes in one minute and 3 in the next show as 8.
func TestThroughputCountsEachEventOnce(t *testing.T) {
	st := openStore(t, "Host")
	sv := addPushServer(t, st, "peer", "")
	m := newTest(t, st, 80, 24)
	m.Update(serversMsg{servers: []store.Server{*sv}})
	var entries []store.LogEntry
	for i, at := range []time.Duration{-90, -85, -80, -75, -70, -30, -25, -20} {
		entries = append(entries, store.LogEntry{TsMs: fixedNow.Add(at * time.Second).UnixMilli(), ServerID: sv.ID, ServerName: sv.Name,
			Direction: store.DirPush, EventUUID: fmt.Sprintf("5bad1b96-53bc-4148-87eb-50d50a0162%02d", i), Outcome: store.OutcomePushed, Message: "pushed"})
	}
	entries = append(entries, store.LogEntry{TsMs: fixedNow.Add(-10 * time.Second).UnixMilli(), ServerID: sv.ID, ServerName: sv.Name,
		Direction: store.DirPush, Outcome: store.OutcomeFinished, Message: "push peer: 8 of 8 pushed"})
	// As the engine's log writer does: stored (ids set), then the same entries on the bus.
	if err := st.AppendLogs(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
	m.Update(logEntriesMsg{entries: entries})
	settle(t, m, tailLog(m.c.Ctx, st, m.tailAfter))
	moved, _ := m.c.Throughput.series(sv.ID, fixedNow, 3)
	if moved[1] != 5 || moved[2] != 3 {
		t.Errorf("per minute %v, want [_ 5 3]", moved)
	}
	if got := screen(m); !strings.Contains(got, "8 moved") {
		t.Errorf("Sync/min does not say 8 moved:\n%s", got)
	}
}

// A server's last result after a skipped push says skipped, never ok.
func TestLastResultSkippedIsNotOK(t *testing.T) {
	m := fixture(t, 120, 40)
	m.Update(logEntriesMsg{fromTail: true, last: 20, entries: []store.LogEntry{{ID: 20, TsMs: fixedNow.UnixMilli(), ServerID: 1, ServerName: "circl-misp",
		Direction: store.DirPush, EventUUID: "5bad1b96-53bc-4148-87eb-50d50a016220", Outcome: store.OutcomeSkipped, Message: "the remote already has this version"}}})
	if got := screen(m); !strings.Contains(got, "push skipped 0s") || strings.Contains(got, "push ok") {
		t.Errorf("the row after a skip:\n%s", got)
	}
}
