package tui

import (
	"fmt"
	"strings"
	"testing"

	"mispdesk/store"
)

// The Log pane's / finds lines in any case; n and N step through the hits
// (wrapping), the position shows, esc clears the search and then the filter.
func TestLogSearch(t *testing.T) {
	m := newTest(t, nil, 80, 24)
	m.mode = modeReady
	m.c.Instance = &store.Instance{UUID: "x", HostOrg: store.Org{Name: "Host"}}
	press(t, m, "4")
	p := m.activePane().(*logPane)
	var batch []store.LogEntry
	for i := int64(1); i <= 40; i++ {
		msg := fmt.Sprintf("event %d pulled", i)
		if i%10 == 0 {
			msg = fmt.Sprintf("event %d: Connection REFUSED", i)
		}
		batch = append(batch, logEntry(i, "peer", "pull", "info", "pulled", msg))
	}
	m.Update(logEntriesMsg{entries: batch, fromTail: true, last: 40})
	press(t, m, "/", "type:refused")
	if !p.Capturing() || !strings.Contains(screen(m), "/refused") {
		t.Fatalf("/ opens no input:\n%s", screen(m))
	}
	press(t, m, "enter")
	cur := func() int64 { return p.current().ID }
	if cur() != 40 || !strings.Contains(screen(m), "/refused 4/4") {
		t.Fatalf("enter: on %d\n%s", cur(), screen(m))
	}
	press(t, m, "N")
	if cur() != 30 || !strings.Contains(screen(m), "/refused 3/4") {
		t.Errorf("N: on %d\n%s", cur(), screen(m))
	}
	press(t, m, "n", "n")
	if cur() != 10 || !strings.Contains(screen(m), "1/4") {
		t.Errorf("n wraps: on %d\n%s", cur(), screen(m))
	}
	// the filter narrows, the search counts what is shown
	press(t, m, "f", "type:event 2", "enter")
	if !strings.Contains(screen(m), "/refused 1/1") {
		t.Errorf("search over the filtered lines:\n%s", screen(m))
	}
	press(t, m, "esc")
	if p.find.query != "" || p.f.empty() || strings.Contains(screen(m), "/refused") {
		t.Errorf("first esc clears the search only: %q %+v", p.find.query, p.f)
	}
	press(t, m, "esc")
	if !p.f.empty() {
		t.Errorf("second esc keeps the filter %+v", p.f)
	}
	press(t, m, "/", "type:nowhere", "enter")
	if !strings.Contains(screen(m), "/nowhere: no match") {
		t.Errorf("no match is not said:\n%s", screen(m))
	}
}

// In a detail (here a log entry), / searches the text: typed keys go to the
// input (q does not close it, 1 does not leave), the hit's line is scrolled
// into view, the position shows, esc clears before it closes.
func TestDetailSearch(t *testing.T) {
	m := newTest(t, nil, 80, 24)
	m.mode = modeReady
	m.c.Instance = &store.Instance{UUID: "x", HostOrg: store.Org{Name: "Host"}}
	var b strings.Builder
	for i := 1; i <= 60; i++ {
		fmt.Fprintf(&b, "line %d of the message\n", i)
	}
	b.WriteString("the cause: Quota exceeded\n")
	m.Update(logEntriesMsg{entries: []store.LogEntry{logEntry(1, "peer", "push", "error", "failed", b.String())}})
	press(t, m, "4", "enter")
	d, ok := m.topScreen().(*logDetail)
	if !ok {
		t.Fatalf("no detail: %T", m.topScreen())
	}
	if strings.Contains(screen(m), "Quota") {
		t.Fatalf("the end is in view already:\n%s", screen(m))
	}
	press(t, m, "/", "type:quota 1", "backspace", "backspace", "enter")
	if m.topScreen() != d || !strings.Contains(screen(m), "Quota exceeded") || !strings.Contains(screen(m), "/quota 1/1") {
		t.Fatalf("search in the detail:\n%s", screen(m))
	}
	press(t, m, "/", "type:q", "esc")
	if m.topScreen() != d || d.scroll.find.query != "" {
		t.Fatalf("esc in the input: screen %T, query %q", m.topScreen(), d.scroll.find.query)
	}
	press(t, m, "/", "type:line 2", "enter")
	if !strings.Contains(screen(m), "1/11") {
		t.Errorf("line 2, line 20–29: \n%s", screen(m))
	}
	press(t, m, "esc")
	if m.topScreen() != d {
		t.Fatal("esc closed the detail before clearing the search")
	}
	press(t, m, "esc")
	if m.topScreen() != nil {
		t.Errorf("esc does not close: %T", m.topScreen())
	}
}
