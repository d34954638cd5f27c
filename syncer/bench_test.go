package syncer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"mispdesk/assets"
	"mispdesk/internal/procstat"
	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/remote"
)

// The sync benchmarks run two full instances in this process over loopback HTTP. RSS is
// the process's peak resident set during the timed part (both instances together, so an
// upper bound for one), reset before it through /proc/self/clear_refs.

// benchEvents builds n events from the osint-mixed feed, copied under new UUIDs until
// there are n, published and shared with all communities.
func benchEvents(tb testing.TB, n int) []*misp.Event {
	tb.Helper()
	files, _ := filepath.Glob("../testdata/feeds/osint-mixed/*.json")
	var raws [][]byte
	for _, f := range files {
		if filepath.Base(f) == "manifest.json" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		raws = append(raws, b)
	}
	out := make([]*misp.Event, 0, n)
	for i := 0; len(out) < n; i++ {
		e, err := misp.ParseEvent(raws[i%len(raws)])
		if err != nil {
			tb.Fatal(err)
		}
		renumber(e, strconv.Itoa(i))
		e.Distribution, e.Published = misp.AllCommunities, true
		out = append(out, e)
	}
	return out
}

// renumber gives an event and its children new UUIDs derived from salt.
func renumber(e *misp.Event, salt string) {
	e.UUID = misp.DerivedUUID(salt, e.UUID)
	for i := range e.Attribute {
		e.Attribute[i].UUID = misp.DerivedUUID(salt, e.Attribute[i].UUID)
	}
	for i := range e.Object {
		o := &e.Object[i]
		o.UUID = misp.DerivedUUID(salt, o.UUID)
		for j := range o.Attribute {
			o.Attribute[j].UUID = misp.DerivedUUID(salt, o.Attribute[j].UUID)
		}
		for j := range o.ObjectReference {
			r := &o.ObjectReference[j]
			r.UUID = misp.DerivedUUID(salt, r.UUID)
			r.ReferencedUUID = misp.DerivedUUID(salt, r.ReferencedUUID)
		}
	}
	for i := range e.EventReport {
		e.EventReport[i].UUID = misp.DerivedUUID(salt, e.EventReport[i].UUID)
	}
}

func loadInto(tb testing.TB, st *store.Store, events []*misp.Event) (attrs int) {
	tb.Helper()
	batch := st.BeginBatch(context.Background())
	for _, e := range events {
		res, err := batch.UpsertEvent(e, store.UpsertOptions{})
		if err != nil {
			tb.Fatal(err)
		}
		attrs += res.Attributes
	}
	batch.Close()
	return attrs
}

var benchEventCount = 2000

// benchClient sizes a benchmark's requests for its work rather than for a test's quick
// failure: a minute per request and a further second per 500 events moved or listed, with
// the default retries, so that a loaded machine slows a figure down instead of losing it.
func benchClient(events int) func(*remote.Config) {
	return func(c *remote.Config) {
		c.Timeout = time.Minute + time.Duration(events)*2*time.Millisecond
		c.Retries = remote.DefaultRetries
	}
}

// notMeasured ends a benchmark whose figure could not be taken, saying why, without
// failing the others `make bench` prints.
func notMeasured(b *testing.B, what string, err error, sum *RunSummary) {
	b.Helper()
	line := ""
	if sum != nil {
		line = sum.Line()
	}
	b.Skipf("%s not measured: %v %s", what, err, line)
}

