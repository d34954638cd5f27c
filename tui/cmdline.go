package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"mispdesk/store"
)

// cmdLine is the : command line on the status line: :pull NAME, :push NAME,
// :test NAME, :add, :edit NAME, :delete NAME, :servers, :events, :rules,
// :log, :discussions, :proposals, :correlations, :settings, :help, :q. tab completes commands and server names.
type cmdLine struct {
	c     *Context
	input textinput.Model
}

var cmdWords = []string{"pull", "push", "test", "add", "edit", "delete", "servers", "events", "rules", "log", "discussions", "proposals", "correlations", "settings", "help", "quit", "q"}

func newCmdLine(c *Context) *cmdLine {
	in := newInput(c.Styles, ":", "", 300)
	in.ShowSuggestions = true
	in.KeyMap.AcceptSuggestion = key.NewBinding(key.WithKeys("tab", "right"))
	in.KeyMap.NextSuggestion = key.NewBinding(key.WithKeys("down", "ctrl+n"))
	in.KeyMap.PrevSuggestion = key.NewBinding(key.WithKeys("up", "ctrl+p"))
	cl := &cmdLine{c: c, input: in}
	cl.input.SetSuggestions(cl.suggestions())
	return cl
}

// suggestions are every command, and every command that takes a server with
// each server's name.
func (cl *cmdLine) suggestions() []string {
	out := append([]string{}, cmdWords...)
	for _, w := range []string{"pull", "push", "test", "edit", "delete"} {
		for _, sv := range cl.c.Servers {
			out = append(out, w+" "+sv.Name)
		}
	}
	out = append(out, "pull all", "push all")
	return out
}

func (cl *cmdLine) Focus() tea.Cmd { return cl.input.Focus() }

func (cl *cmdLine) Update(msg tea.Msg) tea.Cmd {
	if _, ok := msg.(serversMsg); ok {
		cl.input.SetSuggestions(cl.suggestions())
	}
	return nil
}

func (cl *cmdLine) View(w int) string {
	return inputView(&cl.input, w)
}

func (m *model) cmdlineKey(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "esc":
		m.cmdline = nil
		return nil
	case "enter":
		line := strings.TrimSpace(m.cmdline.input.Value())
		m.cmdline = nil
		return m.execute(line)
	}
	var cmd tea.Cmd
	m.cmdline.input, cmd = m.cmdline.input.Update(msg)
	return cmd
}

// execute runs a command line.
func (m *model) execute(line string) tea.Cmd {
	verb, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	need := func() (*store.Server, tea.Cmd) {
		if arg == "" {
			return nil, flash(store.LevelWarn, ":%s needs a server name (tab completes)", verb)
		}
		s := m.c.serverByName(arg)
		if s == nil {
			return nil, flash(store.LevelWarn, "No server %q (tab completes names)", clean(arg))
		}
		return s, nil
	}
	switch strings.ToLower(verb) {
	case "":
		return nil
	case "q", "quit":
		return m.quit()
	case "help":
		return openScreen(newHelpScreen(m.c, m.activePane().Title(), m.activePane().Keys()))
	case "servers", "events", "rules", "log":
		return func() tea.Msg { return focusPaneMsg{verb} }
	case "add":
		return openScreen(newServerForm(m.c, nil))
	case "discussions", "threads":
		return openScreen(newDiscussionsScreen(m.c))
	case "proposals":
		return openScreen(newProposalsScreen(m.c, "", ""))
	case "correlations":
		return openScreen(newCorrelationsScreen(m.c))
	case "settings":
		return openSettings(m.c)
	case "pull", "push":
		dir := store.Direction(verb)
		if strings.EqualFold(arg, "all") {
			var cmds []tea.Cmd
			for _, sv := range m.c.Servers {
				if (dir == store.DirPull && sv.Pull) || (dir == store.DirPush && sv.Push) {
					cmds = append(cmds, m.startRun(sv, dir))
				}
			}
			if len(cmds) == 0 {
				return flash(store.LevelWarn, "No server has %s enabled", verb)
			}
			return tea.Batch(cmds...)
		}
		sv, cmd := need()
		if sv == nil {
			return cmd
		}
		return m.startRun(*sv, dir)
	case "test":
		sv, cmd := need()
		if sv == nil {
			return cmd
		}
		return func() tea.Msg { return testConnMsg{*sv} }
	case "edit":
		sv, cmd := need()
		if sv == nil {
			return cmd
		}
		return openScreen(newServerForm(m.c, sv))
	case "delete", "rm":
		sv, cmd := need()
		if sv == nil {
			return cmd
		}
		return confirmDelete(m.c, *sv)
	}
	return flash(store.LevelWarn, "Unknown command %q: try :pull NAME, :push NAME, :test NAME, :add, :edit NAME, :log, :discussions, :proposals, :correlations, :settings, :q (? lists them)", clean(verb))
}
