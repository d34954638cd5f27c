package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"mispdesk/assets"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// proposalsScreen lists proposals (MISP's shadow attributes) to review: of one event, or
// across the events the host organisation owns. a accepts the selected one into its
// event, x discards it, enter opens its event.
type proposalsScreen struct {
	c         *Context
	eventUUID string // "": across events
	title     string
	rows      []store.ProposalRow
	hostOrgID store.OrgID
	err       error
	loaded    bool
	sel       int
	scroll    scroller
	keys      proposalsKeys
}

type proposalsKeys struct{ Up, Down, Accept, Discard, Open, Back key.Binding }

func (k proposalsKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Accept, k.Discard, k.Open, k.Back}
}
func (k proposalsKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down}, {k.Accept, k.Discard, k.Open, k.Back}}
}

func newProposalsScreen(c *Context, eventUUID, info string) *proposalsScreen {
	title := "Proposals to review"
	if eventUUID != "" {
		title = "Proposals: " + truncate(clean(info), 40)
	}
	return &proposalsScreen{c: c, eventUUID: eventUUID, title: title, keys: proposalsKeys{
		Up: keyUp, Down: keyDown,
		Accept:  key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "accept")),
		Discard: key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "discard")),
		Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("⏎", "open event")),
		Back:    key.NewBinding(key.WithKeys("esc", "q"), key.WithHelp("esc", "back")),
	}}
}

func (p *proposalsScreen) Title() string { return p.title }
func (p *proposalsScreen) Keys() KeyHelp { return p.keys }
func (p *proposalsScreen) Init() tea.Cmd { return loadProposals(p.c.Ctx, p.c.Store, p.eventUUID) }
func (*proposalsScreen) view()           {}

// reviewable: the host organisation owns the event (it accepts or discards).
func (p *proposalsScreen) reviewable(r *store.ProposalRow) bool { return r.Event.OrgID == p.hostOrgID }

func (p *proposalsScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case proposalsMsg:
		if msg.eventUUID != p.eventUUID {
			return nil
		}
		p.loaded, p.err, p.hostOrgID, p.rows = true, msg.err, msg.hostOrgID, nil
		for i := range msg.rows {
			if p.eventUUID != "" || msg.rows[i].Event.OrgID == msg.hostOrgID {
				p.rows = append(p.rows, msg.rows[i])
			}
		}
		p.sel = max(min(p.sel, len(p.rows)-1), 0)
	case collabDoneMsg:
		return p.Init()
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, p.keys.Back):
			return closeScreen
		case key.Matches(msg, p.keys.Up):
			p.sel = max(p.sel-1, 0)
		case key.Matches(msg, p.keys.Down):
			p.sel = min(p.sel+1, max(len(p.rows)-1, 0))
		}
		if p.sel >= len(p.rows) {
			return nil
		}
		r := p.rows[p.sel]
		switch {
		case key.Matches(msg, p.keys.Accept):
			if !p.reviewable(&r) {
				return flash(store.LevelWarn, "Only %s, the event's owner, accepts its proposals", clean(r.Event.OrgName))
			}
			return acceptProposal(p.c.Ctx, p.c.Store, r)
		case key.Matches(msg, p.keys.Discard):
			q := fmt.Sprintf("Discard the proposal %q on %q? Its proposer's instance learns of it on the next sync.",
				truncate(clean(r.Proposal.Value), 40), truncate(clean(r.Event.Info), 40))
			return openScreen(newConfirm(p.c, "Discard proposal", q, "", discardProposal(p.c.Ctx, p.c.Store, r)))
		case key.Matches(msg, p.keys.Open) && p.eventUUID == "":
			return openScreen(newEventDetail(p.c, r.Event.UUID, r.Event.Info))
		}
	}
	return nil
}

