package tui

import (
	"errors"
	"fmt"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"mispdesk/store"
)

// Update routes a message. Keys go, in this order, to: the first-run screen;
// the command line; the newest open screen (a view takes 1–4, : and ! first); the focused pane when a text
// input of it has focus; the global keys; the focused pane. Every other
// message is handled here when it is the root's, then handed to every pane
// and screen.
func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		cmd := m.key(msg)
		m.seen()
		return m, cmd
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.SetWidth(msg.Width)
		return m, nil
	case tea.BackgroundColorMsg:
		m.setDark(msg.IsDark())
		return m, nil
	case instanceMsg:
		switch {
		case errors.Is(msg.err, store.ErrNotInitialised):
			m.mode = modeFirstRun
			m.first = newFirstRun(m.c)
			return m, m.first.Init()
		case msg.err != nil:
			m.mode, m.err = modeFatal, msg.err
			return m, nil
		}
		m.c.Instance = msg.inst
		return m, m.ready()
	case firstRunDoneMsg:
		return m, tea.Batch(loadInstance(m.c.Ctx, m.c.Store), msg.then)
	case openScreenMsg:
		m.screens = append(m.screens, msg.screen)
		if in, ok := msg.screen.(interface{ Init() tea.Cmd }); ok {
			return m, in.Init()
		}
		return m, nil
	case closeScreenMsg:
		if n := len(m.screens); n > 0 {
			m.screens = m.screens[:n-1]
		}
		return m, nil
	case flashMsg:
		return m, m.setFlash(msg.level, msg.text)
	case flashClearMsg:
		if msg.gen == m.flashGen {
			m.flashText = ""
		}
		return m, nil
	case startRunMsg:
		return m, m.startRun(msg.server, msg.direction)
	case cancelRunMsg:
		return m, m.cancelRun(msg.id)
	case testConnMsg:
		s := newTestConnScreen(m.c, msg.server)
		m.screens = append(m.screens, s)
		return m, s.Start()
	case focusPaneMsg:
		for i, p := range m.panes {
			if equalFold(p.Title(), msg.title) {
				m.active = i
			}
		}
		m.seen()
		return m, nil
	case quitMsg:
		return m, tea.Quit
	case spinner.TickMsg:
		var cmd tea.Cmd
		if msg.ID == m.spin.ID() {
			if m.running() == 0 {
				m.spinning = false
				return m, nil
			}
			m.spin, cmd = m.spin.Update(msg)
			return m, cmd
		}
	case progressMsg:
		for _, r := range m.c.Runs {
			if r.ID == msg.runID {
				r.Progress = msg.p
			}
		}
		return m, tea.Batch(waitProgress(m.progCh), m.broadcast(msg))
	case runDoneMsg:
		cmd := m.finishRun(msg)
		return m, tea.Batch(cmd, m.broadcast(msg))
	case refreshTickMsg:
		m.noteLeader()
		cmds := []tea.Cmd{refreshTick()}
		if m.mode == modeReady {
			cmds = append(cmds, loadServers(m.c.Ctx, m.c.Store))
		}
		return m, tea.Batch(cmds...)
	case tailTickMsg:
		if m.tailBusy {
			return m, tailTick()
		}
		m.tailBusy = true
		return m, tailLog(m.c.Ctx, m.c.Store, m.tailAfter)
	case serversMsg:
		if msg.err == nil {
			m.c.Servers = msg.servers
			m.c.Stats = map[store.ServerID]store.OutboxStat{}
			for _, st := range msg.stats {
				m.c.Stats[st.ServerID] = st
			}
			m.c.Health = msg.health
		}
	case eventChangedMsg:
		return m, tea.Batch(flash(store.LevelInfo, "%s", msg.text), m.broadcast(msg))
	case publishAskMsg:
		return m, publishConfirm(m.c, msg)
	case serverChangedMsg:
		return m, tea.Batch(loadServers(m.c.Ctx, m.c.Store), flash(store.LevelInfo, "%s", msg.text), m.broadcast(msg))
	case logEntriesMsg:
		var cmds []tea.Cmd
		for _, e := range msg.entries {
			if msg.fromTail {
				// The store holds every process's entries once; the bus repeats
				// this process's, so only the tail counts for the sparkline.
				m.c.Throughput.add(e)
			}
			if e.Direction == store.DirHealth && m.mode == modeReady {
				cmds = append(cmds, loadServers(m.c.Ctx, m.c.Store)) // a server's state moved
			}
		}
		switch {
		case msg.err != nil || !msg.fromTail:
			// The badge counts from the tail, which holds every process's entries once,
			// in id order; the bus repeats this process's.
		case !msg.initial && !m.onLog():
			m.notes.count(msg.entries)
		default: // seen, or history from before the console
			for _, e := range msg.entries {
				m.notes.after = max(m.notes.after, e.ID)
			}
		}
		if msg.fromTail {
			m.tailBusy = false
			if msg.err == nil && msg.last > m.tailAfter {
				m.tailAfter = msg.last
			}
			if msg.initial && !m.tailOn {
				m.tailOn = true
			}
			cmds = append(cmds, tailTick())
		} else {
			cmds = append(cmds, waitBus(m.busCh))
		}
		cmds = append(cmds, m.broadcast(msg))
		return m, tea.Batch(cmds...)
	case busClosedMsg:
		return m, nil
	case resumedMsg:
		if msg.err != nil {
			return m, flash(store.LevelError, "Retry of %s: %s", clean(msg.server), oneLine(msg.err.Error()))
		}
		return m, tea.Batch(loadServers(m.c.Ctx, m.c.Store), flash(store.LevelInfo, "%s: its queued pushes are due now", clean(msg.server)))
	}
	return m, m.broadcast(msg)
}

