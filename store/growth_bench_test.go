package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"mispdesk/internal/procstat"
	"mispdesk/store/misp"
)

// growthEvent is event i of a generated corpus (salt names the corpus): 100 attributes of
// the common indicator types, with values and UUIDs spread over the key space as real
// ones are, so that every index takes its inserts at random places.
func growthEvent(salt string, i int) *misp.Event {
	id := salt + strconv.Itoa(i)
	e := &misp.Event{UUID: misp.DerivedUUID("growth-event", id), Info: "generated event " + id, Date: "2024-01-01",
		Timestamp: misp.Int(1700000000 + i), Distribution: misp.AllCommunities, Published: true,
		Orgc: &misp.Org{Name: "Generator", UUID: "00000000-0000-4000-8000-0000000000ee"},
		Tag:  []misp.Tag{{Name: "tlp:clear"}}}
	e.Attribute = make([]misp.Attribute, 100)
	for j := range e.Attribute {
		sum := sha256.Sum256([]byte(id + "/" + strconv.Itoa(j)))
		h := hex.EncodeToString(sum[:])
		a := misp.Attribute{UUID: misp.DerivedUUID("growth-attr", id+"/"+strconv.Itoa(j)), Distribution: misp.InheritEvent,
			Timestamp: e.Timestamp, ToIDs: true}
		switch j % 4 {
		case 0:
			a.Type, a.Category, a.Value = "ip-dst", "Network activity", fmt.Sprintf("%d.%d.%d.%d", sum[0]|1, sum[1], sum[2], sum[3])
		case 1:
			a.Type, a.Category, a.Value = "domain", "Network activity", h[:12]+".example"
		case 2:
			a.Type, a.Category, a.Value = "url", "Network activity", "https://"+h[:10]+".example/"+h[10:20]
		default:
			a.Type, a.Category, a.Value = "sha256", "Payload delivery", h
		}
		e.Attribute[j] = a
	}
	return e
}

// importGenerated stores events [from, to) of a corpus through a Batch, as an import does,
// and returns the attributes stored.
func importGenerated(tb testing.TB, s *Store, salt string, from, to int) int {
	return batchImport(tb, s.BeginBatch(context.Background()), to-from, func(i int) *misp.Event { return growthEvent(salt, from+i) })
}

// bulkBatch is a Batch of transactions of up to 1,000 events or ten seconds, to write a
// benchmark's base store: a second's transaction of a slow load writes most index pages it
// touches again in the next, and so slows down as the store grows.
func bulkBatch(s *Store) *Batch {
	batch := s.BeginBatch(context.Background())
	batch.maxItems, batch.maxAge = 1000, 10*time.Second
	return batch
}

// batchImport stores n events, made one at a time by event, through batch, as an import
// or a pull writes them, closes it and returns the attributes stored.
func batchImport(tb testing.TB, batch *Batch, n int, event func(int) *misp.Event) int {
	tb.Helper()
	attrs := 0
	for i := range n {
		res, err := batch.UpsertEvent(event(i), UpsertOptions{})
		if err != nil {
			tb.Fatal(err)
		}
		attrs += res.Attributes
	}
	batch.Close()
	return attrs
}

