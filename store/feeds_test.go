package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"mispdesk/store/misp"
)

func TestFeedCRUD(t *testing.T) {
	ctx := context.Background()
	s, _ := initTest(t)
	f, err := s.AddFeed(ctx, FeedSpec{Name: "CIRCL OSINT Feed", Provider: "CIRCL", URL: "https://www.circl.lu/doc/misp/feed-osint/",
		Distribution: misp.AllCommunities, Caching: true, Tag: "source:circl-osint", Headers: "Authorization: x\n\nX-Extra:  1 "})
	if err != nil {
		t.Fatal(err)
	}
	if f.URL != "https://www.circl.lu/doc/misp/feed-osint" || f.InputSource != FeedNetwork || f.SourceFormat != "misp" ||
		f.Enabled || f.Distribution != misp.AllCommunities || f.Tag != "source:circl-osint" || f.TagID == 0 ||
		f.Rules != DefaultFeedRules || f.Headers != "Authorization: x\nX-Extra: 1" {
		t.Errorf("feed = %+v", f)
	}
	local, err := s.AddFeed(ctx, FeedSpec{Name: "usb", URL: "/media/usb/feed/", Enabled: true, Distribution: misp.InheritEvent})
	if err != nil {
		t.Fatal(err)
	}
	if local.InputSource != FeedLocal || local.URL != "/media/usb/feed" || local.Tag != "" {
		t.Errorf("local feed = %+v", local)
	}
	for _, bad := range []FeedSpec{
		{Name: "circl osint feed", URL: "https://x.example"}, // name taken
		{Name: "x", URL: ""}, // no URL
		{Name: "x", URL: "ftp://x", InputSource: FeedNetwork},            // not http
		{Name: "x", URL: "https://x", InputSource: FeedLocal},            // http but local
		{Name: "x", URL: "/d", Distribution: misp.SharingGroupDist},      // no SG
		{Name: "x", URL: "/d", SharingGroupRef: "nope", Distribution: 4}, // unknown SG
		{Name: "x", URL: "/d", Rules: "[1]"},                             // rules not an object
		{Name: "x", URL: "/d", Headers: "no colon"},                      // bad header
		{Name: "x", URL: "/d", Headers: "K: v\x1b[2J"},                   // control char
		{Name: "x", URL: "/d", ScheduleSeconds: 5},                       // too often
		{Name: "x\x1b]0;t\x07", URL: "/d"},                               // control in name
		{Name: "x", URL: "/d", Distribution: 7},                          // not a level
	} {
		if _, err := s.AddFeed(ctx, bad); err == nil {
			t.Errorf("AddFeed(%+v) succeeded", bad)
		}
	}
	sg, err := s.AddSharingGroup(ctx, NewSharingGroup{Name: "Partners"})
	if err != nil {
		t.Fatal(err)
	}
	spec := f.Spec()
	spec.Distribution, spec.SharingGroupRef, spec.Enabled, spec.ScheduleSeconds = misp.SharingGroupDist, sg.UUID, true, 3600
	if err := s.RecordFeedFetch(ctx, f.ID, time.Unix(1700000000, 0), "ok", `"abc"`); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceFeedCache(ctx, f.ID, []FeedHash{{MD5: strings.Repeat("a", 32), EventUUID: "57c4445b-c548-4654-af0b-4be3950d210f"}}); err != nil {
		t.Fatal(err)
	}
	g, err := s.UpdateFeed(ctx, feedID(s, "CIRCL OSINT FEED"), spec)
	if err != nil {
		t.Fatal(err)
	}
	if g.SharingGroupName != "Partners" || !g.Enabled || g.ScheduleSeconds != 3600 || g.ETag != `"abc"` || g.LastResult != "ok" || g.CacheCount != 1 {
		t.Errorf("edited feed = %+v", g)
	}
	spec = g.Spec()
	spec.URL = "https://mirror.example/feed"
	if g, err = s.UpdateFeed(ctx, feedID(s, "1"), spec); err != nil {
		t.Fatal(err)
	}
	if g.ETag != "" || g.CacheCount != 0 {
		t.Errorf("a new URL keeps the old manifest ETag or cache: %+v", g)
	}
	all, err := s.Feeds(ctx)
	if err != nil || len(all) != 2 || all[0].Name != "CIRCL OSINT Feed" {
		t.Fatalf("feeds = %+v, %v", all, err)
	}
	if err := s.DeleteFeed(ctx, feedID(s, "usb")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Feed(ctx, feedID(s, "usb")); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted feed: %v", err)
	}
	if err := s.DeleteFeed(ctx, feedID(s, "usb")); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
}

func TestFeedHits(t *testing.T) {
	ctx := context.Background()
	s, _ := initTest(t)
	ev := &misp.Event{UUID: "11111111-2222-4333-8444-555555555555", Info: "mine", Timestamp: 10, Distribution: misp.OrgOnly,
		Attribute: []misp.Attribute{
			{UUID: "a1111111-2222-4333-8444-555555555555", Type: "ip-dst", Category: "Network activity", Value: "198.51.100.7", Distribution: 5, Timestamp: 10},
			{UUID: "a2222222-2222-4333-8444-555555555555", Type: "domain|ip", Category: "Network activity", Value: "evil.example|203.0.113.9", Distribution: 5, Timestamp: 10},
			{UUID: "a3333333-2222-4333-8444-555555555555", Type: "domain", Category: "Network activity", Value: "nowhere.example", Distribution: 5, Timestamp: 10},
		}}
	if _, err := s.UpsertEvent(ctx, ev, UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	a, _ := s.AddFeed(ctx, FeedSpec{Name: "A", URL: "/a", Caching: true})
	b, _ := s.AddFeed(ctx, FeedSpec{Name: "B", URL: "/b", Caching: true})
	feedEv := "57c4445b-c548-4654-af0b-4be3950d210f"
	if err := s.ReplaceFeedCache(ctx, a.ID, []FeedHash{
		{MD5: ValueMD5s("ip-dst", "198.51.100.7")[0], EventUUID: feedEv},
		{MD5: ValueMD5s("ip-src", "203.0.113.9")[0], EventUUID: feedEv},
		{MD5: "not-an-md5", EventUUID: feedEv},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceFeedCache(ctx, b.ID, []FeedHash{{MD5: ValueMD5s("domain", "evil.example")[0], EventUUID: feedEv}}); err != nil {
		t.Fatal(err)
	}
	hits, err := s.FeedHits(ctx, mustResolve(t, s.ResolveEvent, ev.UUID))
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 2 || hits[0].Value != "198.51.100.7" || len(hits[0].Feeds) != 1 || hits[0].Feeds[0].FeedName != "A" ||
		hits[1].Value != "evil.example|203.0.113.9" || len(hits[1].Feeds) != 2 || hits[1].Feeds[1].EventUUIDs[0] != feedEv {
		t.Errorf("hits = %+v", hits)
	}
	if f, _ := s.Feed(ctx, feedID(s, "A")); f.CacheCount != 2 {
		t.Errorf("cache count = %d, want 2 (the bad line dropped)", f.CacheCount)
	}
	if _, err := s.FeedHits(ctx, 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown event: %v", err)
	}
}

// feedID is the id of the feed ref names, or 0 (no feed) when there is none.
func feedID(s *Store, ref string) FeedID {
	id, err := s.ResolveFeed(context.Background(), ref)
	if err != nil {
		return 0
	}
	return id
}
