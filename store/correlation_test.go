package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"mispdesk/store/misp"
)

// corrEvent is an event of attributes given as "type=value" (a "!" before the type sets
// disable_correlation on it).
func corrEvent(uuidN int, ts int, attrs ...string) *misp.Event {
	e := &misp.Event{UUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", uuidN), Info: fmt.Sprintf("event %d", uuidN),
		Timestamp: misp.Int(ts), Distribution: misp.AllCommunities, Date: "2024-01-01"}
	for i, s := range attrs {
		typ, val, _ := strings.Cut(s, "=")
		a := misp.Attribute{UUID: fmt.Sprintf("00000000-0000-4000-9%03d-%012d", i, uuidN), Type: typ, Category: "Network activity",
			Value: val, Distribution: misp.InheritEvent, Timestamp: misp.Int(ts)}
		if strings.HasPrefix(typ, "!") {
			a.Type, a.DisableCorrelation = typ[1:], true
		}
		e.Attribute = append(e.Attribute, a)
	}
	return e
}

func upsertCorr(t *testing.T, s *Store, e *misp.Event) int64 {
	t.Helper()
	res, err := s.UpsertEvent(context.Background(), e, UpsertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome == Skipped {
		t.Fatalf("event %s skipped: %s", e.UUID, res.Reason)
	}
	return int64(res.EventID)
}

// related lists "value→other event id" for an event's correlations, sorted.
func related(t *testing.T, s *Store, eventID int64) []string {
	t.Helper()
	cs, err := s.EventCorrelations(context.Background(), eventID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		if c.Own.EventID != eventID || c.Other.EventID == eventID {
			t.Fatalf("correlation sides wrong for event %d: %+v", eventID, c)
		}
		out = append(out, fmt.Sprintf("%s→%d", c.Value, c.Other.EventID))
	}
	slices.Sort(out)
	return out
}

func setCorr(t *testing.T, s *Store, name, value string) {
	t.Helper()
	if err := s.SetInstanceSetting(context.Background(), name, value); err != nil {
		t.Fatal(err)
	}
}

func TestCorrelationBasicsAndBothSides(t *testing.T) {
	s := openTest(t)
	initHost(t, s)
	e1 := upsertCorr(t, s, corrEvent(1, 100, "domain=evil.example", "ip-dst=192.0.2.1", "comment=same words"))
	e2 := upsertCorr(t, s, corrEvent(2, 100, "hostname=evil.example", "comment=same words", "!ip-dst=192.0.2.1"))
	e3 := upsertCorr(t, s, corrEvent(3, 100, "ip-src=192.0.2.1", "domain=other.example"))
	// Same-event duplicates never correlate with each other.
	e4 := upsertCorr(t, s, corrEvent(4, 100, "domain=solo.example", "hostname=solo.example"))

	if got, want := related(t, s, e1), []string{fmt.Sprintf("192.0.2.1→%d", e3), fmt.Sprintf("evil.example→%d", e2)}; !slices.Equal(got, want) {
		t.Fatalf("event 1: %v, want %v (comments never correlate, nor disable_correlation)", got, want)
	}
	if got, want := related(t, s, e2), []string{fmt.Sprintf("evil.example→%d", e1)}; !slices.Equal(got, want) {
		t.Fatalf("event 2: %v, want %v", got, want)
	}
	if got := related(t, s, e4); len(got) != 0 {
		t.Fatalf("event 4 correlates with itself: %v", got)
	}
	if n := count(t, s, `SELECT count(*) FROM correlations`); n != 2 {
		t.Fatalf("%d rows, want each pair once (2)", n)
	}
}

func TestCorrelationCompositeParts(t *testing.T) {
	s := openTest(t)
	initHost(t, s)
	md5 := "d41d8cd98f00b204e9800998ecf8427e"
	e1 := upsertCorr(t, s, corrEvent(1, 100, "filename|md5=a.exe|"+md5, "ip-dst|port=198.51.100.7|443"))
	e2 := upsertCorr(t, s, corrEvent(2, 100, "md5="+md5, "filename=a.exe", "ip-dst=198.51.100.7", "port=443"))
	e3 := upsertCorr(t, s, corrEvent(3, 100, "ip-src|port=203.0.113.9|443"))
	got := related(t, s, e2)
	want := []string{"198.51.100.7→" + fmt.Sprint(e1), "a.exe→" + fmt.Sprint(e1), md5 + "→" + fmt.Sprint(e1)}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("event 2: %v, want %v", got, want)
	}
	// ip-dst|port correlates by the address only: the port 443 shared with event 3 is not a link.
	if got := related(t, s, e3); len(got) != 0 {
		t.Fatalf("event 3 (port only in common): %v", got)
	}
}

