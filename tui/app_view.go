package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"mispdesk/assets"
	"mispdesk/store"
	"mispdesk/syncer"
)

// The smallest screen the console lays out; below it, it says so.
const (
	minWidth  = 64
	minHeight = 16
)

// View draws the frame: header, tabs, the pane (or the open screen), the
// status line and the help footer, each line cut to the width.
func (m *model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "mispdesk"
	return v
}

func (m *model) render() string {
	w, h := m.width, m.height
	if w == 0 || h == 0 {
		return ""
	}
	if w < minWidth || h < minHeight {
		return fit(fmt.Sprintf("The terminal is %dx%d: mispdesk needs at least %dx%d.\nEnlarge the window (q quits).", w, h, minWidth, minHeight), w, h)
	}
	s := m.c.Styles
	switch m.mode {
	case modeLoading:
		return fit(m.headerLine()+"\n\nOpening the database…", w, h)
	case modeFatal:
		return fit(m.headerLine()+"\n\n"+s.errorLine(m.err)+"\n\nq quits.", w, h)
	case modeFirstRun:
		body := m.first.View(w, h-2)
		return fit(m.headerLine()+"\n"+fit(body, w, h-2)+"\n"+m.footer(m.first.Keys()), w, h)
	}
	bodyH := h - 4
	var body string
	var keys KeyHelp
	if scr := m.topScreen(); scr != nil {
		body = fit(scr.View(w, bodyH), w, bodyH)
		keys = scr.Keys()
	} else {
		body = fit(m.activePane().View(w, bodyH), w, bodyH)
		keys = m.activePane().Keys()
	}
	return strings.Join([]string{m.headerLine(), m.tabs(), body, m.statusLine(), m.footer(keys)}, "\n")
}

// headerLine: mispdesk and MISP versions, the host org and instance, the
// syncer state, the outbox counts and the console's running syncs.
func (m *model) headerLine() string {
	s := m.c.Styles
	parts := []string{"mispdesk " + assets.Version}
	if inst := m.c.Instance; inst != nil {
		org := clean(inst.HostOrg.Name)
		if m.width >= 100 {
			org += " " + shortUUID(inst.UUID)
		}
		parts = append(parts, org)
	}
	if m.opts.User != "" {
		parts = append(parts, clean(m.opts.User))
	}
	if m.mode == modeReady {
		parts = append(parts, "syncer "+m.syncerState())
		if down := m.c.blockedServers(); len(down) > 0 {
			// Cause first, before the counts a narrow header cuts.
			h := m.c.Health[down[0].ID]
			part := s.Error.Render("✗ "+clean(down[0].Name)) + " " + shortHealth(h)
			if len(down) > 1 {
				part += fmt.Sprintf(" (+%d more)", len(down)-1)
			}
			parts = append(parts, part)
		}
		queued, failing := 0, 0
		for _, st := range m.c.Stats {
			queued += st.Queued
			failing += st.Failing
		}
		parts = append(parts, fmt.Sprintf("queued %d failed %d", queued, failing))
		for _, r := range m.c.Runs {
			parts = append(parts, arrow(r.Direction)+clean(r.Server)+progressText(r.Progress))
		}
	}
	line := " " + strings.Join(parts, " │ ")
	return s.Header.Render(pad(ansi.Truncate(line, m.width, "…"), m.width))
}

// syncerState is running (a sync in flight), error (pushes failing, a server
// down or refusing our key, or the lease unreadable) or idle, and who runs the
// outbox. It is idle only when nothing is wrong.
func (m *model) syncerState() string {
	failing, queued := 0, 0
	for _, st := range m.c.Stats {
		failing += st.Failing
		queued += st.Queued
	}
	state := "idle"
	switch {
	case m.running() > 0:
		state = "running " + m.spin.View()
	case failing > 0 || len(m.c.blockedServers()) > 0:
		state = "error"
	case queued > 0:
		state = "busy"
	}
	if m.width < 100 {
		return state
	}
	switch {
	case m.leader:
		state += " (outbox here)"
	case m.opts.Daemon && m.c.Now().Sub(m.daemonSince) > 2*time.Second:
		// the daemon runs here but another process (mispdesk serve) holds the lease
		state += " (outbox in serve)"
	}
	return state
}

