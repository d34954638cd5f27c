package tui

import (
	"context"
	"encoding/pem"
	"fmt"
	"net/url"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/remote"
)

// serverForm adds or edits a server with every field of MISP's Add Server
// form (the MISP book's items 1–18; the rules, 19 and 20, are edited in the
// Rules pane), validated as they are typed. The store checks everything again
// on save; what it refuses is shown at the field it concerns.
type serverForm struct {
	c      *Context
	edit   *store.Server // nil: a new server
	fields []*formField
	focus  int
	orgs   []store.Org
	orgErr error
	saving bool
	err    string // the store's refusal not tied to a field
	keys   formKeys
	tried  bool // save was pressed: show every error
}

type fieldKind int

const (
	textField fieldKind = iota
	boolField
	choiceField
	buttonField
)

type formField struct {
	id      string
	num     string // MISP's item number
	label   string
	kind    fieldKind
	input   textinput.Model
	on      bool
	choices []string
	choice  int
	hint    string
	err     string
	touched bool // visited: its error shows
	changed bool // its value was changed by the person
}

type formKeys struct {
	Next, Prev, Toggle, Save, Cancel key.Binding
}

func (k formKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Next, k.Prev, k.Toggle, k.Save, k.Cancel}
}
func (k formKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// Remote org pools, MISP's item 4.
const (
	poolLocal    = "Local organisation"
	poolRemote   = "Known remote organisation"
	poolExternal = "New external organisation"
)

func newServerForm(c *Context, edit *store.Server) *serverForm {
	f := &serverForm{c: c, edit: edit, keys: formKeys{
		Next:   key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab/↓", "next")),
		Prev:   key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab/↑", "previous")),
		Toggle: key.NewBinding(key.WithKeys("space", "left", "right"), key.WithHelp("space/←/→", "toggle, choose")),
		Save:   key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "save")),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}}
	text := func(id, num, label, placeholder string, limit int) *formField {
		in := newInput(c.Styles, "", placeholder, limit)
		return &formField{id: id, num: num, label: label, kind: textField, input: in}
	}
	boolean := func(id, num, label string, on bool) *formField {
		return &formField{id: id, num: num, label: label, kind: boolField, on: on}
	}
	var o store.ServerOptions
	if edit != nil {
		o = edit.ServerOptions
	} else {
		o.Push, o.Pull = false, true
	}
	key := text("authkey", "6", "Authkey", "the 40-character key of your sync user there", 64)
	key.input.EchoMode = textinput.EchoPassword
	key.input.EchoCharacter = '•'
	ca := text("ca", "17", "Server CA file", "path to a PEM file (optional)", 4096)
	cert := text("cert", "18", "Client cert file", "path to a PEM certificate + key (optional)", 4096)
	f.fields = []*formField{
		text("url", "1", "Base URL", "https://misp.example.org", 2048),
		text("name", "2", "Instance name", "a name your users recognise", 255),
		boolean("internal", "3", "Internal instance", o.Internal),
		{id: "pool", num: "4", label: "Remote org type", kind: choiceField, choices: []string{poolLocal, poolRemote, poolExternal}},
		{id: "org", num: "5", label: "Remote org", kind: choiceField},
		text("neworg", "5", "New org name", "the remote host organisation's name", 255),
		text("neworguuid", "5", "New org UUID", "its UUID on the remote (optional, recommended)", 36),
		key,
		boolean("push", "7", "Push", o.Push),
		boolean("pull", "8", "Pull", o.Pull),
		boolean("pushsightings", "9", "Push sightings", o.PushSightings),
		boolean("caching", "10", "Caching enabled", o.CachingEnabled),
		boolean("pushgalaxy", "11", "Push galaxy clusters", o.PushGalaxyClusters),
		boolean("pullgalaxy", "12", "Pull galaxy clusters", o.PullGalaxyClusters),
		boolean("unpublish", "13", "Unpublish event", o.UnpublishEvent),
		boolean("noemail", "14", "Publish without email", o.PublishWithoutEmail),
		boolean("selfsigned", "15", "Self signed", o.SelfSigned),
		boolean("skipproxy", "16", "Skip proxy", o.SkipProxy),
		ca,
		cert,
		boolean("pushanalyst", "", "Push analyst data", o.PushAnalystData),
		boolean("pullanalyst", "", "Pull analyst data", o.PullAnalystData),
		boolean("removetags", "", "Remove missing tags", o.RemoveMissingTags),
		{id: "save", label: "Save", kind: buttonField},
	}
	f.field("internal").hint = "(remote org = host org only)"
	f.field("ca").hint = "a CA that signed the remote's certificate"
	if edit != nil {
		f.field("url").input.SetValue(edit.URL)
		f.field("name").input.SetValue(edit.Name)
		f.field("authkey").input.Placeholder = "unchanged (" + maskKey(edit.Authkey) + "); type a new key to replace"
		if edit.CertFile != "" {
			ca.input.Placeholder = "unchanged (" + describePEM(edit.CertFile) + "); - clears"
		}
		if edit.ClientCertFile != "" {
			cert.input.Placeholder = "unchanged (" + describePEM(edit.ClientCertFile) + "); - clears"
		}
	}
	f.focusField(0)
	return f
}

