package tui

import (
	"mispdesk/store"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// miniForm is a small form screen (a new event, an attribute, a tag, a
// distribution): text fields, some with completion, and choices. check
// validates and returns nil or the errors by field id; save returns the
// command that writes (its result closes the form with formDoneMsg).
type miniForm struct {
	c      *Context
	title  string
	intro  string
	fields []*formField
	focus  int
	keys   miniFormKeys
	tried  bool
	saving bool
	err    string
	// suggest gives a text field's completions (by field id), or nil.
	suggest map[string][]string
	// changed is called after a field's value changes (e.g. the type sets the
	// category's choices).
	changed func(f *miniForm, id string)
	check   func(f *miniForm) map[string]string
	save    func(f *miniForm) tea.Cmd
}

type miniFormKeys struct {
	Next, Prev, Complete, Toggle, Save, Cancel key.Binding
}

func (k miniFormKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Save, k.Next, k.Complete, k.Cancel}
}
func (k miniFormKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Next, k.Prev, k.Complete, k.Toggle}, {k.Save, k.Cancel}}
}

// formDoneMsg is a form's save result: err keeps the form open and shows it.
type formDoneMsg struct {
	form *miniForm
	err  error
	then tea.Cmd
}

func newMiniForm(c *Context, title, intro string, fields []*formField) *miniForm {
	f := &miniForm{c: c, title: title, intro: intro, fields: fields, suggest: map[string][]string{}, keys: miniFormKeys{
		// One tab rule: tab takes the completion shown (→ …) when there is
		// one, and moves to the next field otherwise.
		Next:     key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab/↓", "next")),
		Prev:     key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab/↑", "previous")),
		Complete: key.NewBinding(key.WithKeys("tab", "ctrl+n", "ctrl+p"), key.WithHelp("ctrl+n/p", "other match")),
		Toggle:   key.NewBinding(key.WithKeys("space", "left", "right"), key.WithHelp("←/→", "choose")),
		Save:     key.NewBinding(key.WithKeys("enter", "ctrl+s"), key.WithHelp("enter", "save")),
		Cancel:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}}
	f.focusField(0)
	return f
}

func textFormField(c *Context, id, label, placeholder string, limit int) *formField {
	in := newInput(c.Styles, "", placeholder, limit)
	in.KeyMap.AcceptSuggestion = key.NewBinding(key.WithKeys("ctrl+f"))
	in.KeyMap.NextSuggestion = key.NewBinding(key.WithKeys("ctrl+n"))
	in.KeyMap.PrevSuggestion = key.NewBinding(key.WithKeys("ctrl+p"))
	return &formField{id: id, label: label, kind: textField, input: in}
}

func choiceFormField(id, label string, choices []string, choice int) *formField {
	return &formField{id: id, label: label, kind: choiceField, choices: choices, choice: choice}
}

func (f *miniForm) Title() string { return f.title }
func (f *miniForm) Keys() KeyHelp { return f.keys }

func (f *miniForm) field(id string) *formField {
	for _, fl := range f.fields {
		if fl.id == id {
			return fl
		}
	}
	return nil
}

func (f *miniForm) value(id string) string {
	fl := f.field(id)
	switch {
	case fl == nil:
		return ""
	case fl.kind == choiceField:
		if fl.choice >= 0 && fl.choice < len(fl.choices) {
			return fl.choices[fl.choice]
		}
		return ""
	case fl.kind == boolField:
		if fl.on {
			return "yes"
		}
		return "no"
	}
	return strings.TrimSpace(fl.input.Value())
}

// setSuggestions gives a text field its completions.
func (f *miniForm) setSuggestions(id string, s []string) {
	f.suggest[id] = s
	if fl := f.field(id); fl != nil {
		fl.input.ShowSuggestions = len(s) > 0
		fl.input.SetSuggestions(s)
	}
}

