package tui

import (
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"mispdesk/store"
)

// historyCap is how many status messages the history keeps.
const historyCap = 50

// notice is one status message as the history shows it.
type notice struct {
	at    time.Time
	level store.Level
	text  string
}

// notices is the root's memory of what it said and of the log's trouble: the
// last status messages (! opens them) and the WARN/ERROR entries logged
// since the Log tab was last in view (its badge).
type notices struct {
	history []notice
	warn    int   // WARN entries not yet seen on the Log tab
	errs    int   // ERROR entries not yet seen
	after   int64 // the newest entry id counted or seen (the tail delivers ids in order)
}

func (n *notices) remember(at time.Time, level store.Level, text string) {
	n.history = append(n.history, notice{at, level, text})
	if len(n.history) > historyCap {
		n.history = append(n.history[:0:0], n.history[len(n.history)-historyCap:]...)
	}
}

// count adds the new WARN and ERROR entries to the badge.
func (n *notices) count(entries []store.LogEntry) {
	for _, e := range entries {
		if e.ID != 0 {
			if e.ID <= n.after {
				continue
			}
			n.after = e.ID
		}
		switch e.Level {
		case store.LevelWarn:
			n.warn++
		case store.LevelError:
			n.errs++
		}
	}
}

// badge is the Log tab's mark: "✗2 ⚠5", or "".
func (n *notices) badge() string {
	var parts []string
	if n.errs > 0 {
		parts = append(parts, "✗"+itoa(n.errs))
	}
	if n.warn > 0 {
		parts = append(parts, "⚠"+itoa(n.warn))
	}
	return strings.Join(parts, " ")
}

// historyScreen lists the last status messages, newest first.
type historyScreen struct {
	c      *Context
	items  []notice
	keys   helpKeys
	scroll scroller
}

func newHistoryScreen(c *Context, items []notice) *historyScreen {
	return &historyScreen{c: c, items: append([]notice(nil), items...),
		keys: helpKeys{Close: key.NewBinding(key.WithKeys("esc", "q", "!", "enter"), key.WithHelp("esc", "back"))}}
}

func (h *historyScreen) Title() string { return "Messages" }
func (h *historyScreen) Keys() KeyHelp { return searchable{h.keys} }

func (h *historyScreen) Update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		if cmd, ok := h.scroll.search(h.c.Styles, k); ok {
			return cmd
		}
		if key.Matches(k, h.keys.Close) {
			return closeScreen
		}
		h.scroll.key(k)
	}
	return nil
}

func (h *historyScreen) View(w, ht int) string {
	s := h.c.Styles
	lines := []string{" " + s.Title.Render("Messages") + s.Dim.Render(sprintf("  the last %d status messages, newest first", len(h.items)))}
	if len(h.items) == 0 {
		lines = append(lines, "", " Nothing said yet.")
	}
	for i := len(h.items) - 1; i >= 0; i-- {
		n := h.items[i]
		lines = append(lines, " "+s.Dim.Render(n.at.Format("15:04:05"))+" "+s.level(n.level)+" "+n.text)
	}
	return h.scroll.window(s, hangAll(lines, w, 16), w, ht)
}

// copyText puts text on the terminal's clipboard with OSC 52, which also
// works over SSH, and says what was copied.
func copyText(what, text string) tea.Cmd {
	return tea.Batch(tea.SetClipboard(text), flash(store.LevelInfo, "Copied %s", what))
}

// copyKey is y: copy what the view is about.
var copyKey = key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy"))

func (*historyScreen) view() {}

// Capturing: the search input has focus.
func (h *historyScreen) Capturing() bool { return h.scroll.Capturing() }
