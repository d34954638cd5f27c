package tui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/google/uuid"

	"mispdesk/assets"
	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer"
)

// Creating and editing events. Every write is a command; an edit goes through
// store.EditEvent (as the REST API's do), so it bumps the changed element's and
// the event's timestamps and unpublishes the event, as MISP does.

// The choices of the forms, in MISP's order.
var (
	eventDists = []string{"Your organisation only", "This community only", "Connected communities", "All communities"}
	attrDists  = []string{"Inherit event", "Your organisation only", "This community only", "Connected communities", "All communities"}
	threats    = []string{"High", "Medium", "Low", "Undefined"}
	analyses   = []string{"Initial", "Ongoing", "Completed"}
)

// newEventForm creates an event owned and created by the host organisation.
func newEventForm(c *Context) *miniForm {
	info := textFormField(c, "info", "Info", "what the event is about", 2048)
	f := newMiniForm(c, "New event", "A new event of your organisation, unpublished: add attributes and tags, then publish it (p) to push it.",
		[]*formField{info,
			choiceFormField("dist", "Distribution", eventDists, 0),
			choiceFormField("threat", "Threat level", threats, 3),
			choiceFormField("analysis", "Analysis", analyses, 0),
		})
	f.check = func(f *miniForm) map[string]string {
		if f.value("info") == "" {
			return map[string]string{"info": "required: a short description"}
		}
		return nil
	}
	f.save = func(f *miniForm) tea.Cmd {
		ev := &misp.Event{
			UUID:          uuid.NewString(),
			Info:          f.value("info"),
			Distribution:  misp.Distribution(f.field("dist").choice),
			ThreatLevelID: misp.Int(f.field("threat").choice + 1),
			Analysis:      misp.Analysis(f.field("analysis").choice),
			Attribute:     []misp.Attribute{},
			Object:        []misp.Object{},
		}
		return createEvent(c.Ctx, c.Store, c.Engine, c.Instance, c.Now(), ev, f)
	}
	return f
}

func createEvent(ctx context.Context, st *store.Store, eng *syncer.Engine, inst *store.Instance, now time.Time, ev *misp.Event, f *miniForm) tea.Cmd {
	return func() tea.Msg {
		if inst == nil {
			return formDoneMsg{form: f, err: errors.New("the instance is not loaded yet")}
		}
		ev.Date = now.UTC().Format(time.DateOnly)
		ev.Timestamp = misp.Int(now.Unix())
		o := inst.HostOrg
		ev.Orgc = &misp.Org{ID: misp.Int(o.ID), UUID: o.UUID, Name: o.Name}
		ev.Org = ev.Orgc
		if err := ev.Normalize(); err != nil {
			return formDoneMsg{form: f, err: err}
		}
		res, err := st.UpsertEvent(ctx, ev, store.UpsertOptions{LocalIDs: true})
		if err == nil && res.Outcome == store.Skipped {
			err = errors.New(res.Reason)
		}
		if err != nil {
			return formDoneMsg{form: f, err: err}
		}
		info, id := ev.Info, ev.UUID
		return formDoneMsg{form: f, then: tea.Batch(
			func() tea.Msg { return eventChangedMsg{id, "Created event " + clean(info)} },
			openScreen(newEventDetail(f.c, id, info)))}
	}
}

// editEvent runs fn through store.EditEvent and reports the change.
func editEvent(ctx context.Context, st *store.Store, eventUUID, done string, f *miniForm, fn func(ev *misp.Event, now misp.Int) error) tea.Cmd {
	return func() tea.Msg {
		id, err := st.ResolveEvent(ctx, eventUUID)
		var res store.UpsertResult
		if err == nil {
			_, res, err = st.EditEvent(ctx, id, 0, fn)
		}
		if err == nil && res.Outcome == store.Skipped {
			err = errors.New(res.Reason)
		}
		changed := func() tea.Msg { return eventChangedMsg{eventUUID, done} }
		if f != nil {
			return formDoneMsg{form: f, err: err, then: changed}
		}
		if err != nil {
			return flashMsg{store.LevelError, oneLine(err.Error())}
		}
		return changed()
	}
}