func (f *miniForm) focusField(i int) tea.Cmd {
	for _, fl := range f.fields {
		fl.input.Blur()
	}
	f.focus = i
	if fl := f.fields[i]; fl.kind == textField {
		return fl.input.Focus()
	}
	return nil
}

func (f *miniForm) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case formDoneMsg:
		if msg.form != f {
			return nil
		}
		f.saving = false
		if msg.err != nil {
			f.err = oneLine(msg.err.Error())
			return nil
		}
		return tea.Sequence(closeScreen, msg.then)
	case tea.KeyPressMsg:
		return f.key(msg)
	}
	return nil
}

func (f *miniForm) key(msg tea.KeyPressMsg) tea.Cmd {
	fl := f.fields[f.focus]
	switch {
	case key.Matches(msg, f.keys.Cancel):
		return cancelForm(f.c, f.title, f.dirty())
	case key.Matches(msg, f.keys.Save):
		if f.saving {
			return nil
		}
		if fl.kind == textField && f.canComplete(fl) {
			f.complete(fl) // enter saves what is shown: the completion too
		}
		f.tried = true
		errs := f.validate()
		if len(errs) > 0 {
			for i, x := range f.fields {
				if x.err != "" {
					return f.focusField(i)
				}
			}
			return nil
		}
		f.saving, f.err = true, ""
		return f.save(f)
	case msg.String() == "tab" && fl.kind == textField && f.canComplete(fl):
		f.complete(fl)
		return nil
	case key.Matches(msg, f.keys.Next):
		return f.focusField((f.focus + 1) % len(f.fields))
	case key.Matches(msg, f.keys.Prev):
		return f.focusField((f.focus + len(f.fields) - 1) % len(f.fields))
	}
	switch fl.kind {
	case choiceField:
		if len(fl.choices) == 0 {
			return nil
		}
		switch msg.String() {
		case "left":
			fl.choice = (fl.choice + len(fl.choices) - 1) % len(fl.choices)
		case "right", "space":
			fl.choice = (fl.choice + 1) % len(fl.choices)
		default:
			return nil
		}
		f.afterChange(fl)
	case boolField:
		if key.Matches(msg, f.keys.Toggle) {
			fl.on = !fl.on
			f.afterChange(fl)
		}
	case textField:
		var cmd tea.Cmd
		before := fl.input.Value()
		fl.input, cmd = fl.input.Update(msg)
		if fl.input.Value() != before {
			f.afterChange(fl)
		}
		return cmd
	}
	return nil
}

// canComplete: a completion is on offer and would change the value.
func (f *miniForm) canComplete(fl *formField) bool {
	if len(f.suggest[fl.id]) == 0 || len(fl.input.MatchedSuggestions()) == 0 {
		return false
	}
	return fl.input.CurrentSuggestion() != fl.input.Value()
}

// complete takes the completion on offer.
func (f *miniForm) complete(fl *formField) {
	fl.input.SetValue(fl.input.CurrentSuggestion())
	fl.input.CursorEnd()
	f.afterChange(fl)
}

// dirty: the person changed a field.
func (f *miniForm) dirty() bool {
	for _, fl := range f.fields {
		if fl.changed {
			return true
		}
	}
	return false
}

// afterChange checks the form as typed: a changed field shows its error at
// once, the others once a save was tried.
func (f *miniForm) afterChange(fl *formField) {
	fl.touched, fl.changed = true, true
	if f.changed != nil {
		f.changed(f, fl.id)
	}
	f.validate()
}

// cancelForm closes a form, asking first when it holds changes.
func cancelForm(c *Context, title string, dirty bool) tea.Cmd {
	done := flash(store.LevelInfo, "%s: cancelled, nothing saved", title)
	if !dirty {
		return tea.Sequence(closeScreen, done)
	}
	return openScreen(newConfirm(c, "Discard changes",
		title+": discard what you typed? Nothing is saved.", "", tea.Sequence(closeScreen, done)))
}

