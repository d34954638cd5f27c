package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer"
)

// eventDetail is one event: its fields, tags, galaxy clusters and sharing group,
// where it went (for each server, pushed or not and why, from policy, and the
// outbox), its attributes and objects, the events related to it and its feed hits (each with the
// values shared; o jumps to the related event selected, esc comes back). Its keys edit
// it: add an attribute, add or remove a tag, change the distribution, publish, unpublish.
type eventDetail struct {
	c    *Context
	uuid string
	info string // until loaded
	keys eventDetailKeys

	ev      *misp.Event
	hits    map[string][]store.FeedHit // by attribute UUID
	feeds   []feedMatch
	related []relatedEvent
	// relatedErr is why the related events could not be read (the rest still shows).
	relatedErr error
	where      []whereRow
	err        error
	loading    bool
	gen        int

	proposals []store.ProposalRow
	comments  []store.Post

	scroll scroller
	sel    int // the server selected in "where it went"
	relSel int // the related event selected
}

// whereRow is one server's answer for the event.
type whereRow struct {
	server store.Server
	exp    *syncer.Explanation
	err    error
	state  *store.EventPushState
	// onPublish is the decision a publish would get (unpublished events only).
	onPublish *syncer.PushTarget
}

type eventDetailKeys struct {
	Back, Up, Down, PgUp, PgDown, Top, Bottom, Server, Why key.Binding
	AddAttr, Tag, Untag, Dist, Publish, Unpublish, Reload  key.Binding
	Copy, Related, OpenRelated                             key.Binding
	Propose, Proposals, Comment, Contact                   key.Binding
}

func (k eventDetailKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Back, k.AddAttr, k.Tag, k.Publish, keySearch, k.OpenRelated, k.Why, k.Untag, k.Dist, k.Unpublish, k.Copy}
}

func (k eventDetailKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.PgUp, k.PgDown, k.Top, k.Bottom}, searchKeys(), {k.Server, k.Why, k.Related, k.OpenRelated, k.Reload, k.Copy, k.Back},
		{k.AddAttr, k.Tag, k.Untag, k.Dist, k.Publish, k.Unpublish}, {k.Propose, k.Proposals, k.Comment, k.Contact}}
}

type eventDetailMsg struct {
	gen   int
	uuid  string
	ev    *misp.Event
	hits  []store.AttributeFeedHits
	where []whereRow
	err   error

	related    []relatedEvent
	relatedErr error
}

func newEventDetail(c *Context, uuid, info string) *eventDetail {
	return &eventDetail{c: c, uuid: uuid, info: info, keys: eventDetailKeys{
		Back:        key.NewBinding(key.WithKeys("esc", "q"), key.WithHelp("esc", "back")),
		Up:          keyUp,
		Down:        keyDown,
		PgUp:        keyPgUp,
		PgDown:      keyPgDown,
		Top:         keyTop,
		Bottom:      keyBottom,
		Server:      key.NewBinding(key.WithKeys("[", "]"), key.WithHelp("[/]", "select server")),
		Why:         key.NewBinding(key.WithKeys("enter"), key.WithHelp("⏎", "all rules")),
		AddAttr:     key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "add attribute")),
		Tag:         key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "tag")),
		Untag:       key.NewBinding(key.WithKeys("T"), key.WithHelp("T", "untag")),
		Dist:        key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "distribution")),
		Publish:     key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "publish")),
		Unpublish:   key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "unpublish")),
		Reload:      key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reload")),
		Copy:        key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy UUID")),
		Related:     key.NewBinding(key.WithKeys("{", "}"), key.WithHelp("{/}", "select related event")),
		OpenRelated: key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open related")),
		Propose:     key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "propose a change")),
		Proposals:   key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "review proposals")),
		Comment:     key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "comment")),
		Contact:     key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "contact reporter")),
	}}
}

func (d *eventDetail) Title() string {
	if d.ev != nil {
		return truncate(clean(d.ev.Info), 40)
	}
	return truncate(clean(d.info), 40)
}

