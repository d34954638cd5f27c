package tui

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// rulesPane edits one server's push or pull rules — tags and orgs, allow (OR:
// one must match) and block (NOT: none may) — with a live dry run beside
// them: the run's own decision (syncer.Engine.RulesDryRun: distribution, published,
// blocklists, then the staged rules) over the newest local events, how many pass, how
// many each rule blocks, and the list. Edits are staged: the dry run shows them at
// once; w saves (validated by policy.ParseRules), u reverts.
type rulesPane struct {
	c    *Context
	keys rulesKeys

	server int  // index in c.Servers
	pull   bool // pull rules, else push
	loaded bool

	shown  string       // server id and kind and stored text in the editor
	saved  policy.Rules // as stored
	rules  policy.Rules // staged
	parseE error
	dirty  bool
	cursor int // over the entries (and each list's "add" line)
	saving bool

	sample     []*misp.Event
	total      int
	sampleErr  error
	sampleGen  int
	verdicts   []policy.RuleVerdict
	dryGen     int
	listMode   int // 0 all, 1 passed, 2 blocked
	listScroll int
}

// ruleSampleSize bounds the events a dry run looks at (the newest).
const ruleSampleSize = 5000

type rulesKeys struct {
	Up, Down, Server, Kind, Add, Remove, Save, Revert, List, PgDown, PgUp key.Binding
}

func (k rulesKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Server, k.Kind, k.Add, k.Remove, k.Save, k.Revert, k.List}
}

func (k rulesKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.Server, k.Kind}, {k.Add, k.Remove, k.Save, k.Revert}, {k.List, k.PgDown, k.PgUp}}
}

func newRulesPane(c *Context) Pane {
	return &rulesPane{c: c, keys: rulesKeys{
		Up: keyUp, Down: keyDown,
		Server: key.NewBinding(key.WithKeys("[", "]"), key.WithHelp("[/]", "server")),
		Kind:   key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "push/pull")),
		Add:    key.NewBinding(key.WithKeys("a", "enter"), key.WithHelp("a", "add")),
		Remove: key.NewBinding(key.WithKeys("d", "x", "delete"), key.WithHelp("d", "remove")),
		Save:   key.NewBinding(key.WithKeys("w", "ctrl+s"), key.WithHelp("w", "save")),
		Revert: key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "revert")),
		List:   key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "list all/pass/block")),
		PgDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "scroll list")),
		PgUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "scroll list")),
	}}
}

func (p *rulesPane) Title() string   { return "Rules" }
func (p *rulesPane) Keys() KeyHelp   { return p.keys }
func (p *rulesPane) Capturing() bool { return false }

// keyMaps: the pane's keys, for a Config to rebind (rules.…).
func (p *rulesPane) keyMaps() map[string]any { return map[string]any{"rules": &p.keys} }
func (p *rulesPane) Init() tea.Cmd           { return p.loadSample() }

type (
	ruleSampleMsg struct {
		gen    int
		events []*misp.Event
		total  int
		err    error
	}
	dryRunMsg struct {
		gen      int
		verdicts []policy.RuleVerdict
		err      error
	}
	// ruleAddMsg adds an entry to a list (from the entry form).
	ruleAddMsg struct {
		list  int
		value string
	}
	rulesSavedMsg struct {
		serverID store.ServerID
		err      error
	}
)

// The four lists, in the order shown.
var ruleLists = []struct{ title, hint string }{
	{"Tags allowed (OR)", "the event must carry one"},
	{"Tags blocked (NOT)", "the event may carry none"},
	{"Orgs allowed (OR)", "the creator org must be one"},
	{"Orgs blocked (NOT)", "the creator org may be none"},
}

func (p *rulesPane) list(i int) *[]string {
	switch i {
	case 0:
		return &p.rules.Tags.OR
	case 1:
		return &p.rules.Tags.NOT
	case 2:
		return &p.rules.Orgs.OR
	}
	return &p.rules.Orgs.NOT
}

// slots are the cursor's stops: each entry of each list, then its add line.
func (p *rulesPane) slots() [][2]int {
	var out [][2]int
	for i := range ruleLists {
		for j := range *p.list(i) {
			out = append(out, [2]int{i, j})
		}
		out = append(out, [2]int{i, -1})
	}
	return out
}

