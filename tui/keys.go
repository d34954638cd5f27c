package tui

import "charm.land/bubbles/v2/key"

// GlobalKeys are the keys every pane shares. The help footer and the ? overlay
// are built from these bindings and the focused pane's, never written by hand.
type GlobalKeys struct {
	Pane1, Pane2, Pane3, Pane4 key.Binding
	Next, Prev                 key.Binding
	Command, Help, Back, Quit  key.Binding
	Messages                   key.Binding
	ForceQuit                  key.Binding
}

func newGlobalKeys() *GlobalKeys {
	return &GlobalKeys{
		Pane1:     key.NewBinding(key.WithKeys("1"), key.WithHelp("1", "servers")),
		Pane2:     key.NewBinding(key.WithKeys("2"), key.WithHelp("2", "events")),
		Pane3:     key.NewBinding(key.WithKeys("3"), key.WithHelp("3", "rules")),
		Pane4:     key.NewBinding(key.WithKeys("4"), key.WithHelp("4", "log")),
		Next:      key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		Prev:      key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous pane")),
		Command:   key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "command")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Messages:  key.NewBinding(key.WithKeys("!"), key.WithHelp("!", "messages")),
		Back:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQuit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	}
}

// paneKeys returns the jump keys in tab order.
func (k *GlobalKeys) paneKeys() []key.Binding {
	return []key.Binding{k.Pane1, k.Pane2, k.Pane3, k.Pane4}
}

// Full is the global column of the help overlay.
func (k *GlobalKeys) Full() [][]key.Binding {
	return [][]key.Binding{
		{k.Pane1, k.Pane2, k.Pane3, k.Pane4, k.Next, k.Prev},
		{k.Command, k.Help, k.Messages, k.Back, k.Quit, k.ForceQuit},
	}
}

// Shared movement keys, for panes and lists.
var (
	keyUp     = key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("↑/k", "up"))
	keyDown   = key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("↓/j", "down"))
	keyTop    = key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top"))
	keyBottom = key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom"))
	keyPgUp   = key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up"))
	keyPgDown = key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down"))
	keyEnter  = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details"))
	keyFilter = key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter"))
)

// Search keys, in the Log pane and every detail that scrolls (see finder).
var (
	keySearch      = key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search"))
	keyNextMatch   = key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next match"))
	keyPrevMatch   = key.NewBinding(key.WithKeys("N"), key.WithHelp("N", "previous match"))
	keyClearSearch = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear search"))
)

// searchKeys are the search keys as a column of the help overlay (esc, which
// clears the search before it goes back, is the screen's own).
func searchKeys() []key.Binding { return []key.Binding{keySearch, keyNextMatch, keyPrevMatch} }

// searchable adds the search keys to a screen's help: / on its footer, all of
// them in the ? overlay.
type searchable struct{ KeyHelp }

func (k searchable) ShortHelp() []key.Binding { return append(k.KeyHelp.ShortHelp(), keySearch) }
func (k searchable) FullHelp() [][]key.Binding {
	return append(k.KeyHelp.FullHelp(), searchKeys())
}
