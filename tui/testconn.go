package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"mispdesk/store"
	"mispdesk/syncer/remote"
)

// localRequestEncoding is what this instance's API accepts as request bodies
// (mispapi's getVersion tells peers the same).
var localRequestEncoding = []string{"gzip"}

// testConnScreen runs MISP's connection test of a server and shows Local and
// Remote side by side, then the verdict, the POST test, TLS and the round trip.
type testConnScreen struct {
	c    *Context
	sv   store.Server
	spin spinner.Model
	busy bool
	ct   *remote.ConnectionTest
	err  error
	keys testKeys
	top  int // first line shown, when the result is taller than the screen
}

type testKeys struct{ Back, Again, Up, Down key.Binding }

func (k testKeys) ShortHelp() []key.Binding  { return []key.Binding{k.Back, k.Again, k.Down} }
func (k testKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

func newTestConnScreen(c *Context, sv store.Server) *testConnScreen {
	return &testConnScreen{c: c, sv: sv, spin: spinner.New(spinner.WithSpinner(spinner.Line)), keys: testKeys{
		Back:  key.NewBinding(key.WithKeys("esc", "q"), key.WithHelp("esc", "back")),
		Again: key.NewBinding(key.WithKeys("r", "t"), key.WithHelp("r", "run again")),
		Up:    keyUp,
		Down:  key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("↓/↑", "scroll")),
	}}
}

// Start runs the test.
func (t *testConnScreen) Start() tea.Cmd {
	t.busy, t.ct, t.err = true, nil, nil
	return tea.Batch(testConnection(t.c.Ctx, t.c.Engine, t.sv), t.spin.Tick)
}

func (t *testConnScreen) Title() string { return "Test " + clean(t.sv.Name) }
func (t *testConnScreen) Keys() KeyHelp { return t.keys }

func (t *testConnScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case connTestMsg:
		if msg.serverID == t.sv.ID && t.busy {
			t.busy, t.ct, t.err = false, msg.ct, msg.err
			level, text := store.LevelInfo, "Connection test of "+clean(t.sv.Name)+": "
			switch {
			case msg.err != nil:
				level, text = store.LevelError, text+oneLine(msg.err.Error())
			case msg.ct.Status != remote.StatusOK:
				level, text = store.LevelError, text+oneLine(msg.ct.Verdict)
			default:
				text += oneLine(msg.ct.Verdict)
			}
			return flash(level, "%s", text)
		}
	case spinner.TickMsg:
		if t.busy {
			var cmd tea.Cmd
			t.spin, cmd = t.spin.Update(msg)
			return cmd
		}
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, t.keys.Back):
			return closeScreen
		case key.Matches(msg, t.keys.Again) && !t.busy:
			t.top = 0
			return t.Start()
		case key.Matches(msg, t.keys.Up):
			t.top = max(t.top-1, 0)
		case key.Matches(msg, t.keys.Down):
			t.top++
		}
	}
	return nil
}

func (t *testConnScreen) View(w, h int) string {
	s := t.c.Styles
	head := " " + s.Title.Render("Connection test: "+clean(t.sv.Name)) + s.Dim.Render("  "+clean(t.sv.URL))
	switch {
	case t.busy:
		return head + "\n\n " + t.spin.View() + " Asking " + clean(t.sv.URL) + " for its version, user and permissions…\n\n " + s.Dim.Render("esc goes back; the test goes on and its result reaches the log.")
	case t.err != nil:
		return head + "\n\n " + s.errorLine(t.err)
	case t.ct == nil:
		return head
	}
	lines := strings.Split(renderConnTest(s, t.c.Instance, t.ct, w), "\n")
	room := h - 1
	t.top = max(min(t.top, len(lines)-room), 0)
	if total := len(lines); total > room {
		lines = lines[t.top : t.top+room]
		if t.top+room < total {
			lines[room-1] = s.Dim.Render(fmt.Sprintf(" ↓ %d more lines (j)", total-t.top-room+1))
		}
	}
	return head + "\n" + strings.Join(lines, "\n")
}