func (d *eventDetail) Keys() KeyHelp { return d.keys }

func (d *eventDetail) Init() tea.Cmd { return d.load() }

func (d *eventDetail) load() tea.Cmd {
	if d.c.Store == nil {
		return nil
	}
	d.gen++
	d.loading = true
	return tea.Batch(loadEventDetail(d.c.Ctx, d.c.Store, d.c.Engine, d.gen, d.uuid),
		loadProposals(d.c.Ctx, d.c.Store, d.uuid), loadPosts(d.c.Ctx, d.c.Store, 0, d.uuid))
}

func loadEventDetail(ctx context.Context, st *store.Store, eng *syncer.Engine, gen int, uuid string) tea.Cmd {
	return func() tea.Msg {
		msg := eventDetailMsg{gen: gen, uuid: uuid}
		id, err := st.ResolveEvent(ctx, uuid)
		if err != nil {
			msg.err = err
			return msg
		}
		msg.ev, msg.err = st.Event(ctx, id)
		if msg.err != nil {
			return msg
		}
		msg.hits, msg.err = st.FeedHits(ctx, id)
		if msg.err != nil {
			return msg
		}
		msg.related, msg.relatedErr = relatedEvents(ctx, st, msg.ev)
		servers, err := st.Servers(ctx)
		if err != nil {
			msg.err = err
			return msg
		}
		states, err := st.EventPushStates(ctx, uuid)
		if err != nil {
			msg.err = err
			return msg
		}
		onPublish := map[store.ServerID]*syncer.PushTarget{}
		if eng != nil && !bool(msg.ev.Published) {
			targets, err := eng.PublishTargets(ctx, id)
			if err != nil {
				msg.err = err
				return msg
			}
			for i := range targets {
				onPublish[targets[i].Server.ID] = &targets[i]
			}
		}
		for _, sv := range servers {
			r := whereRow{server: sv, state: states[sv.ID], onPublish: onPublish[sv.ID]}
			if eng != nil {
				r.exp, r.err = eng.ExplainPush(ctx, id, sv.ID)
			}
			msg.where = append(msg.where, r)
		}
		return msg
	}
}

func (d *eventDetail) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case eventDetailMsg:
		if msg.gen != d.gen || msg.uuid != d.uuid {
			return nil
		}
		d.loading, d.err = false, msg.err
		if msg.err != nil {
			return nil
		}
		d.ev, d.where = msg.ev, msg.where
		d.hits = map[string][]store.FeedHit{}
		for _, h := range msg.hits {
			d.hits[h.AttributeUUID] = h.Feeds
		}
		d.feeds = feedMatches(msg.hits)
		d.related, d.relatedErr = msg.related, msg.relatedErr
		d.sel = min(d.sel, max(len(d.where)-1, 0))
		d.relSel = min(d.relSel, max(len(d.related)-1, 0))
	case proposalsMsg:
		if msg.eventUUID == d.uuid && msg.err == nil {
			d.proposals = msg.rows
		}
	case postsMsg:
		if msg.eventUUID == d.uuid && msg.err == nil {
			d.comments = msg.posts
		}
	case collabDoneMsg:
		if msg.eventUUID == d.uuid {
			return d.load()
		}
	case eventChangedMsg:
		if msg.uuid == d.uuid {
			return d.load()
		}
	case runDoneMsg, serverChangedMsg:
		return d.load()
	case logEntriesMsg:
		// a push of this event was tried (by the outbox, here or in serve)
		for _, e := range msg.entries {
			if e.EventUUID == d.uuid && e.Direction == store.DirPush && !d.loading {
				return d.load()
			}
		}
	case tea.KeyPressMsg:
		return d.key(msg)
	}
	return nil
}

