package tui

import (
	"context"
	"fmt"
	"net/mail"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"mispdesk/assets"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// firstRun creates the instance on a new database: the host organisation's
// name and the admin's e-mail, then the admin key shown once, then an offer to
// load the bundled sample events.
type firstRun struct {
	c       *Context
	step    int // 0 the form, 1 the key, 2 the samples offer
	org     textinput.Model
	email   textinput.Model
	focus   int
	orgErr  string
	mailErr string
	tried   bool
	busy    bool
	err     string
	result  *store.InitResult
	keys    firstKeys
}

type firstKeys struct{ Next, Submit, Yes, No key.Binding }

func (k firstKeys) ShortHelp() []key.Binding  { return []key.Binding{k.Next, k.Submit} }
func (k firstKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// firstRunDoneMsg ends the first run; then runs after the instance is loaded.
type firstRunDoneMsg struct{ then tea.Cmd }

type initDoneMsg struct {
	res *store.InitResult
	err error
}

func newFirstRun(c *Context) *firstRun {
	f := &firstRun{c: c, keys: firstKeys{
		Next:   key.NewBinding(key.WithKeys("tab", "down", "up", "shift+tab"), key.WithHelp("tab", "next field")),
		Submit: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "create")),
	}}
	f.org = newInput(c.Styles, "", "e.g. CIRCL", 255)
	f.email = newInput(c.Styles, "", store.DefaultAdminEmail, 255)
	return f
}

func (f *firstRun) Init() tea.Cmd { return f.org.Focus() }

func (f *firstRun) Keys() KeyHelp {
	switch f.step {
	case 1:
		return keyList{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "I have copied it"))}
	case 2:
		return keyList{key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "load them")),
			key.NewBinding(key.WithKeys("n"), key.WithHelp("n/enter", "start empty"))}
	}
	if f.focus == 0 { // enter moves on to the e-mail; it creates from the last field
		return keyList{key.NewBinding(key.WithKeys("tab", "enter"), key.WithHelp("tab/enter", "next field"))}
	}
	return f.keys
}

func (f *firstRun) validate() bool {
	f.orgErr, f.mailErr = "", ""
	name := strings.TrimSpace(f.org.Value())
	if name == "" {
		f.orgErr = "required: who runs this instance"
	} else if clean(name) != name {
		f.orgErr = "control characters are not allowed"
	}
	if e := strings.TrimSpace(f.email.Value()); e != "" {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e || !strings.Contains(e[strings.Index(e, "@"):], ".") {
			f.mailErr = "not an e-mail address (name@domain.tld)"
		}
	}
	return f.orgErr == "" && f.mailErr == ""
}

func (f *firstRun) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case initDoneMsg:
		f.busy = false
		if msg.err != nil {
			f.err = oneLine(msg.err.Error())
			return nil
		}
		f.result, f.step = msg.res, 1
		return nil
	case tea.KeyPressMsg:
		switch f.step {
		case 1:
			if msg.String() == "enter" {
				f.result.AuthKey = "" // shown once: gone from memory too
				f.step = 2
			}
			return nil
		case 2:
			switch msg.String() {
			case "y", "Y":
				return func() tea.Msg { return firstRunDoneMsg{then: loadSamples(f.c.Ctx, f.c.Store)} }
			case "n", "N", "enter", "esc":
				return func() tea.Msg {
					return firstRunDoneMsg{then: flash(store.LevelInfo, "Welcome. Press a on the Servers pane to add a server to sync with.")}
				}
			}
			return nil
		}
		if f.busy {
			return nil
		}
		switch msg.String() {
		case "esc":
			return tea.Quit
		case "tab", "down", "up", "shift+tab":
			f.focus = 1 - f.focus
			if f.tried || f.org.Value() != "" {
				f.validate()
			}
			return f.refocus()
		case "enter":
			if f.focus == 0 {
				f.focus = 1
				return f.refocus()
			}
			f.tried = true
			if !f.validate() {
				if f.orgErr != "" {
					f.focus = 0
				}
				return f.refocus()
			}
			f.busy, f.err = true, ""
			opts := store.InitOptions{OrgName: strings.TrimSpace(f.org.Value()), AdminEmail: strings.TrimSpace(f.email.Value())}
			ctx, st := f.c.Ctx, f.c.Store
			return func() tea.Msg {
				res, err := st.Init(ctx, opts)
				return initDoneMsg{res, err}
			}
		}
		var cmd tea.Cmd
		if f.focus == 0 {
			f.org, cmd = f.org.Update(msg)
		} else {
			f.email, cmd = f.email.Update(msg)
		}
		if f.tried {
			f.validate()
		}
		return cmd
	case tea.PasteMsg:
		var cmd tea.Cmd
		if f.focus == 0 {
			f.org, cmd = f.org.Update(msg)
		} else {
			f.email, cmd = f.email.Update(msg)
		}
		return cmd
	}
	return nil
}

