package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"mispdesk/store"
	"mispdesk/store/misp"
)

// eventsPane browses the events: a table over the store's listing that never
// holds more than a window of rows around the cursor (100,000 events scroll
// as fast as 10), a live filter (text, org:, tag:, dist:, published:) and a
// sort. enter opens an event; n creates one.
type eventsPane struct {
	c    *Context
	keys eventKeys

	filter    textinput.Model
	filtering bool
	query     string // the filter applied
	parsed    eventQuery
	debounce  int
	sort      int
	asc       bool

	total    int // events matching; -1 before the first count
	win      []store.EventSummary
	winStart int
	outbox   map[string]store.EventOutbox
	pushed   map[string]int // servers each event of the window was pushed to
	cursor   int
	top      int
	rows     int // table rows in the last view
	gen      int // the newest request; older answers are dropped
	loading  bool
	want     int // the window start asked for
	err      error
	dirty    bool // something changed events: reload on the next tick
}

// eventWindow is how many rows the pane holds around the cursor.
const eventWindow = 200

// filterDelay is how long the filter waits after a key before it applies.
const filterDelay = 200 * time.Millisecond

// eventSortNames are the store's sorts, in the order s cycles them; the
// column each sorts (eventCols.sortCol) carries ▲ or ▼.
var eventSortNames = []string{"timestamp", "date", "info", "org", "dist", "attrs", "published"}

type eventKeys struct {
	Up, Down, PgUp, PgDown, Top, Bottom, Open, Filter, Sort, Reverse, New, Refresh, Copy key.Binding
}

func (k eventKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Open, k.Filter, k.Sort, k.New, k.Copy}
}

func (k eventKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.PgUp, k.PgDown, k.Top, k.Bottom}, {k.Open, k.Filter, k.Sort, k.Reverse, k.New, k.Refresh, k.Copy}}
}

func newEventsPane(c *Context) Pane {
	p := &eventsPane{c: c, total: -1, outbox: map[string]store.EventOutbox{}, keys: eventKeys{
		Up: keyUp, Down: keyDown, PgUp: keyPgUp, PgDown: keyPgDown, Top: keyTop, Bottom: keyBottom,
		Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("⏎", "open")),
		Filter:  key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Sort:    key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort column")),
		Reverse: key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "reverse sort")),
		New:     key.NewBinding(key.WithKeys("n", "a"), key.WithHelp("n", "new event")),
		Refresh: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reload")),
		Copy:    key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy UUID")),
	}}
	p.filter = newInput(c.Styles, "/", "text org:NAME tag:NAME dist:0-4|org|comm|conn|all|sg published:yes|no", 300)
	return p
}

func (p *eventsPane) Title() string   { return "Events" }
func (p *eventsPane) Keys() KeyHelp   { return p.keys }
func (p *eventsPane) Capturing() bool { return p.filtering }

// keyMaps: the pane's keys, for a Config to rebind (events.…).
func (p *eventsPane) keyMaps() map[string]any { return map[string]any{"events": &p.keys} }
func (p *eventsPane) Init() tea.Cmd           { return p.reload(true) }

// Messages of the pane.
type (
	eventsPageMsg struct {
		gen, start int
		rows       []store.EventSummary
		outbox     map[string]store.EventOutbox
		pushed     map[string]int
		total      int // -1: not counted
		err        error
	}
	eventsDebounceMsg struct{ gen int }
	// eventChangedMsg says an event was created or changed here: reload.
	eventChangedMsg struct {
		uuid, text string
	}
)

// storeFilter is the listing's filter for the applied query and sort.
func (p *eventsPane) storeFilter() store.EventFilter {
	f := p.parsed.filter
	f.Sort = eventSortNames[p.sort]
	f.Ascending = p.asc
	return f
}

// reload asks for the window around the cursor (and the count when asked).
func (p *eventsPane) reload(count bool) tea.Cmd {
	start := max(p.cursor-eventWindow/2, 0)
	return p.load(start, count)
}