func (d *eventDetail) key(msg tea.KeyPressMsg) tea.Cmd {
	if cmd, ok := d.scroll.search(d.c.Styles, msg); ok {
		return cmd
	}
	if d.scroll.key(msg) {
		return nil
	}
	switch {
	case key.Matches(msg, d.keys.Back):
		return closeScreen
	case key.Matches(msg, d.keys.Reload):
		return d.load()
	case key.Matches(msg, d.keys.Copy):
		return copyText(d.uuid+" (event UUID)", d.uuid)
	case key.Matches(msg, d.keys.Server):
		if n := len(d.where); n > 0 {
			if msg.String() == "]" {
				d.sel = (d.sel + 1) % n
			} else {
				d.sel = (d.sel + n - 1) % n
			}
		}
	case key.Matches(msg, d.keys.Why):
		if d.sel < len(d.where) {
			return openScreen(newWhyScreen(d.c, d.ev, d.where[d.sel]))
		}
	case key.Matches(msg, d.keys.Related):
		if n := len(d.related); n > 0 {
			if msg.String() == "}" {
				d.relSel = (d.relSel + 1) % n
			} else {
				d.relSel = (d.relSel + n - 1) % n
			}
		}
	case key.Matches(msg, d.keys.OpenRelated):
		if d.relSel >= len(d.related) {
			return flash(store.LevelWarn, "No related event to open")
		}
		r := d.related[d.relSel].row
		return openScreen(newEventDetail(d.c, r.UUID, r.Info))
	}
	if d.ev == nil {
		return nil
	}
	if cmd, ok := d.collabKey(msg); ok {
		return cmd
	}
	ev := d.ev
	switch {
	case key.Matches(msg, d.keys.AddAttr):
		return openScreen(newAttributeForm(d.c, ev.UUID, ev.Info))
	case key.Matches(msg, d.keys.Tag):
		return openScreen(newTagForm(d.c, ev, true))
	case key.Matches(msg, d.keys.Untag):
		if len(ev.Tag) == 0 {
			return flash(store.LevelWarn, "The event has no tags to remove")
		}
		return openScreen(newTagForm(d.c, ev, false))
	case key.Matches(msg, d.keys.Dist):
		return openScreen(newDistributionForm(d.c, ev))
	case key.Matches(msg, d.keys.Publish):
		return askPublish(d.c, ev.UUID, ev.Info)
	case key.Matches(msg, d.keys.Unpublish):
		if !bool(ev.Published) {
			return flash(store.LevelWarn, "The event is not published")
		}
		q := fmt.Sprintf("Unpublish %q? Pushes still queued for it are dropped; copies already pushed stay on the remotes.", truncate(clean(ev.Info), 60))
		return openScreen(newConfirm(d.c, "Unpublish", q, "", unpublishEvent(d.c.Ctx, d.c.Store, ev.UUID, ev.Info)))
	}
	return nil
}

func (d *eventDetail) View(w, h int) string {
	s := d.c.Styles
	switch {
	case d.err != nil:
		return "\n " + s.errorLine(d.err) + "\n\n esc goes back."
	case d.ev == nil:
		return "\n Loading " + clean(d.info) + "…"
	}
	return d.scroll.window(s, d.lines(w), w, h)
}

