// Package tui is mispdesk's Bubble Tea console. For now it is a placeholder
// screen: a header with both versions, the database in use, and how to quit.
package tui

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"unicode"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"mispdesk/assets"
)

// Run shows the console on the terminal until the user quits or ctx is
// cancelled. dbPath is the database the console works on.
func Run(ctx context.Context, dbPath string) error {
	opts := []tea.ProgramOption{tea.WithContext(ctx)}
	if os.Getenv("NO_COLOR") != "" {
		// colorprofile only honours NO_COLOR values strconv.ParseBool accepts;
		// any non-empty value must turn colour off.
		opts = append(opts, tea.WithColorProfile(colorprofile.ASCII))
	}
	_, err := tea.NewProgram(newModel(dbPath), opts...).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil // stopped by a signal: a normal end
	}
	return err
}

type model struct {
	dbPath        string
	width, height int
}

func newModel(dbPath string) model { return model{dbPath: dbPath} }

func (m model) Init() tea.Cmd { return nil }

func (m model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tea.KeyPressMsg:
		switch msg.String() {
		case "q", "ctrl+c":
			return m, tea.Quit
		}
	}
	return m, nil
}

var (
	headerStyle = lipgloss.NewStyle().Bold(true).Reverse(true).Padding(0, 1)
	labelStyle  = lipgloss.NewStyle().Bold(true)
	dimStyle    = lipgloss.NewStyle().Faint(true)
	keyStyle    = lipgloss.NewStyle().Bold(true)
)

// header is the first line of every screen: mispdesk's own version and the
// MISP API level it speaks, never confused.
func header() string {
	return "mispdesk " + assets.Version + " — MISP API " + assets.MISPVersion
}

func (m model) View() tea.View {
	lines := []string{
		headerStyle.Render(header()),
		"",
		labelStyle.Render("Database ") + printable(m.dbPath),
		"",
		dimStyle.Render("The console is not built yet."),
	}
	footer := keyStyle.Render("q") + " quit"

	if m.width > 0 {
		// Pad the header bar to the full width, and keep every line inside it.
		lines[0] = headerStyle.Width(m.width).Render(header())
		for i, l := range lines {
			lines[i] = ansi.Truncate(l, m.width, "…")
		}
	}
	if m.height > len(lines)+1 {
		for len(lines) < m.height-1 {
			lines = append(lines, "")
		}
	} else {
		lines = append(lines, "")
	}
	lines = append(lines, footer)

	v := tea.NewView(strings.Join(lines, "\n"))
	v.AltScreen = true
	return v
}

// printable shows s with control characters escaped (\x1b, \n, …), so that
// nothing in it reaches the terminal as a control sequence.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsGraphic(r) {
			return strconv.QuoteToGraphic(s)
		}
	}
	return s
}
