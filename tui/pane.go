package tui

import (
	"context"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"mispdesk/store"
	"mispdesk/syncer"
)

// Pane is one tab of the console (Servers, Events, Rules, Log).
//
// To add a pane: write one file with a type that implements Pane and a
// constructor func(*Context) Pane, and put the constructor in panes (below)
// at its tab position. The root does the rest: the tab bar, the number key,
// the footer and the help overlay (from Keys), routing.
//
// Routing: every message that is not a key goes to every pane and every open
// screen (data arrives as messages: serversMsg, logEntriesMsg, runsMsg…; take
// what you need, ignore the rest). Keys go to the open screen if any, else to
// the command line if open, else to the focused pane when it Captures (a
// text input has focus), else to the global keys, else to the focused pane.
// A pane never does I/O in Update or View: it returns a tea.Cmd (see cmds.go)
// whose result comes back as a message. It asks the root for shared things
// with intent messages: openScreenMsg, flash, startRunMsg, confirm.
type Pane interface {
	// Title is the tab's name ("Servers").
	Title() string
	// Init starts the pane's own loading, once, when the console is ready.
	Init() tea.Cmd
	// Update handles a message; the pane changes itself (pointer receiver).
	Update(msg tea.Msg) tea.Cmd
	// View renders the pane in exactly width x height cells.
	View(width, height int) string
	// Keys are the pane's bindings: ShortHelp for the footer, FullHelp for ?.
	Keys() KeyHelp
	// Capturing reports that a text input of the pane has focus: global
	// single-letter keys must not fire.
	Capturing() bool
}

// KeyHelp is what help.Model renders (it is help.KeyMap).
type KeyHelp interface {
	ShortHelp() []key.Binding
	FullHelp() [][]key.Binding
}

// Screen is a full-pane view opened over the panes (a form, the connection
// test, a detail, a confirmation, the help). The newest open screen gets the
// keys; it closes itself by returning closeScreen.
type Screen interface {
	Title() string
	Update(msg tea.Msg) tea.Cmd
	View(width, height int) string
	Keys() KeyHelp
}

// viewer marks a Screen that only shows (an event, a log entry, a server):
// no text input has focus, so the pane keys 1–4, : and ! work over it.
type viewer interface{ view() }

// panes lists the console's panes in tab order: the number keys 1–4 jump to
// them. Replace a placeholder by the real pane's constructor.
var panes = []func(*Context) Pane{
	newServersPane,
	newEventsPane,
	newRulesPane,
	newLogPane,
}

// Context is what panes and screens share: the store and the engine (only
// ever used inside commands), the styles, the instance, the latest servers and
// outbox counts, and the console's running syncs. The root owns it and updates
// it before passing messages on.
type Context struct {
	Ctx    context.Context
	Store  *store.Store
	Engine *syncer.Engine
	Styles *Styles
	Keys   *GlobalKeys
	Now    func() time.Time

	Instance *store.Instance
	// Servers and Stats are the latest load (serversMsg), Stats by server id.
	Servers []store.Server
	Stats   map[store.ServerID]store.OutboxStat
	// Health is each server's health as the process running its sync last stored it.
	Health map[store.ServerID]syncer.PeerHealth
	// Throughput counts the events moved and failed per minute, from the stored sync log.
	Throughput throughput
	// Runs are the pulls and pushes started from this console, oldest first.
	Runs []*SyncRun
}

// serverByName finds a loaded server by name (case-insensitive), or nil.
func (c *Context) serverByName(name string) *store.Server {
	for i := range c.Servers {
		if equalFold(c.Servers[i].Name, name) {
			return &c.Servers[i]
		}
	}
	return nil
}

// run is the newest console run of a server, or nil.
func (c *Context) run(id store.ServerID) *SyncRun {
	var r *SyncRun
	for _, x := range c.Runs {
		if x.ServerID == id {
			r = x
		}
	}
	return r
}

// SyncRun is a pull or push started from the console.
type SyncRun struct {
	ID        int
	ServerID  store.ServerID
	Server    string
	Direction store.Direction
	Started   time.Time
	Progress  syncer.Progress
	cancel    context.CancelFunc
	Cancelled bool
}

// Intent messages: a pane or screen asks the root.
type (
	// openScreenMsg opens a screen over the panes.
	openScreenMsg struct{ screen Screen }
	// closeScreenMsg closes the newest screen.
	closeScreenMsg struct{}
	// flashMsg puts a message on the status line.
	flashMsg struct {
		level store.Level
		text  string
	}
	// startRunMsg starts a pull or push of a server.
	startRunMsg struct {
		server    store.Server
		direction store.Direction
	}
	// cancelRunMsg cancels a console run (0: the newest).
	cancelRunMsg struct{ id int }
	// testConnMsg opens the connection test of a server.
	testConnMsg struct{ server store.Server }
	// focusPaneMsg switches to the pane with this title.
	focusPaneMsg struct{ title string }
)

func openScreen(s Screen) tea.Cmd { return func() tea.Msg { return openScreenMsg{s} } }

func closeScreen() tea.Msg { return closeScreenMsg{} }

func flash(level store.Level, format string, args ...any) tea.Cmd {
	text := format
	if len(args) > 0 {
		text = sprintf(format, args...)
	}
	return func() tea.Msg { return flashMsg{level, text} }
}