// lines renders the whole detail; View shows a window of it.
func (d *eventDetail) lines(w int) []string {
	s := d.c.Styles
	ev := d.ev
	label := func(l string) string { return " " + s.Label.Render(pad(l, 13)) }
	var out []string
	add := func(l ...string) { out = append(out, l...) }
	add(" " + s.Title.Render(truncate(clean(ev.Info), w-2)))
	pub := s.Warn.Render("no")
	if ev.Published {
		pub = s.OK.Render("yes")
		if ev.PublishTimestamp > 0 {
			pub += s.Dim.Render(" (" + ago(d.c.Now(), time.Unix(int64(ev.PublishTimestamp), 0)) + ")")
		}
	}
	add(label("Date")+clean(ev.Date)+s.Dim.Render("  uuid "+clean(ev.UUID)),
		label("Creator")+orgName(ev.Orgc)+s.Dim.Render("  owner here ")+orgName(ev.Org),
		label("Distribution")+distLong(ev.Distribution, ev.SharingGroup),
		label("Threat level")+misp.ThreatLevelName(int64(ev.ThreatLevelID))+s.Dim.Render("  analysis ")+ev.Analysis.Name()+
			s.Dim.Render("  changed ")+ago(d.c.Now(), time.Unix(int64(ev.Timestamp), 0)),
		label("Published")+pub)
	add(label("Tags") + tagLine(ev.Tag, w-16))
	add(galaxyLines(s, label, ev)...)
	if sg := ev.SharingGroup; sg != nil {
		add(label("Sharing group") + clean(sg.Name) + s.Dim.Render(" "+clean(sg.Releasability)))
	}
	add("", " "+s.Bold.Render("Where it went")+s.Dim.Render("  ([ ] selects a server, enter: every rule)"))
	if len(d.where) == 0 {
		add("  " + s.Dim.Render("No servers: nothing is pushed anywhere. Add one on the Servers pane (1, a)."))
	}
	for i, r := range d.where {
		add(d.whereLines(i, r, w)...)
	}
	add(d.relatedLines(w)...)
	add(d.feedLines(w)...)
	// attributes
	attrs := 0
	for _, a := range ev.Attribute {
		if !a.Deleted {
			attrs++
		}
	}
	add("", " "+s.Bold.Render(fmt.Sprintf("Attributes (%d)", attrs))+s.Dim.Render("  a adds one"))
	if attrs == 0 {
		add("  " + s.Dim.Render("None yet."))
	}
	for i := range ev.Attribute {
		if a := &ev.Attribute[i]; !a.Deleted {
			add(d.attrLine(a, "  ", w))
		}
	}
	if len(ev.Object) > 0 {
		add("", " "+s.Bold.Render(fmt.Sprintf("Objects (%d)", len(ev.Object))))
		for i := range ev.Object {
			o := &ev.Object[i]
			if o.Deleted {
				continue
			}
			add("  " + s.Bold.Render(clean(o.Name)) + s.Dim.Render(" "+clean(o.MetaCategory)+" "+shortUUID(o.UUID)))
			for j := range o.Attribute {
				if a := &o.Attribute[j]; !a.Deleted {
					add(d.attrLine(a, "    ", w))
				}
			}
		}
	}
	add(d.proposalLines(w)...)
	add(d.commentLines(w)...)
	for i, l := range out {
		out[i] = ansi.Truncate(l, w, "…")
	}
	return out
}

// whereLines is one server's decision, wrapped under its verdict: the rule
// and the reason are the point, never cut.
func (d *eventDetail) whereLines(i int, r whereRow, w int) []string {
	s := d.c.Styles
	mark := "  "
	if i == d.sel {
		mark = s.Bold.Render("▸ ")
	}
	name := pad(truncate(clean(r.server.Name), 14), 14) + " "
	var verdict string
	switch {
	case r.err != nil:
		verdict = s.Error.Render("? ") + oneLine(r.err.Error())
	case r.exp == nil:
		verdict = s.Dim.Render("-")
	case r.onPublish != nil && r.onPublish.Err == nil:
		// unpublished: say what a publish would do
		verdict = s.Dim.Render("not published; on publish ")
		if d := r.onPublish.Decision; d.Allowed {
			verdict += s.OK.Render("✓ would go")
		} else if st := d.BlockedBy(); st != nil {
			verdict += s.Warn.Render("✗ refused") + " " + s.Dim.Render(st.Rule+": ") + clean(st.Reason)
		}
	case r.exp.Decision.Allowed:
		verdict = s.OK.Render("✓ would go") + s.Dim.Render(" ("+clean(r.exp.Decision.Reason())+")")
	default:
		st := r.exp.Decision.BlockedBy()
		verdict = s.Warn.Render("✗ refused")
		if st != nil {
			verdict += " " + s.Dim.Render(st.Rule+": ") + clean(st.Reason)
		}
	}
	state := ""
	if p := r.state; p != nil {
		switch {
		case p.Queued && p.Attempts > 0:
			state = s.Error.Render(fmt.Sprintf("failing (%d tries): ", p.Attempts)) + oneLine(p.LastError) + " · "
		case p.Queued:
			state = s.Info.Render("queued") + " · "
		case p.Last.ID != 0 && p.Last.Outcome == store.OutcomePushed:
			state = s.OK.Render("pushed "+ago(d.c.Now(), p.Last.Time())) + " · "
		case p.Last.ID != 0:
			state = clean(string(p.Last.Outcome)) + " " + ago(d.c.Now(), p.Last.Time()) + " · "
		}
	}
	line := mark + name + state + verdict
	if i != d.sel {
		return hang(line, w, 17)
	}
	lines := hang(ansi.Strip(line), w, 17)
	for j, l := range lines {
		lines[j] = s.Selected.Render(pad(l, w))
	}
	return lines
}