func (p *rulesPane) current() *store.Server {
	if p.server < 0 || p.server >= len(p.c.Servers) {
		return nil
	}
	return &p.c.Servers[p.server]
}

func (p *rulesPane) kind() policy.RulesKind {
	if p.pull {
		return policy.PullRules
	}
	return policy.PushRules
}

// reset loads the selected server's stored rules into the editor.
func (p *rulesPane) reset() tea.Cmd {
	sv := p.current()
	p.dirty, p.parseE = false, nil
	p.saved, p.rules = policy.Rules{}, policy.Rules{}
	if sv == nil {
		return nil
	}
	p.shown = p.storedKey()
	text := sv.PushRules
	if p.pull {
		text = sv.PullRules
	}
	r, err := policy.ParseRules(p.kind(), text)
	if err != nil {
		p.parseE = err
		return nil
	}
	p.saved = r
	p.rules = cloneRules(r)
	p.cursor = min(p.cursor, len(p.slots())-1)
	return p.dryRun()
}

// storedKey names what the editor shows: the server, the kind, the stored text.
func (p *rulesPane) storedKey() string {
	sv := p.current()
	if sv == nil {
		return ""
	}
	text := sv.PushRules
	if p.pull {
		text = sv.PullRules
	}
	return fmt.Sprintf("%d %v %s", sv.ID, p.pull, text)
}

func cloneRules(r policy.Rules) policy.Rules {
	c := r
	c.Tags.OR, c.Tags.NOT = slices.Clone(r.Tags.OR), slices.Clone(r.Tags.NOT)
	c.Orgs.OR, c.Orgs.NOT = slices.Clone(r.Orgs.OR), slices.Clone(r.Orgs.NOT)
	return c
}

func (p *rulesPane) loadSample() tea.Cmd {
	if p.c.Store == nil {
		return nil
	}
	p.sampleGen++
	gen, ctx, st := p.sampleGen, p.c.Ctx, p.c.Store
	return func() tea.Msg {
		evs, total, err := st.RuleSample(ctx, ruleSampleSize)
		return ruleSampleMsg{gen: gen, events: evs, total: total, err: err}
	}
}

// dryRun runs the staged rules over the sample, off the UI goroutine.
func (p *rulesPane) dryRun() tea.Cmd {
	if p.sample == nil || p.current() == nil {
		return nil
	}
	p.dryGen++
	gen, kind, r, evs := p.dryGen, p.kind(), cloneRules(p.rules), p.sample
	ctx, eng, server := p.c.Ctx, p.c.Engine, p.current().ID
	return func() tea.Msg {
		v, err := eng.RulesDryRun(ctx, server, kind, r, evs)
		return dryRunMsg{gen: gen, verdicts: v, err: err}
	}
}

func (p *rulesPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case serversMsg:
		first := !p.loaded
		p.loaded = true
		if p.server >= len(p.c.Servers) {
			p.server = max(len(p.c.Servers)-1, 0)
		}
		if first || (!p.dirty && p.storedKey() != p.shown) {
			return p.reset()
		}
	case ruleSampleMsg:
		if msg.gen == p.sampleGen {
			p.sample, p.total, p.sampleErr = msg.events, msg.total, msg.err
			return p.dryRun()
		}
	case dryRunMsg:
		if msg.gen == p.dryGen {
			p.verdicts = msg.verdicts
			if msg.err != nil {
				p.sampleErr = msg.err
			}
		}
	case eventChangedMsg, runDoneMsg:
		return p.loadSample()
	case ruleAddMsg:
		l := p.list(msg.list)
		if !hasFold(*l, msg.value) {
			*l = append(*l, msg.value)
			p.dirty = true
		}
		return p.dryRun()
	case rulesSavedMsg:
		p.saving = false
		if msg.err != nil {
			return flash(store.LevelError, "%s", oneLine(msg.err.Error()))
		}
		p.dirty = false
		return tea.Batch(loadServers(p.c.Ctx, p.c.Store), flash(store.LevelInfo, "Saved the %s of %s", p.kind(), p.serverName()))
	case tea.KeyPressMsg:
		return p.key(msg)
	}
	return nil
}

