package tui

import (
	"fmt"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"mispdesk/store"
)

// Discussions (MISP's threads, forums not tied to an event) and the comments threads of
// events, as threads/index lists them: enter opens one, n starts a topic. Neither is
// ever sent to another server.
type discussionsScreen struct {
	c       *Context
	threads []store.Thread
	last    map[int64]store.Post
	err     error
	loaded  bool
	sel     int
	scroll  scroller
	keys    discussionsKeys
}

type discussionsKeys struct{ Up, Down, Open, New, Reload, Back key.Binding }

func (k discussionsKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Open, k.New, k.Reload, k.Back}
}
func (k discussionsKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down}, {k.Open, k.New, k.Reload, k.Back}}
}

func newDiscussionsScreen(c *Context) *discussionsScreen {
	return &discussionsScreen{c: c, keys: discussionsKeys{
		Up: keyUp, Down: keyDown,
		Open:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("⏎", "open")),
		New:    key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new topic")),
		Reload: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reload")),
		Back:   key.NewBinding(key.WithKeys("esc", "q"), key.WithHelp("esc", "back")),
	}}
}

func (d *discussionsScreen) Title() string { return "Discussions" }
func (d *discussionsScreen) Keys() KeyHelp { return d.keys }
func (d *discussionsScreen) Init() tea.Cmd { return loadThreads(d.c.Ctx, d.c.Store) }
func (*discussionsScreen) view()           {}

func (d *discussionsScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case threadsMsg:
		d.loaded, d.err, d.threads, d.last = true, msg.err, msg.threads, msg.last
		d.sel = max(min(d.sel, len(d.threads)-1), 0)
	case collabDoneMsg:
		return d.Init()
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, d.keys.Back):
			return closeScreen
		case key.Matches(msg, d.keys.Up):
			d.sel = max(d.sel-1, 0)
		case key.Matches(msg, d.keys.Down):
			d.sel = min(d.sel+1, max(len(d.threads)-1, 0))
		case key.Matches(msg, d.keys.Reload):
			return d.Init()
		case key.Matches(msg, d.keys.New):
			return openScreen(newTopicForm(d.c))
		case key.Matches(msg, d.keys.Open) && d.sel < len(d.threads):
			return openScreen(newThreadScreen(d.c, d.threads[d.sel]))
		}
	}
	return nil
}

func (d *discussionsScreen) View(w, h int) string {
	s := d.c.Styles
	if v, ok := s.listState(d.err, d.loaded, len(d.threads), "Loading discussions…",
		"No discussions yet: n starts one. They stay on this instance."); ok {
		return v
	}
	lines := []string{" " + s.Dim.Render(pad("TITLE", 44)+" "+pad("POSTS", 5)+" LAST POST")}
	for i, t := range d.threads {
		title := clean(t.Title)
		if t.EventID != 0 {
			title = "◆ " + title
		}
		last := ""
		if p, ok := d.last[t.ID]; ok {
			last = clean(p.UserEmail) + " · " + ago(d.c.Now(), time.Unix(p.DateCreated, 0))
		}
		line := " " + pad(truncate(title, 44), 44) + " " + pad(fmt.Sprint(t.PostCount), 5) + " " + s.Dim.Render(last)
		if i == d.sel {
			line = s.Selected.Render(pad(ansi.Truncate(ansi.Strip(line), w, "…"), w))
		} else {
			line = ansi.Truncate(line, w, "…")
		}
		lines = append(lines, line)
	}
	d.scroll.off = max(d.sel+2-h, 0)
	return d.scroll.window(s, lines, w, h)
}

// threadScreen is one thread with its posts; r replies.
type threadScreen struct {
	c      *Context
	thread store.Thread
	posts  []store.Post
	err    error
	scroll scroller
	keys   threadKeys
}

type threadKeys struct{ Reply, Back key.Binding }

func (k threadKeys) ShortHelp() []key.Binding { return []key.Binding{k.Reply, keyDown, keyUp, k.Back} }
func (k threadKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{keyUp, keyDown, keyPgUp, keyPgDown}, {k.Reply, k.Back}}
}

func newThreadScreen(c *Context, t store.Thread) *threadScreen {
	return &threadScreen{c: c, thread: t, keys: threadKeys{
		Reply: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reply")),
		Back:  key.NewBinding(key.WithKeys("esc", "q"), key.WithHelp("esc", "back")),
	}}
}

func (t *threadScreen) Title() string { return truncate(clean(t.thread.Title), 40) }
func (t *threadScreen) Keys() KeyHelp { return searchable{t.keys} }
func (t *threadScreen) Init() tea.Cmd { return loadPosts(t.c.Ctx, t.c.Store, t.thread.ID, "") }
func (*threadScreen) view()           {}

// Capturing: the search input has focus.
func (t *threadScreen) Capturing() bool { return t.scroll.Capturing() }

func (t *threadScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case postsMsg:
		if msg.eventUUID == "" && msg.threadID == t.thread.ID {
			t.err, t.posts = msg.err, msg.posts
			if msg.thread != nil {
				t.thread = *msg.thread
			}
		}
	case collabDoneMsg:
		return t.Init()
	case tea.KeyPressMsg:
		if cmd, ok := t.scroll.search(t.c.Styles, msg); ok {
			return cmd
		}
		switch {
		case key.Matches(msg, t.keys.Back):
			return closeScreen
		case key.Matches(msg, t.keys.Reply):
			return openScreen(newPostForm(t.c, "Reply", "In "+truncate(clean(t.thread.Title), 60)+".", t.thread.ID, "", false))
		}
		t.scroll.key(msg)
	}
	return nil
}

func (t *threadScreen) View(w, h int) string {
	s := t.c.Styles
	if t.err != nil {
		return "\n " + s.errorLine(t.err)
	}
	lines := []string{" " + s.Title.Render(truncate(clean(t.thread.Title), w-2)),
		" " + s.Dim.Render(fmt.Sprintf("started by %s · %d posts · r replies", clean(t.thread.OrgName), t.thread.PostCount)), ""}
	for i := range t.posts {
		lines = append(lines, postLines(t.c, &t.posts[i], w, " ")...)
		lines = append(lines, "")
	}
	return t.scroll.window(s, lines, w, h)
}

// newPostForm writes a post: a reply in threadID, a comment on eventUUID, or with
// withTitle a new discussion.
func newPostForm(c *Context, title, intro string, threadID int64, eventUUID string, withTitle bool) *miniForm {
	var fields []*formField
	if withTitle {
		fields = append(fields, textFormField(c, "title", "Title", "what the discussion is about", 255))
	}
	fields = append(fields, textFormField(c, "message", "Message", "your post", store.MaxPostBytes))
	f := newMiniForm(c, title, intro, fields)
	f.check = func(f *miniForm) map[string]string {
		errs := map[string]string{}
		if withTitle && f.value("title") == "" {
			errs["title"] = "A new discussion needs a title."
		}
		if f.value("message") == "" {
			errs["message"] = "Cannot post an empty message."
		}
		if len(errs) == 0 {
			return nil
		}
		return errs
	}
	f.save = func(f *miniForm) tea.Cmd {
		return addPost(c.Ctx, c.Store, threadID, eventUUID, f.value("title"), f.value("message"), f)
	}
	return f
}

func newTopicForm(c *Context) *miniForm {
	return newPostForm(c, "New discussion", "A discussion for the users of this instance's organisations; it stays on this instance.", 0, "", true)
}