func (p *eventsPane) load(start int, count bool) tea.Cmd {
	if p.c.Store == nil {
		return nil
	}
	p.gen++
	p.loading, p.want = true, start
	gen, f, ctx, st := p.gen, p.storeFilter(), p.c.Ctx, p.c.Store
	if p.parsed.err != "" {
		p.loading = false
		return nil
	}
	return func() tea.Msg {
		msg := eventsPageMsg{gen: gen, start: start, total: -1}
		if count {
			n, err := st.CountEvents(ctx, f)
			if err != nil {
				msg.err = err
				return msg
			}
			msg.total = n
		}
		f.Limit, f.Offset = eventWindow, start
		msg.rows, msg.err = st.ListEvents(ctx, f)
		if msg.err == nil {
			uuids := make([]string, len(msg.rows))
			for i, r := range msg.rows {
				uuids[i] = r.UUID
			}
			msg.outbox, msg.err = st.EventOutboxes(ctx, uuids)
			if msg.err == nil {
				msg.pushed, msg.err = st.EventsPushed(ctx, uuids)
			}
		}
		return msg
	}
}

func (p *eventsPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case eventsPageMsg:
		if msg.gen != p.gen {
			return nil
		}
		p.loading, p.err = false, msg.err
		if msg.err != nil {
			return nil
		}
		p.win, p.winStart, p.outbox, p.pushed = msg.rows, msg.start, msg.outbox, msg.pushed
		if msg.total >= 0 {
			p.total = msg.total
		}
		if p.total >= 0 && p.cursor >= p.total {
			p.cursor = max(p.total-1, 0)
		}
		return p.ensureLoaded()
	case eventsDebounceMsg:
		if msg.gen == p.debounce {
			return p.apply(p.filter.Value())
		}
	case eventChangedMsg, runDoneMsg:
		return p.reload(true)
	case logEntriesMsg:
		for _, e := range msg.entries {
			if e.Outcome == store.OutcomeFinished || e.Outcome == store.OutcomePulled || e.Outcome == store.OutcomeFetched || (e.Direction == store.DirPush && e.EventUUID != "") {
				p.dirty = true
			}
		}
	case refreshTickMsg:
		if p.dirty && !p.loading {
			p.dirty = false
			return p.reload(true)
		}
	case tea.KeyPressMsg:
		return p.key(msg)
	}
	return nil
}

// apply sets the filter text: parsed, then the first page of what matches.
func (p *eventsPane) apply(q string) tea.Cmd {
	q = strings.TrimSpace(q)
	if q == p.query && p.total >= 0 {
		return nil
	}
	p.query = q
	p.parsed = parseEventQuery(q)
	p.cursor, p.top = 0, 0
	p.win, p.winStart, p.total = nil, 0, -1
	return p.load(0, true)
}