// orgsMsg is the organisations, for the remote org picker.
type orgsMsg struct {
	orgs []store.Org
	err  error
}

// formSavedMsg / formErrMsg are the outcome of a save.
type (
	formSavedMsg struct{ sv *store.Server }
	formErrMsg   struct{ err error }
)

// Init loads the organisations for the picker.
func (f *serverForm) Init() tea.Cmd {
	ctx, st := f.c.Ctx, f.c.Store
	return func() tea.Msg {
		orgs, err := st.Orgs(ctx)
		return orgsMsg{orgs, err}
	}
}

func (f *serverForm) Title() string {
	if f.edit != nil {
		return "Edit " + clean(f.edit.Name)
	}
	return "Add server"
}

func (f *serverForm) Keys() KeyHelp { return f.keys }

func (f *serverForm) field(id string) *formField {
	for _, fl := range f.fields {
		if fl.id == id {
			return fl
		}
	}
	panic("no form field " + id)
}

// visible reports whether a field shows: the new-org fields only for a new
// external organisation, the org picker only for an existing one.
func (f *serverForm) visible(fl *formField) bool {
	external := f.field("pool").choices[f.field("pool").choice] == poolExternal
	switch fl.id {
	case "neworg", "neworguuid":
		return external
	case "org":
		return !external
	}
	return true
}

func (f *serverForm) focusField(i int) tea.Cmd {
	for _, fl := range f.fields {
		if fl.kind == textField {
			fl.input.Blur()
		}
	}
	f.focus = i
	if fl := f.fields[i]; fl.kind == textField {
		return fl.input.Focus()
	}
	return nil
}

func (f *serverForm) move(delta int) tea.Cmd {
	i := f.focus
	for {
		i = (i + delta + len(f.fields)) % len(f.fields)
		if f.visible(f.fields[i]) {
			return f.focusField(i)
		}
	}
}

// pool lists the organisations of the chosen pool.
func (f *serverForm) pool() []store.Org {
	want := f.field("pool").choices[f.field("pool").choice]
	var out []store.Org
	for _, o := range f.orgs {
		if (want == poolLocal) == o.Local {
			out = append(out, o)
		}
	}
	return out
}

func (f *serverForm) setOrgChoices(selectUUID string) {
	orgField := f.field("org")
	orgField.choices = orgField.choices[:0]
	pool := f.pool()
	orgField.choice = 0
	for i, o := range pool {
		label := clean(o.Name)
		if f.c.Instance != nil && o.UUID == f.c.Instance.HostOrg.UUID {
			label += " (this instance's host org)"
		}
		orgField.choices = append(orgField.choices, label)
		if o.UUID == selectUUID {
			orgField.choice = i
		}
	}
}

// selectedOrg is the picked remote org, nil for a new external one.
func (f *serverForm) selectedOrg() *store.Org {
	pool := f.pool()
	if f.field("pool").choices[f.field("pool").choice] == poolExternal || len(pool) == 0 {
		return nil
	}
	o := pool[min(f.field("org").choice, len(pool)-1)]
	return &o
}

