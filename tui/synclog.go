package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"mispdesk/store"
)

// logCap bounds the entries the pane keeps; older ones stay in the store.
const logCap = 5000

// logPane is the live sync log: entries from this process's engine (the bus)
// and from the store (another process's, e.g. mispdesk serve), merged by id.
// It follows new entries until scrolled up, then counts them (PAUSED +N new)
// until G. Filters (f): server, direction, least level, text; / searches
// the shown lines, n/N step through the hits.
type logPane struct {
	c       *Context
	entries []logLine
	ids     map[int64]struct{}
	shown   []int // indexes into entries that pass the filter
	cursor  int   // index into shown
	top     int   // first shown line on screen
	follow  bool
	fresh   int // entries arrived while paused
	rows    int // lines of the list at the last View

	f         logFilter
	input     textinput.Model
	filtering bool
	find      finder // over the shown lines
	keys      logKeys
	styles    *Styles // the styles the cached lines were made with
}

type logLine struct {
	e      store.LogEntry
	plain  string // formatted, sanitised, no colour
	styled string
}

type logFilter struct {
	server, text string
	dir          store.Direction
	level        store.Level
}

func (f logFilter) empty() bool { return f == logFilter{} }

func (f logFilter) String() string {
	var parts []string
	if f.server != "" {
		parts = append(parts, "server:"+f.server)
	}
	if f.dir != "" {
		parts = append(parts, "dir:"+string(f.dir))
	}
	if f.level != "" {
		parts = append(parts, "level:"+string(f.level))
	}
	if f.text != "" {
		parts = append(parts, f.text)
	}
	return strings.Join(parts, " ")
}

func (f logFilter) match(e *store.LogEntry) bool {
	if f.server != "" && !strings.EqualFold(e.ServerName, f.server) {
		return false
	}
	if f.dir != "" && e.Direction != f.dir {
		return false
	}
	if f.level != "" && !e.Level.AtLeast(f.level) {
		return false
	}
	if f.text != "" {
		t := strings.ToLower(f.text)
		if !strings.Contains(strings.ToLower(e.Message), t) && !strings.Contains(e.EventUUID, t) &&
			!strings.Contains(strings.ToLower(string(e.Outcome)), t) {
			return false
		}
	}
	return true
}

// parseLogFilter reads "server:NAME dir:push level:warn words".
func parseLogFilter(s string) logFilter {
	var f logFilter
	var words []string
	for _, tok := range strings.Fields(s) {
		k, v, ok := strings.Cut(tok, ":")
		switch {
		case ok && (k == "server" || k == "s"):
			f.server = v
		case ok && (k == "dir" || k == "direction" || k == "d"):
			f.dir = store.Direction(strings.ToLower(v))
		case ok && (k == "level" || k == "l"):
			f.level = store.Level(strings.ToLower(v))
		default:
			words = append(words, tok)
		}
	}
	f.text = strings.Join(words, " ")
	return f
}

type logKeys struct {
	Up, Down, PgUp, PgDown, Top, Bottom, Detail, Filter, Level, Dir, Server, Cancel, Clear, Copy key.Binding
}

func (k logKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Filter, keySearch, k.Level, k.Bottom, k.Cancel, k.Detail, k.Dir}
}

func (k logKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PgUp, k.PgDown, k.Top, k.Bottom},
		{k.Detail, k.Filter, k.Server, k.Dir, k.Level, k.Clear, k.Copy, k.Cancel},
		searchKeys(),
	}
}

func newLogPane(c *Context) Pane {
	p := &logPane{c: c, ids: map[int64]struct{}{}, follow: true, keys: logKeys{
		Up:     keyUp,
		Down:   keyDown,
		PgUp:   keyPgUp,
		PgDown: keyPgDown,
		Top:    keyTop,
		Bottom: key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "follow")),
		Detail: keyEnter,
		Filter: key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "filter")),
		Server: key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "server: next")),
		Dir:    key.NewBinding(key.WithKeys("D"), key.WithHelp("D", "direction")),
		Level:  key.NewBinding(key.WithKeys("L"), key.WithHelp("L", "level")),
		Cancel: key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "cancel run")),
		Clear:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear search, filter")),
		Copy:   key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy line")),
	}}
	p.input = newInput(c.Styles, "f ", "server:NAME dir:pull|push|test level:warn|error words", 300)
	return p
}