// renderConnTest lays out a connection test in w columns: the side-by-side
// table, then the findings.
func renderConnTest(s *Styles, inst *store.Instance, ct *remote.ConnectionTest, w int) string {
	labelW := 19
	colW := max((w-labelW-3)/2, 14)
	if w >= 110 {
		colW = 36
	}
	row := func(label, local, remote string) string {
		return " " + s.Label.Render(pad(label, labelW)) + pad(ansi.Truncate(local, colW, "…"), colW) + " " + ansi.Truncate(remote, colW, "…")
	}
	yn := func(b bool) string {
		if b {
			return s.OK.Render("yes")
		}
		return s.Warn.Render("no")
	}
	rv, user := ct.Remote, ct.User
	remoteOr := func(f func() string) string {
		if rv == nil {
			return "-"
		}
		return f()
	}
	perm := func(fromVersion func(*remote.Version) bool, fromUser func(*remote.RemoteUser) bool) string {
		switch {
		case rv != nil:
			return yn(fromVersion(rv))
		case user != nil:
			return yn(fromUser(user))
		}
		return "-"
	}
	localOrg, localUUID := "-", "-"
	if inst != nil {
		localOrg, localUUID = clean(inst.HostOrg.Name), inst.UUID
	}
	remoteOrg := "-"
	if user != nil {
		remoteOrg = clean(user.Org.Name) + " (the user's)"
	}
	userText := "-"
	switch {
	case user != nil:
		userText = clean(user.Email) + " (" + clean(user.Role) + ")"
	case ct.UserError != "":
		userText = s.Warn.Render(oneLine(ct.UserError))
	}
	encodings := ct.RequestEncoding
	if rv != nil && len(encodings) == 0 {
		encodings = rv.RequestEncoding
	}
	lines := []string{
		row("", s.Bold.Render("Local"), s.Bold.Render("Remote")),
		row("MISP version", ct.Local.MISPVersion, remoteOr(func() string { return orDash(clean(rv.Version)) })),
		row("mispdesk version", ct.Local.AppVersion, remoteOr(func() string {
			if rv.AppVersion == "" {
				return "- (not a mispdesk)"
			}
			return clean(rv.AppVersion)
		})),
	}
	remoteUUID := remoteOr(func() string { return orDash(clean(rv.UUID)) })
	if colW >= 36 {
		lines = append(lines, row("Instance uuid", localUUID, remoteUUID))
	} else {
		lines = append(lines, " "+s.Label.Render(pad("Instance uuid", labelW))+"local  "+localUUID,
			" "+pad("", labelW)+"remote "+remoteUUID)
	}
	lines = append(lines,
		row("Org", localOrg, remoteOrg),
		row("Sync user", "-", userText),
		row("Perm sync", "-", perm(func(v *remote.Version) bool { return v.PermSync }, func(u *remote.RemoteUser) bool { return u.PermSync })),
		row("Perm sighting", "-", perm(func(v *remote.Version) bool { return v.PermSighting }, func(u *remote.RemoteUser) bool { return u.PermSighting })),
		row("Perm galaxy editor", "-", perm(func(v *remote.Version) bool { return v.PermGalaxyEditor }, func(u *remote.RemoteUser) bool { return u.PermGalaxyEditor })),
		row("Perm analyst data", "-", perm(func(v *remote.Version) bool { return v.PermAnalystData }, func(u *remote.RemoteUser) bool { return u.PermAnalystData })),
		row("Request encodings", strings.Join(localRequestEncoding, ", "), orDash(clean(strings.Join(encodings, ", ")))),
	)
	field := func(label, value string) {
		for i, l := range wrap(value, max(w-labelW-2, 20)) {
			if i > 0 {
				label = ""
			}
			lines = append(lines, " "+s.Label.Render(pad(label, labelW))+l)
		}
	}
	verdict := s.OK.Render(oneLine(ct.Verdict))
	if ct.Status != remote.StatusOK {
		verdict = s.Error.Render(oneLine(ct.Verdict))
	}
	field("Verdict", verdict+s.Dim.Render(fmt.Sprintf("  (status %d %s)", ct.Status, clean(ct.StatusText))))
	if ct.Error != "" {
		field("Error", s.Error.Render(oneLine(ct.Error)))
	}
	compat := clean(ct.Compatibility)
	if ct.Mismatch != "" {
		compat += fmt.Sprintf(" (%s version differs; %s is newer)", clean(ct.Mismatch), orDash(clean(ct.Newer)))
	}
	field("Compatibility", compat)
	if ct.Post == 0 {
		field("POST test", "not run")
	} else {
		field("POST test", fmt.Sprintf("%d %s", ct.Post, clean(ct.PostText)))
	}
	if ct.TLS == nil {
		field("TLS", ct.TLSNone())
	} else {
		field("TLS", clean(ct.TLS.Version+", "+ct.TLS.CipherSuite)+s.Dim.Render(" "+clean(ct.TLS.Verification)))
		if c := ct.TLS.PeerCertificate; c != nil {
			self := ""
			if c.SelfSigned {
				self = " (self-signed)"
			}
			field("Certificate", clean(c.Subject))
			field("Issuer", clean(c.Issuer))
			field("Expires", c.NotAfter.UTC().Format("2006-01-02 15:04 UTC")+self)
			fp := clean(c.SHA256)
			if room := w - labelW - 2; len(fp) > room && room > 0 {
				field("SHA-256", fp[:min(48, len(fp))])
				field("", fp[min(48, len(fp)):])
			} else {
				field("SHA-256", fp)
			}
		}
	}
	field("Round trip", fmt.Sprintf("%.0f ms", ct.RTTMillis))
	return strings.Join(lines, "\n")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