// newAttributeForm adds an attribute: the type completes from MISP's table,
// and sets the category's choices (the type's default first) and to_ids.
func newAttributeForm(c *Context, eventUUID, info string) *miniForm {
	types, err := assets.DescribeTypes()
	typ := textFormField(c, "type", "Type", "ip-dst, domain, sha256… (tab completes)", 100)
	value := textFormField(c, "value", "Value", "the indicator", 65535)
	comment := textFormField(c, "comment", "Comment", "optional", 2048)
	ids := &formField{id: "ids", label: "For IDS", kind: boolField}
	f := newMiniForm(c, "Add attribute", "To "+truncate(clean(info), 60)+". The event is unpublished by the change, as in MISP.",
		[]*formField{typ, choiceFormField("category", "Category", nil, 0), value, ids, comment,
			choiceFormField("dist", "Distribution", attrDists, 0)})
	if err != nil {
		f.err = err.Error()
		return f
	}
	f.setSuggestions("type", types.Types)
	f.changed = func(f *miniForm, id string) {
		if id != "type" {
			return
		}
		t := f.value("type")
		cat := f.field("category")
		if !types.IsType(t) {
			cat.choices, cat.choice = nil, 0
			return
		}
		def := types.SaneDefaults[t]
		var choices []string
		for _, name := range types.Categories {
			if types.Allows(name, t) {
				choices = append(choices, name)
			}
		}
		cat.choices = choices
		cat.choice = max(slices.Index(choices, def.DefaultCategory), 0)
		if !f.field("ids").touched {
			f.field("ids").on = def.ToIDs
		}
	}
	f.check = func(f *miniForm) map[string]string {
		errs := map[string]string{}
		t := f.value("type")
		switch {
		case t == "":
			errs["type"] = "required (tab completes)"
		case !types.IsType(t):
			errs["type"] = "not a MISP attribute type"
		case !types.Allows(f.value("category"), t):
			errs["category"] = "this category does not allow the type"
		}
		// MISP's own check and message (a value it would refuse is not saved).
		if _, err := misp.NormalizeValue(t, f.value("value")); err != nil {
			errs["value"] = err.Error()
		}
		if len(errs) == 0 {
			return nil
		}
		return errs
	}
	f.save = func(f *miniForm) tea.Cmd {
		// Stored as MISP stores it (check has refused what MISP refuses).
		value, _ := misp.NormalizeValue(f.value("type"), f.value("value"))
		a := misp.Attribute{UUID: uuid.NewString(), Type: f.value("type"), Category: f.value("category"), Value: value,
			ToIDs: misp.Bool(f.field("ids").on), Comment: f.value("comment"), Distribution: misp.InheritEvent}
		if d := f.field("dist").choice; d > 0 {
			a.Distribution = misp.Distribution(d - 1)
		}
		done := fmt.Sprintf("Added %s %s to %s (unpublished)", clean(a.Type), truncate(clean(a.Value), 40), truncate(clean(info), 30))
		return editEvent(c.Ctx, c.Store, eventUUID, done, f, func(ev *misp.Event, now misp.Int) error {
			a.Timestamp = now
			ev.Attribute = append(ev.Attribute, a)
			return nil
		})
	}
	return f
}

// taxonomyTags are the bundled tlp and PAP tags, with their colours.
func taxonomyTags() []assets.TaxonomyTag {
	var out []assets.TaxonomyTag
	for _, ns := range []string{"tlp", "PAP"} {
		if t, err := assets.Taxonomy(ns); err == nil {
			out = append(out, t.Tags()...)
		}
	}
	return out
}

type tagNamesMsg struct {
	form  *miniForm
	names []string
}