func (p *logPane) Title() string   { return "Log" }
func (p *logPane) Init() tea.Cmd   { return nil }
func (p *logPane) Keys() KeyHelp   { return p.keys }
func (p *logPane) Capturing() bool { return p.filtering || p.find.typing }

// keyMaps: the pane's keys, for a Config to rebind (log.…).
func (p *logPane) keyMaps() map[string]any { return map[string]any{"log": &p.keys} }

func (p *logPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case logEntriesMsg:
		p.add(msg.entries)
	case tea.KeyPressMsg:
		return p.key(msg)
	}
	return nil
}

// add merges entries in by id, skipping those already here.
func (p *logPane) add(entries []store.LogEntry) {
	resort := false
	for _, e := range entries {
		if e.ID != 0 {
			if _, dup := p.ids[e.ID]; dup {
				continue
			}
			p.ids[e.ID] = struct{}{}
		}
		if n := len(p.entries); n > 0 && e.ID != 0 && e.ID < p.entries[n-1].e.ID {
			resort = true
		}
		p.entries = append(p.entries, logLine{e: e})
		if !resort && p.f.match(&e) {
			p.shown = append(p.shown, len(p.entries)-1)
			if !p.follow {
				p.fresh++
			}
		}
	}
	if resort {
		sort.SliceStable(p.entries, func(i, j int) bool { return p.entries[i].e.ID < p.entries[j].e.ID })
	}
	if len(p.entries) > logCap+logCap/5 {
		drop := len(p.entries) - logCap
		for _, l := range p.entries[:drop] {
			delete(p.ids, l.e.ID)
		}
		p.entries = append(p.entries[:0:0], p.entries[drop:]...)
		resort = true
	}
	if resort {
		p.refilter()
	}
	if p.follow {
		p.cursor = len(p.shown) - 1
	}
}

// refilter recomputes the shown lines, keeping the cursor on its entry.
func (p *logPane) refilter() {
	var at int64 = -1
	if p.cursor >= 0 && p.cursor < len(p.shown) && p.shown[p.cursor] < len(p.entries) {
		at = p.entries[p.shown[p.cursor]].e.ID
	}
	p.shown = p.shown[:0]
	p.cursor = -1
	for i := range p.entries {
		if p.f.match(&p.entries[i].e) {
			p.shown = append(p.shown, i)
			if p.entries[i].e.ID <= at || p.cursor < 0 {
				p.cursor = len(p.shown) - 1
			}
		}
	}
	if p.follow || at < 0 {
		p.cursor = len(p.shown) - 1
	}
}

func (p *logPane) setFilter(f logFilter) {
	p.f = f
	p.refilter()
}

