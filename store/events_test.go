package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mispdesk/store/misp"
)

func loadEvent(t testing.TB, path string) *misp.Event {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := misp.ParseEvent(raw)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return e
}

func feedEvents(t testing.TB, feed string) []*misp.Event {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("../testdata/feeds", feed, "*.json"))
	var out []*misp.Event
	for _, f := range files {
		if filepath.Base(f) != "manifest.json" {
			out = append(out, loadEvent(t, f))
		}
	}
	return out
}

func count(t testing.TB, s *Store, query string) int {
	t.Helper()
	var n int
	if err := s.read.QueryRow(query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Importing a whole feed stores what the source holds, link for link; importing it again
// changes nothing.
func TestFeedImportCountsAndIdempotence(t *testing.T) {
	if testing.Short() {
		t.Skip("a whole feed, twice: the non-race pass of make test runs it")
	}
	s := openTest(t)
	initHost(t, s)
	ctx := context.Background()
	events := feedEvents(t, "osint-mixed")
	var want struct{ attrs, objects, eventTags, attrTags, sightings, clusters, refs int }
	for _, e := range events {
		want.eventTags += len(e.Tag)
		for _, g := range e.Galaxy {
			want.clusters += len(g.GalaxyCluster)
		}
		countAttrs := func(as []misp.Attribute) {
			for _, a := range as {
				want.attrs++
				want.attrTags += len(a.Tag)
				want.sightings += len(a.Sighting)
				for _, g := range a.Galaxy {
					want.clusters += len(g.GalaxyCluster)
				}
			}
		}
		countAttrs(e.Attribute)
		for _, o := range e.Object {
			want.objects++
			want.refs += len(o.ObjectReference)
			countAttrs(o.Attribute)
		}
	}
	for _, e := range events {
		res, err := s.UpsertEvent(ctx, e, UpsertOptions{})
		if err != nil || res.Outcome != Created {
			t.Fatalf("%s: %v %v %s", e.UUID, res.Outcome, err, res.Reason)
		}
	}
	got := map[string][2]int{
		"events":      {len(events), count(t, s, `SELECT count(*) FROM events`)},
		"attributes":  {want.attrs, count(t, s, `SELECT count(*) FROM attributes`)},
		"objects":     {want.objects, count(t, s, `SELECT count(*) FROM objects`)},
		"references":  {want.refs, count(t, s, `SELECT count(*) FROM object_references`)},
		"event tags":  {want.eventTags, count(t, s, `SELECT count(*) FROM event_tags`)},
		"attr tags":   {want.attrTags, count(t, s, `SELECT count(*) FROM attribute_tags`)},
		"sightings":   {want.sightings, count(t, s, `SELECT count(*) FROM sightings`)},
		"clusters":    {want.clusters, count(t, s, `SELECT count(*) FROM event_galaxy_clusters`)},
		"attr counts": {want.attrs, count(t, s, `SELECT sum(attribute_count) FROM events`)},
	}
	for what, c := range got {
		if c[0] != c[1] {
			t.Errorf("%s: stored %d, source has %d", what, c[1], c[0])
		}
	}
	if want.sightings == 0 || want.clusters == 0 || want.refs == 0 {
		t.Fatalf("fixture lacks sightings, clusters or references: %+v", want)
	}
	for _, e := range events {
		res, err := s.UpsertEvent(ctx, e, UpsertOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != Skipped || !strings.Contains(res.Reason, "not newer") {
			t.Fatalf("re-import of %s: %v %q, want skipped as not newer", e.UUID, res.Outcome, res.Reason)
		}
	}
	if n := count(t, s, `SELECT count(*) FROM attributes`); n != want.attrs {
		t.Errorf("after re-import: %d attributes, want %d", n, want.attrs)
	}
}

// An update follows MISP's timestamp rules at every level: a newer event replaces the old
// one, and inside it only children with a newer timestamp change.
func TestUpsertTimestampRules(t *testing.T) {
	s := openTest(t)
	initHost(t, s)
	ctx := context.Background()
	path := "../testdata/feeds/osint-mixed/5a0a9aa9-23a4-4607-b6df-41a9950d210f.json"
	orig := loadEvent(t, path)
	if _, err := s.UpsertEvent(ctx, orig, UpsertOptions{}); err != nil {
		t.Fatal(err)
	}

	older := loadEvent(t, path)
	older.Timestamp--
	older.Info = "older copy"
	res, err := s.UpsertEvent(ctx, older, UpsertOptions{})
	if err != nil || res.Outcome != Skipped {
		t.Fatalf("older copy: %v %v, want skipped", res.Outcome, err)
	}

	newer := loadEvent(t, path)
	newer.Timestamp++
	newer.Info = "newer copy"
	newer.Attribute[0].Value = "changed with a newer timestamp"
	newer.Attribute[0].Timestamp++
	newer.Attribute[1].Value = "changed without a newer timestamp"
	newer.Attribute = append(newer.Attribute, misp.Attribute{UUID: "0d1c2b3a-4e5f-4a6b-8c7d-9e8f7a6b5c4d", Type: "domain",
		Category: "Network activity", Value: "added.example", Distribution: misp.InheritEvent, Timestamp: newer.Timestamp})
	newer.Tag = newer.Tag[:1]
	res, err = s.UpsertEvent(ctx, newer, UpsertOptions{})
	if err != nil || res.Outcome != Updated {
		t.Fatalf("newer copy: %v %v, want updated", res.Outcome, err)
	}
	if res.Attributes != 2 {
		t.Errorf("attributes written = %d, want 2 (one changed, one added)", res.Attributes)
	}
	got, err := s.Event(ctx, mustResolve(t, s.ResolveEvent, orig.UUID))
	if err != nil {
		t.Fatal(err)
	}
	if got.Info != "newer copy" {
		t.Errorf("info = %q", got.Info)
	}
	byUUID := map[string]misp.Attribute{}
	for _, a := range got.Attribute {
		byUUID[a.UUID] = a
	}
	if v := byUUID[orig.Attribute[0].UUID].Value; v != "changed with a newer timestamp" {
		t.Errorf("attribute with newer timestamp: value %q", v)
	}
	if v := byUUID[orig.Attribute[1].UUID].Value; v != orig.Attribute[1].Value {
		t.Errorf("attribute without newer timestamp changed to %q", v)
	}
	if _, ok := byUUID["0d1c2b3a-4e5f-4a6b-8c7d-9e8f7a6b5c4d"]; !ok {
		t.Error("new attribute not added")
	}
	if len(got.Tag) != 1 || got.Tag[0].Name != orig.Tag[0].Name {
		t.Errorf("tags = %v, want only %s (non-local tags follow the newer event)", got.Tag, orig.Tag[0].Name)
	}
	if int(got.AttributeCount) != len(orig.Attribute)+1 {
		t.Errorf("attribute_count = %d, want %d", got.AttributeCount, len(orig.Attribute)+1)
	}
}

// A sync must never replace an event created on this instance.
func TestUpsertRefuseUnlocked(t *testing.T) {
	s := openTest(t)
	initHost(t, s)
	ctx := context.Background()
	e := loadEvent(t, "../testdata/feeds/osint-mixed/5a0a9aa9-23a4-4607-b6df-41a9950d210f.json")
	e.Locked = false
	if _, err := s.UpsertEvent(ctx, e, UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	e.Timestamp++
	e.Info = "from a peer"
	res, err := s.UpsertEvent(ctx, e, UpsertOptions{RefuseUnlocked: true})
	if err != nil || res.Outcome != Skipped || !strings.Contains(res.Reason, "created on this instance") {
		t.Fatalf("got %v %v %q, want skipped as a local event", res.Outcome, err, res.Reason)
	}
}

// An attribute whose UUID already belongs to another event is left where it is.
func TestUpsertAttributeOfAnotherEvent(t *testing.T) {
	s := openTest(t)
	initHost(t, s)
	ctx := context.Background()
	a := loadEvent(t, "../testdata/feeds/osint-mixed/5a0a9aa9-23a4-4607-b6df-41a9950d210f.json")
	if _, err := s.UpsertEvent(ctx, a, UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	b := loadEvent(t, "../testdata/feeds/osint-mixed/57c4445b-c548-4654-af0b-4be3950d210f.json")
	b.Attribute[0].UUID = a.Attribute[0].UUID
	res, err := s.UpsertEvent(ctx, b, UpsertOptions{})
	if err != nil || res.Outcome != Created {
		t.Fatalf("%v %v", res.Outcome, err)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "another event") {
		t.Errorf("notes = %q", res.Notes)
	}
	got, _ := s.Event(ctx, mustResolve(t, s.ResolveEvent, a.UUID))
	if got.Attribute[0].Value != a.Attribute[0].Value {
		t.Error("the other event's attribute was overwritten")
	}
}

func TestListEventsFilters(t *testing.T) {
	if testing.Short() {
		t.Skip("a whole feed: the non-race pass of make test runs it")
	}
	s := openTest(t)
	initHost(t, s)
	ctx := context.Background()
	for _, e := range feedEvents(t, "osint-mixed") {
		if _, err := s.UpsertEvent(ctx, e, UpsertOptions{DefaultDistribution: misp.AllCommunities}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ListEvents(ctx, EventFilter{})
	if err != nil || len(all) != 71 {
		t.Fatalf("all: %d events, %v", len(all), err)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Timestamp > all[i-1].Timestamp {
			t.Fatal("default listing is not newest first")
		}
	}
	check := func(name string, f EventFilter, ok func(EventSummary) bool) {
		t.Helper()
		got, err := s.ListEvents(ctx, f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n, err := s.CountEvents(ctx, f)
		if err != nil || n != len(got) {
			t.Errorf("%s: count %d, listed %d (%v)", name, n, len(got), err)
		}
		want := 0
		for _, e := range all {
			if ok(e) {
				want++
			}
		}
		if len(got) != want || want == 0 || want == len(all) {
			t.Errorf("%s: %d events, want %d of %d", name, len(got), want, len(all))
		}
		for _, e := range got {
			if !ok(e) {
				t.Errorf("%s: %q does not match", name, e.Info)
			}
		}
	}
	check("text", EventFilter{Text: "lazarus"}, func(e EventSummary) bool { return strings.Contains(strings.ToLower(e.Info), "lazarus") })
	check("short text", EventFilter{Text: "3c"}, func(e EventSummary) bool { return strings.Contains(strings.ToLower(e.Info), "3c") })
	check("org", EventFilter{Org: "CIRCL"}, func(e EventSummary) bool { return e.Orgc.Name == "CIRCL" })
	check("tag", EventFilter{Tag: "TLP:WHITE"}, func(e EventSummary) bool {
		for _, t := range e.Tags {
			if strings.EqualFold(t, "tlp:white") {
				return true
			}
		}
		return false
	})
	d := misp.OrgOnly
	check("distribution", EventFilter{Distribution: &d}, func(e EventSummary) bool { return e.Distribution == misp.OrgOnly })
	check("date", EventFilter{DateFrom: "2018-01-01", DateUntil: "2018-12-31"}, func(e EventSummary) bool {
		return e.Date >= "2018-01-01" && e.Date <= "2018-12-31"
	})
	page, _ := s.ListEvents(ctx, EventFilter{Limit: 10, Offset: 10})
	if len(page) != 10 || page[0].ID != all[10].ID {
		t.Errorf("page 2 of 10 starts with %v, want %v", page[0].ID, all[10].ID)
	}
	if _, err := s.ListEvents(ctx, EventFilter{Sort: "colour"}); err == nil {
		t.Error("unknown sort accepted")
	}
}

// In a batch, an event that fails leaves no trace, and the events around it are stored.
func TestBatchRollsBackOnlyTheFailedEvent(t *testing.T) {
	s := openTest(t)
	initHost(t, s)
	ctx := context.Background()
	events := feedEvents(t, "crowdsec-threat-feed")
	bad := loadEvent(t, "../testdata/feeds/osint-mixed/5a0a9aa9-23a4-4607-b6df-41a9950d210f.json")
	// Fails after its event row, tags and most attributes are written: the last attribute
	// breaks the distribution CHECK constraint.
	bad.Attribute[len(bad.Attribute)-1].Distribution = misp.Distribution(9)

	var committed []UpsertResult
	b := s.BeginBatch(ctx)
	b.Committed = func(r []UpsertResult) { committed = append(committed, r...) }
	b.Lost = func(r []UpsertResult, err error) { t.Errorf("lost %d events: %v", len(r), err) }
	for i, e := range []*misp.Event{events[0], bad, events[1]} {
		_, err := b.UpsertEvent(e, UpsertOptions{})
		if (err != nil) != (i == 1) {
			t.Fatalf("event %d: err = %v", i, err)
		}
	}
	if len(committed) != 0 {
		t.Fatal("results reported before the batch committed")
	}
	b.Close()
	if len(committed) != 2 || committed[0].UUID != events[0].UUID || committed[1].UUID != events[1].UUID {
		t.Fatalf("committed %+v", committed)
	}
	if _, err := s.ResolveEvent(ctx, bad.UUID); err == nil {
		t.Error("the failed event was stored")
	}
	if n := count(t, s, `SELECT count(*) FROM attributes WHERE event_id NOT IN (SELECT id FROM events)`); n != 0 {
		t.Errorf("%d attributes of the failed event remain", n)
	}
	if n := count(t, s, `SELECT count(*) FROM events`); n != 2 {
		t.Errorf("%d events stored, want 2", n)
	}
}

// A batch whose context ends keeps nothing it has not committed: the events written since
// its last commit are lost (Lost has them, with the context's error), an event offered
// after the end is refused, and the store's writer is free for the next write.
func TestBatchEndedContextKeepsNothingUncommitted(t *testing.T) {
	s := openTest(t)
	initHost(t, s)
	events := feedEvents(t, "crowdsec-threat-feed")
	ctx, cancel := context.WithCancel(context.Background())
	var committed, lost []UpsertResult
	var lostErr error
	b := s.BeginBatch(ctx)
	b.Committed = func(r []UpsertResult) { committed = append(committed, r...) }
	b.Lost = func(r []UpsertResult, err error) { lost, lostErr = append(lost, r...), err }
	if _, err := b.UpsertEvent(events[0], UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	b.Flush()
	if _, err := b.UpsertEvent(events[1], UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := b.UpsertEvent(events[2], UpsertOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("an event offered after the end: err = %v, want context.Canceled", err)
	}
	b.Close()
	if len(committed) != 1 || committed[0].UUID != events[0].UUID {
		t.Errorf("committed %+v, want the first event only", committed)
	}
	if len(lost) != 1 || lost[0].UUID != events[1].UUID || !errors.Is(lostErr, context.Canceled) {
		t.Errorf("lost %+v (%v), want the second event, context.Canceled", lost, lostErr)
	}
	if n := count(t, s, `SELECT count(*) FROM events`); n != 1 {
		t.Errorf("%d events stored, want 1", n)
	}
	if _, err := s.UpsertEvent(context.Background(), events[2], UpsertOptions{}); err != nil {
		t.Errorf("a write after the ended batch: %v", err)
	}
}

// A published event is published here when it is stored (MISP's Event::_add and _edit call
// publish()): its publish_timestamp becomes this instance's time, whatever the sender's
// was; an unpublished one keeps the one it came with.
func TestUpsertStampsPublishTimestamp(t *testing.T) {
	s, clock := openClocked(t)
	initHost(t, s)
	ctx := context.Background()
	path := "../testdata/feeds/osint-mixed/5a0a9aa9-23a4-4607-b6df-41a9950d210f.json"
	for i, published := range []bool{true, false} {
		e := loadEvent(t, path)
		e.Published = misp.Bool(published)
		e.PublishTimestamp = 1500000000
		e.Timestamp += misp.Int(i + 1) // each write is newer than the last
		if _, err := s.UpsertEvent(ctx, e, UpsertOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Event(ctx, mustResolve(t, s.ResolveEvent, e.UUID))
		if err != nil {
			t.Fatal(err)
		}
		want := int64(1500000000)
		if published {
			want = clock.now().Unix()
		}
		if int64(got.PublishTimestamp) != want {
			t.Errorf("published %v: publish_timestamp %d, want %d", published, got.PublishTimestamp, want)
		}
		clock.advance(time.Minute)
	}
}