// newTagForm adds (attach) or removes a tag of the event, completing from the
// bundled taxonomies and the tags known here (or the event's own tags).
func newTagForm(c *Context, ev *misp.Event, attach bool) *tagForm {
	name := textFormField(c, "tag", "Tag", "tlp:green, PAP:AMBER… (tab completes)", 255)
	title, intro := "Add tag", "To "+truncate(clean(ev.Info), 60)+". The event is unpublished by the change, as in MISP."
	if !attach {
		title, intro = "Remove tag", "From "+truncate(clean(ev.Info), 60)+"."
	}
	f := newMiniForm(c, title, intro, []*formField{name})
	t := &tagForm{miniForm: f, attach: attach}
	var current []string
	for _, tg := range ev.Tag {
		current = append(current, tg.Name)
	}
	tax := taxonomyTags()
	if attach {
		var names []string
		for _, x := range tax {
			names = append(names, x.Name)
		}
		f.setSuggestions("tag", names)
	} else {
		f.setSuggestions("tag", current)
	}
	f.check = func(f *miniForm) map[string]string {
		v := f.value("tag")
		switch {
		case v == "":
			return map[string]string{"tag": "required"}
		case attach && hasFold(current, v):
			return map[string]string{"tag": "the event has this tag already"}
		case !attach && !hasFold(current, v):
			return map[string]string{"tag": "the event has no such tag"}
		}
		return nil
	}
	eventUUID, eventID, info := ev.UUID, store.EventID(ev.ID), ev.Info
	f.save = func(f *miniForm) tea.Cmd {
		v := f.value("tag")
		if !attach && isLocalTag(ev.Tag, v) {
			return removeLocalTag(c.Ctx, c.Store, eventUUID, eventID, v, f)
		}
		verb := "Tagged"
		if !attach {
			verb = "Removed tag"
		}
		done := fmt.Sprintf("%s %s %s (unpublished)", verb, truncate(clean(info), 30), clean(v))
		colour := ""
		for _, x := range tax {
			if strings.EqualFold(x.Name, v) {
				v, colour = x.Name, x.Colour
			}
		}
		return editEvent(c.Ctx, c.Store, eventUUID, done, f, func(ev *misp.Event, now misp.Int) error {
			kept := ev.Tag[:0]
			for _, tg := range ev.Tag {
				if !strings.EqualFold(tg.Name, v) || bool(tg.Local) {
					kept = append(kept, tg)
				}
			}
			ev.Tag = kept
			if attach {
				ev.Tag = append(ev.Tag, misp.Tag{Name: v, Colour: colour, Exportable: misp.OptBool{Set: true, Value: true}})
			}
			return nil
		})
	}
	return t
}

// tagForm is the tag form, which loads the known tags for completion.
type tagForm struct {
	*miniForm
	attach bool
}

func (t *tagForm) Init() tea.Cmd {
	if !t.attach || t.c.Store == nil {
		return nil
	}
	f, ctx, st := t.miniForm, t.c.Ctx, t.c.Store
	return func() tea.Msg {
		names, _ := st.TagNames(ctx)
		return tagNamesMsg{form: f, names: names}
	}
}

func (t *tagForm) Update(msg tea.Msg) tea.Cmd {
	if m, ok := msg.(tagNamesMsg); ok && m.form == t.miniForm {
		names := append([]string{}, t.suggest["tag"]...)
		for _, n := range m.names {
			if !hasFold(names, n) {
				names = append(names, n)
			}
		}
		t.setSuggestions("tag", names)
		return nil
	}
	return t.miniForm.Update(msg)
}

func hasFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

func isLocalTag(tags []misp.Tag, name string) bool {
	for _, t := range tags {
		if strings.EqualFold(t.Name, name) && bool(t.Local) {
			return true
		}
	}
	return false
}

// removeLocalTag detaches a local tag: it never travels, so the event stays as is.
func removeLocalTag(ctx context.Context, st *store.Store, eventUUID string, eventID store.EventID, name string, f *miniForm) tea.Cmd {
	return func() tea.Msg {
		_, err := st.SetLocalTag(ctx, eventID, 0, name, false)
		return formDoneMsg{form: f, err: err, then: func() tea.Msg {
			return eventChangedMsg{eventUUID, "Removed local tag " + clean(name)}
		}}
	}
}

type sharingGroupsMsg struct {
	form *miniForm
	sgs  []misp.SharingGroup
	err  error
}

// distForm changes an event's distribution (a sharing group when there are).
type distForm struct {
	*miniForm
	sgs []misp.SharingGroup
}

func newDistributionForm(c *Context, ev *misp.Event) *distForm {
	cur := int(ev.Distribution)
	f := newMiniForm(c, "Distribution", "Who may see "+truncate(clean(ev.Info), 60)+". The event is unpublished by the change, as in MISP.",
		[]*formField{choiceFormField("dist", "Distribution", eventDists, min(cur, 3))})
	d := &distForm{miniForm: f}
	f.fields[0].hint = "← → chooses; " + ev.Distribution.String() + " now"
	eventUUID, info := ev.UUID, ev.Info
	f.check = func(f *miniForm) map[string]string {
		if f.value("dist") == misp.SharingGroupDist.String() && f.field("sg") == nil {
			return map[string]string{"dist": "no sharing group here"}
		}
		return nil
	}
	f.save = func(f *miniForm) tea.Cmd {
		dist := misp.Distribution(f.field("dist").choice)
		var sgID misp.Int
		if dist == misp.SharingGroupDist {
			sg := d.sgs[f.field("sg").choice]
			sgID = sg.ID
		}
		done := fmt.Sprintf("%s: distribution %s (unpublished)", truncate(clean(info), 30), dist)
		return editEvent(c.Ctx, c.Store, eventUUID, done, f, func(ev *misp.Event, now misp.Int) error {
			ev.Distribution, ev.SharingGroupID, ev.SharingGroup = dist, sgID, nil
			return nil
		})
	}
	return d
}