func (p *logPane) key(msg tea.KeyPressMsg) tea.Cmd {
	if p.filtering {
		switch msg.String() {
		case "esc":
			p.filtering = false
			p.input.Blur()
			p.input.SetValue(p.f.String())
			return nil
		case "enter":
			p.filtering = false
			p.input.Blur()
			p.setFilter(parseLogFilter(p.input.Value()))
			return nil
		}
		var cmd tea.Cmd
		p.input, cmd = p.input.Update(msg)
		p.setFilter(parseLogFilter(p.input.Value()))
		return cmd
	}
	if cmd, ok := p.find.key(p.c.Styles, msg); ok {
		p.seek()
		return cmd
	}
	page := max(p.rows-1, 1)
	switch {
	case key.Matches(msg, p.keys.Up):
		p.scrollTo(p.cursor - 1)
	case key.Matches(msg, p.keys.Down):
		p.scrollTo(p.cursor + 1)
	case key.Matches(msg, p.keys.PgUp):
		p.scrollTo(p.cursor - page)
	case key.Matches(msg, p.keys.PgDown):
		p.scrollTo(p.cursor + page)
	case key.Matches(msg, p.keys.Top):
		p.scrollTo(0)
	case key.Matches(msg, p.keys.Bottom):
		p.follow, p.fresh = true, 0
		p.cursor = len(p.shown) - 1
	case key.Matches(msg, p.keys.Filter):
		p.filtering = true
		p.input.SetValue(p.f.String())
		p.input.CursorEnd()
		return p.input.Focus()
	case key.Matches(msg, p.keys.Level):
		f := p.f
		f.level = next([]store.Level{"", store.LevelWarn, store.LevelError}, f.level)
		p.setFilter(f)
		return flash(store.LevelInfo, "Log: level %s", orAll(string(f.level), "and above"))
	case key.Matches(msg, p.keys.Dir):
		f := p.f
		f.dir = next([]store.Direction{"", store.DirPull, store.DirPush, store.DirTest, store.DirFeed, store.DirImport, store.DirHealth}, f.dir)
		p.setFilter(f)
		return flash(store.LevelInfo, "Log: direction %s", orAll(string(f.dir), ""))
	case key.Matches(msg, p.keys.Server):
		names := []string{""}
		for _, sv := range p.c.Servers {
			names = append(names, sv.Name)
		}
		f := p.f
		f.server = next(names, f.server)
		p.setFilter(f)
		return flash(store.LevelInfo, "Log: server %s", orAll(clean(f.server), ""))
	case key.Matches(msg, p.keys.Clear):
		if !p.f.empty() {
			p.setFilter(logFilter{})
			p.input.SetValue("")
			return flash(store.LevelInfo, "Log: filter cleared")
		}
		return nil
	case key.Matches(msg, p.keys.Detail):
		if e := p.current(); e != nil {
			return openScreen(newLogDetail(p.c, *e))
		}
	case key.Matches(msg, p.keys.Copy):
		if e := p.current(); e != nil {
			plain, _ := formatLogLine(p.c.Styles, e)
			return copyText("the log line", strings.TrimSpace(plain))
		}
	case key.Matches(msg, p.keys.Cancel):
		id := 0
		if e := p.current(); e != nil {
			for _, r := range p.c.Runs {
				if r.ServerID == e.ServerID && r.Direction == e.Direction {
					id = r.ID
				}
			}
		}
		return func() tea.Msg { return cancelRunMsg{id} }
	}
	return nil
}

func orAll(v, suffix string) string {
	if v == "" {
		return "all"
	}
	if suffix != "" {
		return v + " " + suffix
	}
	return v
}

// next is the value after cur in vals (cycling).
func next[T ~string](vals []T, cur T) T {
	for i, v := range vals {
		if strings.EqualFold(string(v), string(cur)) {
			return vals[(i+1)%len(vals)]
		}
	}
	return vals[0]
}

// scrollTo moves the cursor; moving off the last line pauses following.
func (p *logPane) scrollTo(i int) {
	if len(p.shown) == 0 {
		return
	}
	i = max(min(i, len(p.shown)-1), 0)
	p.cursor = i
	if i == len(p.shown)-1 {
		p.follow, p.fresh = true, 0
	} else if p.follow {
		p.follow, p.fresh = false, 0
	}
}

// seek finds the search's hits among the shown lines and, when asked, puts
// the cursor on the current one: after a new search, the hit nearest above
// the cursor (the newest before it).
func (p *logPane) seek() {
	f := &p.find
	f.find(len(p.shown), func(i int) string { return p.plain(p.shown[i]) })
	if !f.seek || f.typing {
		return
	}
	f.seek = false
	if f.fresh {
		f.fresh = false
		for i, hit := range f.hits {
			if hit <= p.cursor {
				f.at = i
			}
		}
	}
	if cur := f.current(); cur >= 0 {
		p.scrollTo(cur)
	}
}

