package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/table"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"mispdesk/store"
	"mispdesk/syncer"
	"mispdesk/syncer/remote"
)

// serversPane lists the sync links: name, URL, remote org, push/pull and
// internal flags, the outbox queue and failures, and the last result of each.
type serversPane struct {
	c      *Context
	table  table.Model
	keys   serverKeys
	loaded bool
	err    error

	filter    textinput.Model
	filtering bool
	shown     []store.Server // the rows, after the filter, in the sort's order

	// sort is the sorted column (an index of serverSorts), -1 the order they were added
	sort int
	asc  bool

	// last results seen in the sync log, by server id
	lastPull, lastPush, lastTest map[store.ServerID]store.LogEntry

	// feeds is the feeds section, shown instead of the servers while showFeeds.
	feeds     *feedsView
	showFeeds bool
}

type serverKeys struct {
	Up, Down, Add, Edit, Delete, Pull, Push, Test, Retry, Details, Filter, Feeds, Sort, Reverse key.Binding
}

func (k serverKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Add, pullPushHelp, k.Test, k.Retry, k.Edit, k.Delete, k.Feeds}
}

// pullPushHelp is p and P in one footer entry.
var pullPushHelp = key.NewBinding(key.WithKeys("p", "P"), key.WithHelp("p/P", "pull/push"))

func (k serverKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.Details, k.Filter, k.Sort, k.Reverse}, {k.Add, k.Edit, k.Delete}, {k.Pull, k.Push, k.Test, k.Retry, k.Feeds}}
}

func newServersPane(c *Context) Pane {
	p := &serversPane{
		c: c,
		keys: serverKeys{
			Up:      keyUp,
			Down:    keyDown,
			Add:     key.NewBinding(key.WithKeys("a", "n"), key.WithHelp("a", "add")),
			Edit:    key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit")),
			Delete:  key.NewBinding(key.WithKeys("d", "delete"), key.WithHelp("d", "delete")),
			Pull:    key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pull")),
			Push:    key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "push")),
			Test:    key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "test")),
			Retry:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "retry now")),
			Details: key.NewBinding(key.WithKeys("enter"), key.WithHelp("⏎", "details")),
			Filter:  keyFilter,
			Feeds:   key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "feeds")),
			Sort:    key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort column")),
			Reverse: key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "reverse sort")),
		},
		sort:     -1,
		feeds:    newFeedsView(c),
		lastPull: map[store.ServerID]store.LogEntry{},
		lastPush: map[store.ServerID]store.LogEntry{},
		lastTest: map[store.ServerID]store.LogEntry{},
	}
	km := table.KeyMap{
		LineUp:     keyUp,
		LineDown:   keyDown,
		PageUp:     keyPgUp,
		PageDown:   keyPgDown,
		GotoTop:    keyTop,
		GotoBottom: keyBottom,
	}
	p.table = table.New(table.WithKeyMap(km), table.WithFocused(true), table.WithStyles(c.Styles.Table))
	p.setColumns(80)
	p.filter = newInput(c.Styles, "/", "name, URL or org", 200)
	return p
}

func (p *serversPane) Title() string { return "Servers" }
func (p *serversPane) Init() tea.Cmd { return loadFeeds(p.c.Ctx, p.c.Store) }

func (p *serversPane) Keys() KeyHelp {
	if p.showFeeds {
		return p.feeds.keys
	}
	return p.keys
}
func (p *serversPane) Capturing() bool { return p.filtering }

// keyMaps: the Servers pane's keys and its feeds section's, for a Config to rebind.
func (p *serversPane) keyMaps() map[string]any {
	return map[string]any{"servers": &p.keys, "feeds": &p.feeds.keys}
}

// rebound: the table moves with the pane's up and down keys, as a Config set them.
func (p *serversPane) rebound() {
	p.table.KeyMap.LineUp, p.table.KeyMap.LineDown = p.keys.Up, p.keys.Down
}

