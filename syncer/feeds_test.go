package syncer

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// The daemon fetches an enabled feed with a schedule as soon as it is due, and leaves a
// feed without one (or disabled) alone; the steps reach the bus as direction "feed".
func TestDaemonFetchesScheduledFeeds(t *testing.T) {
	ctx := context.Background()
	a := newNode(t, "A")
	dir, _ := filepath.Abs("../testdata/feeds/act-workers-circl")
	other, _ := filepath.Abs("../testdata/feeds/crowdsec-threat-feed")
	if _, err := a.st.AddFeed(ctx, store.FeedSpec{Name: "circl", URL: dir, Enabled: true, ScheduleSeconds: 3600, Distribution: misp.InheritEvent}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.st.AddFeed(ctx, store.FeedSpec{Name: "by hand", URL: other, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.st.AddFeed(ctx, store.FeedSpec{Name: "off", URL: other, ScheduleSeconds: 60}); err != nil {
		t.Fatal(err)
	}
	entries, stop := a.eng.Bus().Subscribe(256)
	defer stop()
	runCtx, cancel := contextWithCancel()
	done := make(chan error, 1)
	go func() { done <- a.eng.Run(runCtx, DaemonOptions{}) }()
	defer func() { cancel(); <-done }()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-entries:
			if e.Direction == "feed" && e.Outcome == "finished" {
				if e.ServerName != "circl" {
					t.Fatalf("the daemon fetched %q", e.ServerName)
				}
				if a.count(t) != 2 {
					t.Fatalf("after the scheduled fetch A holds %d events, want 2", a.count(t))
				}
				f, _ := a.st.Feed(ctx, testsupport.FeedID(a.st, "circl"))
				if f.LastFetched == 0 {
					t.Error("last fetch time not recorded")
				}
				return
			}
		case <-deadline:
			t.Fatal("no scheduled feed fetch within 10s")
		}
	}
}

func TestEngineFetchFeedBusyAndUnknown(t *testing.T) {
	ctx := context.Background()
	a := newNode(t, "A")
	if _, err := a.eng.FetchFeed(ctx, testsupport.FeedID(a.st, "nope"), nil); err == nil {
		t.Error("unknown feed fetched")
	}
	dir, _ := filepath.Abs("../testdata/feeds/act-workers-circl")
	f, _ := a.st.AddFeed(ctx, store.FeedSpec{Name: "circl", URL: dir, Caching: true})
	sum, err := a.eng.FetchFeed(ctx, testsupport.FeedID(a.st, "circl"), nil)
	if err != nil || sum.Created != 2 || sum.Cached == 0 {
		t.Fatalf("%+v %v", sum, err)
	}
	if n, err := a.eng.CacheFeed(ctx, testsupport.FeedID(a.st, "circl")); err != nil || n == 0 {
		t.Errorf("cache: %d %v", n, err)
	}
	a.eng.runs.enter("feed:1")
	defer a.eng.runs.leave("feed:1")
	if _, err := a.eng.FetchFeed(ctx, testsupport.FeedID(a.st, f.Name), nil); err == nil {
		t.Error("a second run of the same feed was not refused")
	}
}

// A feed added and fetched over the REST API (PyMISP's add_feed, enable_feed, fetch_feed,
// cache_feed) is fetched by the engine: its events are stored and its cache filled.
func TestFeedFetchedOverREST(t *testing.T) {
	a := newNode(t, "A")
	key := userKey(t, a, "feeds@a.test", a.host.UUID, "admin")
	dir, _ := filepath.Abs("../testdata/feeds/act-workers-circl")
	added := rest(t, a, key, "POST", "/feeds/add", map[string]any{"Feed": map[string]any{"name": "workers", "url": dir,
		"input_source": "local", "source_format": "misp", "enabled": true, "caching_enabled": true, "distribution": "0"}})
	id, _ := added["Feed"].(map[string]any)["id"].(string)
	got := rest(t, a, key, "GET", "/feeds/fetchFromFeed/"+id, nil)
	if got["result"] != "Fetching the feed has successfully completed. Downloaded 2 new event(s). Updated 0 event(s)." {
		t.Errorf("fetchFromFeed: %v", got)
	}
	if n := a.count(t); n != 2 {
		t.Errorf("%d events stored, want the feed's 2", n)
	}
	rest(t, a, key, "GET", "/feeds/cacheFeeds/"+id, nil)
	fid, err := a.st.ResolveFeed(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	f, err := a.st.Feed(ctx, fid)
	if err != nil {
		t.Fatal(err)
	}
	if f.CacheCount == 0 {
		t.Errorf("the feed's cache is empty after cacheFeeds: %+v", f)
	}
}
