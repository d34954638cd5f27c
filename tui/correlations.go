package tui

// Correlation in the console: an event's related events (those the console's user may
// see, as the gate decides: gate.Check.Related) and its feed hits, each with the values
// shared, on the event detail; and the most correlated values (:correlations), MISP's
// correlations/top, each opening the events that hold it.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"mispdesk/store"
	"mispdesk/store/misp"
)

// relatedEvent is an event sharing values with the one shown.
type relatedEvent struct {
	row    *store.IndexRow
	shared []string // the values shared, sorted
}

// feedMatch is a feed holding values of the event shown.
type feedMatch struct {
	name   string
	shared []string // the values it holds, sorted
}

// relatedEvents reads the events related to ev that the console's user may see, newest
// first, each with the values it shares.
func relatedEvents(ctx context.Context, st *store.Store, ev *misp.Event) ([]relatedEvent, error) {
	a, err := consoleActor(ctx, st)
	if err != nil {
		return nil, err
	}
	visible, _, err := a.check.Event(ev)
	if err != nil {
		return nil, fmt.Errorf("related events: %w", err)
	}
	if visible == nil {
		return nil, nil
	}
	rel, err := a.check.Related(visible)
	if err != nil {
		return nil, fmt.Errorf("related events: %w", err)
	}
	values := map[int64][]string{}
	for _, c := range rel.Correlations {
		if !slices.Contains(values[c.Other.EventID], c.Value) {
			values[c.Other.EventID] = append(values[c.Other.EventID], c.Value)
		}
	}
	var out []relatedEvent
	for _, id := range rel.EventIDs() {
		slices.Sort(values[id])
		out = append(out, relatedEvent{row: rel.Events[id], shared: values[id]})
	}
	return out, nil
}

// feedMatches groups an event's feed hits by feed, in the order the feeds first appear.
func feedMatches(hits []store.AttributeFeedHits) []feedMatch {
	var out []feedMatch
	at := map[int64]int{}
	for _, h := range hits {
		for _, f := range h.Feeds {
			i, ok := at[f.FeedID]
			if !ok {
				i, at[f.FeedID] = len(out), len(out)
				out = append(out, feedMatch{name: f.FeedName})
			}
			if !slices.Contains(out[i].shared, h.Value) {
				out[i].shared = append(out[i].shared, h.Value)
			}
		}
	}
	for i := range out {
		slices.Sort(out[i].shared)
	}
	return out
}

// sharedLine lists shared values in the width left, saying how many did not fit.
func sharedLine(s *Styles, values []string, w int) string {
	head := s.Dim.Render(fmt.Sprintf("%d shared: ", len(values)))
	w -= ansi.StringWidth(head)
	var b strings.Builder
	for i, v := range values {
		part := clean(v)
		if i > 0 {
			part = ", " + part
		}
		rest := ""
		if left := len(values) - i - 1; left > 0 {
			rest = fmt.Sprintf(", +%d more", left)
		}
		if ansi.StringWidth(b.String()+part+rest) > w {
			if i == 0 {
				return head + truncate(part, w-len(rest)) + s.Dim.Render(rest)
			}
			return head + b.String() + s.Dim.Render(fmt.Sprintf(", +%d more", len(values)-i))
		}
		b.WriteString(part)
	}
	return head + b.String()
}

// relatedLines is the Related events section of the detail; sel marks the selected one.
func (d *eventDetail) relatedLines(w int) []string {
	s := d.c.Styles
	switch {
	case d.relatedErr != nil:
		return []string{"", " " + s.Bold.Render("Related events") + " " + s.Error.Render("?") + " " + oneLine(d.relatedErr.Error())}
	case len(d.related) == 0:
		return []string{"", " " + s.Bold.Render("Related events") + s.Dim.Render("  none: no value is shared with an event you may see")}
	}
	out := []string{"", " " + s.Bold.Render(fmt.Sprintf("Related events (%d)", len(d.related))) + s.Dim.Render("  ({ } selects, o opens; esc comes back)")}
	for i, r := range d.related {
		mark := "  "
		if i == d.relSel {
			mark = s.Bold.Render("▸ ")
		}
		head := mark + clean(r.row.Date) + " " + pad(truncate(clean(r.row.OrgcName), 12), 12) + " "
		line := head + clean(r.row.Info)
		shared := "    " + sharedLine(s, r.shared, w-4)
		if i == d.relSel {
			line = s.Selected.Render(pad(ansi.Truncate(ansi.Strip(line), w, "…"), w))
		}
		out = append(out, line, shared)
	}
	return out
}

