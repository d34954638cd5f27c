package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"mispdesk/store"
	"mispdesk/syncer"
	"mispdesk/syncer/feed"
)

// feedsView is the Servers pane's second section (f toggles it): the feeds
// this box reads — name, source, enabled, last fetch and its result — with
// fetch now (F: the steps show in the Log pane) and enable/disable (space).
type feedsView struct {
	c        *Context
	feeds    []store.Feed
	loaded   bool
	err      error
	cursor   int
	fetching map[store.FeedID]bool
	keys     feedKeys
}

type feedKeys struct {
	Up, Down, Fetch, Toggle, Back key.Binding
}

func (k feedKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Fetch, k.Toggle, k.Back}
}

func (k feedKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down}, {k.Fetch, k.Toggle, k.Back}}
}

type (
	feedsMsg struct {
		feeds []store.Feed
		err   error
	}
	feedFetchedMsg struct {
		id   store.FeedID
		name string
		sum  *feed.FetchSummary
		err  error
	}
	feedChangedMsg struct{ text string }
)

func newFeedsView(c *Context) *feedsView {
	return &feedsView{c: c, fetching: map[store.FeedID]bool{}, keys: feedKeys{
		Up: keyUp, Down: keyDown,
		Fetch:  key.NewBinding(key.WithKeys("F"), key.WithHelp("F", "fetch now")),
		Toggle: key.NewBinding(key.WithKeys("space", "e"), key.WithHelp("space", "enable/disable")),
		Back:   key.NewBinding(key.WithKeys("f", "esc"), key.WithHelp("f", "servers")),
	}}
}

func loadFeeds(ctx context.Context, st *store.Store) tea.Cmd {
	if st == nil {
		return nil
	}
	return func() tea.Msg {
		f, err := st.Feeds(ctx)
		return feedsMsg{f, err}
	}
}

func (v *feedsView) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case feedsMsg:
		v.loaded, v.err = true, msg.err
		if msg.err == nil {
			v.feeds = msg.feeds
		}
		v.cursor = min(v.cursor, max(len(v.feeds)-1, 0))
	case feedFetchedMsg:
		delete(v.fetching, msg.id)
		reload := loadFeeds(v.c.Ctx, v.c.Store)
		switch {
		case msg.err != nil:
			return tea.Batch(reload, flash(store.LevelError, "%s", oneLine(msg.err.Error())))
		case msg.sum != nil && msg.sum.Failed > 0:
			return tea.Batch(reload, flash(store.LevelError, "%s", oneLine(msg.sum.Line())), func() tea.Msg { return eventChangedMsg{text: "Feed " + clean(msg.name) + " fetched"} })
		case msg.sum != nil:
			return tea.Batch(reload, flash(store.LevelInfo, "%s", oneLine(msg.sum.Line())), func() tea.Msg { return eventChangedMsg{text: "Feed " + clean(msg.name) + " fetched"} })
		}
		return reload
	case feedChangedMsg:
		return tea.Batch(loadFeeds(v.c.Ctx, v.c.Store), flash(store.LevelInfo, "%s", msg.text))
	}
	return nil
}

func (v *feedsView) key(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, v.keys.Up):
		v.cursor = max(v.cursor-1, 0)
		return nil
	case key.Matches(msg, v.keys.Down):
		v.cursor = min(v.cursor+1, max(len(v.feeds)-1, 0))
		return nil
	}
	if v.cursor >= len(v.feeds) {
		if key.Matches(msg, v.keys.Fetch, v.keys.Toggle) {
			return flash(store.LevelWarn, "No feed selected: add one with mispdesk feed add")
		}
		return nil
	}
	f := v.feeds[v.cursor]
	switch {
	case key.Matches(msg, v.keys.Fetch):
		if v.c.Engine == nil {
			return flash(store.LevelError, "No sync engine: cannot fetch from here")
		}
		if v.fetching[f.ID] {
			return flash(store.LevelWarn, "%s is being fetched", clean(f.Name))
		}
		v.fetching[f.ID] = true
		return tea.Batch(fetchFeed(v.c.Ctx, v.c.Engine, f), flash(store.LevelInfo, "Fetching %s… (steps in the Log pane, 4)", clean(f.Name)))
	case key.Matches(msg, v.keys.Toggle):
		return setFeedEnabled(v.c.Ctx, v.c.Store, f, !f.Enabled)
	}
	return nil
}