// selected is the server under the cursor, or nil.
func (p *serversPane) selected() *store.Server {
	i := p.table.Cursor()
	if i < 0 || i >= len(p.shown) {
		return nil
	}
	return &p.shown[i]
}

func (p *serversPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case serversMsg:
		p.loaded, p.err = true, msg.err
		p.rebuild()
	case logEntriesMsg:
		for _, e := range msg.entries {
			p.noteResult(e)
		}
		p.rebuild()
	case progressMsg, runDoneMsg:
		p.rebuild() // a run's progress on its row
	case feedsMsg, feedFetchedMsg, feedChangedMsg:
		return p.feeds.Update(msg)
	case tea.KeyPressMsg:
		if p.showFeeds && !p.filtering {
			if key.Matches(msg, p.feeds.keys.Back) {
				p.showFeeds = false
				return nil
			}
			return p.feeds.key(msg)
		}
		return p.key(msg)
	}
	return nil
}

// noteResult keeps the last outcome of each server's pulls, pushes and tests.
func (p *serversPane) noteResult(e store.LogEntry) {
	if e.ServerID == 0 {
		return
	}
	switch {
	case e.Direction == store.DirPull && e.Outcome == store.OutcomeFinished:
		p.lastPull[e.ServerID] = e
	case e.Direction == store.DirPush && (e.Outcome == store.OutcomeFinished || e.EventUUID != "" || e.Level == store.LevelError):
		p.lastPush[e.ServerID] = e
	case e.Direction == store.DirTest && (e.Outcome == store.OutcomeTested || e.Outcome == store.OutcomeFailed):
		p.lastTest[e.ServerID] = e
	}
}

func (p *serversPane) key(msg tea.KeyPressMsg) tea.Cmd {
	if p.filtering {
		switch msg.String() {
		case "esc":
			p.filtering = false
			p.filter.SetValue("")
			p.filter.Blur()
		case "enter":
			p.filtering = false
			p.filter.Blur()
		default:
			var cmd tea.Cmd
			p.filter, cmd = p.filter.Update(msg)
			p.rebuild()
			return cmd
		}
		p.rebuild()
		return nil
	}
	sv := p.selected()
	switch {
	case key.Matches(msg, p.keys.Filter):
		p.filtering = true
		return p.filter.Focus()
	case msg.String() == "esc" && p.filter.Value() != "":
		p.filter.SetValue("")
		p.rebuild()
		return nil
	case key.Matches(msg, p.keys.Add):
		return openScreen(newServerForm(p.c, nil))
	case key.Matches(msg, p.keys.Feeds):
		p.showFeeds = true
		return loadFeeds(p.c.Ctx, p.c.Store)
	case key.Matches(msg, p.keys.Sort):
		p.sort++
		if p.sort == len(serverSorts) {
			p.sort = -1
		}
		p.asc = p.sort >= 0 && serverSorts[p.sort].asc
		p.rebuild()
		return flash(store.LevelInfo, "Servers: %s", p.sortText())
	case key.Matches(msg, p.keys.Reverse) && p.sort >= 0:
		p.asc = !p.asc
		p.rebuild()
		return flash(store.LevelInfo, "Servers: %s", p.sortText())
	}
	if sv == nil {
		if key.Matches(msg, p.keys.Edit, p.keys.Delete, p.keys.Pull, p.keys.Push, p.keys.Test, p.keys.Retry, p.keys.Details) {
			return flash(store.LevelWarn, "No server selected: press a to add one")
		}
		return nil
	}
	s := *sv
	switch {
	case key.Matches(msg, p.keys.Edit):
		return openScreen(newServerForm(p.c, &s))
	case key.Matches(msg, p.keys.Delete):
		return confirmDelete(p.c, s)
	case key.Matches(msg, p.keys.Pull):
		if !s.Pull {
			return flash(store.LevelWarn, "Pull is off for %s: edit it (e) to allow pulls", clean(s.Name))
		}
		return func() tea.Msg { return startRunMsg{s, store.DirPull} }
	case key.Matches(msg, p.keys.Push):
		if !s.Push {
			return flash(store.LevelWarn, "Push is off for %s: edit it (e) to allow pushes", clean(s.Name))
		}
		return func() tea.Msg { return startRunMsg{s, store.DirPush} }
	case key.Matches(msg, p.keys.Test):
		return func() tea.Msg { return testConnMsg{s} }
	case key.Matches(msg, p.keys.Retry):
		if h := p.c.Health[s.ID]; !h.Blocked() && p.c.Stats[s.ID].Failing == 0 {
			return flash(store.LevelInfo, "%s is %s: nothing waits for a retry", clean(s.Name), healthText(h))
		}
		return resumeServer(p.c, s)
	case key.Matches(msg, p.keys.Details):
		return openScreen(newServerDetail(p.c, s, p.lastPull[s.ID], p.lastPush[s.ID], p.lastTest[s.ID]))
	}
	var cmd tea.Cmd
	p.table, cmd = p.table.Update(msg)
	return cmd
}

