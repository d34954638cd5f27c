package tui

import (
	"context"
	"errors"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"mispdesk/store"
	"mispdesk/syncer"
)

type mode int

const (
	modeLoading mode = iota
	modeFirstRun
	modeReady
	modeFatal
)

// model is the root: it owns the Context, routes messages, runs the console's
// syncs and lays out the frame. Panes and screens do the rest.
type model struct {
	c    *Context
	opts Options
	mode mode
	err  error

	first   *firstRun
	panes   []Pane
	active  int
	screens []Screen
	cmdline *cmdLine

	width, height int
	help          help.Model
	spin          spinner.Model
	spinning      bool

	flashLevel store.Level
	flashText  string
	flashGen   int
	notes      notices

	progCh    chan progressMsg
	busCh     <-chan store.LogEntry
	unsub     func()
	tailAfter int64
	tailBusy  bool
	tailOn    bool
	nextRun   int

	// leader: this process's engine holds the syncer lease (Engine.IsLeader,
	// read on each refresh tick); daemonSince: when the daemon was started.
	leader      bool
	daemonSince time.Time
}

func newModel(ctx context.Context, st *store.Store, eng *syncer.Engine, opts Options) *model {
	c := &Context{
		Ctx:    ctx,
		Store:  st,
		Engine: eng,
		Styles: opts.Config.theme(NewStyles(true)), // dark until the terminal says otherwise
		Keys:   newGlobalKeys(),
		Now:    time.Now,
		Stats:  map[store.ServerID]store.OutboxStat{},
	}
	m := &model{c: c, opts: opts, help: help.New(), progCh: make(chan progressMsg, 64)}
	m.help.Styles = c.Styles.Help
	m.spin = spinner.New(spinner.WithSpinner(spinner.Line))
	for _, mk := range panes {
		m.panes = append(m.panes, mk(c))
	}
	opts.Config.rebind(c.Keys, m.panes)
	if opts.Daemon {
		m.daemonSince = time.Now()
	}
	return m
}

// shutdown ends what the model started outside the program: the bus
// subscription and the console's runs.
func (m *model) shutdown() {
	if m.unsub != nil {
		m.unsub()
		m.unsub = nil
	}
	for _, r := range m.c.Runs {
		r.cancel()
	}
}

func (m *model) Init() tea.Cmd {
	cmds := []tea.Cmd{loadInstance(m.c.Ctx, m.c.Store), tea.RequestBackgroundColor, waitProgress(m.progCh)}
	if err := m.opts.ConfigErr; err != nil {
		cmds = append(cmds, flash(store.LevelWarn, "Config not used, defaults kept: %s", oneLine(err.Error())))
	}
	return tea.Batch(cmds...)
}

// ready starts the console proper, once the instance exists.
func (m *model) ready() tea.Cmd {
	m.mode = modeReady
	m.first = nil
	cmds := []tea.Cmd{loadServers(m.c.Ctx, m.c.Store), loadLogBacklog(m.c.Ctx, m.c.Store), refreshTick()}
	if m.c.Engine != nil && m.busCh == nil {
		m.busCh, m.unsub = m.c.Engine.Bus().Subscribe(1024)
		cmds = append(cmds, waitBus(m.busCh))
	}
	for _, p := range m.panes {
		cmds = append(cmds, p.Init())
	}
	return tea.Batch(cmds...)
}

func (m *model) activePane() Pane { return m.panes[m.active] }

// onLog: the Log pane is in view (its badge is seen).
func (m *model) onLog() bool {
	return m.mode == modeReady && m.topScreen() == nil && m.activePane().Title() == "Log"
}

// seen clears the Log tab's badge once the Log pane is in view.
func (m *model) seen() {
	if m.onLog() {
		m.notes.warn, m.notes.errs = 0, 0
	}
}

func (m *model) topScreen() Screen {
	if n := len(m.screens); n > 0 {
		return m.screens[n-1]
	}
	return nil
}

// running reports the console's syncs in flight.
func (m *model) running() int { return len(m.c.Runs) }

func (m *model) startRun(sv store.Server, dir store.Direction) tea.Cmd {
	for _, r := range m.c.Runs {
		if r.ServerID == sv.ID && r.Direction == dir {
			return flash(store.LevelWarn, "A %s of %s is already running (x cancels it)", dir, clean(sv.Name))
		}
	}
	m.nextRun++
	ctx, cancel := context.WithCancel(m.c.Ctx)
	r := &SyncRun{ID: m.nextRun, ServerID: sv.ID, Server: sv.Name, Direction: dir, Started: m.c.Now(), cancel: cancel}
	m.c.Runs = append(m.c.Runs, r)
	return tea.Batch(runSync(ctx, m.c.Engine, r, m.progCh), m.startSpinner(),
		flash(store.LevelInfo, "%s %s started", titleCase(string(dir)), clean(sv.Name)))
}

func (m *model) cancelRun(id int) tea.Cmd {
	if len(m.c.Runs) == 0 {
		return flash(store.LevelWarn, "No sync is running")
	}
	r := m.c.Runs[len(m.c.Runs)-1]
	for _, x := range m.c.Runs {
		if x.ID == id {
			r = x
		}
	}
	r.Cancelled = true
	r.cancel()
	return flash(store.LevelWarn, "Cancelling the %s of %s…", r.Direction, clean(r.Server))
}

func (m *model) finishRun(msg runDoneMsg) tea.Cmd {
	var r *SyncRun
	for i, x := range m.c.Runs {
		if x.ID == msg.runID {
			r = x
			m.c.Runs = append(m.c.Runs[:i], m.c.Runs[i+1:]...)
			break
		}
	}
	if r == nil {
		return nil
	}
	r.cancel()
	reload := loadServers(m.c.Ctx, m.c.Store)
	switch {
	case r.Cancelled && (msg.err == nil || errors.Is(msg.err, context.Canceled)):
		return tea.Batch(reload, flash(store.LevelWarn, "%s %s cancelled", titleCase(string(r.Direction)), clean(r.Server)))
	case errors.Is(msg.err, syncer.ErrBusy):
		return tea.Batch(reload, flash(store.LevelWarn, "A %s of %s is already running in this process", r.Direction, clean(r.Server)))
	case msg.err != nil:
		return tea.Batch(reload, flash(store.LevelError, "%s", oneLine(msg.err.Error())))
	case msg.sum != nil && msg.sum.Failed > 0:
		return tea.Batch(reload, flash(store.LevelError, "%s", oneLine(msg.sum.Line())))
	case msg.sum != nil:
		return tea.Batch(reload, flash(store.LevelInfo, "%s", oneLine(msg.sum.Line())))
	}
	return reload
}

func (m *model) startSpinner() tea.Cmd {
	if m.spinning {
		return nil
	}
	m.spinning = true
	return m.spin.Tick
}

func (m *model) setFlash(level store.Level, text string) tea.Cmd {
	m.notes.remember(m.c.Now(), level, text)
	m.flashGen++
	m.flashLevel, m.flashText = level, text
	if level == store.LevelError {
		return nil // errors stay until replaced or dismissed with esc
	}
	gen := m.flashGen
	return tick(6*time.Second, func(time.Time) tea.Msg { return flashClearMsg{gen} })
}

func (m *model) setDark(dark bool) {
	m.c.Styles = m.opts.Config.theme(NewStyles(dark))
	m.help.Styles = m.c.Styles.Help
}

// noteLeader reads whether this process runs the outbox now.
func (m *model) noteLeader() {
	if m.c.Engine != nil {
		m.leader = m.c.Engine.IsLeader()
	}
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
