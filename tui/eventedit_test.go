package tui

import (
	"strings"
	"testing"

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
	ev, err := st.Event(t.Context(), d.ev.UUID)
	if err != nil || len(ev.Attribute) != 0 {
		t.Fatalf("attributes stored after a refusal: %+v, %v", ev.Attribute, err)
	}

	// A new form: ip-dst|port given as address:port.
	press(t, m, "esc", "a")
	af = m.topScreen().(*miniForm)
	press(t, m, "type:ip-dst|port", "tab", "tab")
	press(t, m, "type:192.0.2.1:443", "enter")
	if m.topScreen() != d {
		t.Fatalf("form still open: value %q err %q type %q\n%s", af.value("value"), af.field("value").err, af.value("type"), screen(m))
	}
	ev, err = st.Event(t.Context(), d.ev.UUID)
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
