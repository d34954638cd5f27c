package tui

import (
	"fmt"
	"testing"
	"time"

	"mispdesk/store"
)

// BenchmarkLogPaneLine is the cost of one sync log line reaching the log
// pane: Update with the entry, then a full View of the console at 120x40
// (the worst case: one frame per line; the renderer draws at most 60).
// 1,000 lines a second need under 1 ms each.
func BenchmarkLogPaneLine(b *testing.B) {
	for _, sz := range []struct{ w, h int }{{80, 24}, {120, 40}} {
		b.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(b *testing.B) {
			m := newTest(b, nil, sz.w, sz.h)
			m.mode = modeReady
			m.c.Instance = &store.Instance{UUID: "x", HostOrg: store.Org{Name: "Host"}}
			press(b, m, "4")
			e := store.LogEntry{ServerID: 1, ServerName: "circl-misp", Direction: "pull", Level: "info", Outcome: "pulled",
				Message: "created: Turla Crutch: Keeping the “back door” open", HTTPStatus: 200, DurationMs: 35,
				EventUUID: "47b9e2de-7283-4fd3-bf41-dcf9f19d8c62", Total: 1000}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				e.ID = int64(i + 1)
				e.TsMs = fixedNow.UnixMilli() + int64(i)
				e.Done = i % 1000
				m.Update(logEntriesMsg{entries: []store.LogEntry{e}})
				_ = m.View()
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "lines/s")
		})
	}
}