// plain is entry i's line without colour, made once.
func (p *logPane) plain(i int) string {
	l := &p.entries[i]
	if l.plain == "" {
		l.plain, l.styled = formatLogLine(p.c.Styles, &l.e)
	}
	return l.plain
}

func (p *logPane) current() *store.LogEntry {
	if p.cursor < 0 || p.cursor >= len(p.shown) {
		return nil
	}
	return &p.entries[p.shown[p.cursor]].e
}

func (p *logPane) View(w, h int) string {
	s := p.c.Styles
	if p.styles != s { // the theme changed: redo the cached lines
		for i := range p.entries {
			p.entries[i].plain, p.entries[i].styled = "", ""
		}
		p.styles = s
	}
	state := s.OK.Render("FOLLOW")
	if !p.follow {
		state = s.Warn.Render(fmt.Sprintf("PAUSED +%d new", p.fresh)) + s.Dim.Render(" (G resumes)")
	}
	title := " " + s.Title.Render("Sync log") + "  " + state + s.Dim.Render(fmt.Sprintf("  %d entries", len(p.shown)))
	if !p.f.empty() {
		title += s.Dim.Render("  filter: ") + clean(p.f.String())
	}
	if p.find.query != "" && !p.find.typing {
		p.find.find(len(p.shown), func(i int) string { return p.plain(p.shown[i]) })
		title += " " + p.find.status(s, w)
	}
	if w >= 100 && !p.find.active() {
		title += "  " + throughputLine(s, &p.c.Throughput, 0, p.c.Now(), 20)
	}
	lines := []string{title}
	if p.filtering {
		lines = append(lines, " "+inputView(&p.input, w-2))
	}
	if p.find.typing {
		lines = append(lines, p.find.status(s, w))
	}
	for _, r := range p.c.Runs {
		lines = append(lines, " "+s.Info.Render(arrow(r.Direction))+clean(r.Server)+progressText(r.Progress)+" "+bar(r.Progress.Done, r.Progress.Total, 20)+s.Dim.Render("  x cancels"))
	}
	rows := max(h-len(lines), 1)
	p.rows = rows
	if len(p.shown) == 0 {
		msg := " Nothing logged yet: pulls, pushes and connection tests show here as they happen."
		if !p.f.empty() {
			msg = " No entry matches the filter (esc clears it)."
		}
		return strings.Join(append(lines, s.Dim.Render(msg)), "\n")
	}
	// Keep the cursor on screen; when following, the last line is at the bottom.
	if p.follow {
		p.top = max(len(p.shown)-rows, 0)
	} else {
		if p.cursor < p.top {
			p.top = p.cursor
		}
		if p.cursor >= p.top+rows {
			p.top = p.cursor - rows + 1
		}
		p.top = max(min(p.top, len(p.shown)-rows), 0)
	}
	end := min(p.top+rows, len(p.shown))
	for i := p.top; i < end; i++ {
		l := &p.entries[p.shown[i]]
		if l.plain == "" {
			l.plain, l.styled = formatLogLine(s, &l.e)
		}
		switch {
		case i == p.cursor && !p.follow:
			lines = append(lines, s.Selected.Render(pad(ansi.Truncate(l.plain, w, "…"), w)))
		case p.find.holds(l.plain):
			lines = append(lines, ansi.Truncate(p.find.mark(s, l.plain, i == p.find.current()), w, "…"))
		default:
			lines = append(lines, ansi.Truncate(l.styled, w, "…"))
		}
	}
	return strings.Join(lines, "\n")
}