func confirmDelete(c *Context, sv store.Server) tea.Cmd {
	q := fmt.Sprintf("Delete the server %s (%s)? Its queued pushes and sharing-group memberships go with it. This cannot be undone.",
		clean(sv.Name), clean(sv.URL))
	if st, ok := c.Stats[sv.ID]; ok && st.Queued > 0 {
		q += fmt.Sprintf(" %d pushes are queued for it.", st.Queued)
	}
	return openScreen(newConfirm(c, "Delete server", q, sv.Name, deleteServer(c.Ctx, c.Store, sv)))
}

// rebuild recomputes the rows from the loaded servers and the filter.
func (p *serversPane) rebuild() {
	f := strings.ToLower(strings.TrimSpace(p.filter.Value()))
	p.shown = p.shown[:0]
	for _, sv := range p.c.Servers {
		if f != "" && !strings.Contains(strings.ToLower(sv.Name+" "+sv.URL+" "+sv.RemoteOrg.Name), f) {
			continue
		}
		p.shown = append(p.shown, sv)
	}
	if p.sort >= 0 {
		by := serverSorts[p.sort].cmp
		slices.SortStableFunc(p.shown, func(a, b store.Server) int {
			if p.asc {
				return by(p, a, b)
			}
			return by(p, b, a)
		})
	}
	rows := make([]table.Row, 0, len(p.shown))
	for _, sv := range p.shown {
		sync := ""
		if sv.Push {
			sync += "↑"
		} else {
			sync += "·"
		}
		if sv.Pull {
			sync += "↓"
		} else {
			sync += "·"
		}
		if sv.Internal {
			sync += " int"
		}
		st := p.c.Stats[sv.ID]
		queue := fmt.Sprintf("%d/%d", st.Queued, st.Failing)
		last := p.lastResult(sv.ID)
		if r := p.c.run(sv.ID); r != nil {
			last = fmt.Sprintf("%s %d/%d", dirMark(r.Direction), r.Progress.Done, r.Progress.Total) // what runs now
		}
		if h := p.c.Health[sv.ID]; h.State != "" && h.State != syncer.PeerUp {
			last = shortHealth(h) // what is wrong now, before what last ran
		}
		rows = append(rows, table.Row{clean(sv.Name), clean(sv.URL), clean(sv.RemoteOrg.Name), sync, queue, last})
	}
	p.table.SetRows(rows)
	if c := p.table.Cursor(); c >= len(rows) || c < 0 {
		p.table.SetCursor(max(len(rows)-1, 0))
	}
}

// lastEntry is the newest of the server's last pull, push and test.
func (p *serversPane) lastEntry(id store.ServerID) store.LogEntry {
	var best store.LogEntry
	for _, e := range []store.LogEntry{p.lastPull[id], p.lastPush[id], p.lastTest[id]} {
		if e.ID > best.ID {
			best = e
		}
	}
	return best
}