func (f *miniForm) validate() map[string]string {
	var errs map[string]string
	if f.check != nil {
		errs = f.check(f)
	}
	for _, fl := range f.fields {
		fl.err = errs[fl.id]
	}
	return errs
}

func (f *miniForm) View(w, h int) string {
	s := f.c.Styles
	inner := min(w-6, 96)
	labelW := 14
	lines := []string{s.Title.Render(f.title)}
	if f.intro != "" {
		lines = append(lines, wrap(f.intro, inner)...)
	}
	lines = append(lines, "")
	for i, fl := range f.fields {
		mark := "  "
		if i == f.focus {
			mark = s.Bold.Render("▸ ")
		}
		label := s.Label.Render(pad(fl.label, labelW))
		var val string
		switch fl.kind {
		case textField:
			val = f.textView(fl, i == f.focus, max(inner-labelW-4, 10))
		case choiceField:
			cur := "-"
			if fl.choice >= 0 && fl.choice < len(fl.choices) {
				cur = clean(fl.choices[fl.choice])
			}
			val = "‹ " + cur + " ›"
			if i == f.focus {
				val = s.Selected.Render(val)
			}
		case boolField:
			val = "[ ]"
			if fl.on {
				val = "[x]"
			}
			if i == f.focus {
				val = s.Selected.Render(val)
			}
		}
		lines = append(lines, mark+label+val)
		switch {
		case fl.err != "" && (fl.touched || f.tried):
			lines = append(lines, "  "+strings.Repeat(" ", labelW)+s.Invalid.Render("✗ "+fl.err))
		case i == f.focus && fl.kind == textField && len(f.suggest[fl.id]) > 0:
			lines = append(lines, "  "+strings.Repeat(" ", labelW)+s.Dim.Render(f.matches(fl, inner-labelW-2)))
		case fl.hint != "":
			lines = append(lines, "  "+strings.Repeat(" ", labelW)+s.Dim.Render(fl.hint))
		}
	}
	lines = append(lines, "")
	switch {
	case f.saving:
		lines = append(lines, s.Dim.Render("Saving…"))
	case f.err != "":
		lines = append(lines, wrap(s.Error.Render("ERROR")+" "+f.err, inner)...)
	default:
		lines = append(lines, s.Dim.Render("enter saves · esc cancels"))
	}
	return s.Box.Width(min(inner+4, w)).Render(strings.Join(lines, "\n"))
}

// textView is a text field in w cells. A completion on offer is drawn
// after the typed text as "→ tlp:amber", never as if typed (the input's own
// grey ghost text reads as typed without colour).
func (f *miniForm) textView(fl *formField, focused bool, w int) string {
	if !focused || !f.canComplete(fl) {
		return inputView(&fl.input, w)
	}
	plain := fl.input // a copy, drawn without its inline suggestion
	plain.SetSuggestions(nil)
	hint := "→ " + clean(fl.input.CurrentSuggestion())
	inW := min(widthOf(fl.input.Value())+1, max(w-widthOf(hint), 4)) // the cursor cell is the gap
	return pad(ansi.Truncate(inputView(&plain, inW)+f.c.Styles.Dim.Render(hint), w, "…"), w)
}

// matches lists the completions on offer for a field, in one line.
func (f *miniForm) matches(fl *formField, w int) string {
	m := fl.input.MatchedSuggestions()
	if fl.input.Value() == "" || len(m) == 0 {
		if fl.input.Value() != "" {
			return "no completion"
		}
		return "type to complete; tab or enter takes the one shown"
	}
	out := ""
	for i, x := range m {
		part := clean(x)
		if i == fl.input.CurrentSuggestionIndex() {
			part = "[" + part + "]" // the one enter or tab takes
		}
		if i > 0 {
			part = "  " + part
		}
		if widthOf(out)+widthOf(part) > w-8 {
			return out + "  +" + itoa(len(m)-i)
		}
		out += part
	}
	return out
}

func itoa(n int) string { return sprintf("%d", n) }
