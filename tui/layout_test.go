package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestFooterAndTabsAt80: at 80 columns every pane's footer shows whole
// bindings (no …), at least three of the pane's own and "? help"; a long
// breadcrumb is cut, never the Log tab.
func TestFooterAndTabsAt80(t *testing.T) {
	m := fixture(t, 80, 24)
	for i, p := range m.panes {
		press(t, m, string(rune('1'+i)))
		lines := strings.Split(screen(m), "\n")
		foot := lines[len(lines)-1]
		if strings.Contains(foot, "…") || !strings.HasSuffix(strings.TrimSpace(foot), "? help") {
			t.Errorf("%s footer %q", p.Title(), foot)
		}
		own := 0
		for _, b := range p.Keys().ShortHelp() {
			if strings.Contains(foot, b.Help().Key+" "+b.Help().Desc) {
				own++
			}
		}
		if own < 3 {
			t.Errorf("%s footer shows %d of its keys: %q", p.Title(), own, foot)
		}
		// the key a pane is there for: retry a down server now, search the log
		if want := map[string]string{"Servers": "r retry now", "Log": "/ search"}[p.Title()]; !strings.Contains(foot, want) {
			t.Errorf("%s footer lacks %q: %q", p.Title(), want, foot)
		}
	}
	press(t, m, "1")
	m.Update(openScreenMsg{newConfirm(m.c, strings.Repeat("A very long breadcrumb ", 8), "?", "", nil)})
	tabs := strings.Split(screen(m), "\n")[1]
	if !strings.Contains(tabs, "4 Log") || ansi.StringWidth(tabs) > 80 {
		t.Errorf("tabs %q", tabs)
	}
}

// TestEventColumnsGiveWayToInfo: between 64 and 80 columns the Info column
// gets its width before Tags, Org and Pub keep theirs.
func TestEventColumnsGiveWayToInfo(t *testing.T) {
	for _, w := range []int{64, 72, 80} {
		c := eventColumns(w)
		if c.info < 24 || c.fixed()+c.info != w {
			t.Errorf("at %d: info %d, fixed %d", w, c.info, c.fixed())
		}
	}
	if c := eventColumns(120); c.tags == 0 || c.info < 40 {
		t.Errorf("at 120: %+v", c)
	}
}
