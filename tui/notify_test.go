package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"mispdesk/store"
)

// TestLogBadgeCountsUntilSeen: WARN/ERROR entries arriving while the Log
// pane is out of view mark its tab, once each even when the bus and the tail
// both deliver them; viewing the Log clears the mark; the initial backlog
// never counts.
func TestLogBadgeCountsUntilSeen(t *testing.T) {
	m := fixture(t, 80, 24)
	if b := m.notes.badge(); b != "" {
		t.Fatalf("the backlog counted: %q", b)
	}
	entries := []store.LogEntry{{ID: 20, Level: "error", Message: "refused"}, {ID: 21, Level: "warn"}, {ID: 22, Level: "info"}}
	m.Update(logEntriesMsg{entries: entries}) // the bus
	// The tail: the same entries, after one another process (mispdesk serve) logged first.
	m.Update(logEntriesMsg{entries: append([]store.LogEntry{{ID: 19, Level: "warn", Message: "from serve"}}, entries...), fromTail: true, last: 22})
	if b := m.notes.badge(); b != "✗1 ⚠2" || !strings.Contains(screen(m), "4 Log ✗1 ⚠2") {
		t.Fatalf("badge %q\n%s", b, screen(m))
	}
	press(t, m, "4")
	if b := m.notes.badge(); b != "" {
		t.Fatalf("seen, still %q", b)
	}
	m.Update(logEntriesMsg{entries: []store.LogEntry{{ID: 23, Level: "error"}}})
	if b := m.notes.badge(); b != "" {
		t.Errorf("counted while in view: %q", b)
	}
}

// TestMessagesHistory: ! lists the status messages, newest first, whole.
func TestMessagesHistory(t *testing.T) {
	m := fixture(t, 80, 24)
	for i := range historyCap + 5 {
		m.Update(flashMsg{store.LevelInfo, fmt.Sprintf("message %d", i)})
	}
	if len(m.notes.history) != historyCap {
		t.Fatalf("history holds %d", len(m.notes.history))
	}
	press(t, m, "!")
	h, ok := m.topScreen().(*historyScreen)
	if !ok {
		t.Fatalf("! opens %T", m.topScreen())
	}
	scr := screen(m)
	if !strings.Contains(scr, fmt.Sprintf("message %d", historyCap+4)) || strings.Contains(scr, "message 4\n") {
		t.Errorf("not newest first, or the oldest kept:\n%s", scr)
	}
	if h.items[0].text != "message 5" {
		t.Errorf("oldest kept %q", h.items[0].text)
	}
}

// clipboard returns the text an OSC 52 copy command set, if one ran.
func clipboard(msgs []tea.Msg) (string, bool) {
	for _, msg := range msgs {
		if strings.HasSuffix(fmt.Sprintf("%T", msg), "setClipboardMsg") {
			return fmt.Sprint(msg), true
		}
	}
	return "", false
}

// TestCopyAndPaneKeysInViews: y copies the log line and a log entry's
// message with a status message; 1–4 leave a view for that pane.
func TestCopyAndPaneKeysInViews(t *testing.T) {
	m := fixture(t, 80, 24)
	got, ok := clipboard(press(t, m, "4", "y"))
	if !ok || !strings.Contains(got, "push 5bad1b96: 503 Service Unavailable") || !strings.Contains(m.flashText, "Copied the log line") {
		t.Fatalf("copy %q %v, flash %q", got, ok, m.flashText)
	}
	press(t, m, "enter")
	if _, ok := m.topScreen().(*logDetail); !ok {
		t.Fatalf("enter opens %T", m.topScreen())
	}
	if got, _ := clipboard(press(t, m, "y")); got != "push 5bad1b96: 503 Service Unavailable" {
		t.Errorf("entry copy %q", got)
	}
	press(t, m, "1")
	if m.topScreen() != nil || m.activePane().Title() != "Servers" {
		t.Errorf("1 in a view: screen %T pane %s", m.topScreen(), m.activePane().Title())
	}
}

// y copies an event's UUID (on the list and on its detail) and, on the rules of a
// server, the explanation.
func TestCopyEventUUIDAndExplanation(t *testing.T) {
	st := eventsStore(t)
	addPushServer(t, st, "peer", "")
	m := newTest(t, st, 120, 40)
	press(t, m, "2", "/", "type:crutch", "enter")
	uuid := eventsPaneOf(m).win[0].UUID
	if got, _ := clipboard(press(t, m, "y")); got != uuid {
		t.Errorf("y on the list copies %q, want %s", got, uuid)
	}
	press(t, m, "enter")
	if got, _ := clipboard(press(t, m, "y")); got != uuid {
		t.Errorf("y on the detail copies %q, want %s", got, uuid)
	}
	press(t, m, "enter")
	got, ok := clipboard(press(t, m, "y"))
	if !ok || !strings.Contains(got, "peer") || strings.Contains(got, "\x1b") || !strings.Contains(m.flashText, "Copied the explanation") {
		t.Errorf("y on the rules copies %q (%v), flash %q", got, ok, m.flashText)
	}
}