func (p *proposalsScreen) View(w, h int) string {
	s := p.c.Styles
	empty := "No proposals on this event."
	if p.eventUUID == "" {
		empty = "No proposals wait on your organisation's events. Others propose changes with e on an event's detail."
	}
	if v, ok := s.listState(p.err, p.loaded, len(p.rows), "Loading proposals…", empty); ok {
		return v
	}
	lines := []string{" " + s.Dim.Render(pad("WHAT", 8)+" "+pad("PROPOSED", 40)+" BY · WHEN")}
	for i := range p.rows {
		r := &p.rows[i]
		line := proposalLine(p.c, r, w)
		if p.eventUUID == "" {
			line += s.Dim.Render("  on ") + clean(r.Event.Info)
		}
		if i == p.sel {
			line = s.Selected.Render(pad(ansi.Truncate(ansi.Strip(line), w, "…"), w))
		} else {
			line = ansi.Truncate(line, w, "…")
		}
		lines = append(lines, line)
	}
	p.scroll.off = max(p.sel+2-h, 0)
	return p.scroll.window(s, lines, w, h)
}

// proposalLine is one proposal: what it would do, the proposed attribute, by whom, when.
func proposalLine(c *Context, r *store.ProposalRow, w int) string {
	s := c.Styles
	pr := &r.Proposal
	what := "change"
	switch {
	case bool(pr.ProposalToDelete):
		what = "delete"
	case r.AttributeUUID() == "":
		what = "new"
	}
	by := "?"
	if pr.Org != nil {
		by = clean(pr.Org.Name)
	}
	val := clean(pr.Category) + "/" + clean(pr.Type) + " " + clean(pr.Value)
	return " " + s.Warn.Render(pad(what, 8)) + " " + pad(truncate(val, 40), 40) + " " + by + s.Dim.Render(" · "+ago(c.Now(), time.Unix(int64(pr.Timestamp), 0)))
}

// newProposeForm proposes, on an event of another organisation, a change to one of its
// attributes, its deletion, or a new attribute (MISP's shadow attributes): the target is
// chosen first and fills the fields with its values.
func newProposeForm(c *Context, ev *misp.Event) *miniForm {
	targets := []string{"a new attribute"}
	var attrs []*misp.Attribute
	ev.ForEachAttribute(func(a *misp.Attribute) {
		if !a.Deleted {
			attrs = append(attrs, a)
			targets = append(targets, truncate(clean(a.Type)+" "+clean(a.Value), 50))
		}
	})
	del := &formField{id: "delete", label: "Delete it", kind: boolField}
	f := newAttributeForm(c, ev.UUID, ev.Info)
	f.title = "Propose"
	f.intro = "To " + truncate(clean(orgName(ev.Orgc)), 30) + ", owner of " + truncate(clean(ev.Info), 40) + ": it accepts or discards the proposal."
	// the target first; the distribution is the owner's to choose
	fields := []*formField{choiceFormField("target", "Proposal on", targets, 0)}
	for _, fl := range f.fields {
		if fl.id != "dist" {
			fields = append(fields, fl)
		}
	}
	f.fields = append(fields, del)
	f.focusField(0)
	types, _ := assets.DescribeTypes()
	typeChanged := f.changed
	f.changed = func(f *miniForm, id string) {
		if id == "target" {
			if i := f.field("target").choice; i > 0 {
				a := attrs[i-1]
				f.field("type").input.SetValue(a.Type)
				typeChanged(f, "type")
				f.field("value").input.SetValue(a.Value)
				f.field("comment").input.SetValue(a.Comment)
				f.field("ids").on = bool(a.ToIDs)
				if cat := f.field("category"); types != nil {
					for j, name := range cat.choices {
						if name == a.Category {
							cat.choice = j
						}
					}
				}
			}
			return
		}
		typeChanged(f, id)
	}
	f.save = func(f *miniForm) tea.Cmd {
		value, _ := misp.NormalizeValue(f.value("type"), f.value("value"))
		p := misp.ShadowAttribute{Type: f.value("type"), Category: f.value("category"), Value: value,
			ToIDs: misp.Bool(f.field("ids").on), Comment: f.value("comment")}
		attrUUID := ""
		if i := f.field("target").choice; i > 0 {
			attrUUID = attrs[i-1].UUID
			p.ProposalToDelete = misp.Bool(f.field("delete").on)
		}
		return addProposal(c.Ctx, c.Store, ev.UUID, attrUUID, p, f)
	}
	return f
}