// feedLines is the Feed hits section, shown as the related events are.
func (d *eventDetail) feedLines(w int) []string {
	if len(d.feeds) == 0 {
		return nil
	}
	s := d.c.Styles
	out := []string{"", " " + s.Bold.Render(fmt.Sprintf("Feed hits (%d)", len(d.feeds)))}
	for _, f := range d.feeds {
		out = append(out, "  "+clean(f.name), "    "+sharedLine(s, f.shared, w-4))
	}
	return out
}

// topCorrelationsLimit is how many values of each kind :correlations lists.
const topCorrelationsLimit = 100

type topCorrelationsMsg struct {
	rows []store.CorrelationCount
	err  error
}

func loadTopCorrelations(ctx context.Context, st *store.Store) tea.Cmd {
	return func() tea.Msg {
		a, err := consoleActor(ctx, st)
		if err != nil {
			return topCorrelationsMsg{err: err}
		}
		rows, err := a.check.TopCorrelations(topCorrelationsLimit)
		return topCorrelationsMsg{rows: rows, err: err}
	}
}

// correlationsScreen is :correlations: the values correlated most (MISP's top
// correlations), then those no longer correlated for matching too many attributes.
type correlationsScreen struct {
	c      *Context
	rows   []store.CorrelationCount
	err    error
	loaded bool
	sel    int
	scroll scroller
	keys   correlationsKeys
}

type correlationsKeys struct{ Up, Down, Open, Copy, Settings, Reload, Back key.Binding }

func (k correlationsKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Open, k.Copy, k.Settings, k.Reload, k.Back}
}
func (k correlationsKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down}, {k.Open, k.Copy, k.Settings, k.Reload, k.Back}}
}

func newCorrelationsScreen(c *Context) *correlationsScreen {
	return &correlationsScreen{c: c, keys: correlationsKeys{
		Up: keyUp, Down: keyDown,
		Open:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("⏎", "events")),
		Copy:     key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy value")),
		Settings: key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "settings")),
		Reload:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reload")),
		Back:     key.NewBinding(key.WithKeys("esc", "q"), key.WithHelp("esc", "back")),
	}}
}

func (p *correlationsScreen) Title() string { return "Most correlated values" }
func (p *correlationsScreen) Keys() KeyHelp { return p.keys }
func (p *correlationsScreen) Init() tea.Cmd { return loadTopCorrelations(p.c.Ctx, p.c.Store) }
func (*correlationsScreen) view()           {}

func (p *correlationsScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case topCorrelationsMsg:
		p.loaded, p.err, p.rows = true, msg.err, msg.rows
		p.sel = max(min(p.sel, len(p.rows)-1), 0)
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, p.keys.Back):
			return closeScreen
		case key.Matches(msg, p.keys.Up):
			p.sel = max(p.sel-1, 0)
		case key.Matches(msg, p.keys.Down):
			p.sel = min(p.sel+1, max(len(p.rows)-1, 0))
		case key.Matches(msg, p.keys.Reload):
			return p.Init()
		case key.Matches(msg, p.keys.Settings):
			return openCorrelationSettings(p.c)
		case key.Matches(msg, p.keys.Copy) && p.sel < len(p.rows):
			return copyText("the value", p.rows[p.sel].Value)
		case key.Matches(msg, p.keys.Open) && p.sel < len(p.rows):
			if r := p.rows[p.sel]; r.Over {
				return flash(store.LevelWarn, "%s matched too many attributes: it is no longer correlated", truncate(clean(r.Value), 40))
			}
			return openScreen(newValueEventsScreen(p.c, p.rows[p.sel].Value))
		}
	}
	return nil
}

