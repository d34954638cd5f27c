package feed

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// A feed exported from instance A and fetched on instance B from the directory brings
// the same events: same UUIDs, info, distributions, attributes, objects and tags.
func TestExportFetchRoundTrip(t *testing.T) {
	ctx := context.Background()
	a := newStore(t)
	im := &Importer{Store: a, Options: store.UpsertOptions{DefaultDistribution: misp.AllCommunities}}
	if sum, err := im.ImportPaths(ctx, []string{filepath.Join(fixtureFeeds, "osint-mixed"), filepath.Join(fixtureFeeds, "act-workers-circl")}); err != nil || sum.Failed != 0 {
		t.Fatalf("%s %v %v", sum, sum.Errors, err)
	}
	out := filepath.Join(t.TempDir(), "feed")
	exp, err := Export(ctx, a, out, ExportOptions{Feed: true, Unpublished: true})
	if err != nil {
		t.Fatal(err)
	}
	b := newStore(t)
	addFeed(t, b, store.FeedSpec{Name: "from A", URL: out, Distribution: misp.InheritEvent})
	sum := fetch(t, b, "from A")
	if sum.Failed != 0 || sum.Created != exp.Events {
		t.Fatalf("%s: %v; exported %d", sum.Line(), sum.Errors, exp.Events)
	}
	list, _ := a.ListEvents(ctx, store.EventFilter{})
	if len(list) != exp.Events {
		t.Fatalf("A holds %d events, exported %d", len(list), exp.Events)
	}
	for _, row := range list {
		ea, _ := a.Event(ctx, testsupport.LocalEvent(t, a, row.UUID))
		eb, err := b.Event(ctx, testsupport.LocalEvent(t, b, row.UUID))
		if err != nil {
			t.Errorf("event %s missing on B: %v", row.UUID, err)
			continue
		}
		if da, db := digest(ea), digest(eb); da != db {
			t.Errorf("event %s differs:\nA %s\nB %s", row.UUID, da, db)
		}
	}
}

// digest is what must survive the trip, in a comparable form.
func digest(e *misp.Event) string {
	var attrs []string
	add := func(as []misp.Attribute, where string) {
		for _, a := range as {
			attrs = append(attrs, fmt.Sprintf("%s %s %s %s %d %d %v", where, a.UUID, a.Type, a.Value, a.Distribution, a.Timestamp, a.ToIDs))
		}
	}
	add(e.Attribute, "")
	for _, o := range e.Object {
		add(o.Attribute, o.UUID)
	}
	sort.Strings(attrs)
	var tags []string
	for _, t := range e.Tag {
		if !t.Local {
			tags = append(tags, t.Name)
		}
	}
	sort.Strings(tags)
	orgc := ""
	if e.Orgc != nil {
		orgc = e.Orgc.UUID
	}
	return fmt.Sprintf("%s|%s|%s|%d|%d|%d|%d objects|%d reports|%v|%v", e.Info, e.Date, orgc, e.Distribution, e.Timestamp,
		e.ThreatLevelID, len(e.Object), len(e.EventReport), tags, attrs)
}