// broadcast hands a message to every pane and open screen.
func (m *model) broadcast(msg tea.Msg) tea.Cmd {
	if m.mode == modeFirstRun && m.first != nil {
		return m.first.Update(msg)
	}
	if m.mode != modeReady {
		return nil
	}
	var cmds []tea.Cmd
	for _, p := range m.panes {
		cmds = append(cmds, p.Update(msg))
	}
	for _, s := range m.screens {
		cmds = append(cmds, s.Update(msg))
	}
	if m.cmdline != nil {
		cmds = append(cmds, m.cmdline.Update(msg))
	}
	return tea.Batch(cmds...)
}

// quitMsg quits after a confirmation.
type quitMsg struct{}

func (m *model) key(msg tea.KeyPressMsg) tea.Cmd {
	k := m.c.Keys
	if key.Matches(msg, k.ForceQuit) {
		return tea.Quit
	}
	switch m.mode {
	case modeFirstRun:
		return m.first.Update(msg)
	case modeLoading, modeFatal:
		if key.Matches(msg, k.Quit, k.Back) {
			return tea.Quit
		}
		return nil
	}
	if m.cmdline != nil {
		return m.cmdlineKey(msg)
	}
	if s := m.topScreen(); s != nil {
		if c, ok := s.(interface{ Capturing() bool }); ok && c.Capturing() {
			return s.Update(msg) // its search input has focus
		}
		if _, view := s.(viewer); view {
			// a view (an event, an entry) takes the pane keys too: 1–4
			// leave it for that pane, : and ! work as on a pane
			for i, b := range k.paneKeys() {
				if key.Matches(msg, b) && i < len(m.panes) {
					m.screens, m.active = nil, i
					return nil
				}
			}
			switch {
			case key.Matches(msg, k.Command):
				m.cmdline = newCmdLine(m.c)
				return m.cmdline.Focus()
			case key.Matches(msg, k.Messages):
				m.screens = append(m.screens, newHistoryScreen(m.c, m.notes.history))
				return nil
			}
		}
		return s.Update(msg)
	}
	p := m.activePane()
	if p.Capturing() {
		return p.Update(msg)
	}
	for i, b := range k.paneKeys() {
		if key.Matches(msg, b) && i < len(m.panes) {
			m.active = i
			return nil
		}
	}
	switch {
	case key.Matches(msg, k.Next):
		m.active = (m.active + 1) % len(m.panes)
		return nil
	case key.Matches(msg, k.Prev):
		m.active = (m.active + len(m.panes) - 1) % len(m.panes)
		return nil
	case key.Matches(msg, k.Command):
		m.cmdline = newCmdLine(m.c)
		return m.cmdline.Focus()
	case key.Matches(msg, k.Help):
		m.screens = append(m.screens, newHelpScreen(m.c, p.Title(), p.Keys()))
		return nil
	case key.Matches(msg, k.Messages):
		m.screens = append(m.screens, newHistoryScreen(m.c, m.notes.history))
		return nil
	case key.Matches(msg, k.Quit):
		return m.quit()
	}
	cmd := p.Update(msg)
	if cmd == nil && key.Matches(msg, k.Back) && m.flashText != "" {
		m.flashText = "" // esc with nothing else to do dismisses the message
	}
	return cmd
}

// quit quits, asking first when a sync started here is running.
func (m *model) quit() tea.Cmd {
	if n := m.running(); n > 0 {
		r := m.c.Runs[len(m.c.Runs)-1]
		q := fmt.Sprintf("A sync is running (%s %s%s). Quit anyway and cancel it?", r.Direction, clean(r.Server), progressText(r.Progress))
		if n > 1 {
			q = fmt.Sprintf("%d syncs are running (the newest: %s %s). Quit anyway and cancel them?", n, r.Direction, clean(r.Server))
		}
		return openScreen(newConfirm(m.c, "Quit", q, "", func() tea.Msg { return quitMsg{} }))
	}
	return tea.Quit
}