func (p *correlationsScreen) View(w, h int) string {
	s := p.c.Styles
	if v, ok := s.listState(p.err, p.loaded, len(p.rows), "Loading the most correlated values…",
		"No correlations yet: values correlate when two events share them."); ok {
		return v
	}
	lines := []string{" " + s.Dim.Render(pad("LINKS", 7)+" VALUE")}
	over := false
	for i, r := range p.rows {
		if r.Over && !over {
			over = true
			lines = append(lines, " "+s.Dim.Render(pad("SEEN", 7)+" OVER-CORRELATING: matched too many attributes, no longer correlated"))
		}
		line := " " + pad(strconv.Itoa(r.Count), 7) + " " + clean(r.Value)
		if i == p.sel {
			line = s.Selected.Render(pad(ansi.Truncate(line, w, "…"), w))
		} else {
			line = ansi.Truncate(line, w, "…")
		}
		lines = append(lines, line)
	}
	at := p.sel + 1 // the selected row's line: under the heading, and the second one if past it
	if p.rows[p.sel].Over {
		at++
	}
	p.scroll.off = max(at+2-h, 0)
	return p.scroll.window(s, lines, w, h)
}

type valueEventsMsg struct {
	value string
	rows  []*store.IndexRow
	err   error
}

func loadValueEvents(ctx context.Context, st *store.Store, value string) tea.Cmd {
	return func() tea.Msg {
		a, err := consoleActor(ctx, st)
		if err != nil {
			return valueEventsMsg{value: value, err: err}
		}
		rows, err := a.check.ValueEvents(value)
		return valueEventsMsg{value: value, rows: rows, err: err}
	}
}

// valueEventsScreen lists the events holding one correlated value; enter opens one.
type valueEventsScreen struct {
	c      *Context
	value  string
	rows   []*store.IndexRow
	err    error
	loaded bool
	sel    int
	scroll scroller
	keys   valueEventsKeys
}

type valueEventsKeys struct{ Up, Down, Open, Back key.Binding }

func (k valueEventsKeys) ShortHelp() []key.Binding { return []key.Binding{k.Open, k.Back} }
func (k valueEventsKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down}, {k.Open, k.Back}}
}

func newValueEventsScreen(c *Context, value string) *valueEventsScreen {
	return &valueEventsScreen{c: c, value: value, keys: valueEventsKeys{
		Up: keyUp, Down: keyDown,
		Open: key.NewBinding(key.WithKeys("enter"), key.WithHelp("⏎", "open event")),
		Back: key.NewBinding(key.WithKeys("esc", "q"), key.WithHelp("esc", "back")),
	}}
}

func (v *valueEventsScreen) Title() string { return "Events with " + truncate(clean(v.value), 30) }
func (v *valueEventsScreen) Keys() KeyHelp { return v.keys }
func (v *valueEventsScreen) Init() tea.Cmd { return loadValueEvents(v.c.Ctx, v.c.Store, v.value) }
func (*valueEventsScreen) view()           {}

func (v *valueEventsScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case valueEventsMsg:
		if msg.value == v.value {
			v.loaded, v.err, v.rows = true, msg.err, msg.rows
			v.sel = max(min(v.sel, len(v.rows)-1), 0)
		}
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, v.keys.Back):
			return closeScreen
		case key.Matches(msg, v.keys.Up):
			v.sel = max(v.sel-1, 0)
		case key.Matches(msg, v.keys.Down):
			v.sel = min(v.sel+1, max(len(v.rows)-1, 0))
		case key.Matches(msg, v.keys.Open) && v.sel < len(v.rows):
			return openScreen(newEventDetail(v.c, v.rows[v.sel].UUID, v.rows[v.sel].Info))
		}
	}
	return nil
}