func (f *firstRun) refocus() tea.Cmd {
	if f.focus == 0 {
		f.email.Blur()
		return f.org.Focus()
	}
	f.org.Blur()
	return f.email.Focus()
}

func (f *firstRun) View(w, h int) string {
	s := f.c.Styles
	inner := min(w-6, 72)
	var lines []string
	switch f.step {
	case 0:
		lines = []string{s.Title.Render("Welcome to mispdesk"), ""}
		lines = append(lines, wrap("This database is new. Name the organisation that runs this instance (its host organisation) and the site admin's e-mail.", inner)...)
		lines = append(lines, "")
		field := func(label string, in *textinput.Model, errText string, focused bool) {
			marker := "  "
			if focused {
				marker = "▸ "
			}
			lines = append(lines, marker+s.Bold.Render(pad(label, 20))+"["+inputView(in, inner-24)+"]")
			if errText != "" {
				lines = append(lines, strings.Repeat(" ", 22)+s.Invalid.Render("✗ "+errText))
			}
		}
		field("Host organisation", &f.org, f.orgErr, f.focus == 0)
		field("Admin e-mail", &f.email, f.mailErr, f.focus == 1)
		lines = append(lines, "", s.Dim.Render("enter on the e-mail creates the instance; esc quits, creating nothing"))
		if f.busy {
			lines = append(lines, "", "Creating the instance…")
		}
		if f.err != "" {
			lines = append(lines, "", s.Error.Render("ERROR")+" "+f.err)
		}
	case 1:
		r := f.result
		lines = []string{s.Title.Render("Instance created"), "",
			"Host organisation  " + clean(r.Org.Name),
			"Admin              " + clean(r.Admin.Email), "",
			"The admin's authkey (for the API and for PyMISP):", "",
			"  " + s.Bold.Render(r.AuthKey), ""}
		lines = append(lines, wrap(s.Warn.Render("Copy it now; it is not shown again.")+" Only its hash is stored.", inner)...)
		lines = append(lines, "", s.Dim.Render("enter continues"))
	case 2:
		names := sampleNames()
		lines = []string{s.Title.Render("Sample events"), ""}
		lines = append(lines, wrap(fmt.Sprintf("Load %d real OSINT events (CIRCL, ESET; BSD-2-Clause, see assets/ATTRIBUTION.md) so there is something to look at and to sync?", len(names)), inner)...)
		lines = append(lines, "")
		for _, n := range names {
			lines = append(lines, "  · "+clean(n))
		}
		lines = append(lines, "", s.Bold.Render("y")+" load them   "+s.Bold.Render("n")+"/enter start empty (the default)")
	}
	box := s.Box.Width(inner + 4).Render(strings.Join(lines, "\n"))
	return center(box, w, h)
}

// keyList is a KeyHelp of a few bindings.
type keyList []key.Binding

func (k keyList) ShortHelp() []key.Binding  { return k }
func (k keyList) FullHelp() [][]key.Binding { return [][]key.Binding{k} }

// sampleNames are the info lines of the bundled sample events.
func sampleNames() []string {
	var names []string
	for _, raw := range assets.SampleEvents() {
		if e, err := misp.ParseEvent(raw); err == nil {
			names = append(names, e.Info)
		}
	}
	sort.Strings(names)
	return names
}

// loadSamples stores the bundled sample events, owned by the host org.
func loadSamples(ctx context.Context, st *store.Store) tea.Cmd {
	return func() tea.Msg {
		n := 0
		for name, raw := range assets.SampleEvents() {
			e, err := misp.ParseEvent(raw)
			if err != nil {
				return flashMsg{store.LevelError, "sample " + name + ": " + oneLine(err.Error())}
			}
			if _, err := st.UpsertEvent(ctx, e, store.UpsertOptions{DefaultDistribution: misp.AllCommunities}); err != nil {
				return flashMsg{store.LevelError, "sample " + name + ": " + oneLine(err.Error())}
			}
			n++
		}
		// As a change of events, so the panes that list them reload.
		return eventChangedMsg{text: fmt.Sprintf("Loaded %d sample events. Press a on the Servers pane to add a server.", n)}
	}
}