func (p *rulesPane) serverName() string {
	if sv := p.current(); sv != nil {
		return clean(sv.Name)
	}
	return ""
}

func (p *rulesPane) key(msg tea.KeyPressMsg) tea.Cmd {
	sv := p.current()
	if sv == nil {
		return nil
	}
	slots := p.slots()
	switch {
	case key.Matches(msg, p.keys.Server), key.Matches(msg, p.keys.Kind):
		if p.dirty {
			return flash(store.LevelWarn, "Unsaved changes to the %s of %s: w saves, u reverts", p.kind(), clean(sv.Name))
		}
		if key.Matches(msg, p.keys.Kind) {
			p.pull = !p.pull
		} else if n := len(p.c.Servers); msg.String() == "]" {
			p.server = (p.server + 1) % n
		} else {
			p.server = (p.server + n - 1) % n
		}
		p.cursor, p.listScroll = 0, 0
		return p.reset()
	case key.Matches(msg, p.keys.Up):
		p.cursor = max(p.cursor-1, 0)
	case key.Matches(msg, p.keys.Down):
		p.cursor = min(p.cursor+1, len(slots)-1)
	case key.Matches(msg, p.keys.List):
		p.listMode = (p.listMode + 1) % 3
		p.listScroll = 0
	case key.Matches(msg, p.keys.PgDown):
		p.listScroll += 10
	case key.Matches(msg, p.keys.PgUp):
		p.listScroll = max(p.listScroll-10, 0)
	case key.Matches(msg, p.keys.Add):
		if p.parseE != nil {
			return flash(store.LevelWarn, "The stored rules do not parse; fix them first (mispdesk server edit)")
		}
		return openScreen(newRuleEntryForm(p.c, slots[p.cursor][0], p.kind()))
	case key.Matches(msg, p.keys.Remove):
		at := slots[p.cursor]
		if at[1] < 0 {
			return nil
		}
		l := p.list(at[0])
		*l = slices.Delete(*l, at[1], at[1]+1)
		p.dirty = true
		return p.dryRun()
	case key.Matches(msg, p.keys.Revert):
		if !p.dirty {
			return nil
		}
		p.rules = cloneRules(p.saved)
		p.dirty = false
		p.cursor = min(p.cursor, len(p.slots())-1)
		return tea.Batch(p.dryRun(), flash(store.LevelInfo, "Reverted the %s of %s", p.kind(), clean(sv.Name)))
	case key.Matches(msg, p.keys.Save):
		if !p.dirty || p.saving {
			return nil
		}
		text, err := rulesJSON(p.rules)
		if err == nil {
			_, err = policy.ParseRules(p.kind(), text) // what the syncer will read
		}
		if err != nil {
			return flash(store.LevelError, "%s", oneLine(err.Error()))
		}
		p.saving = true
		return saveRules(p.c.Ctx, p.c.Store, *sv, p.pull, text)
	}
	return nil
}