// formatLogLine renders an entry as one line: time, level word, direction,
// server, outcome, message, HTTP status and duration.
func formatLogLine(s *Styles, e *store.LogEntry) (plain, styled string) {
	ts := time.UnixMilli(e.TsMs).Format("15:04:05")
	lvl := strings.ToUpper(string(e.Level))
	if lvl == "" {
		lvl = "INFO"
	}
	dir := arrow(e.Direction)
	server := pad(ansi.Truncate(clean(e.ServerName), 12, "…"), 12)
	rest := pad(clean(string(e.Outcome)), 9) + " "
	if e.Total > 0 {
		rest += fmt.Sprintf("%d/%d ", e.Done, e.Total)
	}
	if e.EventUUID != "" {
		rest += clean(shortUUID(e.EventUUID)) + " "
	}
	rest += clean(e.Message)
	var extra []string
	if e.HTTPStatus != 0 {
		extra = append(extra, fmt.Sprint(e.HTTPStatus))
	}
	if e.DurationMs != 0 {
		extra = append(extra, fmt.Sprintf("%d ms", e.DurationMs))
	}
	if len(extra) > 0 {
		rest += " (" + strings.Join(extra, ", ") + ")"
	}
	plain = " " + ts + " " + pad(lvl, 5) + " " + pad(dir, 7) + server + " " + rest
	styled = " " + s.Dim.Render(ts) + " " + s.level(e.Level) + " " + pad(dir, 7) + server + " " + rest
	return plain, styled
}

// bar draws done of total in width cells, readable without colour.
func bar(done, total, width int) string {
	if total <= 0 {
		return ""
	}
	n := min(done*width/total, width)
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

// logDetail shows one entry whole.
type logDetail struct {
	c      *Context
	e      store.LogEntry
	keys   helpKeys
	scroll scroller
}

func newLogDetail(c *Context, e store.LogEntry) *logDetail {
	return &logDetail{c: c, e: e, keys: helpKeys{Close: key.NewBinding(key.WithKeys("esc", "enter", "q"), key.WithHelp("esc", "back"))}}
}

func (d *logDetail) Title() string { return fmt.Sprintf("Entry %d", d.e.ID) }
func (d *logDetail) Keys() KeyHelp { return searchable{d.keys} }

func (d *logDetail) Update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		if cmd, ok := d.scroll.search(d.c.Styles, k); ok {
			return cmd
		}
		if key.Matches(k, d.keys.Close) {
			return closeScreen
		}
		if key.Matches(k, copyKey) {
			return copyText("the log message", d.e.Message)
		}
		d.scroll.key(k)
	}
	return nil
}

func (d *logDetail) View(w, h int) string {
	s := d.c.Styles
	e := d.e
	row := func(label, v string) string { return " " + s.Label.Render(pad(label, 13)) + v }
	dash := func(v string) string { return orDash(clean(v)) }
	status := "-"
	if e.HTTPStatus != 0 {
		status = fmt.Sprint(e.HTTPStatus)
	}
	dur := "-"
	if e.DurationMs != 0 {
		dur = fmt.Sprintf("%d ms", e.DurationMs)
	}
	lines := []string{
		" " + s.Title.Render(fmt.Sprintf("Sync log entry %d", e.ID)),
		row("Time", time.UnixMilli(e.TsMs).Format("2006-01-02 15:04:05.000 MST")),
		row("Level", s.level(e.Level)),
		row("Server", dash(e.ServerName)+s.Dim.Render(fmt.Sprintf(" (id %d)", e.ServerID))),
		row("Direction", dash(string(e.Direction))),
		row("Run", dash(e.RunID)),
		row("Event", dash(e.EventUUID)),
		row("Outcome", dash(string(e.Outcome))),
		row("HTTP status", status),
		row("Duration", dur),
	}
	if e.Total > 0 {
		lines = append(lines, row("Progress", fmt.Sprintf("%d of %d", e.Done, e.Total)))
	}
	lines = append(lines, row("Message", ""))
	for _, l := range strings.Split(cleanBlock(e.Message), "\n") {
		for _, wl := range wrap(l, max(w-4, 10)) {
			lines = append(lines, "   "+wl)
		}
	}
	return d.scroll.window(s, hangAll(lines, w, 14), w, h)
}

func (*logDetail) view() {}

// Capturing: the search input has focus.
func (d *logDetail) Capturing() bool { return d.scroll.Capturing() }