func (f *serverForm) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case orgsMsg:
		f.orgs, f.orgErr = msg.orgs, msg.err
		sel := ""
		if f.edit != nil {
			sel = f.edit.RemoteOrg.UUID
			pool := f.field("pool")
			pool.choice = 1
			if f.edit.RemoteOrg.Local {
				pool.choice = 0
			}
		} else if f.hasRemoteOrgs() {
			f.field("pool").choice = 1
		}
		f.setOrgChoices(sel)
		f.validate()
		return nil
	case formSavedMsg:
		f.saving = false
		verb := "Added"
		if f.edit != nil {
			verb = "Saved"
		}
		text := fmt.Sprintf("%s server %s: press t to test the connection", verb, clean(msg.sv.Name))
		return tea.Sequence(closeScreen, func() tea.Msg { return serverChangedMsg{text: text} })
	case formErrMsg:
		f.saving = false
		f.storeError(msg.err)
		return nil
	case tea.PasteMsg:
		if fl := f.fields[f.focus]; fl.kind == textField {
			var cmd tea.Cmd
			fl.input, cmd = fl.input.Update(msg)
			fl.touched, fl.changed = true, true
			f.validate()
			return cmd
		}
	case tea.KeyPressMsg:
		return f.key(msg)
	}
	return nil
}

// dirty: the person changed a field (moving through one is no change).
func (f *serverForm) dirty() bool {
	for _, fl := range f.fields {
		if fl.changed {
			return true
		}
	}
	return false
}

func (f *serverForm) hasRemoteOrgs() bool {
	for _, o := range f.orgs {
		if !o.Local {
			return true
		}
	}
	return false
}

func (f *serverForm) key(msg tea.KeyPressMsg) tea.Cmd {
	fl := f.fields[f.focus]
	switch {
	case key.Matches(msg, f.keys.Cancel):
		return cancelForm(f.c, f.Title(), f.dirty())
	case key.Matches(msg, f.keys.Save):
		return f.save()
	case key.Matches(msg, f.keys.Next):
		fl.touched = true
		f.validate()
		return f.move(1)
	case key.Matches(msg, f.keys.Prev):
		fl.touched = true
		f.validate()
		return f.move(-1)
	case msg.String() == "enter":
		if fl.kind == buttonField {
			return f.save()
		}
		fl.touched = true
		f.validate()
		return f.move(1)
	}
	switch fl.kind {
	case boolField:
		if msg.String() == "space" || msg.String() == "left" || msg.String() == "right" || msg.String() == "x" {
			fl.on = !fl.on
			fl.touched, fl.changed = true, true
			f.validate()
		}
	case choiceField:
		n := len(fl.choices)
		if n == 0 {
			return nil
		}
		switch msg.String() {
		case "space", "right", "l":
			fl.choice = (fl.choice + 1) % n
		case "left", "h":
			fl.choice = (fl.choice + n - 1) % n
		default:
			return nil
		}
		fl.touched, fl.changed = true, true
		if fl.id == "pool" {
			f.setOrgChoices("")
		}
		f.validate()
	case textField:
		var cmd tea.Cmd
		before := fl.input.Value()
		fl.input, cmd = fl.input.Update(msg)
		fl.touched = true
		fl.changed = fl.changed || fl.input.Value() != before
		f.validate()
		return cmd
	}
	return nil
}

// validate checks every field as typed; errors of untouched fields show only
// after a save was tried.
func (f *serverForm) validate() bool {
	ok := true
	set := func(id, msg string) {
		fl := f.field(id)
		fl.err = msg
		if msg != "" && f.visible(fl) {
			ok = false
		}
	}
	u := strings.TrimSpace(f.field("url").input.Value())
	switch pu, err := url.Parse(u); {
	case u == "":
		set("url", "required: the remote's base URL")
	case err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "":
		set("url", "must be an http:// or https:// address with a host")
	default:
		set("url", "")
	}
	name := strings.TrimSpace(f.field("name").input.Value())
	switch {
	case name == "":
		set("name", "required")
	case f.nameTaken(name):
		set("name", "another server has this name")
	default:
		set("name", "")
	}
	k := strings.TrimSpace(f.field("authkey").input.Value())
	switch {
	case k == "" && f.edit == nil:
		set("authkey", "required: the 40-character key of your sync user there")
	case k != "" && !store.IsAuthKey(k):
		set("authkey", fmt.Sprintf("must be 40 letters and digits (%d typed)", len(k)))
	default:
		set("authkey", "")
	}
	org := f.selectedOrg()
	external := f.field("pool").choices[f.field("pool").choice] == poolExternal
	switch {
	case f.orgErr != nil:
		set("org", "could not list organisations: "+oneLine(f.orgErr.Error()))
	case !external && org == nil:
		set("org", "this pool is empty: pick another, or add a new external org")
	default:
		set("org", "")
	}
	if external && strings.TrimSpace(f.field("neworg").input.Value()) == "" {
		set("neworg", "required: the remote host organisation's name")
	} else {
		set("neworg", "")
	}
	if v := strings.TrimSpace(f.field("neworguuid").input.Value()); v != "" && !misp.IsUUID(v) {
		set("neworguuid", "not a UUID")
	} else {
		set("neworguuid", "")
	}
	host := f.c.Instance != nil && org != nil && org.UUID == f.c.Instance.HostOrg.UUID
	if f.field("internal").on && !host {
		set("internal", "only allowed when the remote org is this instance's host org")
	} else {
		set("internal", "")
	}
	return ok
}