func (d *eventDetail) attrLine(a *misp.Attribute, indent string, w int) string {
	s := d.c.Styles
	ids := " "
	if a.ToIDs {
		ids = "•"
	}
	hit := ""
	if len(d.hits[a.UUID]) > 0 {
		hit = s.Warn.Render(" ◆feed")
	}
	head := indent + ids + " " + pad(truncate(clean(a.Category), 18), 18) + " " + pad(truncate(clean(a.Type), 14), 14) + " "
	line := head + clean(a.Value) + hit
	if a.Comment != "" {
		line += s.Dim.Render("  " + clean(a.Comment))
	}
	if len(a.Tag) > 0 {
		line += s.Dim.Render("  [" + tagNames(a.Tag) + "]")
	}
	return line
}

// maxGalaxyLines is how many clusters the detail lists before saying how many more.
const maxGalaxyLines = 3

// galaxyLines lists the clusters attached to the event, one "galaxy: cluster" a
// line under the Tags, as MISP's event view lists them by galaxy; clusters on
// attributes are only counted. No clusters anywhere: no lines, so the rest keeps
// its place.
func galaxyLines(s *Styles, label func(string) string, ev *misp.Event) []string {
	var clusters []string
	for _, g := range ev.Galaxy {
		for _, c := range g.GalaxyCluster {
			clusters = append(clusters, clean(g.Name)+": "+clean(c.Value))
		}
	}
	onAttrs := 0
	count := func(attrs []misp.Attribute) {
		for _, a := range attrs {
			if !a.Deleted {
				for _, g := range a.Galaxy {
					onAttrs += len(g.GalaxyCluster)
				}
			}
		}
	}
	count(ev.Attribute)
	for _, o := range ev.Object {
		if !o.Deleted {
			count(o.Attribute)
		}
	}
	if len(clusters) == 0 && onAttrs == 0 {
		return nil
	}
	var more []string
	if n := len(clusters) - maxGalaxyLines; n > 0 {
		clusters = clusters[:maxGalaxyLines]
		more = append(more, fmt.Sprintf("+%d more", n))
	}
	if onAttrs > 0 {
		more = append(more, fmt.Sprintf("+%d on attributes", onAttrs))
	}
	if len(more) > 0 {
		clusters = append(clusters, s.Dim.Render(strings.Join(more, " · ")))
	}
	out := make([]string, len(clusters))
	for i, c := range clusters {
		l := label("Galaxies")
		if i > 0 {
			l = strings.Repeat(" ", 14) // under the first cluster
		}
		out[i] = l + c
	}
	return out
}

func orgName(o *misp.Org) string {
	if o == nil {
		return "-"
	}
	return clean(o.Name)
}

