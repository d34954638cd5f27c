package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"mispdesk/internal/testsupport"
	"mispdesk/store/misp"
)

// TestAddAttributeValueAsMISP: the add-attribute form refuses a value MISP refuses with
// MISP's message under the field and saves nothing; a value MISP takes is stored in
// MISP's form (192.0.2.1:443 as ip-dst|port becomes 192.0.2.1|443).
func TestAddAttributeValueAsMISP(t *testing.T) {
	st := eventsStore(t)
	m := newTest(t, st, 120, 40)
	press(t, m, "2", "n", "type:values", "enter")
	d, ok := m.topScreen().(*eventDetail)
	if !ok || d.ev == nil {
		t.Fatalf("after create: %T\n%s", m.topScreen(), screen(m))
	}
	press(t, m, "a")
	af := m.topScreen().(*miniForm)
	press(t, m, "type:ip-dst", "tab", "tab", "type:999.1.1.1", "enter")
	if m.topScreen() != af {
		t.Fatalf("the form closed on a value MISP refuses: %T", m.topScreen())
	}
	const msg = "IP address has an invalid format."
	if got := af.field("value").err; got != msg {
		t.Errorf("value error %q, want %q", got, msg)
	}
	if !strings.Contains(screen(m), "✗ "+msg) {
		t.Errorf("the message is not shown under the field:\n%s", screen(m))
	}
	ev, err := st.Event(t.Context(), testsupport.LocalEvent(t, st, d.ev.UUID))
	if err != nil || len(ev.Attribute) != 0 {
		t.Fatalf("attributes stored after a refusal: %+v, %v", ev.Attribute, err)
	}

	// esc on the filled form asks first; y throws it away.
	press(t, m, "esc")
	if _, ok := m.topScreen().(*confirm); !ok {
		t.Fatalf("esc on a filled form did not ask: %T", m.topScreen())
	}
	press(t, m, "y")
	if m.topScreen() != d {
		t.Fatalf("after discarding: %T", m.topScreen())
	}

	// A new form: ip-dst|port given as address:port.
	press(t, m, "a")
	af = m.topScreen().(*miniForm)
	press(t, m, "type:ip-dst|port", "tab", "tab")
	press(t, m, "type:192.0.2.1:443", "enter")
	if m.topScreen() != d {
		t.Fatalf("form still open: value %q err %q type %q\n%s", af.value("value"), af.field("value").err, af.value("type"), screen(m))
	}
	ev, err = st.Event(t.Context(), testsupport.LocalEvent(t, st, d.ev.UUID))
	if err != nil || len(ev.Attribute) != 1 {
		t.Fatalf("attributes %+v, %v", ev.Attribute, err)
	}
	if a := ev.Attribute[0]; a.Type != "ip-dst|port" || a.Value != "192.0.2.1|443" {
		t.Errorf("stored %s %q, want ip-dst|port 192.0.2.1|443", a.Type, a.Value)
	}
	if _, err := misp.NormalizeValue("ip-dst|port", ev.Attribute[0].Value); err != nil {
		t.Errorf("stored value refused: %v", err)
	}
}

// TestTagCompletionEnterTakesShown: the completion shown (after ctrl+n too) is
// drawn as "→ name", not as typed text, and enter saves it; tab completes only
// when a completion is shown, else it moves.
func TestTagCompletionEnterTakesShown(t *testing.T) {
	st := eventsStore(t)
	m := newTest(t, st, 80, 24)
	press(t, m, "2", "n", "type:completion", "enter")
	d, ok := m.topScreen().(*eventDetail)
	if !ok || d.ev == nil {
		t.Fatalf("after create: %T", m.topScreen())
	}
	press(t, m, "t", "type:tlp:")
	f := m.topScreen().(*tagForm)
	first := f.field("tag").input.CurrentSuggestion()
	m.Update(tea.KeyPressMsg{Code: 'n', Mod: tea.ModCtrl})
	shown := f.field("tag").input.CurrentSuggestion()
	if shown == first || !strings.HasPrefix(shown, "tlp:") {
		t.Fatalf("ctrl+n: %q after %q", shown, first)
	}
	if scr := screen(m); !strings.Contains(scr, "tlp: → "+shown) {
		t.Fatalf("the completion is not drawn as a suggestion:\n%s", scr)
	}
	press(t, m, "enter")
	if m.topScreen() != d || len(d.ev.Tag) != 1 || d.ev.Tag[0].Name != shown {
		t.Fatalf("saved %+v, want %s shown\n%s", d.ev.Tag, shown, screen(m))
	}

	// the attribute form: tab on a type with nothing more to complete moves on
	press(t, m, "a", "type:ip-dst")
	af := m.topScreen().(*miniForm)
	press(t, m, "tab")
	if af.fields[af.focus].id == "type" {
		t.Fatal("tab did not move past a complete type")
	}
	// values are checked as typed, before any save
	press(t, m, "tab", "type:999.1.1.1")
	if af.field("value").err == "" || !strings.Contains(screen(m), "✗ ") {
		t.Fatalf("no inline error for 999.1.1.1:\n%s", screen(m))
	}
}