func (p *eventsPane) key(msg tea.KeyPressMsg) tea.Cmd {
	if p.filtering {
		switch msg.String() {
		case "esc":
			p.filtering = false
			p.filter.Blur()
			p.filter.SetValue("")
			return p.apply("")
		case "enter":
			p.filtering = false
			p.filter.Blur()
			return p.apply(p.filter.Value())
		}
		before := p.filter.Value()
		var cmd tea.Cmd
		p.filter, cmd = p.filter.Update(msg)
		if p.filter.Value() != before {
			p.debounce++
			gen := p.debounce
			return tea.Batch(cmd, tick(filterDelay, func(time.Time) tea.Msg { return eventsDebounceMsg{gen} }))
		}
		return cmd
	}
	page := max(p.rows-1, 1)
	switch {
	case key.Matches(msg, p.keys.Filter):
		p.filtering = true
		p.filter.SetValue(p.query)
		p.filter.CursorEnd()
		return p.filter.Focus()
	case msg.String() == "esc" && p.query != "":
		p.filter.SetValue("")
		return p.apply("")
	case key.Matches(msg, p.keys.Sort):
		p.sort = (p.sort + 1) % len(eventSortNames)
		p.asc = p.sort == 2 || p.sort == 3 // info and org read A to Z; times and counts biggest first
		p.cursor, p.top = 0, 0
		return p.load(0, false)
	case key.Matches(msg, p.keys.Reverse):
		p.asc = !p.asc
		p.cursor, p.top = 0, 0
		return p.load(0, false)
	case key.Matches(msg, p.keys.New):
		return openScreen(newEventForm(p.c))
	case key.Matches(msg, p.keys.Refresh):
		return p.reload(true)
	case key.Matches(msg, p.keys.Up):
		return p.moveTo(p.cursor - 1)
	case key.Matches(msg, p.keys.Down):
		return p.moveTo(p.cursor + 1)
	case key.Matches(msg, p.keys.PgUp):
		return p.moveTo(p.cursor - page)
	case key.Matches(msg, p.keys.PgDown):
		return p.moveTo(p.cursor + page)
	case key.Matches(msg, p.keys.Top):
		return p.moveTo(0)
	case key.Matches(msg, p.keys.Bottom):
		return p.moveTo(p.total - 1)
	case key.Matches(msg, p.keys.Open):
		if ev := p.selected(); ev != nil {
			return openScreen(newEventDetail(p.c, ev.UUID, ev.Info))
		}
		return nil
	case key.Matches(msg, p.keys.Copy):
		if ev := p.selected(); ev != nil {
			return copyText(ev.UUID+" (event UUID)", ev.UUID)
		}
	}
	return nil
}

// moveTo moves the cursor, and asks for another window when it nears the
// edge of the one held.
func (p *eventsPane) moveTo(i int) tea.Cmd {
	if p.total <= 0 {
		return nil
	}
	p.cursor = min(max(i, 0), p.total-1)
	return p.ensureLoaded()
}

// ensureLoaded asks for the window around the cursor when the rows the view
// shows are not all held (with a margin of a screen).
func (p *eventsPane) ensureLoaded() tea.Cmd {
	if p.total <= 0 {
		return nil
	}
	margin := max(p.rows, 20)
	lo, hi := max(p.cursor-margin, 0), min(p.cursor+margin, p.total-1)
	end := p.winStart + len(p.win)
	if lo >= p.winStart && hi < end {
		return nil
	}
	start := max(p.cursor-eventWindow/2, 0)
	if p.loading && p.want == start {
		return nil
	}
	return p.load(start, false)
}

// row returns the i-th event of the listing, if held.
func (p *eventsPane) row(i int) *store.EventSummary {
	j := i - p.winStart
	if j < 0 || j >= len(p.win) {
		return nil
	}
	return &p.win[j]
}

func (p *eventsPane) selected() *store.EventSummary { return p.row(p.cursor) }