func TestCorrelationFollowsEditsAndDeletes(t *testing.T) {
	s := openTest(t)
	initHost(t, s)
	ctx := context.Background()
	e1 := upsertCorr(t, s, corrEvent(1, 100, "domain=a.example", "domain=b.example"))
	e2 := upsertCorr(t, s, corrEvent(2, 100, "domain=a.example", "domain=b.example"))
	if n := len(related(t, s, e1)); n != 2 {
		t.Fatalf("%d correlations, want 2", n)
	}
	// A newer version changes one value and deletes the other.
	v2 := corrEvent(2, 200, "domain=c.example", "domain=b.example")
	v2.Attribute[1].Deleted = true
	upsertCorr(t, s, v2)
	if got := related(t, s, e1); len(got) != 0 {
		t.Fatalf("after edit: %v", got)
	}
	upsertCorr(t, s, corrEvent(1, 200, "domain=c.example", "domain=b.example"))
	if got, want := related(t, s, e1), []string{fmt.Sprintf("c.example→%d", e2)}; !slices.Equal(got, want) {
		t.Fatalf("after second edit: %v, want %v", got, want)
	}
	// The event disables correlation: its rows go; enabling it again brings them back.
	off := corrEvent(2, 300, "domain=c.example", "domain=b.example")
	off.Attribute[1].Deleted = true
	off.DisableCorrelation = true
	upsertCorr(t, s, off)
	if got := related(t, s, e1); len(got) != 0 {
		t.Fatalf("event disable_correlation: %v", got)
	}
	on := corrEvent(2, 400, "domain=c.example", "domain=b.example")
	on.Attribute[1].Deleted = true
	upsertCorr(t, s, on)
	if got := related(t, s, e1); len(got) != 1 {
		t.Fatalf("event correlation enabled again: %v", got)
	}
	// A hard delete of the attribute and of the event remove their rows.
	var attrID int64
	if err := s.read.QueryRow(`SELECT id FROM attributes WHERE event_id = ? AND value1 = 'c.example'`, e2).Scan(&attrID); err != nil {
		t.Fatal(err)
	}
	if err := s.HardDeleteElement(ctx, ElemAttribute, attrID); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, `SELECT count(*) FROM correlations`); n != 0 {
		t.Fatalf("%d rows after the attribute's hard delete", n)
	}
	e3 := upsertCorr(t, s, corrEvent(3, 100, "domain=c.example"))
	if len(related(t, s, e3)) != 1 {
		t.Fatal("event 3 does not correlate with event 1")
	}
	if err := s.DeleteEvent(ctx, EventID(e1), false, ""); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, `SELECT count(*) FROM correlations`); n != 0 {
		t.Fatalf("%d rows after the event's delete", n)
	}
}

