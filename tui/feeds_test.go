package tui

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
)

func TestFeedsViewToggleAndFetch(t *testing.T) {
	st := openStore(t, "Host")
	ctx := context.Background()
	dir, _ := filepath.Abs(filepath.Join("..", "testdata", "feeds", "act-workers-circl"))
	if _, err := st.AddFeed(ctx, store.FeedSpec{Name: "circl-excerpt", Provider: "CIRCL", URL: dir}); err != nil {
		t.Fatal(err)
	}
	m := newTest(t, st, 80, 24)
	if !strings.Contains(screen(m), "1 feeds (f)") {
		t.Errorf("the servers pane does not mention the feeds:\n%s", screen(m))
	}
	press(t, m, "f")
	scr := screen(m)
	for _, want := range []string{"Feeds (1)", "circl-excerpt", "dir ", "never"} {
		if !strings.Contains(scr, want) {
			t.Errorf("no %q:\n%s", want, scr)
		}
	}
	press(t, m, "space")
	if f, _ := st.Feed(ctx, testsupport.FeedID(st, "circl-excerpt")); !f.Enabled {
		t.Fatal("space did not enable the feed")
	}
	press(t, m, "F")
	p := m.panes[0].(*serversPane)
	if !await(t, m, 10*time.Second, func() bool { return len(p.feeds.fetching) == 0 && p.feeds.feeds[0].LastFetched > 0 }) {
		t.Fatalf("the fetch did not finish:\n%s", screen(m))
	}
	if n, _ := st.CountEvents(ctx, store.EventFilter{}); n == 0 || eventsPaneOf(m).total != n {
		t.Errorf("%d events fetched, the Events pane shows %d", n, eventsPaneOf(m).total)
	}
	if !strings.Contains(m.flashText, "circl-excerpt") {
		t.Errorf("flash %q", m.flashText)
	}
	press(t, m, "f")
	if p.showFeeds {
		t.Error("f does not go back to the servers")
	}
}

// TestGoldenFeeds: the Feeds view of the Servers pane, one feed on, one off,
// neither fetched yet.
func TestGoldenFeeds(t *testing.T) {
	st := openStore(t, "Host")
	ctx := context.Background()
	for _, f := range []store.FeedSpec{
		{Name: "CIRCL OSINT Feed", Provider: "CIRCL", URL: "https://www.circl.lu/doc/misp/feed-osint", Enabled: true},
		{Name: "Botvrij.eu Data", Provider: "Botvrij.eu", URL: "https://www.botvrij.eu/data/feed-osint"},
	} {
		if _, err := st.AddFeed(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	for _, sz := range goldenSizes {
		m := newTest(t, st, sz.w, sz.h)
		fixedInstance(m)
		press(t, m, "f")
		if !strings.Contains(screen(m), "Feeds (2)") {
			t.Fatalf("no feeds view:\n%s", screen(m))
		}
		goldenScreen(t, "feeds", m)
	}
}