func (p *eventsPane) View(w, h int) string {
	s := p.c.Styles
	title := " " + s.Title.Render("Events")
	switch {
	case p.total >= 0 && p.query != "":
		title += s.Dim.Render(fmt.Sprintf(" (%s match /%s)", thousands(p.total), clean(p.query)))
	case p.total >= 0:
		title += s.Dim.Render(" (" + thousands(p.total) + ")")
	}
	if p.sort == 0 { // the change time is no column: say it in the title
		title += s.Dim.Render("  sort changed " + sortMark(p.asc))
	}
	if p.loading {
		title += s.Dim.Render("  loading…")
	}
	lines := []string{title}
	if p.filtering {
		lines = append(lines, " "+inputView(&p.filter, w-2))
	}
	switch {
	case p.parsed.err != "":
		return strings.Join(append(lines, "", " "+s.Warn.Render("WARN")+" "+clean(p.parsed.err)+" (/ edits the filter, esc clears it)"), "\n")
	case p.err != nil:
		return strings.Join(append(lines, "", " "+s.errorLine(p.err)), "\n")
	case p.total < 0:
		return strings.Join(append(lines, "", " Loading events…"), "\n")
	case p.total == 0 && p.query != "":
		return strings.Join(append(lines, "", " No events match /"+clean(p.query)+" (esc clears the filter)"), "\n")
	case p.total == 0:
		return strings.Join(append(lines, "", " No events yet. Press n to create one, or pull from a server (1 Servers, p)."), "\n")
	}
	cols := eventColumns(w)
	lines = append(lines, s.Bold.Render(cols.header(eventSortNames[p.sort], p.asc)))
	p.rows = max(h-len(lines), 1)
	// keep the cursor in view
	if p.cursor < p.top {
		p.top = p.cursor
	}
	if p.cursor >= p.top+p.rows {
		p.top = p.cursor - p.rows + 1
	}
	p.top = max(min(p.top, p.total-p.rows), 0)
	for i := p.top; i < min(p.top+p.rows, p.total); i++ {
		ev := p.row(i)
		var line string
		if ev == nil {
			line = cols.blank()
		} else {
			line = cols.row(ev, p.syncState(ev))
		}
		if i == p.cursor {
			line = s.Selected.Render(pad(line, w))
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// syncState is the Sync column: pushes queued or failing, else pushed (to any
// server), else where the event came from.
func (p *eventsPane) syncState(ev *store.EventSummary) string {
	if o, ok := p.outbox[ev.UUID]; ok {
		if o.Failing > 0 {
			return "✗failing"
		}
		return "↑queued"
	}
	if p.pushed[ev.UUID] > 0 {
		return "↑pushed"
	}
	if ev.Locked {
		return "↓ synced"
	}
	if p.c.Instance != nil && ev.Orgc.UUID != "" && ev.Orgc.UUID != p.c.Instance.HostOrg.UUID {
		return "imported"
	}
	return "local"
}

// eventCols are the table's column widths for a screen width; 0 hides a
// column.
type eventCols struct{ date, org, info, dist, tags, attrs, pub, sync int }

// infoWant is the Info width the other columns give way to, in turn.
const infoWant = 30

func eventColumns(w int) eventCols {
	c := eventCols{date: 10, org: 10, dist: 4, tags: 12, attrs: 5, pub: 3, sync: 8}
	if w >= 110 {
		c.org, c.tags, c.sync = 16, 24, 9
	}
	shrink := []func(){
		func() { c.tags = 8 },
		func() { c.org = 8 },
		func() { c.tags = 0 },
		func() { c.pub = 0 },
		func() { c.org = 6 },
	}
	for _, next := range shrink {
		if w-c.fixed() >= infoWant {
			break
		}
		next()
	}
	c.info = max(w-c.fixed(), 10)
	return c
}

// fixed is the width of every column but Info, with the gaps.
func (c eventCols) fixed() int {
	n := 1 + c.date + 1
	for _, x := range []int{c.org, c.dist, c.tags, c.attrs, c.pub, c.sync} {
		if x > 0 {
			n += x + 1
		}
	}
	return n
}

// joinCells lays out cells (text, width, right-aligned) of the shown columns.
func joinCells(cells ...eventCell) string {
	var parts []string
	for _, x := range cells {
		switch {
		case x.w <= 0:
		case x.right:
			parts = append(parts, cellR(x.text, x.w))
		default:
			parts = append(parts, cell(x.text, x.w))
		}
	}
	return " " + strings.Join(parts, " ")
}

type eventCell struct {
	text  string
	w     int
	right bool
}

// sortMark is the sort direction's indicator.
func sortMark(asc bool) string {
	if asc {
		return "▲"
	}
	return "▼"
}

func (c eventCols) header(sort string, asc bool) string {
	name := func(label, key string) string {
		if key == sort {
			return label + sortMark(asc)
		}
		return label
	}
	return joinCells(eventCell{name("Date", "date"), c.date, false}, eventCell{name("Org", "org"), c.org, false},
		eventCell{name("Info", "info"), c.info, false}, eventCell{name("Dist", "dist"), c.dist, false},
		eventCell{"Tags", c.tags, false}, eventCell{name("Attrs", "attrs"), c.attrs, true},
		eventCell{name("Pub", "published"), c.pub, false}, eventCell{"Sync", c.sync, false})
}

func (c eventCols) row(ev *store.EventSummary, sync string) string {
	pub := "no"
	if ev.Published {
		pub = "yes"
	}
	return joinCells(eventCell{clean(ev.Date), c.date, false}, eventCell{clean(ev.Orgc.Name), c.org, false},
		eventCell{clean(ev.Info), c.info, false}, eventCell{ev.Distribution.Abbrev(), c.dist, false},
		eventCell{clean(strings.Join(ev.Tags, ",")), c.tags, false}, eventCell{strconv.FormatInt(ev.AttributeCount, 10), c.attrs, true},
		eventCell{pub, c.pub, false}, eventCell{sync, c.sync, false})
}

func (c eventCols) blank() string { return " " + cell("…", c.date) }

// cell cuts or pads text to exactly w cells; cellR aligns it right.
func cell(text string, w int) string { return pad(truncate(text, w), w) }

func cellR(text string, w int) string {
	text = truncate(text, w)
	return strings.Repeat(" ", max(w-widthOf(text), 0)) + text
}

// thousands writes n with thin separators: 100 000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// eventQuery is a parsed filter: text words and field:value terms.
type eventQuery struct {
	filter store.EventFilter
	err    string
}

// parseEventQuery reads "apt29 org:CIRCL tag:tlp:green dist:all published:no":
// words are matched in the info (all of them, as one phrase), org: names the
// creator org, tag: an event tag, dist: a level (0–4 or org/comm/conn/all/sg),
// published: yes or no. A value may be quoted to hold spaces.
func parseEventQuery(q string) eventQuery {
	var out eventQuery
	var text []string
	for _, tok := range splitQuoted(q) {
		k, v, ok := strings.Cut(tok, ":")
		if !ok || v == "" {
			text = append(text, unquote(tok))
			continue
		}
		v = unquote(v)
		switch strings.ToLower(k) {
		case "org":
			out.filter.Org = v
		case "tag":
			out.filter.Tag = v
		case "dist", "distribution":
			d, ok := parseDist(v)
			if !ok {
				out.err = fmt.Sprintf("dist:%s is not a distribution (0–4, org, comm, conn, all, sg)", v)
				return out
			}
			out.filter.Distribution = &d
		case "published", "pub":
			switch strings.ToLower(v) {
			case "yes", "y", "true", "1":
				b := true
				out.filter.Published = &b
			case "no", "n", "false", "0":
				b := false
				out.filter.Published = &b
			default:
				out.err = fmt.Sprintf("published:%s: say yes or no", v)
				return out
			}
		default:
			text = append(text, tok)
		}
	}
	out.filter.Text = strings.Join(text, " ")
	return out
}

func parseDist(v string) (misp.Distribution, bool) {
	switch strings.ToLower(v) {
	case "0", "org", "organisation", "your":
		return misp.OrgOnly, true
	case "1", "comm", "community":
		return misp.CommunityOnly, true
	case "2", "conn", "connected":
		return misp.ConnectedCommunity, true
	case "3", "all":
		return misp.AllCommunities, true
	case "4", "sg", "sharing", "sharinggroup":
		return misp.SharingGroupDist, true
	}
	return 0, false
}

// splitQuoted splits at spaces outside double quotes.
func splitQuoted(s string) []string {
	var out []string
	var cur strings.Builder
	inQ := false
	for _, r := range s {
		switch {
		case r == '"':
			inQ = !inQ
			cur.WriteRune(r)
		case r == ' ' && !inQ:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}
