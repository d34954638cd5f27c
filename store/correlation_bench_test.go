package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"mispdesk/internal/procstat"
	"mispdesk/store/misp"
)

// corrBenchEvents makes n events of per attributes; one value in five is drawn from a
// shared pool of pool values (so events correlate), the rest are unique to the event.
func corrBenchEvents(first, n, per, pool int) []*misp.Event {
	out := make([]*misp.Event, 0, n)
	for i := first; i < first+n; i++ {
		e := &misp.Event{UUID: fmt.Sprintf("b0000000-0000-4000-8000-%012d", i), Info: "bench", Date: "2024-01-01",
			Timestamp: 1000, Distribution: misp.CommunityOnly}
		e.Attribute = make([]misp.Attribute, per)
		for j := range e.Attribute {
			v := fmt.Sprintf("u%d-%d.example", i, j)
			if j%5 == 0 {
				v = fmt.Sprintf("shared%d.example", (i*per+j)%pool)
			}
			e.Attribute[j] = misp.Attribute{UUID: fmt.Sprintf("b1000000-%04x-4000-8000-%012d", j, i), Type: "domain",
				Category: "Network activity", Value: v, Distribution: misp.InheritEvent, Timestamp: 1000}
		}
		out = append(out, e)
	}
	return out
}

func corrBenchStore(b *testing.B, on bool) *Store {
	b.Helper()
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	initHost(b, s)
	if err := s.SetInstanceSetting(context.Background(), SettingCorrelationDisabled, strconv.FormatBool(!on)); err != nil {
		b.Fatal(err)
	}
	return s
}

func corrImport(b *testing.B, s *Store, evs []*misp.Event) {
	b.Helper()
	for _, e := range evs {
		if _, err := s.UpsertEvent(context.Background(), e, UpsertOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCorrelationImport imports the same 500 events of 100 attributes with correlation
// off and on, in the same run, and reports both rates and the ratio (on/off time).
func BenchmarkCorrelationImport(b *testing.B) {
	evs := corrBenchEvents(0, 500, 100, 2000)
	var off, on time.Duration
	for range b.N {
		for _, enabled := range []bool{false, true} {
			b.StopTimer()
			s := corrBenchStore(b, enabled)
			b.StartTimer()
			start := time.Now()
			corrImport(b, s, evs)
			if enabled {
				on += time.Since(start)
			} else {
				off += time.Since(start)
			}
		}
	}
	attrs := float64(b.N * 500 * 100)
	b.ReportMetric(attrs/off.Seconds(), "attrs/s-off")
	b.ReportMetric(attrs/on.Seconds(), "attrs/s-on")
	b.ReportMetric(on.Seconds()/off.Seconds(), "on/off")
}

// BenchmarkCorrelateMany correlates NEW attributes (MISPDESK_BENCH_CORR_NEW, default
// 10,000) as they are imported, through a Batch as imports and pulls write, into a store
// already holding BASE attributes (MISPDESK_BENCH_CORR_BASE, default 100,000), one in five
// drawn from a pool of BASE/50 shared values (every fifth of BASE/10), so that each
// matches about ten stored attributes at any scale, under the correlation limit. The base
// is written with correlation off, in long transactions (bulkBatch; its own values are not
// linked to each other); MISPDESK_BENCH_CORR_BASE_DB keeps it between runs (built there when
// missing, for the same BASE), and each run imports into a copy. It reports the rate, the
// peak Go heap and the process's peak RSS during the import. The figure, 1M
// against 10M: MISPDESK_BENCH_CORR_BASE=10000000 MISPDESK_BENCH_CORR_NEW=1000000.
func BenchmarkCorrelateMany(b *testing.B) {
	envInt := func(k string, def int) int {
		if n, err := strconv.Atoi(os.Getenv(k)); err == nil && n > 0 {
			return n
		}
		return def
	}
	base, fresh, per := envInt("MISPDESK_BENCH_CORR_BASE", 100_000), envInt("MISPDESK_BENCH_CORR_NEW", 10_000), 1000
	pool := max(base/10, 1000)
	dir := b.TempDir()
	basePath := filepath.Join(dir, "base.db")
	if p := os.Getenv("MISPDESK_BENCH_CORR_BASE_DB"); p != "" {
		basePath = p
	}
	if _, err := os.Stat(basePath); err != nil {
		start := time.Now()
		s, err := Open(context.Background(), basePath)
		if err != nil {
			b.Fatal(err)
		}
		initHost(b, s)
		if err := s.SetInstanceSetting(context.Background(), SettingCorrelationDisabled, "true"); err != nil {
			b.Fatal(err)
		}
		batchImport(b, bulkBatch(s), base/per, func(i int) *misp.Event { return corrBenchEvents(i, 1, per, pool)[0] })
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.Logf("base store: %d attributes, built in %s", base, time.Since(start).Round(time.Second))
	}
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		path := filepath.Join(dir, fmt.Sprintf("run%d.db", i))
		copyFile(b, basePath, path)
		s, err := Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		if n := count(b, s, `SELECT count(*) FROM attributes`); n != base/per*per {
			b.Fatalf("base store %s holds %d attributes, not %d: remove it or set MISPDESK_BENCH_CORR_BASE to match", basePath, n, base/per*per)
		}
		if err := s.SetInstanceSetting(context.Background(), SettingCorrelationDisabled, "false"); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		procstat.ResetPeakRSS()
		var peak uint64
		b.StartTimer()
		start, c0 := time.Now(), procstat.CPUTime()
		first := base / per
		for i := 0; i < fresh/per; i += 10 {
			evs := corrBenchEvents(first+i, min(10, fresh/per-i), per, pool)
			batchImport(b, s.BeginBatch(context.Background()), len(evs), func(k int) *misp.Event { return evs[k] })
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		d, cpu := time.Since(start), procstat.CPUTime()-c0
		b.StopTimer()
		b.ReportMetric(float64(fresh)/d.Seconds(), "attrs/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(fresh), "cpu-us/attr")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		b.ReportMetric(procstat.PeakRSSMB(), "peak-RSS-MB")
		n := count(b, s, `SELECT count(*) FROM correlations`)
		if n == 0 {
			b.Fatalf("no correlations made: the figure would measure nothing (base %d, new %d)", base, fresh)
		}
		b.ReportMetric(float64(n), "correlations")
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		os.Remove(path)
	}
}