// BenchmarkImportGrowth imports the same generated 1,000-event feed (100,000 attributes)
// into an empty store and into a store already holding MISPDESK_BENCH_BASE_EVENTS events
// of 100 attributes (default 10,000: a million attributes), built once and copied for
// each run. It reports both rates, their ratio (the goal: at most 1.3), the grown store's
// file size per attribute and the process's peak RSS during the timed imports.
func BenchmarkImportGrowth(b *testing.B) {
	base := 10_000
	if s := os.Getenv("MISPDESK_BENCH_BASE_EVENTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			b.Fatalf("MISPDESK_BENCH_BASE_EVENTS=%q: want a number of events", s)
		}
		base = n
	}
	dir := b.TempDir()
	basePath := filepath.Join(dir, "base.db")
	// MISPDESK_BENCH_BASE_DB keeps the base store between runs (built there when missing,
	// for the same MISPDESK_BENCH_BASE_EVENTS): comparing settings then does not rebuild a
	// million attributes each time.
	if p := os.Getenv("MISPDESK_BENCH_BASE_DB"); p != "" {
		basePath = p
	}
	baseAttrs := base * 100
	if _, err := os.Stat(basePath); err != nil {
		start := time.Now()
		s, err := Open(context.Background(), basePath)
		if err != nil {
			b.Fatal(err)
		}
		initHost(b, s)
		baseAttrs = batchImport(b, bulkBatch(s), base, func(i int) *misp.Event { return growthEvent("base", i) })
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.Logf("base store: %d events, %d attributes, built in %s", base, baseAttrs, time.Since(start).Round(time.Second))
	}

	var (
		elapsed   [2]time.Duration
		cpu       [2]time.Duration
		feedAttrs int
		size      int64
		peak      float64
		io        [2]ioCounts
		label     = [2]string{"empty", "grown"}
	)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k, grown := range []bool{false, true} {
			b.StopTimer()
			path := filepath.Join(dir, fmt.Sprintf("run%d-%d.db", i, k))
			var (
				s   *Store
				err error
			)
			if grown {
				copyFile(b, basePath, path)
				s, err = Open(context.Background(), path)
			} else {
				s, err = Open(context.Background(), path)
				if err == nil {
					initHost(b, s)
				}
			}
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			procstat.ResetPeakRSS()
			b.StartTimer()
			t0, c0, io0 := time.Now(), procstat.CPUTime(), readIO()
			// The label lets a CPU profile of the run be split into the two imports:
			// go tool pprof -tagfocus store=grown (or store=empty).
			pprof.Do(context.Background(), pprof.Labels("store", label[k]), func(context.Context) {
				feedAttrs = importGenerated(b, s, "feed", 0, 1000)
			})
			elapsed[k] += time.Since(t0)
			cpu[k] += procstat.CPUTime() - c0
			io[k] = io[k].add(readIO().sub(io0))
			b.StopTimer()
			peak = max(peak, procstat.PeakRSSMB())
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			if grown {
				fi, err := os.Stat(path)
				if err != nil {
					b.Fatal(err)
				}
				size = fi.Size()
			}
			os.Remove(path)
			b.StartTimer()
		}
	}
	empty := float64(feedAttrs*b.N) / elapsed[0].Seconds()
	grown := float64(feedAttrs*b.N) / elapsed[1].Seconds()
	b.ReportMetric(empty, "empty-attrs/s")
	b.ReportMetric(grown, "grown-attrs/s")
	b.ReportMetric(empty/grown, "grown-cost-x")
	// CPU time is what a loaded machine distorts least: the wall-clock ratio above also
	// counts the time other processes held the cores.
	b.ReportMetric(cpu[1].Seconds()/cpu[0].Seconds(), "grown-cpu-x")
	b.ReportMetric(float64(size)/float64(baseAttrs+feedAttrs), "file-B/attr")
	b.ReportMetric(peak, "peak-RSS-MB")
	// Reads and writes reaching the kernel per attribute: SQLite reads a page it does not
	// hold in its own cache with one read call, so the reads count its cache misses.
	for k, io := range io {
		n := float64(feedAttrs * b.N)
		b.ReportMetric(float64(cpu[k].Microseconds())/n, label[k]+"-cpu-us/attr")
		b.ReportMetric(float64(io.reads)/n, label[k]+"-reads/attr")
		b.ReportMetric(float64(io.writeBytes)/n, label[k]+"-writeB/attr")
	}
}

// ioCounts are the process's read calls and bytes written (/proc/self/io).
type ioCounts struct{ reads, writeBytes int64 }

func (a ioCounts) add(b ioCounts) ioCounts {
	return ioCounts{a.reads + b.reads, a.writeBytes + b.writeBytes}
}
func (a ioCounts) sub(b ioCounts) ioCounts {
	return ioCounts{a.reads - b.reads, a.writeBytes - b.writeBytes}
}

// readIO reads the process's I/O counters; zero where /proc is missing.
func readIO() ioCounts {
	var c ioCounts
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return c
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "syscr":
			c.reads = n
		case "wchar":
			c.writeBytes = n
		}
	}
	return c
}

func copyFile(tb testing.TB, from, to string) {
	tb.Helper()
	in, err := os.Open(from)
	if err != nil {
		tb.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		tb.Fatal(err)
	}
	if err := out.Close(); err != nil {
		tb.Fatal(err)
	}
}
