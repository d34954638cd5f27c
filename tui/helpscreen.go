package tui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// helpScreen is the ? overlay: the focused pane's bindings and the global
// ones, built from the keymaps (never written by hand).
type helpScreen struct {
	c     *Context
	title string
	pane  KeyHelp
	keys  helpKeys
}

type helpKeys struct{ Close key.Binding }

func (k helpKeys) ShortHelp() []key.Binding  { return []key.Binding{k.Close} }
func (k helpKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

func newHelpScreen(c *Context, title string, pane KeyHelp) *helpScreen {
	return &helpScreen{c: c, title: title, pane: pane,
		keys: helpKeys{Close: key.NewBinding(key.WithKeys("esc", "?", "q", "enter"), key.WithHelp("esc/?/q", "close help"))}}
}

func (h *helpScreen) Title() string { return "Help" }
func (h *helpScreen) Keys() KeyHelp { return h.keys }

func (h *helpScreen) Update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok && key.Matches(k, h.keys.Close) {
		return closeScreen
	}
	return nil
}

func (h *helpScreen) View(w, ht int) string {
	s := h.c.Styles
	col := func(title string, groups [][]key.Binding) []string {
		lines := []string{s.Title.Render(title)}
		for gi, g := range groups {
			if gi > 0 {
				lines = append(lines, "")
			}
			for _, b := range g {
				if !b.Enabled() {
					continue
				}
				hp := b.Help()
				lines = append(lines, s.Bold.Render(pad(hp.Key, 10))+" "+hp.Desc)
			}
		}
		return lines
	}
	left := col(h.title+" pane", h.pane.FullHelp())
	right := col("Everywhere", h.c.Keys.Full())
	right = append(right, "", s.Title.Render("Command line (:)"),
		s.Bold.Render(pad(":pull NAME", 16))+" pull now (all: every server)",
		s.Bold.Render(pad(":push NAME", 16))+" push now",
		s.Bold.Render(pad(":test NAME", 16))+" test connection",
		s.Bold.Render(pad(":add :edit NAME", 16))+" server form",
		s.Bold.Render(pad(":servers :log", 16))+" go to a pane",
		s.Bold.Render(pad(":discussions", 16))+" forums; :proposals, :settings",
		s.Bold.Render(pad(":correlations", 16))+" most correlated values",
		s.Bold.Render(pad(":q", 16))+" quit",
		s.Dim.Render("tab completes server names"))
	var lines []string
	cw := min(44, (w-3)/2)
	if cw >= 36 {
		for i := range left {
			left[i] = ansi.Truncate(left[i], cw, "…")
		}
		for i := range max(len(left), len(right)) {
			l, r := "", ""
			if i < len(left) {
				l = left[i]
			}
			if i < len(right) {
				r = right[i]
			}
			lines = append(lines, " "+pad(l, cw)+"  "+r)
		}
	} else {
		for _, l := range append(append(left, ""), right...) {
			lines = append(lines, " "+l)
		}
	}
	if len(lines) > ht {
		lines = lines[:ht]
	}
	return strings.Join(lines, "\n")
}
