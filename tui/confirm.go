package tui

import (
	"mispdesk/store"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
)

// confirm asks before a destructive action; the answer defaults to No.
// With a typeName, the person must type it (deleting a server): enter with
// another name says so and stays; enter on nothing or esc cancels.
type confirm struct {
	c        *Context
	title    string
	question string
	typeName string
	input    textinput.Model
	onYes    tea.Cmd
	keys     confirmKeys
	mismatch bool // enter was pressed on a name that does not match
}

type confirmKeys struct{ Yes, No key.Binding }

func (k confirmKeys) ShortHelp() []key.Binding  { return []key.Binding{k.Yes, k.No} }
func (k confirmKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

func newConfirm(c *Context, title, question, typeName string, onYes tea.Cmd) *confirm {
	f := &confirm{c: c, title: title, question: question, typeName: typeName, onYes: onYes}
	if typeName == "" {
		f.keys = confirmKeys{
			Yes: key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
			No:  key.NewBinding(key.WithKeys("n", "N", "esc", "enter", "q"), key.WithHelp("n/esc/enter", "no")),
		}
	} else {
		f.input = newInput(c.Styles, "> ", "", 200)
		f.input.Focus()
		f.keys = confirmKeys{
			Yes: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "confirm (when the name matches)")),
			No:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		}
	}
	return f
}

func (f *confirm) Title() string { return f.title }
func (f *confirm) Keys() KeyHelp { return f.keys }

func (f *confirm) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	if f.typeName == "" {
		switch {
		case key.Matches(k, f.keys.Yes):
			return tea.Sequence(closeScreen, f.onYes)
		case key.Matches(k, f.keys.No):
			return tea.Sequence(closeScreen, flash(store.LevelInfo, "%s: cancelled", f.title))
		}
		return nil
	}
	switch {
	case key.Matches(k, f.keys.No):
		return tea.Sequence(closeScreen, flash(store.LevelInfo, "%s: cancelled", f.title))
	case key.Matches(k, f.keys.Yes):
		switch f.input.Value() {
		case f.typeName:
			return tea.Sequence(closeScreen, f.onYes)
		case "":
			return tea.Sequence(closeScreen, flash(store.LevelInfo, "%s: cancelled", f.title))
		}
		// A typo keeps the prompt open: the keys typed next must not reach the pane.
		f.mismatch = true
		return nil
	}
	var cmd tea.Cmd
	f.input, cmd = f.input.Update(k)
	f.mismatch = false
	return cmd
}

func (f *confirm) View(w, h int) string {
	s := f.c.Styles
	inner := min(w-4, 72)
	lines := []string{s.Title.Render(f.title), ""}
	lines = append(lines, wrap(f.question, inner)...)
	lines = append(lines, "")
	if f.typeName == "" {
		lines = append(lines, s.Bold.Render("y")+" yes   "+s.Bold.Render("n")+"/esc/enter no (the default)")
	} else {
		lines = append(lines, wrap("Type the name "+s.Bold.Render(clean(f.typeName))+" and press enter to confirm; esc cancels.", inner)...)
		lines = append(lines, inputView(&f.input, inner-2))
		if f.mismatch {
			lines = append(lines, wrap(s.Warn.Render("WARN")+" "+sprintf("%q is not %q: fix it, or esc to cancel.", f.input.Value(), f.typeName), inner)...)
		}
	}
	box := s.Box.Width(inner + 4).Render(strings.Join(lines, "\n"))
	return center(box, w, h)
}

// center places a block in the middle of w x h.
func center(block string, w, h int) string {
	lines := strings.Split(block, "\n")
	bw := 0
	for _, l := range lines {
		bw = max(bw, widthOf(l))
	}
	left := max((w-bw)/2, 0)
	top := max((h-len(lines))/2, 0)
	out := make([]string, 0, h)
	for range top {
		out = append(out, "")
	}
	for _, l := range lines {
		out = append(out, strings.Repeat(" ", left)+l)
	}
	return strings.Join(out, "\n")
}

// wrap breaks text into lines of at most w cells at spaces.
func wrap(text string, w int) []string {
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			switch {
			case line == "":
				line = word
			case widthOf(line)+1+widthOf(word) <= w:
				line += " " + word
			default:
				lines = append(lines, line)
				line = word
			}
		}
		lines = append(lines, line)
	}
	return lines
}