// export --distribution N writes only events at N or wider, and inside them only the
// children at N or wider; sharing-group data and org-only data stay home.
func TestExportDistribution(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	attr := func(u string, d misp.Distribution) misp.Attribute {
		return misp.Attribute{UUID: u, Type: "domain", Category: "Network activity", Value: u[:8] + ".example", Distribution: d, Timestamp: 5}
	}
	events := []*misp.Event{
		{UUID: "e3000000-0000-4000-8000-000000000000", Info: "all communities", Distribution: misp.AllCommunities, Timestamp: 5, Published: true,
			Attribute: []misp.Attribute{attr("a0000000-0000-4000-8000-000000000001", misp.InheritEvent), attr("a0000000-0000-4000-8000-000000000002", misp.OrgOnly),
				attr("a0000000-0000-4000-8000-000000000003", misp.CommunityOnly)},
			Object: []misp.Object{{UUID: "b0000000-0000-4000-8000-000000000001", Name: "domain-ip", Distribution: misp.OrgOnly, Timestamp: 5,
				Attribute: []misp.Attribute{attr("a0000000-0000-4000-8000-000000000004", misp.InheritEvent)}}},
			Tag: []misp.Tag{{Name: "tlp:clear"}, {Name: "local-only-note", Local: true}}},
		{UUID: "e1000000-0000-4000-8000-000000000000", Info: "community", Distribution: misp.CommunityOnly, Timestamp: 5, Published: true,
			Attribute: []misp.Attribute{attr("a1000000-0000-4000-8000-000000000001", misp.InheritEvent)}},
		{UUID: "e0000000-0000-4000-8000-000000000000", Info: "org only", Distribution: misp.OrgOnly, Timestamp: 5, Published: true,
			Attribute: []misp.Attribute{attr("a2000000-0000-4000-8000-000000000001", misp.InheritEvent)}},
	}
	for _, e := range events {
		if _, err := s.UpsertEvent(ctx, e, store.UpsertOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		dist   misp.Distribution
		events []string
		attrs  int
	}{{3, []string{"e3000000-0000-4000-8000-000000000000"}, 1}, {1, []string{"e1000000-0000-4000-8000-000000000000", "e3000000-0000-4000-8000-000000000000"}, 3}, {0, nil, 6}} {
		out := t.TempDir()
		sum, err := Export(ctx, s, out, ExportOptions{Feed: true, Distribution: tc.dist})
		if err != nil {
			t.Fatal(err)
		}
		m := manifestOf(t, out)
		if tc.events != nil && len(m) != len(tc.events) {
			t.Errorf("--distribution %d: %d events, want %v", tc.dist, len(m), tc.events)
		}
		if sum.Attributes != tc.attrs {
			t.Errorf("--distribution %d: %d attributes, want %d", tc.dist, sum.Attributes, tc.attrs)
		}
		raw, _, err := dirSource{dir: out}.get(ctx, "e3000000-0000-4000-8000-000000000000.json", "", MaxEventFile)
		if err != nil {
			t.Fatal(err)
		}
		e, _ := misp.ParseEvent(raw)
		for _, tag := range e.Tag {
			if tag.Local {
				t.Errorf("--distribution %d: local tag %q exported", tc.dist, tag.Name)
			}
		}
		if tc.dist == 3 && (len(e.Object) != 0 || len(e.Attribute) != 1 || e.Attribute[0].UUID != "a0000000-0000-4000-8000-000000000001") {
			t.Errorf("--distribution 3 kept %d objects, attributes %+v", len(e.Object), e.Attribute)
		}
	}
}

// BenchmarkFeedFetch fetches the osint-mixed feed (71 events, 10 256 attributes, 502
// objects) over loopback into a fresh store, and reports events/s and attributes/s.
func BenchmarkFeedFetch(b *testing.B) {
	dir := filepath.Join(fixtureFeeds, "osint-mixed")
	m := manifestOf(b, dir)
	srv := serveFeed(b, dir)
	ctx := context.Background()
	events, attrs := 0, 0
	var elapsed time.Duration
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s := newStore(b)
		f := addFeed(b, s, store.FeedSpec{Name: "osint", URL: srv.URL, Distribution: misp.InheritEvent})
		ft := &Fetcher{Store: s, Client: ClientOptions{Transport: http.DefaultTransport}}
		b.StartTimer()
		t0 := time.Now()
		sum, err := ft.Fetch(ctx, f)
		elapsed += time.Since(t0)
		if err != nil || sum.Created != len(m) {
			b.Fatalf("%v %v", sum, err)
		}
		events += sum.Created
		attrs += sum.Attributes
	}
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(attrs)/elapsed.Seconds(), "attributes/s")
}