func (d *distForm) Init() tea.Cmd {
	if d.c.Store == nil {
		return nil
	}
	f, ctx, st := d.miniForm, d.c.Ctx, d.c.Store
	return func() tea.Msg {
		sgs, err := st.SharingGroups(ctx)
		return sharingGroupsMsg{form: f, sgs: sgs, err: err}
	}
}

func (d *distForm) Update(msg tea.Msg) tea.Cmd {
	if m, ok := msg.(sharingGroupsMsg); ok && m.form == d.miniForm {
		if len(m.sgs) > 0 {
			d.sgs = m.sgs
			names := make([]string, len(m.sgs))
			for i, sg := range m.sgs {
				names[i] = sg.Name
			}
			dist := d.field("dist")
			dist.choices = append(append([]string{}, eventDists...), misp.SharingGroupDist.String())
			d.fields = append(d.fields, choiceFormField("sg", "Sharing group", names, 0))
		}
		return nil
	}
	return d.miniForm.Update(msg)
}

// publishAskMsg carries what a publish would do, to ask before it.
type publishAskMsg struct {
	uuid, info string
	targets    []syncer.PushTarget
	err        error
}

// askPublish finds the servers a publish would push to, then asks.
func askPublish(c *Context, eventUUID, info string) tea.Cmd {
	if c.Engine == nil {
		return flash(store.LevelError, "No sync engine: cannot publish from here")
	}
	ctx, st, eng := c.Ctx, c.Store, c.Engine
	return func() tea.Msg {
		id, err := st.ResolveEvent(ctx, eventUUID)
		var t []syncer.PushTarget
		if err == nil {
			t, err = eng.PublishTargets(ctx, id)
		}
		return publishAskMsg{uuid: eventUUID, info: info, targets: t, err: err}
	}
}

// publishConfirm is the question: which servers get it, which do not and why.
func publishConfirm(c *Context, msg publishAskMsg) tea.Cmd {
	if msg.err != nil {
		return flash(store.LevelError, "%s", oneLine(msg.err.Error()))
	}
	var to, not []string
	for _, t := range msg.targets {
		name := clean(t.Server.Name)
		switch {
		case t.Err != nil:
			not = append(not, name+" ("+oneLine(t.Err.Error())+")")
		case t.Decision.Allowed:
			to = append(to, name)
		case t.Server.Push:
			reason := ""
			if st := t.Decision.BlockedBy(); st != nil {
				reason = " (" + clean(st.Reason) + ")"
			}
			not = append(not, name+reason)
		}
	}
	q := fmt.Sprintf("Publish %q?", truncate(clean(msg.info), 60))
	switch {
	case len(to) > 0:
		q += " It will be pushed to " + strings.Join(to, ", ") + "."
	default:
		q += " No server will receive it: it is only marked published here."
	}
	if len(not) > 0 {
		q += " Not to: " + strings.Join(not, "; ") + "."
	}
	return openScreen(newConfirm(c, "Publish", q, "", publishEvent(c.Ctx, c.Store, c.Engine, msg.uuid, msg.info, len(to))))
}

func publishEvent(ctx context.Context, st *store.Store, eng *syncer.Engine, eventUUID, info string, servers int) tea.Cmd {
	return func() tea.Msg {
		id, err := st.ResolveEvent(ctx, eventUUID)
		var res *store.PublishResult
		if err == nil {
			res, err = st.Publish(ctx, id)
		}
		if err != nil {
			return flashMsg{store.LevelError, oneLine(err.Error())}
		}
		if eng != nil {
			eng.Wake()
		}
		text := "Published " + truncate(clean(info), 40)
		if servers > 0 {
			text += ": pushing to " + strconv.Itoa(servers) + " server(s), see the Log pane"
		} else if res.Queued > 0 {
			text += fmt.Sprintf(": queued for %d server(s)", res.Queued)
		}
		return eventChangedMsg{eventUUID, text}
	}
}

func unpublishEvent(ctx context.Context, st *store.Store, eventUUID, info string) tea.Cmd {
	return func() tea.Msg {
		id, err := st.ResolveEvent(ctx, eventUUID)
		if err == nil {
			err = st.Unpublish(ctx, id)
		}
		if err != nil {
			return flashMsg{store.LevelError, oneLine(err.Error())}
		}
		return eventChangedMsg{eventUUID, "Unpublished " + truncate(clean(info), 40)}
	}
}