// tabs is the tab bar; the open screen's title (the breadcrumb) is cut to
// what is left, so every tab stays on screen.
func (m *model) tabs() string {
	s := m.c.Styles
	labels := make([]string, len(m.panes))
	used := 0
	for i, p := range m.panes {
		labels[i] = fmt.Sprintf("%d %s", i+1, p.Title())
		if b := m.notes.badge(); b != "" && p.Title() == "Log" {
			labels[i] += " " + b // WARN/ERROR logged since the Log was last seen
		}
		used += widthOf(labels[i]) + 3 // the mark and the padding
	}
	var b strings.Builder
	for i, label := range labels {
		switch {
		case i == m.active && m.topScreen() != nil:
			crumb := " › " + clean(m.topScreen().Title())
			b.WriteString(s.TabActive.Render("▸" + label + ansi.Truncate(crumb, max(m.width-used, 4), "…")))
		case i == m.active:
			b.WriteString(s.TabActive.Render("▸" + label))
		default:
			b.WriteString(s.Tab.Render(" " + label))
		}
	}
	return ansi.Truncate(b.String(), m.width, "…")
}

func (m *model) statusLine() string {
	s := m.c.Styles
	if m.cmdline != nil {
		return ansi.Truncate(m.cmdline.View(m.width), m.width, "…")
	}
	if m.flashText != "" {
		return ansi.Truncate(s.level(m.flashLevel)+" "+m.flashText, m.width, "…")
	}
	if n := m.running(); n > 0 {
		r := m.c.Runs[n-1]
		return ansi.Truncate(s.Info.Render(m.spin.View())+" "+string(r.Direction)+" "+clean(r.Server)+progressText(r.Progress)+s.Dim.Render("  (x on the Log pane cancels)"), m.width, "…")
	}
	return ""
}

// footer is the focused pane's or screen's short help, most important
// first, then the global keys: as many whole bindings as the width holds
// (never one cut with …), and on a pane always "? help", which lists them all.
func (m *model) footer(keys KeyHelp) string {
	var tail, globals []key.Binding
	if m.mode == modeReady && m.topScreen() == nil {
		tail = []key.Binding{m.c.Keys.Help}
		globals = []key.Binding{m.c.Keys.Command, m.c.Keys.Quit}
	}
	measure := m.help
	measure.SetWidth(0) // no cut: the whole width of a try
	var shown []key.Binding
	for _, b := range append(append([]key.Binding{}, keys.ShortHelp()...), globals...) {
		try := append(append(append([]key.Binding{}, shown...), b), tail...)
		if widthOf(measure.ShortHelpView(try)) <= m.width {
			shown = append(shown, b)
		}
	}
	return m.help.ShortHelpView(append(shown, tail...))
}

func progressText(p syncer.Progress) string {
	if p.Total == 0 {
		return ""
	}
	t := fmt.Sprintf(" %d of %d events", p.Done, p.Total)
	if p.Failed > 0 {
		t += fmt.Sprintf(", %d failed", p.Failed)
	}
	return t + rateText(p)
}

// rateText is a running sync's events per second and time left, once it has a rate:
// ", 41/s, ETA 1m25s".
func rateText(p syncer.Progress) string {
	eta, ok := p.ETA()
	if !ok {
		return ""
	}
	r := p.Rate()
	if r >= 100 {
		return fmt.Sprintf(", %.0f/s, ETA %s", r, eta)
	}
	return fmt.Sprintf(", %.1f/s, ETA %s", r, eta)
}

// arrow is a run's direction with its mark: "↑ push ".
func arrow(dir store.Direction) string {
	if m := dirMark(dir); m != "" {
		return m + " " + string(dir) + " "
	}
	return string(dir) + " "
}

// dirMark is ↓ for a pull, ↑ for a push.
func dirMark(dir store.Direction) string {
	switch dir {
	case store.DirPull:
		return "↓"
	case store.DirPush:
		return "↑"
	}
	return ""
}

func shortUUID(u string) string {
	if len(u) >= 8 {
		return u[:8]
	}
	return u
}

// fit makes text exactly w x h: lines cut with … and padded, missing lines added.
func fit(text string, w, h int) string {
	lines := strings.Split(text, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	for i, l := range lines {
		lines[i] = pad(ansi.Truncate(l, w, "…"), w)
	}
	return strings.Join(lines, "\n")
}

// pad adds spaces to reach w cells.
func pad(s string, w int) string {
	if n := ansi.StringWidth(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

func widthOf(s string) int { return ansi.StringWidth(s) }

// inputView renders a text input in exactly w cells (the input draws its
// cursor one cell past its width).
func inputView(in *textinput.Model, w int) string {
	in.SetWidth(max(w-len([]rune(in.Prompt))-1, 1))
	return pad(ansi.Truncate(in.View(), w, ""), w)
}