func fetchFeed(ctx context.Context, eng *syncer.Engine, f store.Feed) tea.Cmd {
	return func() tea.Msg {
		sum, err := eng.FetchFeed(ctx, f.ID, nil)
		return feedFetchedMsg{id: f.ID, name: f.Name, sum: sum, err: err}
	}
}

func setFeedEnabled(ctx context.Context, st *store.Store, f store.Feed, on bool) tea.Cmd {
	return func() tea.Msg {
		spec := f.Spec()
		spec.Enabled = on
		if _, err := st.UpdateFeed(ctx, f.ID, spec); err != nil {
			return flashMsg{store.LevelError, oneLine(err.Error())}
		}
		word := "Disabled"
		if on {
			word = "Enabled"
		}
		return feedChangedMsg{word + " feed " + clean(f.Name)}
	}
}

func (v *feedsView) View(w, h int) string {
	s := v.c.Styles
	lines := []string{" " + s.Title.Render("Feeds") + s.Dim.Render(fmt.Sprintf(" (%d)  f: back to the servers", len(v.feeds)))}
	switch {
	case !v.loaded:
		return strings.Join(append(lines, "", " Loading feeds…"), "\n")
	case v.err != nil:
		return strings.Join(append(lines, "", " "+s.errorLine(v.err)), "\n")
	case len(v.feeds) == 0:
		return strings.Join(append(lines, "",
			" No feeds yet. Add one on the command line:",
			"   mispdesk feed add --name NAME --url https://…|DIR [--enabled]",
			"   mispdesk feed add --default \"CIRCL OSINT Feed\"  (MISP's default feeds, disabled)"), "\n")
	}
	nameW, srcW := 16, max(w-16-4-12-30, 12)
	if w >= 110 {
		nameW = 24
		srcW = max(w-nameW-4-14-40, 12)
	}
	lastW := max(w-nameW-srcW-4-14, 10)
	lines = append(lines, s.Bold.Render(" "+cell("Name", nameW)+" "+cell("Source", srcW)+" "+cell("On", 3)+" "+cell("Last fetch", 10)+" "+cell("Result", lastW)))
	for i, f := range v.feeds {
		on := "no"
		if f.Enabled {
			on = "yes"
		}
		last := "never"
		if f.LastFetched > 0 {
			last = strings.TrimSuffix(ago(v.c.Now(), time.Unix(f.LastFetched, 0)), " ago")
		}
		result := oneLine(f.LastResult)
		if v.fetching[f.ID] {
			result = "fetching…"
		}
		src := clean(f.URL)
		if f.InputSource == store.FeedLocal {
			src = "dir " + src
		}
		line := " " + cell(clean(f.Name), nameW) + " " + cell(src, srcW) + " " + cell(on, 3) + " " + cell(last, 10) + " " + cell(result, lastW)
		if i == v.cursor {
			line = s.Selected.Render(pad(line, w))
		}
		lines = append(lines, line)
	}
	if f := v.feeds[v.cursor]; h-len(lines) > 4 {
		lines = append(lines, "", " "+s.Label.Render("Provider   ")+clean(f.Provider),
			" "+s.Label.Render("Brings     ")+f.Distribution.String()+tagSuffix(f.Tag)+cacheNote(f),
			" "+s.Label.Render("Result     ")+oneLine(f.LastResult))
	}
	return strings.Join(lines, "\n")
}

func tagSuffix(t string) string {
	if t == "" {
		return ""
	}
	return ", tagged " + clean(t)
}

func cacheNote(f store.Feed) string {
	if !f.Caching {
		return ", cache off"
	}
	return fmt.Sprintf(", cache %d hashes", f.CacheCount)
}