// BenchmarkSync moves 2,000 events (about 290,000 attributes) from one instance to
// another by pull and by push, and imports the same events locally for comparison.
func BenchmarkSync(b *testing.B) {
	n := benchEventCount
	if s := os.Getenv("MISPDESK_BENCH_EVENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	events := benchEvents(b, n)
	attrs := 0
	for _, e := range events {
		attrs += countAttributes(e)
	}
	b.Logf("%d events, %d attributes", len(events), attrs)
	rates := map[string]float64{}
	// cpu-us/attr is the process's CPU time (both instances) per attribute moved: on a
	// machine others share, less distorted than the rate.
	report := func(b *testing.B, what string, elapsed, cpu time.Duration) {
		rates[what] = float64(attrs*b.N) / elapsed.Seconds()
		b.ReportMetric(float64(len(events)*b.N)/elapsed.Seconds(), "events/s")
		b.ReportMetric(rates[what], "attrs/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(attrs*b.N), "cpu-us/attr")
		b.ReportMetric(procstat.PeakRSSMB(), "peak-RSS-MB")
	}
	defer func() {
		for _, what := range []string{"pull", "push"} {
			if rates["import"] == 0 || rates[what] == 0 {
				b.Logf("%s/import: not measured (see above)", what)
				continue
			}
			b.Logf("%s/import: %.2f (%.0f vs %.0f attributes/s)", what, rates[what]/rates["import"], rates[what], rates["import"])
		}
	}()

	b.Run("import", func(b *testing.B) {
		var elapsed, cpu time.Duration
		for i := 0; i < b.N; i++ {
			a := newNode(b, "A")
			runtime.GC()
			procstat.ResetPeakRSS()
			start, c0 := time.Now(), procstat.CPUTime()
			loadInto(b, a.st, events)
			elapsed, cpu = elapsed+time.Since(start), cpu+procstat.CPUTime()-c0
		}
		report(b, "import", elapsed, cpu)
	})
	b.Run("pull", func(b *testing.B) {
		var elapsed, cpu time.Duration
		for i := 0; i < b.N; i++ {
			a, bn := newNode(b, "A"), newNode(b, "B")
			bn.eng.tuneCl = benchClient(len(events))
			loadInto(b, a.st, events)
			connect(b, bn, a, store.ServerOptions{Pull: true})
			runtime.GC()
			procstat.ResetPeakRSS()
			start, c0 := time.Now(), procstat.CPUTime()
			sum, err := bn.eng.Pull(context.Background(), bn.serverID("A"), RunOptions{})
			elapsed, cpu = elapsed+time.Since(start), cpu+procstat.CPUTime()-c0
			if err != nil || sum.Done != len(events) {
				notMeasured(b, "pull", err, sum)
			}
		}
		report(b, "pull", elapsed, cpu)
	})
	b.Run("push", func(b *testing.B) {
		var elapsed, cpu time.Duration
		for i := 0; i < b.N; i++ {
			a, bn := newNode(b, "A"), newNode(b, "B")
			a.eng.tuneCl = benchClient(len(events))
			loadInto(b, a.st, events)
			connect(b, a, bn, store.ServerOptions{Push: true})
			runtime.GC()
			procstat.ResetPeakRSS()
			start, c0 := time.Now(), procstat.CPUTime()
			sum, err := a.eng.Push(context.Background(), a.serverID("B"), RunOptions{})
			elapsed, cpu = elapsed+time.Since(start), cpu+procstat.CPUTime()-c0
			if err != nil || sum.Done != len(events) {
				notMeasured(b, "push", fmt.Errorf("%v %v", err, sum.Errors), sum)
			}
		}
		report(b, "push", elapsed, cpu)
	})
}

// BenchmarkPullBigEvent pulls one event of 200,000 attributes from a peer in another
// process, so the peak RSS is the pulling instance's alone, under the heap limit the
// mispdesk binary sets.
func BenchmarkPullBigEvent(b *testing.B) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(assets.MemoryLimit))
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		a, bn := newNode(b, "A"), newNode(b, "B")
		loadInto(b, a.st, []*misp.Event{bigEvent(200_000)})
		connect(b, bn, a, store.ServerOptions{Pull: true})
		peerProcess(b, a, bn)
		bn.eng.tuneCl = benchClient(200) // serving 200,000 attributes takes a while
		runtime.GC()
		procstat.ResetPeakRSS()
		start := time.Now()
		sum, err := bn.eng.Pull(context.Background(), bn.serverID("A"), RunOptions{})
		elapsed += time.Since(start)
		if err != nil || sum.Done != 1 || sum.Attributes != 200_000 {
			notMeasured(b, "pull of a 200,000-attribute event", fmt.Errorf("%v %v", err, sum.Errors), sum)
		}
	}
	b.ReportMetric(float64(200_000*b.N)/elapsed.Seconds(), "attrs/s")
	b.ReportMetric(procstat.PeakRSSMB(), "peak-RSS-MB")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Sys)/(1<<20), "go-sys-MB")
}

// bigEvent is a published event of n ip-dst attributes.
func bigEvent(n int) *misp.Event {
	big := &misp.Event{UUID: "00000000-0000-4000-8000-00000000b19e", Info: fmt.Sprintf("%d attributes", n), Date: "2024-01-01",
		Timestamp: 1700000000, Distribution: misp.AllCommunities, Published: true, Orgc: &misp.Org{Name: "Bench", UUID: "00000000-0000-4000-8000-0000000000be"}}
	big.Attribute = make([]misp.Attribute, n)
	for i := range big.Attribute {
		big.Attribute[i] = misp.Attribute{Type: "ip-dst", Category: "Network activity", ToIDs: true,
			Value: fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255), UUID: misp.DerivedUUID("big", strconv.Itoa(i)),
			Distribution: misp.InheritEvent, Timestamp: 1700000000}
	}
	return big
}