// lastResult is the newest of the server's last pull, push and test, short.
func (p *serversPane) lastResult(id store.ServerID) string {
	best := p.lastEntry(id)
	if best.ID == 0 {
		return "-"
	}
	word := "ok"
	switch {
	case best.Level == store.LevelError:
		word = "failed"
	case best.Level == store.LevelWarn:
		word = "warn"
	case best.Outcome == store.OutcomeSkipped:
		word = "skipped" // not sent: no "ok" for what did not go
	}
	return fmt.Sprintf("%s %s %s", best.Direction, word, strings.TrimSuffix(ago(p.c.Now(), best.Time()), " ago"))
}

func (p *serversPane) View(w, h int) string {
	if p.showFeeds {
		return p.feeds.View(w, h)
	}
	s := p.c.Styles
	title := " " + s.Title.Render("Servers") + s.Dim.Render(fmt.Sprintf(" (%d)", len(p.c.Servers)))
	if n := len(p.feeds.feeds); n > 0 {
		title += s.Dim.Render(fmt.Sprintf("  · %d feeds (f)", n))
	}
	if v := p.filter.Value(); v != "" || p.filtering {
		title += s.Dim.Render(fmt.Sprintf("  filter /%s: %d shown", clean(v), len(p.shown)))
	}
	lines := []string{title}
	if p.filtering {
		lines = append(lines, " "+inputView(&p.filter, w-2))
	}
	switch {
	case !p.loaded:
		return strings.Join(append(lines, "", " Loading servers…"), "\n")
	case p.err != nil:
		return strings.Join(append(lines, "", " "+s.errorLine(p.err)), "\n")
	case len(p.c.Servers) == 0:
		return strings.Join(append(lines, "",
			" No servers yet. Press a to add one: the remote's URL, its host organisation",
			" and the authkey of a sync user created for you there."), "\n")
	case len(p.shown) == 0:
		return strings.Join(append(lines, "", " No server matches /"+clean(p.filter.Value())+" (esc clears the filter)"), "\n")
	}
	var detail []string
	if h >= 20 {
		detail = p.summary(w)
	}
	p.setColumns(w)
	p.table.SetHeight(max(h-len(lines)-len(detail), 3))
	p.table.SetStyles(s.Table)
	lines = append(lines, p.table.View())
	return strings.Join(append(lines, detail...), "\n")
}

// summary describes the selected server under the table.
func (p *serversPane) summary(w int) []string {
	s := p.c.Styles
	sv := p.selected()
	if sv == nil {
		return nil
	}
	line := func(label, text string) string { return " " + s.Label.Render(pad(label, 11)) + text }
	res := func(e store.LogEntry) string { return resultText(s, p.c.Now(), e) }
	st := p.c.Stats[sv.ID]
	h := p.c.Health[sv.ID]
	health := healthText(h)
	switch {
	case h.Blocked():
		health = s.Error.Render(health) + s.Dim.Render(" · "+retryText(p.c.Now(), h)+" · r: now")
	case h.State == syncer.PeerDegraded:
		health = s.Warn.Render(health)
	case h.State == syncer.PeerUp:
		health = s.OK.Render(health)
	}
	lines := []string{
		s.Dim.Render(" " + strings.Repeat("─", max(w-2, 0))),
		line("Health", health),
	}
	if r := p.c.run(sv.ID); r != nil {
		lines = append(lines, line("Running", s.Info.Render(arrow(r.Direction))+cmp.Or(strings.TrimSpace(progressText(r.Progress)), "starting…")+s.Dim.Render(" · x on Log cancels")))
	}
	return append(lines,
		line("Last pull", res(p.lastPull[sv.ID])),
		line("Last push", res(p.lastPush[sv.ID])),
		line("Last test", res(p.lastTest[sv.ID])),
		line("Outbox", outboxText(s, st)),
		line("Sync/min", throughputLine(s, &p.c.Throughput, sv.ID, p.c.Now(), min(throughputMinutes, max(w/3, 10)))),
	)
}

