package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// eventsStore is a store whose host org is Example CERT, holding real events:
// ESET's two REST exports and the first six events of the osint-mixed feed.
func eventsStore(t testing.TB) *store.Store {
	t.Helper()
	st := openStore(t, "Example CERT")
	ctx := context.Background()
	var events []*misp.Event
	for _, name := range []string{"misp-turla-crutch-event.json", "cloudmensis.misp.json"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "events", "eset-rest-export", name))
		if err != nil {
			t.Fatal(err)
		}
		evs, err := misp.ParseEvents(b)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, evs...)
	}
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "feeds", "osint-mixed", "*-*-*.json"))
	sort.Strings(files)
	for _, f := range files[:6] {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := misp.ParseEvent(b)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	for _, ev := range events {
		if _, err := st.UpsertEvent(ctx, ev, store.UpsertOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// addPushServer adds a server with push on to a peer org.
func addPushServer(t testing.TB, st *store.Store, name string, rules string) *store.Server {
	t.Helper()
	org := addPeerOrg(t, st, name+" org")
	sv, err := st.AddServer(context.Background(), store.ServerSpec{Name: name, URL: "https://" + name + ".example.org", Authkey: testKey,
		RemoteOrgRef: org.UUID, ServerOptions: store.ServerOptions{Push: true, Pull: true, PushRules: rules}})
	if err != nil {
		t.Fatal(err)
	}
	return sv
}

func eventsPaneOf(m *model) *eventsPane { return m.panes[1].(*eventsPane) }

func TestEventsPaneListsFiltersSorts(t *testing.T) {
	st := eventsStore(t)
	m := newTest(t, st, 120, 40)
	press(t, m, "2")
	p := eventsPaneOf(m)
	all, _ := st.CountEvents(context.Background(), store.EventFilter{})
	if all < 5 || p.total != all || len(p.win) != all {
		t.Fatalf("total %d, window %d, store %d", p.total, len(p.win), all)
	}
	scr := screen(m)
	for _, want := range []string{fmt.Sprintf("Events (%d)", all), "Turla Crutch", "Date", "Attrs", "sort changed ▼"} {
		if !strings.Contains(scr, want) {
			t.Errorf("no %q on screen:\n%s", want, scr)
		}
	}
	// text filter
	press(t, m, "/", "type:crutch", "enter")
	if p.total != 1 || !strings.Contains(screen(m), "1 match /crutch") {
		t.Fatalf("filter crutch: %d\n%s", p.total, screen(m))
	}
	// esc clears
	press(t, m, "esc")
	if p.total != all || p.query != "" {
		t.Fatalf("esc: total %d query %q", p.total, p.query)
	}
	// tag:, org:, dist:, published:
	ctx := context.Background()
	cases := []struct {
		q string
		f store.EventFilter
	}{
		{"tag:tlp:white", store.EventFilter{Tag: "tlp:white"}},
		{"org:ESET", store.EventFilter{Org: "ESET"}},
		{"dist:all", store.EventFilter{Distribution: ptr(misp.AllCommunities)}},
		{"published:yes", store.EventFilter{Published: ptr(true)}},
	}
	for _, c := range cases {
		want, err := st.CountEvents(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		press(t, m, "/", "type:"+c.q, "enter")
		if p.total != want || p.err != nil {
			t.Errorf("%s: %d shown, %d in the store (err %v)", c.q, p.total, want, p.err)
		}
		press(t, m, "esc")
	}
	press(t, m, "/", "type:dist:bogus", "enter")
	if !strings.Contains(screen(m), "not a distribution") {
		t.Errorf("a bad dist: is not explained:\n%s", screen(m))
	}
	press(t, m, "esc")
	// sort cycles timestamp → date → info (A to Z)
	press(t, m, "s", "s")
	if eventSortNames[p.sort] != "info" || !p.asc {
		t.Fatalf("sort %s asc %v", eventSortNames[p.sort], p.asc)
	}
	if !strings.Contains(screen(m), "Info▲") {
		t.Errorf("no indicator on the sorted column:\n%s", screen(m))
	}
	for i := 1; i < len(p.win); i++ {
		if strings.ToLower(p.win[i-1].Info) > strings.ToLower(p.win[i].Info) {
			t.Errorf("not sorted by info: %q before %q", p.win[i-1].Info, p.win[i].Info)
		}
	}
	// the cursor moves and enter opens the event under it
	press(t, m, "j", "enter")
	d, ok := m.topScreen().(*eventDetail)
	if !ok || d.ev == nil || d.ev.UUID != p.win[1].UUID {
		t.Fatalf("enter opened %T", m.topScreen())
	}
}

func ptr[T any](v T) *T { return &v }

// TestEventsPaneWindow: with more events than the window, the pane holds a
// window around the cursor and loads the next as the cursor moves.
func TestEventsPaneWindow(t *testing.T) {
	st := openStore(t, "Example CERT")
	bulkEvents(t, st, 1000)
	m := newTest(t, st, 80, 24)
	press(t, m, "2")
	p := eventsPaneOf(m)
	if p.total != 1000 || len(p.win) != eventWindow {
		t.Fatalf("total %d window %d", p.total, len(p.win))
	}
	press(t, m, "G")
	if p.cursor != 999 || p.selected() == nil || p.winStart+len(p.win) != 1000 {
		t.Fatalf("G: cursor %d, window %d+%d", p.cursor, p.winStart, len(p.win))
	}
	if !strings.Contains(screen(m), "bulk event 0000") {
		t.Errorf("the oldest event is not at the bottom:\n%s", screen(m))
	}
	press(t, m, "g")
	for range 30 {
		press(t, m, "pgdown")
	}
	if p.selected() == nil {
		t.Fatalf("after paging, the row under the cursor (%d) is not held (window %d+%d)", p.cursor, p.winStart, len(p.win))
	}
}

// bulkEvents stores n small events fast through a batch.
func bulkEvents(t testing.TB, st *store.Store, n int) {
	t.Helper()
	b := st.BeginBatch(context.Background())
	tags := []string{"tlp:green", "tlp:amber", "PAP:GREEN", "osint"}
	for i := range n {
		ev := &misp.Event{
			UUID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), Info: fmt.Sprintf("bulk event %04d", i),
			Date: "2026-01-02", Timestamp: misp.Int(1767312000 + i), Distribution: misp.Distribution(i % 4),
			ThreatLevelID: 2, Published: misp.Bool(i%3 == 0), Orgc: &misp.Org{Name: []string{"CIRCL", "ESET", "Example CERT"}[i%3]},
			Tag:       []misp.Tag{{Name: tags[i%len(tags)]}},
			Attribute: []misp.Attribute{{UUID: fmt.Sprintf("%08x-0001-4000-8000-%012x", i, i), Type: "ip-dst", Category: "Network activity", Value: fmt.Sprintf("198.51.%d.%d", i/256%256, i%256), Timestamp: misp.Int(1767312000 + i), Distribution: misp.InheritEvent}},
			Object:    []misp.Object{},
		}
		if err := ev.Normalize(); err != nil {
			t.Fatal(err)
		}
		if _, err := b.UpsertEvent(ev, store.UpsertOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	b.Close()
}

func TestParseEventQuery(t *testing.T) {
	q := parseEventQuery(`apt 29 org:CIRCL tag:tlp:green dist:sg published:no`)
	f := q.filter
	if q.err != "" || f.Text != "apt 29" || f.Org != "CIRCL" || f.Tag != "tlp:green" || *f.Distribution != misp.SharingGroupDist || *f.Published {
		t.Errorf("%+v %q", f, q.err)
	}
	q = parseEventQuery(`tag:"misp-galaxy:threat-actor=\"Turla Group\""`)
	if q.filter.Tag != `misp-galaxy:threat-actor=\"Turla Group\"` && q.filter.Tag != `misp-galaxy:threat-actor="Turla Group"` {
		t.Logf("quoted tag: %q", q.filter.Tag)
	}
	if q := parseEventQuery("published:maybe"); q.err == "" {
		t.Error("published:maybe accepted")
	}
}

func TestCreateEventAddAttributeTagPublish(t *testing.T) {
	st := eventsStore(t)
	addPushServer(t, st, "peer", "")
	addPushServer(t, st, "amber-only", `{"tags":{"OR":["tlp:amber"],"NOT":[]},"orgs":{"OR":[],"NOT":[]}}`)
	ctx := context.Background()
	m := newTest(t, st, 80, 24)
	press(t, m, "2", "n")
	f, ok := m.topScreen().(*miniForm)
	if !ok {
		t.Fatalf("n opens %T", m.topScreen())
	}
	press(t, m, "enter")
	if f.field("info").err == "" {
		t.Fatal("an event without info was accepted")
	}
	press(t, m, "type:Phishing wave against CERTs", "tab", "right", "right") // connected communities
	press(t, m, "enter")
	d, ok := m.topScreen().(*eventDetail)
	if !ok || d.ev == nil {
		t.Fatalf("after create: %T\n%s", m.topScreen(), screen(m))
	}
	ev := d.ev
	if ev.Info != "Phishing wave against CERTs" || ev.Distribution != misp.ConnectedCommunity || ev.Orgc.Name != "Example CERT" || ev.Published {
		t.Fatalf("created %+v", ev)
	}
	if n, _ := st.CountEvents(ctx, store.EventFilter{}); eventsPaneOf(m).total != n {
		t.Errorf("the pane did not reload: %d", eventsPaneOf(m).total)
	}
	ts0 := ev.Timestamp
	// add an attribute: the type completes, category and to_ids default
	press(t, m, "a")
	af := m.topScreen().(*miniForm)
	press(t, m, "type:ip-d", "tab")
	if af.value("type") != "ip-dst" || af.value("category") != "Network activity" || !af.field("ids").on {
		t.Fatalf("type %q category %q ids %v", af.value("type"), af.value("category"), af.field("ids").on)
	}
	press(t, m, "tab", "tab", "type:203.0.113.9", "enter")
	if m.topScreen() != d {
		t.Fatalf("attribute form still open: %s\n%s", af.err, screen(m))
	}
	if len(d.ev.Attribute) != 1 || d.ev.Attribute[0].Value != "203.0.113.9" || d.ev.Timestamp <= ts0 {
		t.Fatalf("attributes %+v, timestamp %d → %d", d.ev.Attribute, ts0, d.ev.Timestamp)
	}
	if !strings.Contains(screen(m), "203.0.113.9") {
		t.Errorf("the attribute is not shown:\n%s", screen(m))
	}
	// tag tlp:green, with completion from the taxonomy
	press(t, m, "t", "type:tlp:gr", "tab", "enter")
	if m.topScreen() != d || len(d.ev.Tag) != 1 || d.ev.Tag[0].Name != "tlp:green" {
		t.Fatalf("tags %+v\n%s", d.ev.Tag, screen(m))
	}
	// where it went: peer would take it; amber-only refuses by its rule
	scr := screen(m)
	if !strings.Contains(scr, "Where it went") || !strings.Contains(scr, "✗ refused") {
		t.Errorf("no push decisions:\n%s", scr)
	}
	// publish names the servers
	press(t, m, "p")
	c, ok := m.topScreen().(*confirm)
	if !ok {
		t.Fatalf("p opens %T\n%s", m.topScreen(), screen(m))
	}
	if !strings.Contains(c.question, "pushed to peer") || !strings.Contains(c.question, "amber-only") {
		t.Errorf("question %q", c.question)
	}
	press(t, m, "enter") // the default is No
	if row, _ := st.EventRow(ctx, testsupport.LocalEvent(t, st, ev.UUID)); row.Published {
		t.Fatal("enter published")
	}
	press(t, m, "p", "y")
	row, _ := st.EventRow(ctx, testsupport.LocalEvent(t, st, ev.UUID))
	if !row.Published {
		t.Fatal("y did not publish")
	}
	if o, _ := st.EventOutboxes(ctx, []string{ev.UUID}); o[ev.UUID].Queued == 0 {
		t.Error("no push queued")
	}
	if !bool(d.ev.Published) || !strings.Contains(m.flashText, "Published") {
		t.Errorf("detail published %v, flash %q", d.ev.Published, m.flashText)
	}
	// an edit unpublishes, as MISP does
	press(t, m, "T", "type:tlp:green", "enter")
	if row, _ := st.EventRow(ctx, testsupport.LocalEvent(t, st, ev.UUID)); row.Published || len(d.ev.Tag) != 0 {
		t.Errorf("after untag: published %v tags %+v", row.Published, d.ev.Tag)
	}
	// distribution
	press(t, m, "d", "right", "enter")
	if d.ev.Distribution != misp.AllCommunities {
		t.Errorf("distribution %v", d.ev.Distribution)
	}
	// unpublish asks, and says so when there is nothing to do
	press(t, m, "u")
	if !strings.Contains(m.flashText, "not published") {
		t.Errorf("flash %q", m.flashText)
	}
}

func TestEventDetailWhyAndFeedHits(t *testing.T) {
	st := eventsStore(t)
	addPushServer(t, st, "amber-only", `{"tags":{"OR":["tlp:amber"],"NOT":[]},"orgs":{"OR":[],"NOT":[]}}`)
	m := newTest(t, st, 120, 40)
	press(t, m, "2", "enter")
	d := m.topScreen().(*eventDetail)
	// The per-server decisions load in the background; under the race detector that can
	// take longer than one settling round.
	await(t, m, 10*time.Second, func() bool { return len(d.where) == 1 && d.where[0].exp != nil })
	if len(d.where) != 1 || d.where[0].exp == nil || d.where[0].exp.Decision.Allowed {
		t.Fatalf("where %+v", d.where)
	}
	press(t, m, "enter")
	w, ok := m.topScreen().(*whyScreen)
	if !ok || !strings.Contains(screen(m), "BLOCK") {
		t.Fatalf("enter opens %T:\n%s", m.topScreen(), screen(m))
	}
	_ = w
	press(t, m, "esc", "esc")
	if m.topScreen() != nil {
		t.Errorf("esc esc leaves %T", m.topScreen())
	}
}

// fixedInstance makes the header the same on every run.
func fixedInstance(m *model) {
	inst := *m.c.Instance
	inst.UUID = "5a1e0c4e-7b0f-4c3a-9d6e-1f2a3b4c5d6e"
	m.c.Instance = &inst
}

func TestGoldenEvents(t *testing.T) {
	st := eventsStore(t)
	for _, sz := range goldenSizes {
		m := newTest(t, st, sz.w, sz.h)
		fixedInstance(m)
		press(t, m, "2", "j")
		goldenScreen(t, "events", m)
	}
}

func TestGoldenEventDetail(t *testing.T) {
	st := eventsStore(t)
	addPushServer(t, st, "circl-misp", "")
	addPushServer(t, st, "amber-only", `{"tags":{"OR":["tlp:amber"],"NOT":[]},"orgs":{"OR":[],"NOT":[]}}`)
	for _, sz := range goldenSizes {
		m := newTest(t, st, sz.w, sz.h)
		fixedInstance(m)
		press(t, m, "2", "/", "type:crutch", "enter", "enter")
		goldenScreen(t, "eventdetail", m)
		press(t, m, "enter") // every rule of the selected server
		goldenScreen(t, "why", m)
		press(t, m, "esc", "t", "type:tlp:a") // the tag form, a completion shown
		goldenScreen(t, "tagform", m)
	}
}

// TestGoldenEditForms: the screens an analyst edits with, at every size: the new event
// form, an attribute form with MISP's message under the value it refuses, the question a
// dirty form's esc asks, the distribution form, the publish question naming where the
// event goes, a rules entry, the command line, and the first-run screen.
func TestGoldenEditForms(t *testing.T) {
	for _, sz := range goldenSizes {
		st := eventsStore(t)
		addPushServer(t, st, "circl-misp", "")
		m := newTest(t, st, sz.w, sz.h)
		fixedInstance(m)
		press(t, m, "2", "n")
		goldenScreen(t, "eventform", m)
		press(t, m, "type:values", "enter", "a", "type:ip-dst", "tab", "tab", "type:999.1.1.1", "enter")
		goldenScreen(t, "attributeform", m)
		press(t, m, "esc")
		goldenScreen(t, "discardform", m)
		press(t, m, "y", "d")
		goldenScreen(t, "distform", m)
		press(t, m, "esc", "p")
		if _, ok := m.topScreen().(*confirm); !ok {
			t.Fatalf("p opens %T", m.topScreen())
		}
		goldenScreen(t, "publishask", m)
		press(t, m, "esc", "esc", "3", "j", "a")
		goldenScreen(t, "ruleentry", m)
		press(t, m, "esc", ":", "type:corr")
		goldenScreen(t, "cmdline", m)

		first := newTest(t, openStore(t, ""), sz.w, sz.h)
		goldenScreen(t, "firstrun", first)
	}
}

// The Sync column says an event was pushed once the sync log says so, for any server;
// a queued push says queued before that.
func TestEventsSyncColumnShowsPushes(t *testing.T) {
	st := eventsStore(t)
	sv := addPushServer(t, st, "peer", "")
	ctx := context.Background()
	evs, err := st.ListEvents(ctx, store.EventFilter{Limit: 2})
	if err != nil || len(evs) < 2 {
		t.Fatalf("events %d, %v", len(evs), err)
	}
	if err := st.AppendLogs(ctx, []store.LogEntry{{ServerID: sv.ID, ServerName: sv.Name, Direction: store.DirPush, EventUUID: evs[0].UUID,
		Outcome: store.OutcomePushed, Message: "created on the remote"}, {ServerID: sv.ID, ServerName: sv.Name, Direction: store.DirPush,
		EventUUID: evs[1].UUID, Outcome: store.OutcomeSkipped, Message: "distribution: org only"}}); err != nil {
		t.Fatal(err)
	}
	m := newTest(t, st, 120, 40)
	press(t, m, "2")
	p := eventsPaneOf(m)
	state := map[string]string{}
	for i := range p.win {
		state[p.win[i].UUID] = p.syncState(&p.win[i])
	}
	if state[evs[0].UUID] != "↑pushed" || state[evs[1].UUID] == "↑pushed" || !strings.Contains(screen(m), "↑pushed") {
		t.Errorf("sync column %v:\n%s", state, screen(m))
	}
}

// galaxyEvent is the osint-mixed Sofacy event (Threat Actor: Sofacy attached) with
// more clusters attached to it, and one to its first attribute.
func galaxyEvent(t *testing.T, extra ...misp.Galaxy) *misp.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "feeds", "osint-mixed", "5908888b-0154-4a69-b0b2-72090a016219.json"))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := misp.ParseEvent(b)
	if err != nil {
		t.Fatal(err)
	}
	ev.Galaxy = append(ev.Galaxy, extra...)
	ev.Attribute[0].Galaxy = []misp.Galaxy{galaxy("c4e851fa-775f-11e7-8163-b774922098cd", "Attack Pattern", "mitre-attack-pattern",
		cluster("a62a8db3-f23a-4d8f-afd6-9dbc77e7813b", "mitre-attack-pattern", "Spearphishing Link - T1192"))}
	return ev
}

func galaxy(uuid, name, typ string, clusters ...misp.GalaxyCluster) misp.Galaxy {
	return misp.Galaxy{UUID: uuid, Name: name, Type: typ, Version: "1", GalaxyCluster: clusters}
}

func cluster(uuid, typ, value string) misp.GalaxyCluster {
	return misp.GalaxyCluster{UUID: uuid, Type: typ, Value: value, TagName: "misp-galaxy:" + typ + "=\"" + value + "\""}
}

// TestGoldenEventDetailGalaxies: an event with clusters of two galaxies lists one
// "galaxy: cluster" line for each under its tags, and counts the cluster on an attribute.
func TestGoldenEventDetailGalaxies(t *testing.T) {
	tool := galaxy("d439f0e5-7bd6-4ddb-8d25-3c7ef1a8a9d1", "Tool", "tool",
		cluster("5e2a8b9c-4f1d-4a6e-9b3c-7d8e9f0a1b2c", "tool", "X-Agent"))
	for _, sz := range goldenSizes {
		st := eventsStore(t)
		if _, err := st.UpsertEvent(context.Background(), galaxyEvent(t, tool), store.UpsertOptions{}); err != nil {
			t.Fatal(err)
		}
		m := newTest(t, st, sz.w, sz.h)
		fixedInstance(m)
		press(t, m, "2", "/", "type:Syria", "enter", "enter")
		scr := unpadded(screen(m))
		for _, want := range []string{"\n Tags         Sednit, misp-galaxy:threat-actor=\"Sofacy\"\n Galaxies     Threat Actor: Sofacy\n" +
			"              Tool: X-Agent\n              +1 on attributes\n\n Where it went"} {
			if !strings.Contains(scr, want) {
				t.Errorf("%dx%d: no %q in\n%s", sz.w, sz.h, want, scr)
			}
		}
		goldenScreen(t, "eventdetail_galaxies", m)
	}
}

// TestEventDetailGalaxiesCapped: past three clusters the section says how many more
// there are instead of pushing the rest of the detail down.
func TestEventDetailGalaxiesCapped(t *testing.T) {
	st := eventsStore(t)
	tools := galaxy("d439f0e5-7bd6-4ddb-8d25-3c7ef1a8a9d1", "Tool", "tool",
		cluster("5e2a8b9c-4f1d-4a6e-9b3c-7d8e9f0a1b2c", "tool", "X-Agent"),
		cluster("6f3b9cad-5a2e-4b7f-8c4d-8e9fa0b1c2d3", "tool", "XTunnel"),
		cluster("7a4cadbe-6b3f-4c80-9d5e-9fa0b1c2d3e4", "tool", "Zebrocy"))
	if _, err := st.UpsertEvent(context.Background(), galaxyEvent(t, tools), store.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	m := newTest(t, st, 80, 24)
	fixedInstance(m)
	press(t, m, "2", "/", "type:Syria", "enter", "enter")
	scr := unpadded(screen(m))
	want := "\n Galaxies     Threat Actor: Sofacy\n              Tool: X-Agent\n              Tool: XTunnel\n              +1 more · +1 on attributes\n"
	if !strings.Contains(scr, want) {
		t.Errorf("no %q in\n%s", want, scr)
	}
	if strings.Contains(scr, "Zebrocy") {
		t.Errorf("the fourth cluster is listed past the cap:\n%s", scr)
	}
}

// unpadded is a screen without the spaces that pad its lines to the width.
func unpadded(scr string) string {
	lines := strings.Split(scr, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}
