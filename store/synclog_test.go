package store

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSyncLog(t *testing.T) {
	ctx := context.Background()
	s, clock := openClocked(t)
	if id, err := s.LastLogID(ctx); err != nil || id != 0 {
		t.Fatalf("empty log: LastLogID = %d, %v", id, err)
	}
	entries := []LogEntry{
		{Direction: "pull", ServerID: 1, ServerName: "A", Outcome: "pulled", EventUUID: "e1", Done: 1, Total: 2, DurationMs: 12},
		{Direction: "push", ServerID: 2, ServerName: "B", Level: "error", Outcome: "failed", Message: "HTTP 500", HTTPStatus: 500},
		{Direction: "pull", ServerID: 1, ServerName: "A", Level: "warn", Outcome: "skipped", Message: "older"},
		{Direction: "test", Level: "debug", Message: "hello"},
	}
	var ids []int64
	for _, e := range entries {
		clock.advance(1500 * time.Millisecond)
		id, err := s.AppendLog(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Errorf("ids not increasing: %v", ids)
		}
	}
	all, err := s.LogSince(ctx, 0, 100, LogFilter{})
	if err != nil || len(all) != 4 {
		t.Fatalf("LogSince = %v, %v", all, err)
	}
	if all[0].Level != "info" || all[0].TsMs != clock.now().Add(-4500*time.Millisecond).UnixMilli() || all[0].Done != 1 || all[0].DurationMs != 12 {
		t.Errorf("first entry = %+v", all[0])
	}
	if !all[1].Time().Equal(clock.now().Add(-3 * time.Second)) {
		t.Errorf("Time() = %v", all[1].Time())
	}
	for _, c := range []struct {
		after int64
		limit int
		f     LogFilter
		want  []int64
	}{
		{ids[1], 100, LogFilter{}, ids[2:]},
		{0, 2, LogFilter{}, ids[:2]},
		{0, 100, LogFilter{ServerID: 1}, []int64{ids[0], ids[2]}},
		{0, 100, LogFilter{Direction: "push"}, []int64{ids[1]}},
		{0, 100, LogFilter{Level: "warn"}, []int64{ids[1], ids[2]}},
		{0, 100, LogFilter{Level: "debug"}, ids},
		{0, 100, LogFilter{ServerID: 1, Level: "warn"}, []int64{ids[2]}},
		{ids[3], 100, LogFilter{}, nil},
	} {
		got, err := s.LogSince(ctx, c.after, c.limit, c.f)
		if err != nil {
			t.Fatal(err)
		}
		var gotIDs []int64
		for _, e := range got {
			gotIDs = append(gotIDs, e.ID)
		}
		if !slices.Equal(gotIDs, c.want) {
			t.Errorf("LogSince(%d, %d, %+v) = %v, want %v", c.after, c.limit, c.f, gotIDs, c.want)
		}
	}
	if last, _ := s.LastLogID(ctx); last != ids[3] {
		t.Errorf("LastLogID = %d, want %d", last, ids[3])
	}
	if _, err := s.LogSince(ctx, 0, 10, LogFilter{Level: "loud"}); err == nil {
		t.Error("unknown level filter accepted")
	}
	for _, bad := range []LogEntry{{Direction: "sideways"}, {Direction: "pull", Level: "loud"}} {
		if _, err := s.AppendLog(ctx, bad); err == nil {
			t.Errorf("AppendLog(%+v) accepted", bad)
		}
	}
	// The table only grows.
	if _, err := s.write.ExecContext(ctx, `UPDATE sync_log SET message = 'x'`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("update of the log: %v", err)
	}
}

func TestLogWordsParse(t *testing.T) {
	for _, s := range []string{"pull", "push", "feed", "test", "import", "mail", "health"} {
		if d, err := ParseDirection(s); err != nil || string(d) != s {
			t.Errorf("ParseDirection(%q) = %q, %v", s, d, err)
		}
	}
	if _, err := ParseDirection("sideways"); err == nil || !strings.Contains(err.Error(), `"sideways" is not one of pull, push`) {
		t.Errorf("ParseDirection(sideways): %v", err)
	}
	if l, err := ParseLevel("warn"); err != nil || l != LevelWarn {
		t.Errorf("ParseLevel(warn) = %q, %v", l, err)
	}
	if _, err := ParseLevel("WARN"); err == nil {
		t.Error("ParseLevel takes WARN")
	}
	for _, c := range []struct {
		l, min Level
		want   bool
	}{{LevelError, LevelWarn, true}, {LevelWarn, LevelWarn, true}, {LevelInfo, LevelWarn, false}, {"", LevelInfo, true}, {"", LevelWarn, false}, {LevelDebug, LevelInfo, false}} {
		if got := c.l.AtLeast(c.min); got != c.want {
			t.Errorf("%q.AtLeast(%q) = %v", c.l, c.min, got)
		}
	}
}
