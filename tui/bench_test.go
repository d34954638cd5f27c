package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

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

// events100k is a store of 100,000 small events, made once per test binary.
var events100k struct {
	once sync.Once
	path string
	err  error
}

func bigStore(b *testing.B) *store.Store {
	events100k.once.Do(func() {
		dir, err := os.MkdirTemp("", "mispdesk-bench")
		if err != nil {
			events100k.err = err
			return
		}
		events100k.path = filepath.Join(dir, "events.db")
		st, err := store.Open(context.Background(), events100k.path)
		if err != nil {
			events100k.err = err
			return
		}
		if _, err := st.Init(context.Background(), store.InitOptions{OrgName: "Example CERT"}); err != nil {
			events100k.err = err
			return
		}
		bulkEvents(b, st, 100000)
		events100k.err = st.Close()
	})
	if events100k.err != nil {
		b.Fatal(events100k.err)
	}
	st, err := store.Open(context.Background(), events100k.path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// runCmd runs a command outside the timer (its I/O runs off the UI goroutine
// in the program) and returns what it said, batches flattened.
func runCmd(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	if cmds, ok := asCmds(msg); ok {
		var out []tea.Msg
		for _, c := range cmds {
			out = append(out, runCmd(c)...)
		}
		return out
	}
	return []tea.Msg{msg}
}

// BenchmarkEvents measures, with 100,000 events in the store, the Update and
// full-screen View of opening the Events pane (the key, then the first page
// arriving), moving the cursor (j, with a window load every so often) and
// applying a filter (the key, then its page). The queries are commands run
// outside the timer; their own time is reported as query-ms.
func BenchmarkEvents(b *testing.B) {
	st := bigStore(b)
	for _, sz := range []struct{ w, h int }{{80, 24}, {120, 40}} {
		m := newTest(b, st, sz.w, sz.h)
		p := eventsPaneOf(m)
		if p.total != 100000 {
			b.Fatalf("%d events", p.total)
		}
		b.Run(fmt.Sprintf("open/%dx%d", sz.w, sz.h), func(b *testing.B) {
			var q time.Duration
			for b.Loop() {
				m.Update(keyMsg("1"))
				_ = m.View()
				b.StopTimer()
				t0 := time.Now()
				msgs := runCmd(p.reload(true))
				q += time.Since(t0)
				b.StartTimer()
				m.Update(keyMsg("2"))
				for _, msg := range msgs {
					m.Update(msg)
				}
				_ = m.View()
			}
			b.ReportMetric(float64(q.Microseconds())/1000/float64(b.N), "query-ms")
		})
		b.Run(fmt.Sprintf("cursor/%dx%d", sz.w, sz.h), func(b *testing.B) {
			press(b, m, "2", "g")
			var q time.Duration
			for i := 0; b.Loop(); i++ {
				k := "j"
				if p.cursor >= p.total-1 {
					k = "g"
				}
				_, cmd := m.Update(keyMsg(k))
				_ = m.View()
				if cmd != nil {
					b.StopTimer()
					t0 := time.Now()
					msgs := runCmd(cmd)
					q += time.Since(t0)
					b.StartTimer()
					for _, msg := range msgs {
						m.Update(msg)
					}
					_ = m.View()
				}
			}
			b.ReportMetric(float64(q.Microseconds())/1000/float64(b.N), "query-ms")
		})
		b.Run(fmt.Sprintf("filter/%dx%d", sz.w, sz.h), func(b *testing.B) {
			press(b, m, "2")
			filters := []string{"bulk event 00", "tag:tlp:green", "org:ESET dist:all", "published:yes", "event 99"}
			var q time.Duration
			for i := 0; b.Loop(); i++ {
				p.query = "" // apply again
				p.filter.SetValue(filters[i%len(filters)])
				p.filtering = true
				_, cmd := m.Update(keyMsg("enter"))
				_ = m.View()
				b.StopTimer()
				t0 := time.Now()
				msgs := runCmd(cmd)
				q += time.Since(t0)
				b.StartTimer()
				for _, msg := range msgs {
					m.Update(msg)
				}
				_ = m.View()
			}
			b.ReportMetric(float64(q.Microseconds())/1000/float64(b.N), "query-ms")
		})
	}
}
