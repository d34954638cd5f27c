package tui

import (
	"image/color"
	"mispdesk/store"
	"strconv"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/table"
	"charm.land/bubbles/v2/textinput"
	"charm.land/lipgloss/v2"
)

// Styles is every look of the console, made for a light or a dark background.
// Colours are ANSI-256 indices (safe over SSH); every state that matters also
// shows without colour (bold, reverse, a ▸ or a level word), so NO_COLOR loses
// nothing but colour.
type Styles struct {
	isDark bool

	Header, HeaderDim lipgloss.Style
	TabActive, Tab    lipgloss.Style
	Title, Dim, Bold  lipgloss.Style
	Selected          lipgloss.Style
	Info, Warn, Error lipgloss.Style
	OK                lipgloss.Style
	Box               lipgloss.Style
	Label, Invalid    lipgloss.Style
	// Match is a search's hit, MatchCurrent the one n/N is on.
	Match, MatchCurrent lipgloss.Style
	Help                help.Styles
	Table               table.Styles
}

// NewStyles builds the styles for a dark (isDark) or light background.
func NewStyles(isDark bool) *Styles {
	ld := lipgloss.LightDark(isDark)
	c := func(n int) color.Color { return lipgloss.Color(strconv.Itoa(n)) }
	fg := ld(c(235), c(252))
	dim := ld(c(243), c(245))
	accent := ld(c(25), c(75))
	s := &Styles{isDark: isDark}
	s.Header = lipgloss.NewStyle().Bold(true).Reverse(true)
	s.HeaderDim = lipgloss.NewStyle().Reverse(true)
	s.TabActive = lipgloss.NewStyle().Bold(true).Reverse(true).Padding(0, 1)
	s.Tab = lipgloss.NewStyle().Foreground(dim).Padding(0, 1)
	s.Title = lipgloss.NewStyle().Bold(true).Foreground(accent)
	s.Dim = lipgloss.NewStyle().Foreground(dim)
	s.Bold = lipgloss.NewStyle().Bold(true).Foreground(fg)
	s.Selected = lipgloss.NewStyle().Reverse(true)
	s.Info = lipgloss.NewStyle().Foreground(accent)
	s.Warn = lipgloss.NewStyle().Bold(true).Foreground(ld(c(130), c(214)))
	s.Error = lipgloss.NewStyle().Bold(true).Foreground(ld(c(160), c(203)))
	s.OK = lipgloss.NewStyle().Foreground(ld(c(28), c(114)))
	s.Box = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(accent).Padding(0, 1)
	s.Label = lipgloss.NewStyle().Foreground(dim)
	s.Invalid = lipgloss.NewStyle().Foreground(ld(c(160), c(203)))
	s.Match = lipgloss.NewStyle().Underline(true).Background(ld(c(229), c(58)))
	s.MatchCurrent = lipgloss.NewStyle().Bold(true).Reverse(true)
	s.Help = help.DefaultStyles(isDark)
	s.Table = table.Styles{
		Header:   lipgloss.NewStyle().Bold(true).Padding(0, 1),
		Cell:     lipgloss.NewStyle().Padding(0, 1),
		Selected: lipgloss.NewStyle().Reverse(true),
	}
	return s
}

// level renders a level word (INFO, WARN, ERROR) in its colour.
func (s *Styles) level(lvl store.Level) string {
	switch lvl {
	case store.LevelWarn:
		return s.Warn.Render("WARN ")
	case store.LevelError:
		return s.Error.Render("ERROR")
	case store.LevelDebug:
		return s.Dim.Render("DEBUG")
	}
	return s.Info.Render("INFO ")
}

// errorLine is a failure as the console shows it in place of what failed to load:
// "ERROR <the error, one line>".
func (s *Styles) errorLine(err error) string {
	return s.Error.Render("ERROR") + " " + oneLine(err.Error())
}

// listState is what a list screen shows instead of its rows, and true: its load error,
// loading (the words while it loads), or empty (the words for no rows). With rows to
// show, it is "" and false.
func (s *Styles) listState(err error, loaded bool, rows int, loading, empty string) (string, bool) {
	switch {
	case err != nil:
		return "\n " + s.errorLine(err), true
	case !loaded:
		return "\n " + loading, true
	case rows == 0:
		return "\n " + s.Dim.Render(empty), true
	}
	return "", false
}

// newInput is a text input in the console's style: a steady cursor (a
// blinking one redraws the screen twice a second, over SSH too).
func newInput(s *Styles, prompt, placeholder string, limit int) textinput.Model {
	in := textinput.New()
	st := textinput.DefaultStyles(s.isDark)
	st.Cursor.Blink = false
	in.SetStyles(st)
	in.Prompt = prompt
	in.Placeholder = placeholder
	in.CharLimit = limit
	return in
}
