package syncer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"mispdesk/store"
	"mispdesk/syncer/feed"
)

// feedTick is how often the daemon looks for feeds due for a scheduled fetch.
var feedTick = 30 * time.Second

// FetchFeed fetches one feed now, with its steps in this engine's sync log and on its bus.
// A run of the same feed already going returns ErrBusy.
func (e *Engine) FetchFeed(ctx context.Context, id store.FeedID, progress func(feed.FetchProgress)) (*feed.FetchSummary, error) {
	f, err := e.st.Feed(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("fetch feed %d: %w", id, err)
	}
	key := fmt.Sprintf("feed:%d", f.ID)
	if !e.runs.enter(key) {
		return nil, fmt.Errorf("fetch feed %s: %w", f.Name, ErrBusy)
	}
	defer e.runs.leave(key)
	defer e.flushLog()
	return e.fetcher(ctx, progress).Fetch(ctx, f)
}

// CacheFeed refreshes one feed's cache (hashes.csv, or its events hashed) now.
func (e *Engine) CacheFeed(ctx context.Context, id store.FeedID) (int, error) {
	f, err := e.st.Feed(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("cache feed %d: %w", id, err)
	}
	key := fmt.Sprintf("feed:%d", f.ID)
	if !e.runs.enter(key) {
		return 0, fmt.Errorf("cache feed %s: %w", f.Name, ErrBusy)
	}
	defer e.runs.leave(key)
	defer e.flushLog()
	return e.fetcher(ctx, nil).Cache(ctx, f)
}

func (e *Engine) fetcher(ctx context.Context, progress func(feed.FetchProgress)) *feed.Fetcher {
	return &feed.Fetcher{
		Store:       e.st,
		Concurrency: e.conc,
		Log:         func(le store.LogEntry) { e.record(ctx, le) },
		Progress:    progress,
		Now:         e.now,
	}
}

// runFeedScheduler fetches every enabled feed with a schedule when it is due, until ctx
// ends. Feeds fetch one after another: they are few, and each fetch is parallel inside.
func (e *Engine) runFeedScheduler(ctx context.Context) {
	tick := time.NewTicker(feedTick)
	defer tick.Stop()
	for {
		feeds, err := e.st.Feeds(ctx)
		if err != nil && ctx.Err() == nil {
			e.log.Error("feed scheduler", "err", err)
		}
		for _, f := range feeds {
			if ctx.Err() != nil {
				return
			}
			due := f.Enabled && f.ScheduleSeconds > 0 && e.now().Unix()-f.LastFetched >= f.ScheduleSeconds
			if !due {
				continue
			}
			if _, err := e.FetchFeed(ctx, f.ID, nil); err != nil && !errors.Is(err, ErrBusy) && ctx.Err() == nil {
				e.log.Warn("scheduled feed fetch", "feed", f.Name, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