func (f *serverForm) nameTaken(name string) bool {
	for _, sv := range f.c.Servers {
		if equalFold(sv.Name, name) && (f.edit == nil || sv.ID != f.edit.ID) {
			return true
		}
	}
	return false
}

// storeError shows a refusal by the store at the field it names.
func (f *serverForm) storeError(err error) {
	msg := err.Error()
	low := strings.ToLower(msg)
	target := ""
	switch {
	case strings.Contains(low, "internal"):
		target = "internal"
	case strings.Contains(low, "authkey"):
		target = "authkey"
	case strings.Contains(low, "url"):
		target = "url"
	case strings.Contains(low, "ca file"):
		target = "ca"
	case strings.Contains(low, "client cert"):
		target = "cert"
	case strings.Contains(low, "named") || strings.Contains(low, "name is"):
		target = "name"
	case strings.Contains(low, "remote org"):
		target = "org"
		if f.field("pool").choices[f.field("pool").choice] == poolExternal {
			target = "neworg"
		}
	}
	if target != "" {
		f.field(target).err = oneLine(msg)
		f.field(target).touched = true
		for i, fl := range f.fields {
			if fl.id == target {
				f.focusField(i)
			}
		}
		f.err = ""
		return
	}
	f.err = oneLine(msg)
}

// save checks the form and, when it is valid, saves it in a command.
func (f *serverForm) save() tea.Cmd {
	f.tried = true
	f.err = ""
	if !f.validate() {
		for i, fl := range f.fields {
			if fl.err != "" && f.visible(fl) {
				return tea.Batch(f.focusField(i), flash(store.LevelWarn, "%s: fix the fields marked ✗", f.Title()))
			}
		}
	}
	if f.saving {
		return nil
	}
	f.saving = true
	spec := store.ServerSpec{}
	if f.edit != nil {
		spec = f.edit.Spec()
	}
	spec.Name = strings.TrimSpace(f.field("name").input.Value())
	spec.URL = strings.TrimSpace(f.field("url").input.Value())
	spec.Authkey = strings.TrimSpace(f.field("authkey").input.Value())
	o := &spec.ServerOptions
	b := func(id string) bool { return f.field(id).on }
	o.Internal, o.Push, o.Pull, o.PushSightings = b("internal"), b("push"), b("pull"), b("pushsightings")
	o.CachingEnabled, o.PushGalaxyClusters, o.PullGalaxyClusters = b("caching"), b("pushgalaxy"), b("pullgalaxy")
	o.UnpublishEvent, o.PublishWithoutEmail, o.SelfSigned, o.SkipProxy = b("unpublish"), b("noemail"), b("selfsigned"), b("skipproxy")
	o.PushAnalystData, o.PullAnalystData, o.RemoveMissingTags = b("pushanalyst"), b("pullanalyst"), b("removetags")
	var newOrg *store.Org
	if org := f.selectedOrg(); org != nil {
		spec.RemoteOrgRef = org.UUID
	} else {
		newOrg = &store.Org{Name: strings.TrimSpace(f.field("neworg").input.Value()),
			UUID: strings.ToLower(strings.TrimSpace(f.field("neworguuid").input.Value()))}
	}
	var editID store.ServerID
	if f.edit != nil {
		editID = f.edit.ID
	}
	return saveServer(f.c.Ctx, f.c.Store, editID, spec, newOrg,
		strings.TrimSpace(f.field("ca").input.Value()), strings.TrimSpace(f.field("cert").input.Value()))
}

