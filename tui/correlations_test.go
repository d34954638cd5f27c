package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	"mispdesk/store"
	"mispdesk/store/misp"
)

// corrStore is a store whose clock is fixed, with three events that share values: the
// host's "Phishing wave" (evil.example, 198.51.100.7, a comment that never correlates),
// CIRCL's "C2 infrastructure" (both values) and its "Loader" (the address only, and a
// value of its own), and a feed whose cache holds evil.example.
func corrStore(t testing.TB) *store.Store {
	t.Helper()
	ctx := context.Background()
	o := newOrgsStore(t)
	st, host, circl, ts := o.st, o.host, o.circl, o.ts
	n := 0
	attr := func(typ, value string) misp.Attribute {
		n++
		return misp.Attribute{UUID: "0ac0a0a0-0000-4000-8000-0000000000" + string(rune('0'+n/10)) + string(rune('0'+n%10)),
			Type: typ, Category: "Network activity", Value: value, Timestamp: ts}
	}
	mk := func(uuid, info, date string, orgc *misp.Org, attrs ...misp.Attribute) {
		o.event(t, uuid, info, date, orgc, attrs...)
	}
	mk("5bad1b96-53bc-4148-87eb-50d50a016201", "C2 infrastructure", "2026-03-10", circl,
		attr("domain", "evil.example"), attr("ip-dst", "198.51.100.7"))
	mk("5bad1b96-53bc-4148-87eb-50d50a016202", "Loader", "2026-03-12", circl,
		attr("ip-dst", "198.51.100.7"), attr("domain", "loader.example"))
	mk("5bad1b96-53bc-4148-87eb-50d50a016203", "Phishing wave", "2026-03-13", host,
		attr("domain", "evil.example"), attr("ip-dst", "198.51.100.7"), attr("comment", "loader.example"))
	f, err := st.AddFeed(ctx, store.FeedSpec{Name: "botvrij", Provider: "botvrij.eu", URL: "https://www.botvrij.eu/data/feed-osint"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.ReplaceFeedCache(ctx, f.ID, []store.FeedHash{{MD5: store.ValueMD5s("domain", "evil.example")[0],
		EventUUID: "5bad1b96-53bc-4148-87eb-50d50a0162ff"}}); err != nil {
		t.Fatal(err)
	}
	return st
}

// openPhishing opens the host's event from the Events pane and waits for its detail.
func openPhishing(t *testing.T, m *model) *eventDetail {
	t.Helper()
	press(t, m, "2", "/", "type:Phishing", "enter", "enter")
	d, ok := m.topScreen().(*eventDetail)
	if !ok || !await(t, m, 10*time.Second, func() bool { return d.ev != nil }) {
		t.Fatalf("no event detail:\n%s", screen(m))
	}
	return d
}

// The detail lists the related events, newest first, each with the values it shares (a
// comment never correlates), and the feed hits the same way; } selects, o jumps to the
// related event, whose own detail lists the first as related; esc comes back.
func TestEventDetailRelatedEventsJump(t *testing.T) {
	m := newTest(t, corrStore(t), 100, 40)
	d := openPhishing(t, m)
	scr := screen(m)
	for _, want := range []string{"Related events (2)", "2026-03-12 CIRCL        Loader", "1 shared: 198.51.100.7",
		"2026-03-10 CIRCL        C2 infrastructure", "2 shared: 198.51.100.7, evil.example",
		"Feed hits (1)", "botvrij", "1 shared: evil.example"} {
		if !strings.Contains(scr, want) {
			t.Errorf("no %q:\n%s", want, scr)
		}
	}
	if strings.Contains(scr, "shared: loader.example") {
		t.Errorf("a comment correlates:\n%s", scr)
	}
	if d.relatedErr != nil || len(d.related) != 2 || d.related[0].row.Info != "Loader" {
		t.Fatalf("related %+v (%v)", d.related, d.relatedErr)
	}
	press(t, m, "}", "o")
	next, ok := m.topScreen().(*eventDetail)
	if !ok || next == d || !await(t, m, 10*time.Second, func() bool { return next.ev != nil }) {
		t.Fatalf("o opens %T:\n%s", m.topScreen(), screen(m))
	}
	if next.ev.Info != "C2 infrastructure" {
		t.Errorf("} o opened %q, not the second related event", next.ev.Info)
	}
	if scr := screen(m); !strings.Contains(scr, "Phishing wave") || !strings.Contains(scr, "Related events (2)") {
		t.Errorf("the related event does not list the first:\n%s", scr)
	}
	press(t, m, "esc")
	if m.topScreen() != d {
		t.Errorf("esc goes to %T, not back to the first event", m.topScreen())
	}
	press(t, m, "}")
	if d.relSel != 0 {
		t.Errorf("} past the last selects %d, want 0 (it wraps)", d.relSel)
	}
	press(t, m, "{")
	if d.relSel != 1 {
		t.Errorf("{ before the first selects %d, want 1 (it wraps)", d.relSel)
	}
}

// :correlations lists the values correlated most, with their counts, to the site admin.
func TestCorrelationsScreen(t *testing.T) {
	m := newTest(t, corrStore(t), 80, 24)
	press(t, m, ":", "type:correlations", "enter")
	p, ok := m.topScreen().(*correlationsScreen)
	if !ok || !await(t, m, 10*time.Second, func() bool { return p.loaded }) {
		t.Fatalf(":correlations opens %T", m.topScreen())
	}
	if p.err != nil || len(p.rows) != 2 || p.rows[0].Value != "198.51.100.7" || p.rows[0].Count != 3 || p.rows[1].Count != 1 {
		t.Fatalf("rows %+v (%v)", p.rows, p.err)
	}
	if scr := screen(m); !strings.Contains(scr, "3       198.51.100.7") {
		t.Errorf("screen:\n%s", scr)
	}
	// enter lists the events holding the value, newest first; enter opens one
	press(t, m, "enter")
	v, ok := m.topScreen().(*valueEventsScreen)
	if !ok || !await(t, m, 10*time.Second, func() bool { return v.loaded }) {
		t.Fatalf("enter opens %T", m.topScreen())
	}
	var infos []string
	for _, r := range v.rows {
		infos = append(infos, r.Info)
	}
	if v.err != nil || strings.Join(infos, ",") != "Phishing wave,Loader,C2 infrastructure" {
		t.Fatalf("events with 198.51.100.7: %v (%v)", infos, v.err)
	}
	press(t, m, "j", "enter")
	if d, ok := m.topScreen().(*eventDetail); !ok || d.info != "Loader" {
		t.Fatalf("enter opens %T", m.topScreen())
	}
	press(t, m, "esc", "esc", "esc")
	if m.topScreen() != nil {
		t.Errorf("esc esc esc leaves %T", m.topScreen())
	}
}

func TestGoldenCorrelation(t *testing.T) {
	st := corrStore(t)
	for _, sz := range goldenSizes {
		m := newTest(t, st, sz.w, sz.h)
		fixedInstance(m)
		openPhishing(t, m)
		press(t, m, "}")
		goldenScreen(t, "eventdetail_related", m)
		press(t, m, "esc", ":", "type:correlations", "enter")
		goldenScreen(t, "correlations", m)
		press(t, m, "enter")
		goldenScreen(t, "valueevents", m)
		press(t, m, "esc", "esc")
	}
}

// s on :correlations sets MISP's correlation settings; a bad number keeps the form open,
// saying which, and writes nothing.
func TestCorrelationSettingsForm(t *testing.T) {
	st := corrStore(t)
	ctx := context.Background()
	m := newTest(t, st, 80, 24)
	press(t, m, ":", "type:correlations", "enter", "s")
	f, ok := m.topScreen().(*miniForm)
	if !ok || f.title != "Correlation settings" {
		t.Fatalf("s opens %T:\n%s", m.topScreen(), screen(m))
	}
	goldenScreen(t, "correlationsettings", m)
	for _, sz := range goldenSizes[1:] {
		big := newTest(t, st, sz.w, sz.h)
		fixedInstance(big)
		press(t, big, ":", "type:correlations", "enter", "s")
		goldenScreen(t, "correlationsettings", big)
	}
	// CIDR on, then the limit made 0: refused whole
	press(t, m, "tab", "space", "tab", "backspace", "backspace", "type:0", "enter")
	if m.topScreen() != f || !strings.Contains(screen(m), "MISP.correlation_limit") {
		t.Fatalf("a limit of 0 was not refused:\n%s", screen(m))
	}
	if vals, _ := st.InstanceSettingValues(ctx); vals[store.SettingAdvancedCorrelations] != "false" {
		t.Fatalf("a refused form wrote %s=%s", store.SettingAdvancedCorrelations, vals[store.SettingAdvancedCorrelations])
	}
	press(t, m, "backspace", "type:30", "enter")
	vals, err := st.InstanceSettingValues(ctx)
	if err != nil || vals[store.SettingAdvancedCorrelations] != "true" || vals[store.SettingCorrelationLimit] != "30" {
		t.Fatalf("saved %v (%v):\n%s", vals, err, screen(m))
	}
}
