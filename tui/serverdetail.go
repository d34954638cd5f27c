package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"mispdesk/store"
)

// serverDetail shows every setting of one server and its last results.
type serverDetail struct {
	c                *Context
	sv               store.Server
	pull, push, test store.LogEntry
	keys             detailKeys
	scroll           scroller
}

type detailKeys struct{ Back, Edit, Pull, Push, Test, Copy key.Binding }

func (k detailKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Back, k.Edit, k.Pull, k.Push, k.Test, k.Copy}
}
func (k detailKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

func newServerDetail(c *Context, sv store.Server, pull, push, test store.LogEntry) *serverDetail {
	return &serverDetail{c: c, sv: sv, pull: pull, push: push, test: test, keys: detailKeys{
		Back: key.NewBinding(key.WithKeys("esc", "q", "enter"), key.WithHelp("esc", "back")),
		Edit: key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit")),
		Pull: key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pull")),
		Push: key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "push")),
		Test: key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "test")),
	}}
}

func (d *serverDetail) Title() string { return clean(d.sv.Name) }
func (d *serverDetail) Keys() KeyHelp { return searchable{d.keys} }

func (d *serverDetail) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case serversMsg:
		for _, sv := range msg.servers {
			if sv.ID == d.sv.ID {
				d.sv = sv
			}
		}
	case tea.KeyPressMsg:
		if cmd, ok := d.scroll.search(d.c.Styles, msg); ok {
			return cmd
		}
		sv := d.sv
		switch {
		case key.Matches(msg, d.keys.Back):
			return closeScreen
		case key.Matches(msg, d.keys.Edit):
			return tea.Sequence(closeScreen, openScreen(newServerForm(d.c, &sv)))
		case key.Matches(msg, d.keys.Pull):
			return func() tea.Msg { return startRunMsg{sv, store.DirPull} }
		case key.Matches(msg, d.keys.Push):
			return func() tea.Msg { return startRunMsg{sv, store.DirPush} }
		case key.Matches(msg, d.keys.Test):
			return tea.Sequence(closeScreen, func() tea.Msg { return testConnMsg{sv} })
		}
		d.scroll.key(msg)
	}
	return nil
}

func (d *serverDetail) View(w, h int) string {
	s := d.c.Styles
	sv := d.sv
	yn := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	row := func(label, value string) string { return " " + s.Label.Render(pad(label, 16)) + value }
	pair := func(l1, v1, l2, v2 string) string {
		return " " + s.Label.Render(pad(l1, 16)) + pad(v1, 10) + s.Label.Render(pad(l2, 22)) + v2
	}
	res := func(e store.LogEntry) string { return resultText(s, d.c.Now(), e) }
	st := d.c.Stats[sv.ID]
	lines := []string{
		" " + s.Title.Render(clean(sv.Name)) + s.Dim.Render(fmt.Sprintf("  server %d", sv.ID)),
		row("URL", clean(sv.URL)),
		row("Remote org", clean(sv.RemoteOrg.Name)+s.Dim.Render(" "+sv.RemoteOrg.UUID)),
		row("Local org", clean(sv.Organisation.Name)),
		row("Authkey", maskKey(sv.Authkey)),
		pair("Push", yn(sv.Push), "Pull", yn(sv.Pull)),
		pair("Internal", yn(sv.Internal), "Push sightings", yn(sv.PushSightings)),
		pair("Caching", yn(sv.CachingEnabled), "Push galaxy clusters", yn(sv.PushGalaxyClusters)),
		pair("Unpublish event", yn(sv.UnpublishEvent), "Pull galaxy clusters", yn(sv.PullGalaxyClusters)),
		pair("Self-signed", yn(sv.SelfSigned), "Publish without email", yn(sv.PublishWithoutEmail)),
		pair("Skip proxy", yn(sv.SkipProxy), "Remove missing tags", yn(sv.RemoveMissingTags)),
		row("CA file", describePEM(sv.CertFile)),
		row("Client cert", describePEM(sv.ClientCertFile)),
		row("Push rules", rulesText(sv.PushRules)),
		row("Pull rules", rulesText(sv.PullRules)),
		row("Outbox", outboxText(s, st)),
		row("Last pull", res(d.pull)),
		row("Last push", res(d.push)),
		row("Last test", res(d.test)),
	}
	return d.scroll.window(s, hangAll(lines, w, 17), w, h)
}

// maskKey shows a key as its first and last four characters.
func maskKey(k string) string {
	if len(k) < 12 {
		return "(none)"
	}
	return clean(k[:4]) + "…" + clean(k[len(k)-4:])
}

func rulesText(r string) string {
	r = strings.TrimSpace(r)
	if r == "" || r == store.DefaultPushRules || r == store.DefaultPullRules {
		return "none (everything passes; edit in the Rules pane)"
	}
	return oneLine(r)
}

func (*serverDetail) view() {}

// Capturing: the search input has focus.
func (d *serverDetail) Capturing() bool { return d.scroll.Capturing() }
