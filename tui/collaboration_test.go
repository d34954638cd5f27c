package tui

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// orgsStore is a store whose clock is fixed (posts, proposals and correlations carry
// stable times for the goldens) with the host "Example CERT" and a peer organisation
// "CIRCL"; event stores a community event.
type orgsStore struct {
	st          *store.Store
	peer        *store.Org
	host, circl *misp.Org
	ts          misp.Int // the events' timestamp
}

func newOrgsStore(t testing.TB) *orgsStore {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "c.db"), store.WithClock(func() time.Time { return fixedNow.Add(-time.Hour) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	res, err := st.Init(ctx, store.InitOptions{OrgName: "Example CERT", OrgUUID: "11111111-2222-4333-8444-555555555555"})
	if err != nil {
		t.Fatal(err)
	}
	peer, err := st.AddOrg(ctx, store.Org{Name: "CIRCL", UUID: "55f6ea5e-2c60-40e5-964f-47a8950d210f"})
	if err != nil {
		t.Fatal(err)
	}
	return &orgsStore{st: st, peer: peer,
		host:  &misp.Org{ID: misp.Int(res.Org.ID), UUID: res.Org.UUID, Name: res.Org.Name},
		circl: &misp.Org{ID: misp.Int(peer.ID), UUID: peer.UUID, Name: peer.Name},
		ts:    misp.Int(fixedNow.Add(-2 * time.Hour).Unix())}
}

// event stores a community event of orgc, dated date, holding attrs.
func (o *orgsStore) event(t testing.TB, uuid, info, date string, orgc *misp.Org, attrs ...misp.Attribute) {
	t.Helper()
	ev := &misp.Event{UUID: uuid, Info: info, Date: date, Timestamp: o.ts, Orgc: orgc, Org: orgc,
		Distribution: misp.CommunityOnly, ThreatLevelID: 2, Attribute: attrs, Object: []misp.Object{}}
	if err := ev.Normalize(); err != nil {
		t.Fatal(err)
	}
	if _, err := o.st.UpsertEvent(context.Background(), ev, store.UpsertOptions{LocalIDs: true}); err != nil {
		t.Fatal(err)
	}
}

// collabStore is an orgsStore with the peer's event "Turla Crutch" with one attribute,
// and the host's event "Phishing wave" on which CIRCL proposed a change and a new
// attribute.
func collabStore(t testing.TB) (*store.Store, *store.Org) {
	t.Helper()
	ctx := context.Background()
	o := newOrgsStore(t)
	st, peer, host, circl, ts := o.st, o.peer, o.host, o.circl, o.ts
	mk := func(uuid, info string, orgc *misp.Org, attrs ...misp.Attribute) {
		o.event(t, uuid, info, "2026-03-13", orgc, attrs...)
	}
	mk("5bad1b96-53bc-4148-87eb-50d50a016201", "Turla Crutch", circl,
		misp.Attribute{UUID: "0ac0a0a0-0000-4000-8000-000000000001", Type: "domain", Category: "Network activity", Value: "crutch.example.net", Timestamp: ts})
	mk("5bad1b96-53bc-4148-87eb-50d50a016202", "Phishing wave", host,
		misp.Attribute{UUID: "0ac0a0a0-0000-4000-8000-000000000002", Type: "ip-dst", Category: "Network activity", Value: "203.0.113.7", Timestamp: ts})
	row, err := eventRow(ctx, st, "5bad1b96-53bc-4148-87eb-50d50a016202")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddProposal(ctx, row.ID, "0ac0a0a0-0000-4000-8000-000000000002", peer.ID,
		misp.ShadowAttribute{Type: "ip-dst", Category: "Network activity", Value: "203.0.113.8", Comment: "typo in the last octet"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddProposal(ctx, row.ID, "", peer.ID,
		misp.ShadowAttribute{Type: "domain", Category: "Network activity", Value: "login-phish.example.org"}); err != nil {
		t.Fatal(err)
	}
	return st, peer
}

func TestProposeOnOthersEvent(t *testing.T) {
	st, _ := collabStore(t)
	m := newTest(t, st, 120, 40)
	press(t, m, "2", "/", "type:Turla", "enter", "enter")
	if _, ok := m.topScreen().(*eventDetail); !ok {
		t.Fatalf("no event detail: %T", m.topScreen())
	}
	press(t, m, "e")
	f, ok := m.topScreen().(*miniForm)
	if !ok || f.title != "Propose" {
		t.Fatalf("e opens %T", m.topScreen())
	}
	// the attribute as the target fills the fields; the value is changed
	press(t, m, "right")
	if f.value("value") != "crutch.example.net" || f.value("type") != "domain" {
		t.Fatalf("target did not fill the form: %q %q", f.value("type"), f.value("value"))
	}
	f.field("value").input.SetValue("crutch2.example.net")
	press(t, m, "enter")
	if m.topScreen() == f {
		t.Fatalf("the form stayed: %s", f.err)
	}
	rows, err := st.Proposals(context.Background(), 0, false, testsupport.LocalEvent(t, st, "5bad1b96-53bc-4148-87eb-50d50a016201"))
	if err != nil || len(rows) != 1 || rows[0].Proposal.Value != "crutch2.example.net" || rows[0].AttributeUUID() != "0ac0a0a0-0000-4000-8000-000000000001" {
		t.Fatalf("proposals %+v (%v)", rows, err)
	}
	if !strings.Contains(screen(m), "Proposals (1)") || !strings.Contains(screen(m), "was crutch.example.net") {
		t.Errorf("the detail does not show the proposal:\n%s", screen(m))
	}
	// on one's own event, e says to edit instead
	press(t, m, "esc", "/", "backspace", "backspace", "backspace", "backspace", "backspace", "type:Phishing", "enter", "enter", "e")
	if _, ok := m.topScreen().(*eventDetail); !ok || !strings.Contains(m.flashText, "your organisation's event") {
		t.Errorf("e on the host's event: %T, flash %q", m.topScreen(), m.flashText)
	}
}

func TestAcceptAndDiscardProposals(t *testing.T) {
	st, _ := collabStore(t)
	ctx := context.Background()
	m := newTest(t, st, 120, 40)
	press(t, m, ":", "type:proposals", "enter")
	p, ok := m.topScreen().(*proposalsScreen)
	if !ok || len(p.rows) != 2 {
		t.Fatalf(":proposals opens %T with %d rows", m.topScreen(), len(p.rows))
	}
	press(t, m, "a") // the change of 203.0.113.7
	ev, err := st.Event(ctx, testsupport.LocalEvent(t, st, "5bad1b96-53bc-4148-87eb-50d50a016202"))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Attribute[0].Value != "203.0.113.8" || ev.Attribute[0].Comment != "typo in the last octet" || bool(ev.Published) {
		t.Errorf("accepted: attribute %+v", ev.Attribute[0])
	}
	if len(p.rows) != 1 || !strings.Contains(m.flashText, "Accepted the proposal 203.0.113.8") {
		t.Fatalf("after accept the screen lists %d, flash %q", len(p.rows), m.flashText)
	}
	press(t, m, "x", "y") // discard the new attribute, confirmed
	rows, err := st.Proposals(ctx, 0, false, 0)
	if err != nil || len(rows) != 0 {
		t.Fatalf("live proposals after discard: %d (%v)", len(rows), err)
	}
	ev, _ = st.Event(ctx, testsupport.LocalEvent(t, st, "5bad1b96-53bc-4148-87eb-50d50a016202"))
	if len(ev.Attribute) != 1 {
		t.Errorf("the discarded proposal was added: %d attributes", len(ev.Attribute))
	}
	if !strings.Contains(screen(m), "No proposals wait") {
		t.Errorf("screen:\n%s", screen(m))
	}
}

func TestCommentContactAndDiscussion(t *testing.T) {
	st, _ := collabStore(t)
	ctx := context.Background()
	admin, err := st.User(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	on := true
	if err := st.SetUserMail(ctx, admin.ID, store.UserMailChange{Contactalert: &on}); err != nil {
		t.Fatal(err)
	}
	m := newTest(t, st, 120, 40)
	press(t, m, "2", "/", "type:Phishing", "enter", "enter", "c", "type:Seen in our mail gateway too.", "enter")
	row, _ := st.EventRow(ctx, testsupport.LocalEvent(t, st, "5bad1b96-53bc-4148-87eb-50d50a016202"))
	th, err := st.EventThread(ctx, row.ID)
	if err != nil {
		t.Fatalf("no comments thread: %v", err)
	}
	if !strings.Contains(screen(m), "Comments (1)") || !strings.Contains(screen(m), "Seen in our mail gateway too.") {
		t.Errorf("the comment does not show:\n%s", screen(m))
	}
	// contact: to the organisation's contacts (the admin asked for contact mail)
	press(t, m, "m", "type:Which campaign is this?", "tab", "right", "enter")
	q, err := st.MailQueue(ctx, 10)
	if err != nil || len(q) != 1 || q[0].Kind != store.MailContact || !strings.Contains(q[0].Body, "Which campaign is this?") {
		t.Fatalf("mail queue %+v (%v); flash %q", q, err, m.flashText)
	}
	// emailing disabled: MISP's refusal in the form, nothing queued
	if err := st.SetInstanceSetting(ctx, store.SettingDisableEmailing, "true"); err != nil {
		t.Fatal(err)
	}
	press(t, m, "m", "type:again", "enter")
	if f, ok := m.topScreen().(*miniForm); !ok || !strings.Contains(f.err, "Emailing is currently disabled") {
		t.Fatalf("disabled: %T %+v", m.topScreen(), m.topScreen())
	}
	press(t, m, "esc", "y", "esc")
	// a discussion: start a topic, open it, reply
	press(t, m, ":", "type:discussions", "enter", "n", "type:Exchange of YARA rules", "tab", "type:Who has rules for Crutch?", "enter")
	d, ok := m.topScreen().(*discussionsScreen)
	if !ok || len(d.threads) != 2 {
		t.Fatalf("discussions: %T %d threads", m.topScreen(), len(d.threads))
	}
	press(t, m, "enter", "r", "type:We do, see MISP event 12.", "enter")
	ts, ok := m.topScreen().(*threadScreen)
	if !ok || len(ts.posts) != 2 || ts.posts[1].Contents != "We do, see MISP event 12." || ts.thread.ID == th.ID {
		t.Fatalf("thread %T %+v", m.topScreen(), m.topScreen())
	}
}

func TestSettingsForm(t *testing.T) {
	st, _ := collabStore(t)
	ctx := context.Background()
	m := newTest(t, st, 120, 40)
	press(t, m, ":", "type:settings", "enter")
	f, ok := m.topScreen().(*miniForm)
	if !ok || f.title != "Settings" {
		t.Fatalf(":settings opens %T", m.topScreen())
	}
	press(t, m, "space") // autoalert on
	f.field(store.SettingSMTPPort).input.SetValue("seventy")
	f.field(store.SettingSMTPHost).input.SetValue("relay.example.org")
	press(t, m, "enter")
	if m.topScreen() != f || !strings.Contains(screen(m), `"seventy" is not a port number`) {
		t.Fatalf("a bad port was not refused:\n%s", screen(m))
	}
	cfg, _ := st.MailConfig(ctx)
	if u, _ := st.User(ctx, 1); u.Autoalert || cfg.Host != "" {
		t.Fatalf("something was written on a refused form: autoalert %v host %q", u.Autoalert, cfg.Host)
	}
	f.field(store.SettingSMTPPort).input.SetValue("587")
	f.field("keyfile").input.SetValue(filepath.Join(t.TempDir(), "missing.asc"))
	press(t, m, "enter")
	if m.topScreen() != f || !strings.Contains(f.err, "missing.asc") {
		t.Fatalf("a missing key file: %q", f.err)
	}
	f.field("keyfile").input.SetValue("")
	press(t, m, "enter")
	if m.topScreen() == f {
		t.Fatalf("the form stayed: %s", f.err)
	}
	u, _ := st.User(ctx, 1)
	cfg, _ = st.MailConfig(ctx)
	if !u.Autoalert || cfg.Host != "relay.example.org" || cfg.Port != 587 {
		t.Errorf("saved: autoalert %v, relay %s:%d", u.Autoalert, cfg.Host, cfg.Port)
	}
}

func TestGoldenCollaboration(t *testing.T) {
	st, _ := collabStore(t)
	ctx := context.Background()
	admin, _ := st.User(ctx, 1)
	row, _ := st.EventRow(ctx, testsupport.LocalEvent(t, st, "5bad1b96-53bc-4148-87eb-50d50a016202"))
	if _, err := st.AddPost(ctx, store.EventComment(row, admin.ID, admin.OrgID, "Blocked at the proxy since Friday."), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddPost(ctx, store.NewPost{UserID: admin.ID, OrgID: admin.OrgID, Title: "Exchange of YARA rules", Distribution: 1,
		Contents: "Who has rules for Crutch?"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, sz := range goldenSizes {
		m := newTest(t, st, sz.w, sz.h)
		fixedInstance(m)
		press(t, m, ":", "type:proposals", "enter")
		goldenScreen(t, "proposals", m)
		press(t, m, "esc", "2", "/", "type:Phishing", "enter", "enter", "G")
		goldenScreen(t, "eventdetail_collab", m)
		press(t, m, "esc", "/", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace",
			"type:Turla", "enter", "enter", "e", "right")
		goldenScreen(t, "propose", m)
		press(t, m, "esc", "y", "esc", ":", "type:discussions", "enter")
		goldenScreen(t, "discussions", m)
		press(t, m, "enter")
		goldenScreen(t, "thread", m)
		press(t, m, "esc", "esc", ":", "type:settings", "enter")
		goldenScreen(t, "settings", m)
		press(t, m, "esc")
	}
}

// TestGoldenCollabForms: the forms of collaboration at every size: contact the reporter,
// comment on an event, start a discussion.
func TestGoldenCollabForms(t *testing.T) {
	st, _ := collabStore(t)
	for _, sz := range goldenSizes {
		m := newTest(t, st, sz.w, sz.h)
		fixedInstance(m)
		press(t, m, "2", "/", "type:Turla", "enter", "enter", "m")
		goldenScreen(t, "contactform", m)
		press(t, m, "esc", "c")
		goldenScreen(t, "commentform", m)
		press(t, m, "esc", "esc", ":", "type:discussions", "enter", "n")
		goldenScreen(t, "topicform", m)
	}
}