func tagNames(tags []misp.Tag) string {
	names := make([]string, 0, len(tags))
	for _, t := range tags {
		n := clean(t.Name)
		if t.Local {
			n += "(local)"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

func tagLine(tags []misp.Tag, w int) string {
	if len(tags) == 0 {
		return "-   (t adds one)"
	}
	return truncate(tagNames(tags), w)
}

func distLong(d misp.Distribution, sg *misp.SharingGroup) string {
	t := d.String()
	if d == misp.SharingGroupDist && sg != nil {
		t += ": " + clean(sg.Name)
	}
	return t
}

func truncate(s string, w int) string { return ansi.Truncate(s, max(w, 1), "…") }

// whyScreen shows every rule of one server's push decision for the event.
type whyScreen struct {
	c      *Context
	title  string
	lines  []string // unwrapped: View wraps them to the width
	scroll scroller
	keys   detailKeys
}

func newWhyScreen(c *Context, ev *misp.Event, r whereRow) *whyScreen {
	s := c.Styles
	w := &whyScreen{c: c, title: "Push to " + clean(r.server.Name), keys: detailKeys{
		Back: key.NewBinding(key.WithKeys("esc", "q", "enter"), key.WithHelp("esc", "back")),
		Copy: copyKey,
	}}
	info := ""
	if ev != nil {
		info = clean(ev.Info)
	}
	w.lines = append(w.lines, " "+s.Title.Render("Would "+info+" be pushed to "+clean(r.server.Name)+"?"), "")
	switch {
	case r.err != nil:
		w.lines = append(w.lines, " "+s.errorLine(r.err))
	case r.exp != nil:
		verdict := s.OK.Render("allowed")
		if !r.exp.Decision.Allowed {
			verdict = s.Warn.Render("refused")
		}
		w.lines = append(w.lines, " Verdict: "+verdict+s.Dim.Render(" (every rule consulted, in order)"), "")
		for _, st := range r.exp.Decision.Steps {
			w.lines = append(w.lines, " "+outcomeWord(s, st.Outcome)+" "+s.Bold.Render(clean(st.Rule)))
			w.lines = append(w.lines, "        "+clean(st.Reason))
		}
	}
	if t := r.onPublish; t != nil && t.Err == nil {
		verdict := s.OK.Render("allowed")
		if !t.Decision.Allowed {
			verdict = s.Warn.Render("refused")
		}
		w.lines = append(w.lines, "", " If published now: "+verdict)
		for _, st := range t.Decision.Steps {
			w.lines = append(w.lines, " "+outcomeWord(s, st.Outcome)+" "+s.Bold.Render(clean(st.Rule)), "        "+clean(st.Reason))
		}
	}
	if p := r.state; p != nil {
		w.lines = append(w.lines, "")
		if p.Queued {
			w.lines = append(w.lines, fmt.Sprintf(" Outbox: queued, %d tries", p.Attempts))
			if p.LastError != "" {
				w.lines = append(w.lines, "   last error: "+oneLine(p.LastError))
			}
		}
		if p.Last.ID != 0 {
			w.lines = append(w.lines, " Last push logged: "+clean(string(p.Last.Outcome))+" "+p.Last.Time().Format("2006-01-02 15:04:05")+" — "+oneLine(p.Last.Message))
		}
	}
	return w
}

func outcomeWord(s *Styles, o policy.Outcome) string {
	switch o {
	case policy.Blocked:
		return s.Error.Render("BLOCK ")
	case policy.Changed:
		return s.Warn.Render("CHANGE")
	case policy.Skipped:
		return s.Dim.Render("skip  ")
	}
	return s.OK.Render("pass  ")
}

func (w *whyScreen) Title() string { return w.title }
func (w *whyScreen) Keys() KeyHelp { return searchable{w.keys} }
func (w *whyScreen) Update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		if cmd, ok := w.scroll.search(w.c.Styles, k); ok {
			return cmd
		}
		if key.Matches(k, w.keys.Back) {
			return closeScreen
		}
		if key.Matches(k, w.keys.Copy) {
			return copyText("the explanation", ansi.Strip(strings.Join(w.lines, "\n")))
		}
		w.scroll.key(k)
	}
	return nil
}

func (w *whyScreen) View(width, h int) string {
	return w.scroll.window(w.c.Styles, hangAll(w.lines, width, 8), width, h)
}

func (*eventDetail) view() {}

// Capturing: the search input has focus.
func (d *eventDetail) Capturing() bool { return d.scroll.Capturing() }

func (*whyScreen) view() {}

// Capturing: the search input has focus.
func (w *whyScreen) Capturing() bool { return w.scroll.Capturing() }