// BenchmarkPullNothingNew pulls from a server whose 100,000-event index holds nothing new:
// once with the index ETag (one 304) and once without (the whole index read and compared).
func BenchmarkPullNothingNew(b *testing.B) {
	a, bn := newNode(b, "A"), newNode(b, "B")
	tiny := make([]*misp.Event, 100_000)
	for i := range tiny {
		tiny[i] = &misp.Event{UUID: misp.DerivedUUID("tiny", strconv.Itoa(i)), Info: "tiny " + strconv.Itoa(i), Date: "2024-01-01",
			Timestamp: 1700000000, Distribution: misp.AllCommunities, Published: true,
			Attribute: []misp.Attribute{{Type: "domain", Value: fmt.Sprintf("d%d.example", i), Distribution: misp.InheritEvent,
				UUID: misp.DerivedUUID("tiny-attr", strconv.Itoa(i)), Timestamp: 1700000000}}}
	}
	loadInto(b, a.st, tiny)
	loadInto(b, bn.st, tiny) // B already has every event
	srv := connect(b, bn, a, store.ServerOptions{Pull: true})
	bn.eng.tuneCl = benchClient(len(tiny))
	if sum, err := bn.eng.Pull(context.Background(), bn.serverID("A"), RunOptions{}); err != nil {
		notMeasured(b, "the first pull of a 100,000-event index", err, sum)
	}
	for _, withETag := range []bool{true, false} {
		b.Run(fmt.Sprintf("etag=%v", withETag), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if !withETag {
					bn.st.SetServerState(context.Background(), srv.ID, stateIndexETag, "")
				}
				sum, err := bn.eng.Pull(context.Background(), bn.serverID("A"), RunOptions{})
				if err != nil {
					notMeasured(b, "a pull with nothing new", err, sum)
				}
				if sum.Done != 0 || sum.NotModified != withETag {
					b.Fatalf("nothing new, yet: %s", sum.Line())
				}
			}
		})
	}
}

// BenchmarkSyncCorrelation pulls the same events (MISPDESK_BENCH_CORR_EVENTS, default 500:
// about 72,000 attributes, each value in about seven of them) into an instance with
// correlation off and into one with it on, in the same run, and reports both rates and
// the ratio of the times (on/off): what correlating costs a pull.
func BenchmarkSyncCorrelation(b *testing.B) {
	n := 500
	if v, err := strconv.Atoi(os.Getenv("MISPDESK_BENCH_CORR_EVENTS")); err == nil && v > 0 {
		n = v
	}
	events := benchEvents(b, n)
	attrs := 0
	for _, e := range events {
		attrs += countAttributes(e)
	}
	b.Logf("%d events, %d attributes", len(events), attrs)
	ctx := context.Background()
	var off, on time.Duration
	for range b.N {
		for _, enabled := range []bool{false, true} {
			b.StopTimer()
			a, bn := newNode(b, "A"), newNode(b, "B")
			bn.eng.tuneCl = benchClient(len(events))
			for st, disabled := range map[*store.Store]bool{a.st: true, bn.st: !enabled} {
				if err := st.SetInstanceSetting(ctx, store.SettingCorrelationDisabled, strconv.FormatBool(disabled)); err != nil {
					b.Fatal(err)
				}
			}
			loadInto(b, a.st, events)
			connect(b, bn, a, store.ServerOptions{Pull: true})
			runtime.GC()
			b.StartTimer()
			start := time.Now()
			sum, err := bn.eng.Pull(ctx, bn.serverID("A"), RunOptions{})
			d := time.Since(start)
			b.StopTimer()
			if err != nil || sum.Done != len(events) {
				notMeasured(b, fmt.Sprintf("pull with correlation %v", enabled), err, sum)
			}
			top, err := bn.st.TopCorrelations(ctx, 1)
			if err != nil {
				b.Fatal(err)
			}
			if enabled != (len(top) > 0) {
				b.Fatalf("correlation %v, yet the most correlated values are %v", enabled, top)
			}
			if enabled {
				on += d
			} else {
				off += d
			}
		}
	}
	total := float64(attrs * b.N)
	b.ReportMetric(total/off.Seconds(), "attrs/s-off")
	b.ReportMetric(total/on.Seconds(), "attrs/s-on")
	b.ReportMetric(on.Seconds()/off.Seconds(), "on/off")
}
