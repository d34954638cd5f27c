package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// placeholder is a tab whose pane is not built yet: it says what will be
// there and what to use meanwhile.
type placeholder struct {
	c                *Context
	title, what, now string
}

func placeholderPane(title, what, now string) func(*Context) Pane {
	return func(c *Context) Pane { return &placeholder{c: c, title: title, what: what, now: now} }
}

func (p *placeholder) Title() string          { return p.title }
func (p *placeholder) Init() tea.Cmd          { return nil }
func (p *placeholder) Update(tea.Msg) tea.Cmd { return nil }
func (p *placeholder) Capturing() bool        { return false }
func (p *placeholder) Keys() KeyHelp          { return noKeys{} }
func (p *placeholder) View(w, h int) string {
	s := p.c.Styles
	lines := []string{"", " " + s.Title.Render(p.title) + s.Dim.Render(" — coming next"), ""}
	for _, l := range wrap(p.what, w-4) {
		lines = append(lines, "  "+l)
	}
	lines = append(lines, "")
	for _, l := range wrap(p.now, w-4) {
		lines = append(lines, "  "+s.Dim.Render(l))
	}
	return strings.Join(lines, "\n")
}

type noKeys struct{}

func (noKeys) ShortHelp() []key.Binding  { return nil }
func (noKeys) FullHelp() [][]key.Binding { return nil }