func (v *valueEventsScreen) View(w, h int) string {
	s := v.c.Styles
	if st, ok := s.listState(v.err, v.loaded, len(v.rows), "Loading the events with "+clean(v.value)+"…",
		"No event you may see holds it any more."); ok {
		return st
	}
	lines := []string{" " + s.Dim.Render(pad("DATE", 10)+" "+pad("CREATOR", 12)+" INFO")}
	for i, r := range v.rows {
		line := " " + clean(r.Date) + " " + pad(truncate(clean(r.OrgcName), 12), 12) + " " + clean(r.Info)
		if i == v.sel {
			line = s.Selected.Render(pad(ansi.Truncate(line, w, "…"), w))
		} else {
			line = ansi.Truncate(line, w, "…")
		}
		lines = append(lines, line)
	}
	v.scroll.off = max(v.sel+3-h, 0)
	return v.scroll.window(s, lines, w, h)
}

// correlationSettingLabels are the correlation settings form's short labels (errors name
// the setting by MISP's name).
var correlationSettingLabels = map[string]string{
	store.SettingCorrelationDisabled: "Disabled", store.SettingAdvancedCorrelations: "CIDR matching",
	store.SettingCorrelationLimit: "Limit", store.SettingMaxCorrelationsPerEvent: "Max per event",
}

// openCorrelationSettings reads the correlation settings, then opens their form.
func openCorrelationSettings(c *Context) tea.Cmd {
	ctx, st := c.Ctx, c.Store
	return func() tea.Msg {
		values, err := st.InstanceSettingValues(ctx)
		if err != nil {
			return flashMsg{store.LevelError, oneLine(err.Error())}
		}
		return openScreenMsg{newCorrelationSettingsForm(c, values)}
	}
}

// newCorrelationSettingsForm sets MISP's correlation settings as servers/serverSettingsEdit
// does, every value checked before any is written.
func newCorrelationSettingsForm(c *Context, values map[string]string) *miniForm {
	var fields []*formField
	for _, d := range store.CorrelationSettings {
		v := values[d.Name]
		if d.Type == "boolean" {
			fields = append(fields, &formField{id: d.Name, label: correlationSettingLabels[d.Name], kind: boolField, on: v == "true"})
			continue
		}
		fl := textFormField(c, d.Name, correlationSettingLabels[d.Name], d.Default, 8)
		fl.input.SetValue(v)
		fields = append(fields, fl)
	}
	f := newMiniForm(c, "Correlation settings", "MISP's correlation settings (mispdesk settings list names them). A change applies to "+
		"what is written from now on; mispdesk correlation rebuild correlates what is stored again.", fields)
	f.check = func(f *miniForm) map[string]string {
		errs := map[string]string{}
		for i := range store.CorrelationSettings {
			d := &store.CorrelationSettings[i]
			if v, ok := settingValue(f, d); ok {
				if err := store.CheckCorrelationSetting(d.Name, v); err != nil {
					errs[d.Name] = err.Error()
				}
			}
		}
		if len(errs) == 0 {
			return nil
		}
		return errs
	}
	f.save = func(f *miniForm) tea.Cmd {
		set := map[string]string{}
		for i := range store.CorrelationSettings {
			d := &store.CorrelationSettings[i]
			if v, ok := settingValue(f, d); ok && v != values[d.Name] {
				set[d.Name] = v
			}
		}
		ctx, st := c.Ctx, c.Store
		return func() tea.Msg {
			for _, d := range store.CorrelationSettings {
				if v, ok := set[d.Name]; ok {
					if err := st.SetInstanceSetting(ctx, d.Name, v); err != nil {
						return formDoneMsg{form: f, err: err}
					}
				}
			}
			return formDoneMsg{form: f, then: flash(store.LevelInfo, "Saved %d correlation settings", len(set))}
		}
	}
	return f
}