// rulesJSON writes rules as MISP stores them: url_params a JSON string.
func rulesJSON(r policy.Rules) (string, error) {
	list := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	params := ""
	if len(r.URLParams) > 0 {
		b, err := json.Marshal(r.URLParams)
		if err != nil {
			return "", err
		}
		params = string(b)
	}
	out := map[string]any{
		"tags":            map[string][]string{"OR": list(r.Tags.OR), "NOT": list(r.Tags.NOT)},
		"orgs":            map[string][]string{"OR": list(r.Orgs.OR), "NOT": list(r.Orgs.NOT)},
		"type_attributes": map[string][]string{"NOT": list(r.TypeAttributes.NOT)},
		"type_objects":    map[string][]string{"NOT": list(r.TypeObjects.NOT)},
		"url_params":      params,
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func saveRules(ctx context.Context, st *store.Store, sv store.Server, pull bool, text string) tea.Cmd {
	return func() tea.Msg {
		spec := sv.Spec()
		spec.Authkey = "" // keep the stored key
		if pull {
			spec.PullRules = text
		} else {
			spec.PushRules = text
		}
		_, err := st.UpdateServer(ctx, sv.ID, spec)
		return rulesSavedMsg{serverID: sv.ID, err: err}
	}
}

func (p *rulesPane) View(w, h int) string {
	s := p.c.Styles
	sv := p.current()
	if !p.loaded {
		return "\n Loading servers…"
	}
	if sv == nil {
		return "\n " + s.Title.Render("Rules") + "\n\n No servers yet: rules belong to a server. Add one on the Servers pane (1, a)."
	}
	kind := "Push rules"
	if p.pull {
		kind = "Pull rules"
	}
	head := " " + s.Title.Render("Rules") + "  ‹ " + s.Bold.Render(clean(sv.Name)) + " › " + s.Dim.Render(fmt.Sprintf("%d of %d", p.server+1, len(p.c.Servers))) +
		"   " + s.Selected.Render(" "+kind+" ")
	if p.dirty {
		head += "  " + s.Warn.Render("unsaved") + s.Dim.Render(" (w saves, u reverts)")
	}
	leftW := min(max(w*9/20, 34), 56)
	rightW := w - leftW - 1
	left := p.editorLines(leftW)
	right := p.dryRunLines(rightW, h-1)
	lines := []string{truncate(head, w)}
	for i := 0; i < h-1; i++ {
		l, r := "", ""
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			r = right[i]
		}
		lines = append(lines, pad(truncate(l, leftW), leftW)+s.Dim.Render("│")+truncate(r, rightW))
	}
	return strings.Join(lines, "\n")
}

func (p *rulesPane) editorLines(w int) []string {
	s := p.c.Styles
	var out []string
	if p.parseE != nil {
		out = append(out, "", " "+s.Error.Render("ERROR")+" the stored rules do not parse:")
		for _, l := range wrap(oneLine(p.parseE.Error()), w-2) {
			out = append(out, " "+l)
		}
		return out
	}
	blocks := p.blockCounts()
	slot := 0
	for i, l := range ruleLists {
		title := " " + s.Bold.Render(l.title)
		if n, ok := blocks[i]; ok && n > 0 {
			title += s.Warn.Render(fmt.Sprintf(" blocks %d", n))
		}
		out = append(out, title)
		for _, v := range *p.list(i) {
			out = append(out, p.slotLine(slot, "   "+clean(v), w))
			slot++
		}
		if len(*p.list(i)) == 0 {
			out = append(out, "   "+s.Dim.Render("none: "+ruleOff(i)))
		}
		out = append(out, p.slotLine(slot, "   "+s.Dim.Render("+ add ("+l.hint+")"), w))
		slot++
	}
	if n := len(p.rules.TypeAttributes.NOT) + len(p.rules.TypeObjects.NOT); n > 0 || len(p.rules.URLParams) > 0 {
		out = append(out, " "+s.Dim.Render(fmt.Sprintf("also kept: %d type filters, url_params", n)))
	}
	return out
}

func ruleOff(i int) string {
	if i%2 == 0 {
		return "everything allowed"
	}
	return "nothing blocked"
}

func (p *rulesPane) slotLine(slot int, text string, w int) string {
	if slot == p.cursor {
		return p.c.Styles.Selected.Render(pad(truncate("▸"+strings.TrimPrefix(text, " "), w), w))
	}
	return text
}

// blockCounts is how many sampled events each list blocks (by its rule name).
func (p *rulesPane) blockCounts() map[int]int {
	names := []string{".tags.OR", ".tags.NOT", ".orgs.OR", ".orgs.NOT"}
	out := map[int]int{}
	for _, v := range p.verdicts {
		if st := v.Decision.BlockedBy(); st != nil {
			for i, n := range names {
				if strings.HasSuffix(st.Rule, n) {
					out[i]++
				}
			}
		}
	}
	return out
}

func (p *rulesPane) dryRunLines(w, h int) []string {
	s := p.c.Styles
	switch {
	case p.sampleErr != nil:
		return []string{" " + s.errorLine(p.sampleErr)}
	case p.sample == nil:
		return []string{" Dry run: loading events…"}
	case len(p.sample) == 0:
		return []string{" " + s.Bold.Render("Dry run"), " No local events to try the rules on."}
	}
	pass := 0
	for _, v := range p.verdicts {
		if v.Decision.Allowed {
			pass++
		}
	}
	n := len(p.verdicts)
	scope := fmt.Sprintf("%s events", thousands(n))
	if p.total > n {
		scope = fmt.Sprintf("the newest %s of %s events", thousands(n), thousands(p.total))
	}
	out := []string{" " + s.Bold.Render("Dry run") + s.Dim.Render(" over "+scope)}
	if p.pull {
		out = append(out, " "+s.Dim.Render("(pull rules tried on local events, as a stand-in for the remote's)"))
	}
	out = append(out, fmt.Sprintf(" %s pass   %s blocked", s.OK.Render(thousands(pass)), s.Warn.Render(thousands(n-pass))))
	mode := []string{"all", "passing", "blocked"}[p.listMode]
	out = append(out, " "+s.Dim.Render("showing "+mode+" (l changes)"))
	var rows []string
	for _, v := range p.verdicts {
		ok := v.Decision.Allowed
		if (p.listMode == 1 && !ok) || (p.listMode == 2 && ok) {
			continue
		}
		if ok {
			rows = append(rows, " "+s.OK.Render("✓")+" "+clean(v.Info))
		} else {
			why := ""
			if st := v.Decision.BlockedBy(); st != nil {
				why = s.Dim.Render("  " + strings.TrimPrefix(strings.TrimPrefix(st.Rule, "push_rules."), "pull_rules."))
			}
			rows = append(rows, " "+s.Warn.Render("✗")+" "+truncate(clean(v.Info), max(w-16, 8))+why)
		}
	}
	room := max(h-len(out), 1)
	p.listScroll = max(min(p.listScroll, len(rows)-room), 0)
	end := min(p.listScroll+room, len(rows))
	return append(out, rows[p.listScroll:end]...)
}

// ruleNamesMsg carries tag or org names for an entry form's completion.
type ruleNamesMsg struct {
	form  *miniForm
	names []string
}

// ruleEntryForm adds one entry to a rules list, completing from local tags
// (and the bundled taxonomies) or organisations.
type ruleEntryForm struct {
	*miniForm
	list int
}

func newRuleEntryForm(c *Context, list int, kind policy.RulesKind) *ruleEntryForm {
	what := "Tag"
	if list >= 2 {
		what = "Org"
	}
	in := textFormField(c, "value", what, "a name (tab completes)", 255)
	f := newMiniForm(c, "Add to "+ruleLists[list].title, fmt.Sprintf("An entry of the %s (%s).", kind, ruleLists[list].hint), []*formField{in})
	e := &ruleEntryForm{miniForm: f, list: list}
	if list < 2 {
		var names []string
		for _, t := range taxonomyTags() {
			names = append(names, t.Name)
		}
		f.setSuggestions("value", names)
	}
	f.check = func(f *miniForm) map[string]string {
		if f.value("value") == "" {
			return map[string]string{"value": "required"}
		}
		return nil
	}
	f.save = func(f *miniForm) tea.Cmd {
		v, l := f.value("value"), list
		return func() tea.Msg {
			return formDoneMsg{form: f, then: func() tea.Msg { return ruleAddMsg{list: l, value: v} }}
		}
	}
	return e
}

func (e *ruleEntryForm) Init() tea.Cmd {
	if e.c.Store == nil {
		return nil
	}
	f, ctx, st, tags := e.miniForm, e.c.Ctx, e.c.Store, e.list < 2
	return func() tea.Msg {
		var names []string
		if tags {
			names, _ = st.TagNames(ctx)
		} else {
			names, _ = st.OrgNames(ctx)
		}
		return ruleNamesMsg{form: f, names: names}
	}
}

func (e *ruleEntryForm) Update(msg tea.Msg) tea.Cmd {
	if m, ok := msg.(ruleNamesMsg); ok && m.form == e.miniForm {
		names := append([]string{}, e.suggest["value"]...)
		for _, n := range m.names {
			if !hasFold(names, n) {
				names = append(names, n)
			}
		}
		e.setSuggestions("value", names)
		return nil
	}
	return e.miniForm.Update(msg)
}