// saveServer reads the certificate files, adds a new external org if asked,
// and adds or updates the server.
func saveServer(ctx context.Context, st *store.Store, editID store.ServerID, spec store.ServerSpec, newOrg *store.Org, caPath, certPath string) tea.Cmd {
	return func() tea.Msg {
		var err error
		switch caPath {
		case "":
		case "-":
			spec.CertFile = ""
		default:
			if spec.CertFile, err = remote.ReadCAFile(caPath); err != nil {
				return formErrMsg{err}
			}
		}
		switch certPath {
		case "":
		case "-":
			spec.ClientCertFile = ""
		default:
			if spec.ClientCertFile, err = remote.ReadClientCertFile(certPath); err != nil {
				return formErrMsg{err}
			}
		}
		if newOrg != nil {
			o, err := st.AddOrg(ctx, *newOrg)
			if err != nil {
				return formErrMsg{fmt.Errorf("remote org: %w", err)}
			}
			spec.RemoteOrgRef = o.UUID
		}
		var sv *store.Server
		if editID == 0 {
			sv, err = st.AddServer(ctx, spec)
		} else {
			sv, err = st.UpdateServer(ctx, editID, spec)
		}
		if err != nil {
			return formErrMsg{err}
		}
		return formSavedMsg{sv}
	}
}

// describePEM names what a stored PEM holds, never its content.
func describePEM(text string) string {
	if strings.TrimSpace(text) == "" {
		return "none"
	}
	counts := map[string]int{}
	var order []string
	rest := []byte(text)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if counts[b.Type] == 0 {
			order = append(order, b.Type)
		}
		counts[b.Type]++
	}
	if len(order) == 0 {
		return "PEM: nothing readable"
	}
	parts := make([]string, len(order))
	for i, t := range order {
		parts[i] = fmt.Sprintf("%d %s", counts[t], strings.ToLower(t))
	}
	return "PEM: " + strings.Join(parts, ", ")
}

func (f *serverForm) View(w, h int) string {
	s := f.c.Styles
	const labelW = 28
	inputW := max(w-labelW-6, 20)
	var lines []string
	focusLine := 0
	for i, fl := range f.fields {
		if !f.visible(fl) {
			continue
		}
		focused := i == f.focus
		if focused {
			focusLine = len(lines)
		}
		num := "  "
		if fl.num != "" {
			num = fmt.Sprintf("%2s", fl.num)
		}
		marker := "  "
		if focused {
			marker = "▸ "
		}
		label := pad(num+" "+fl.label, labelW-2)
		if focused {
			label = s.Bold.Render(label)
		} else {
			label = s.Label.Render(label)
		}
		var value string
		switch fl.kind {
		case textField:
			value = "[" + inputView(&fl.input, inputW-2) + "]"
		case boolField:
			box := "[ ]"
			if fl.on {
				box = "[x]"
			}
			value = box
			if fl.hint != "" {
				value += s.Dim.Render(" " + fl.hint)
			}
		case choiceField:
			if len(fl.choices) == 0 {
				value = s.Dim.Render("(none)")
			} else {
				value = "‹ " + fl.choices[fl.choice] + " ›"
				if focused {
					value = s.Selected.Render(value)
				}
				value += s.Dim.Render(fmt.Sprintf(" %d/%d", fl.choice+1, len(fl.choices)))
			}
		case buttonField:
			label = ""
			value = "[ Save ]"
			if f.edit == nil {
				value = "[ Add server ]"
			}
			if focused {
				value = s.Selected.Render(value)
			}
			value = strings.Repeat(" ", labelW-2) + value
			if f.saving {
				value += s.Dim.Render("  saving…")
			}
		}
		lines = append(lines, marker+label+value)
		if fl.err != "" && (fl.touched || f.tried) && f.visible(fl) {
			lines = append(lines, strings.Repeat(" ", labelW)+s.Invalid.Render("✗ "+fl.err))
		}
	}
	head := []string{" " + s.Title.Render(f.Title()) + s.Dim.Render("  — MISP's Add Server form; rules (19, 20) are in the Rules pane")}
	if f.err != "" {
		head = append(head, " "+s.Error.Render("ERROR ")+f.err)
	}
	avail := max(h-len(head), 1)
	start := 0
	if len(lines) > avail {
		start = min(max(focusLine-avail/2, 0), len(lines)-avail)
		lines = lines[start : start+avail]
	}
	return strings.Join(append(head, lines...), "\n")
}