func TestCorrelationExclusions(t *testing.T) {
	s := openTest(t)
	initHost(t, s)
	ctx := context.Background()
	e1 := upsertCorr(t, s, corrEvent(1, 100, "domain=google.com", "domain=cdn.akamai.net", "url=https://x.example/a"))
	upsertCorr(t, s, corrEvent(2, 100, "domain=google.com", "domain=cdn.akamai.net", "url=https://x.example/a"))
	if n := len(related(t, s, e1)); n != 3 {
		t.Fatalf("%d correlations, want 3", n)
	}
	for _, v := range []string{"google.com", "%.akamai.net"} {
		if _, err := s.AddCorrelationExclusion(ctx, v, "noise"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddCorrelationExclusion(ctx, "google.com", ""); err == nil || !strings.Contains(err.Error(), "already in the exclusion list") {
		t.Fatalf("duplicate exclusion: %v", err)
	}
	// Read at once without the exact entry (MISP reads NOT IN the list); rows stay until clean.
	if got := related(t, s, e1); len(got) != 2 {
		t.Fatalf("after adding exclusions: %v", got)
	}
	n, err := s.CleanCorrelationExclusions(ctx)
	if err != nil || n != 2 {
		t.Fatalf("clean removed %d (%v), want 2", n, err)
	}
	// New events skip excluded values as they are written.
	e3 := upsertCorr(t, s, corrEvent(3, 100, "domain=google.com", "domain=edge.akamai.net", "url=https://x.example/a"))
	if got := related(t, s, e3); len(got) != 2 || !strings.HasPrefix(got[0], "https://x.example/a") {
		t.Fatalf("event 3: %v", got)
	}
	// Removing an exclusion correlates its value again.
	if err := s.DeleteCorrelationExclusion(ctx, mustResolve(t, s.ResolveCorrelationExclusion, "google.com")); err != nil {
		t.Fatal(err)
	}
	if got := related(t, s, e1); len(got) != 4 || !strings.HasPrefix(got[1], "google.com") {
		t.Fatalf("after removing the exclusion: %v (google.com with events 2 and 3, the URL with both)", got)
	}
	if !exclusionMatches("%evil%", "a.evil.b") || exclusionMatches("evil%", "a.evil") || !exclusionMatches("evil%", "evil.a") {
		t.Fatal("exclusion patterns")
	}
}

func TestCorrelationOverCorrelatingValue(t *testing.T) {
	s := openTest(t)
	initHost(t, s)
	setCorr(t, s, SettingCorrelationLimit, "3")
	var ids []int64
	for i := 1; i <= 5; i++ {
		ids = append(ids, upsertCorr(t, s, corrEvent(i, 100, "domain=Popular.example", fmt.Sprintf("domain=pair%d.example", i/2))))
	}
	// The fifth event saw four others: more than the limit, so the value is blocked and
	// its rows are hidden; the pairs still correlate.
	if n := count(t, s, `SELECT count(*) FROM over_correlating_values WHERE value = 'popular.example'`); n != 1 {
		t.Fatal("popular.example is not over-correlating")
	}
	for _, id := range ids {
		for _, r := range related(t, s, id) {
			if strings.HasPrefix(r, "Popular.example") {
				t.Fatalf("event %d shows an over-correlating value: %v", id, r)
			}
		}
	}
	if got := related(t, s, ids[2]); len(got) != 1 || !strings.HasPrefix(got[0], "pair1.example") {
		t.Fatalf("event 3: %v", got)
	}
	top, err := s.TopCorrelations(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(top, func(c CorrelationCount) bool { return c.Over && c.Value == "popular.example" && c.Count == 4 }) {
		t.Fatalf("top correlations: %+v", top)
	}
	if err := s.SetInstanceSetting(context.Background(), SettingCorrelationLimit, "0"); err == nil {
		t.Fatal("a limit of 0 was taken")
	}
}

// A value blocked as over-correlating is unblocked when it matches again no more than the
// limit allows (attributes holding it were deleted meanwhile), and correlates again; a value
// still over the limit stays blocked.
func TestCorrelationOverCorrelatingValueUnblocked(t *testing.T) {
	s := openTest(t)
	initHost(t, s)
	ctx := context.Background()
	setCorr(t, s, SettingCorrelationLimit, "3")
	attrs := make([]string, 2)
	for k := range attrs {
		attrs[k] = fmt.Sprintf("domain=V%d.example", k)
	}
	var ids []int64
	for i := 1; i <= 5; i++ {
		ids = append(ids, upsertCorr(t, s, corrEvent(i, 100, attrs...)))
	}
	if n := count(t, s, `SELECT count(*) FROM over_correlating_values`); n != 2 {
		t.Fatalf("%d over-correlating values, want 2", n)
	}
	// Three of the five events lose their attribute holding V0.
	for _, i := range []int{1, 2, 3} {
		e := corrEvent(i, 200, attrs...)
		e.Attribute[0].Deleted = true
		upsertCorr(t, s, e)
	}
	// A sixth event matches V0 in two others: unblocked; V1 in five: still blocked.
	e6 := upsertCorr(t, s, corrEvent(6, 100, attrs...))
	var over []string
	rows, err := s.read.QueryContext(ctx, `SELECT value FROM over_correlating_values WHERE value IN ('v0.example', 'v1.example')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v string
		rows.Scan(&v)
		over = append(over, v)
	}
	rows.Close()
	if !slices.Equal(over, []string{"v1.example"}) {
		t.Errorf("blocked after the sixth event: %v, want [v1.example]", over)
	}
	want := []string{fmt.Sprintf("V0.example→%d", ids[3]), fmt.Sprintf("V0.example→%d", ids[4])}
	if got := related(t, s, e6); !slices.Equal(got, want) {
		t.Errorf("event 6 correlates %v, want %v", got, want)
	}
}

func TestCorrelationCIDR(t *testing.T) {
	s := openTest(t)
	initHost(t, s)
	e1 := upsertCorr(t, s, corrEvent(1, 100, "ip-dst=10.1.2.0/24", "ip-src=2001:db8::/32"))
	e2 := upsertCorr(t, s, corrEvent(2, 100, "ip-src=10.1.2.77", "ip-dst|port=2001:db8:0:1::5|443", "ip-dst=10.1.3.1"))
	if got := related(t, s, e2); len(got) != 0 {
		t.Fatalf("CIDR correlation without the setting: %v", got)
	}
	setCorr(t, s, SettingAdvancedCorrelations, "true")
	e3 := upsertCorr(t, s, corrEvent(3, 100, "ip-dst=10.1.2.200", "ip-dst=2001:db8:ffff::1", "ip-dst=192.0.2.1"))
	want := []string{"10.1.2.0/24→" + fmt.Sprint(e1), "2001:db8::/32→" + fmt.Sprint(e1)}
	if got := related(t, s, e3); !slices.Equal(got, want) {
		t.Fatalf("address in blocks: %v, want %v", got, want)
	}
	// A block written later finds the addresses already stored (IPv4 and IPv6).
	e4 := upsertCorr(t, s, corrEvent(4, 100, "ip-src=10.1.0.0/16", "ip-dst=2001:db8:0:1::/64"))
	got := related(t, s, e4)
	want = []string{"10.1.2.200→" + fmt.Sprint(e3), "10.1.2.77→" + fmt.Sprint(e2), "10.1.3.1→" + fmt.Sprint(e2), "2001:db8:0:1::5→" + fmt.Sprint(e2)}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("block: %v, want %v", got, want)
	}
	// Recorrelating rebuilds the same rows.
	before := count(t, s, `SELECT count(*) FROM correlations`)
	if _, err := s.Recorrelate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := count(t, s, `SELECT count(*) FROM correlations`); after < before {
		t.Fatalf("recorrelate: %d rows, had %d", after, before)
	}
}

func TestCorrelationCompletelyDisabled(t *testing.T) {
	s := openTest(t)
	initHost(t, s)
	setCorr(t, s, SettingCorrelationDisabled, "true")
	upsertCorr(t, s, corrEvent(1, 100, "domain=a.example"))
	e2 := upsertCorr(t, s, corrEvent(2, 100, "domain=a.example"))
	if got := related(t, s, e2); len(got) != 0 {
		t.Fatalf("correlated while disabled: %v", got)
	}
}

// An event's values are probed in one statement before any is looked up: a match is found
// however many values the event holds (past one probe's batch), and a value that cannot
// travel in the probe's JSON (not valid UTF-8) is looked up anyway.
func TestCorrelationProbe(t *testing.T) {
	s := openTest(t)
	initHost(t, s)
	odd := "bad\xffbytes.example"
	e1 := upsertCorr(t, s, corrEvent(1, 100, "domain=last.example", "domain="+odd))
	var attrs []string
	for i := range probeBatch + 5 {
		attrs = append(attrs, fmt.Sprintf("domain=v%d.example", i))
	}
	attrs = append(attrs, "domain=last.example", "domain="+odd)
	e2 := upsertCorr(t, s, corrEvent(2, 100, attrs...))
	want := []string{fmt.Sprintf("%s→%d", odd, e1), fmt.Sprintf("last.example→%d", e1)}
	if got := related(t, s, e2); !slices.Equal(got, want) {
		t.Fatalf("event 2: %v, want %v", got, want)
	}
	if n := count(t, s, `SELECT count(*) FROM correlations`); n != 2 {
		t.Fatalf("%d rows, want 2", n)
	}
	// The probe seeks each value in the value indexes, never scans the attributes.
	rows, err := s.write.Query(`EXPLAIN QUERY PLAN `+sqlCorrelationProbe, `["x"]`, e2)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	joined := strings.Join(plan, "; ")
	for _, want := range []string{"SEARCH a USING INDEX attributes_value1 (value1=?)", "SEARCH a USING INDEX attributes_value2 (value2=?)"} {
		if !strings.Contains(joined, want) {
			t.Fatalf("probe plan %q lacks %q", joined, want)
		}
	}
	if strings.Contains(joined, "SCAN a") {
		t.Fatalf("probe plan scans the attributes: %q", joined)
	}
}