// serverSorts are the columns s sorts by, in the order it cycles them.
var serverSorts = []struct {
	title string
	asc   bool // the first direction: names A to Z, queues and results biggest or newest first
	cmp   func(p *serversPane, a, b store.Server) int
}{
	{"Name", true, func(_ *serversPane, a, b store.Server) int {
		return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	}},
	{"URL", true, func(_ *serversPane, a, b store.Server) int {
		return cmp.Compare(strings.ToLower(a.URL), strings.ToLower(b.URL))
	}},
	{"Remote org", true, func(_ *serversPane, a, b store.Server) int {
		return cmp.Compare(strings.ToLower(a.RemoteOrg.Name), strings.ToLower(b.RemoteOrg.Name))
	}},
	{"Q/F", false, func(p *serversPane, a, b store.Server) int {
		sa, sb := p.c.Stats[a.ID], p.c.Stats[b.ID]
		return cmp.Or(cmp.Compare(sa.Failing, sb.Failing), cmp.Compare(sa.Queued, sb.Queued))
	}},
	{"Last result", false, func(p *serversPane, a, b store.Server) int {
		return cmp.Compare(p.lastEntry(a.ID).ID, p.lastEntry(b.ID).ID)
	}},
}

// sortText says the order of the rows: "sorted by Q/F ▼".
func (p *serversPane) sortText() string {
	if p.sort < 0 {
		return "in the order they were added"
	}
	return "sorted by " + serverSorts[p.sort].title + " " + sortMark(p.asc)
}

func (p *serversPane) setColumns(w int) {
	// Each cell has one space of padding each side.
	const cols = 6
	avail := w - 2*cols
	name, url, org, sync, queue := 12, 22, 12, 6, 5
	if w >= 120 {
		name, url, org = 16, 36, 18
	} else if w < 80 {
		name, url, org = 10, 14, 10
	}
	last := max(avail-name-url-org-sync-queue, 8)
	title := func(t string) string { // the sorted column carries ▲ or ▼
		if p.sort >= 0 && serverSorts[p.sort].title == t {
			return t + sortMark(p.asc)
		}
		return t
	}
	p.table.SetColumns([]table.Column{
		{Title: title("Name"), Width: name}, {Title: title("URL"), Width: url}, {Title: title("Remote org"), Width: org},
		{Title: "Sync", Width: sync}, {Title: title("Q/F"), Width: queue}, {Title: title("Last result"), Width: last},
	})
	p.table.SetWidth(w)
}

// resultText is a server's last pull, push or test as its detail shows it: the message,
// cause first and the request it failed on last (the server's name and URL, which the
// place shows already, left out), then how long ago.
func resultText(s *Styles, now time.Time, e store.LogEntry) string {
	if e.ID == 0 {
		return "-"
	}
	return causeText(s, e.Message) + s.Dim.Render(" ("+ago(now, e.Time())+")")
}

// outboxText is a server's queue and the last failure of a queued push, cause first.
func outboxText(s *Styles, st store.OutboxStat) string {
	queue := fmt.Sprintf("%d queued, %d failing", st.Queued, st.Failing)
	if st.LastError != "" {
		queue += ": " + causeText(s, st.LastError)
	}
	return queue
}

// causeText is a failure's text where the server is named already: the cause, then the
// request (method and path) dim, without the server's name and URL.
func causeText(s *Styles, text string) string {
	cause, req := remote.SplitRequest(strings.TrimSpace(text))
	if req == "" {
		return oneLine(cause)
	}
	return oneLine(cause) + s.Dim.Render(" · "+oneLine(req))
}

// ago says how long ago t was, in one short word.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return "now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return t.Format("2006-01-02")
}