// proposalLines is the event detail's Proposals section: each proposal with the value it
// would replace.
func (d *eventDetail) proposalLines(w int) []string {
	s := d.c.Styles
	if len(d.proposals) == 0 {
		return nil
	}
	old := map[string]string{}
	d.ev.ForEachAttribute(func(a *misp.Attribute) { old[a.UUID] = a.Value })
	out := []string{"", " " + s.Bold.Render(fmt.Sprintf("Proposals (%d)", len(d.proposals))) + s.Dim.Render("  P reviews them (a accepts, x discards)")}
	for i := range d.proposals {
		r := &d.proposals[i]
		line := proposalLine(d.c, r, w)
		if v, ok := old[r.AttributeUUID()]; ok && !bool(r.Proposal.ProposalToDelete) {
			line += s.Dim.Render("  was " + truncate(clean(v), 30))
		}
		out = append(out, line)
	}
	return out
}

// commentLines is the event detail's Comments section: the event's thread, never synced.
func (d *eventDetail) commentLines(w int) []string {
	s := d.c.Styles
	out := []string{"", " " + s.Bold.Render(fmt.Sprintf("Comments (%d)", len(d.comments))) + s.Dim.Render("  c comments · m contacts the reporter · never sent to another server")}
	for _, p := range d.comments {
		out = append(out, postLines(d.c, &p, w, "  ")...)
	}
	return out
}

// postLines is one post: its author and age, then its text wrapped under it.
func postLines(c *Context, p *store.Post, w int, indent string) []string {
	s := c.Styles
	who := clean(p.UserEmail)
	if p.UserOrgID == 0 {
		who = "Deactivated user"
	}
	out := []string{indent + s.Bold.Render(who) + s.Dim.Render(" ("+clean(p.UserOrgName)+") · "+ago(c.Now(), time.Unix(p.DateCreated, 0)))}
	for _, l := range strings.Split(p.Contents, "\n") {
		for _, wl := range strings.Split(ansi.Wrap(clean(l), max(w-len(indent)-2, 10), ""), "\n") {
			out = append(out, indent+"  "+wl)
		}
	}
	return out
}

// collabKey handles the event detail's collaboration keys.
func (d *eventDetail) collabKey(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	ev := d.ev
	switch {
	case key.Matches(msg, d.keys.Propose):
		if d.c.Instance != nil && ev.Orgc != nil && ev.Orgc.UUID == d.c.Instance.HostOrg.UUID {
			return flash(store.LevelWarn, "This is your organisation's event: edit it (a, t, d) rather than propose"), true
		}
		return openScreen(newProposeForm(d.c, ev)), true
	case key.Matches(msg, d.keys.Proposals):
		return openScreen(newProposalsScreen(d.c, ev.UUID, ev.Info)), true
	case key.Matches(msg, d.keys.Comment):
		return openScreen(newPostForm(d.c, "Comment", "On "+truncate(clean(ev.Info), 50)+". Comments stay on this instance.", 0, ev.UUID, false)), true
	case key.Matches(msg, d.keys.Contact):
		return openScreen(newContactForm(d.c, ev)), true
	}
	return nil, false
}

// newContactForm writes to the event's reporter (events/contact).
func newContactForm(c *Context, ev *misp.Event) *miniForm {
	msg := textFormField(c, "message", "Message", "what you want to ask", store.MaxMailBodyBytes/2)
	to := choiceFormField("to", "To", []string{"the event's creator", "its organisation's contacts"}, 0)
	f := newMiniForm(c, "Contact reporter", "About "+truncate(clean(ev.Info), 50)+", to "+truncate(orgName(ev.Orgc), 30)+
		". Sent by mail (OpenPGP-encrypted where they have a key).", []*formField{msg, to})
	f.check = func(f *miniForm) map[string]string {
		if f.value("message") == "" {
			return map[string]string{"message": "You must specify a message."}
		}
		return nil
	}
	f.save = func(f *miniForm) tea.Cmd {
		return contactReporter(c.Ctx, c.Store, ev.UUID, f.value("message"), f.field("to").choice == 0, f)
	}
	return f
}
