package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// mixedEvents gives n 200 events of every kind a push or pull meets: each distribution
// level, published or not, some tagged tlp:red.
func mixedEvents(t *testing.T, n *node, count int) {
	t.Helper()
	for i := range count {
		uuid := fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)
		n.importFile(t, smallEvent, func(e *misp.Event) {
			e.UUID, e.Info = uuid, fmt.Sprintf("mixed %d", i)
			e.Distribution = misp.Distribution(i % 4)
			e.Published = i%5 != 0
			e.Timestamp = misp.Int(1700000000 + i)
			if i%7 == 0 {
				e.Tag = append(e.Tag, misp.Tag{Name: "tlp:red"})
			}
			for j := range e.Attribute {
				e.Attribute[j].UUID = misp.DerivedUUID(uuid, e.Attribute[j].UUID)
			}
		})
	}
}

// runLog is the sync log of one run, oldest first.
func runLog(t *testing.T, n *node, runID string) []store.LogEntry {
	t.Helper()
	all, err := n.st.LogSince(ctx, 0, 100000, store.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []store.LogEntry
	for _, e := range all {
		if e.RunID == runID {
			out = append(out, e)
		}
	}
	return out
}

// checkAddsUp holds a run's --json summary to its promises: every candidate moved,
// skipped or failed; skip reasons that add up and are few; progress and log that never
// count past the total or back, and end with "finished".
func checkAddsUp(t *testing.T, n *node, sum *RunSummary, progress []Progress) {
	t.Helper()
	raw, err := json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}
	var js struct {
		Candidates, Done, Skipped, Failed int
		SkipReasons                       map[string]int `json:"skip_reasons"`
	}
	if err := json.Unmarshal(raw, &js); err != nil {
		t.Fatal(err)
	}
	if js.Candidates == 0 || js.Done+js.Skipped+js.Failed != js.Candidates {
		t.Errorf("%s: done %d + skipped %d + failed %d != candidates %d", sum.Direction, js.Done, js.Skipped, js.Failed, js.Candidates)
	}
	reasons := 0
	for _, c := range js.SkipReasons {
		reasons += c
	}
	if reasons != js.Skipped || len(js.SkipReasons) > 10 {
		t.Errorf("%s: %d skip reasons summing to %d of %d skipped: %v", sum.Direction, len(js.SkipReasons), reasons, js.Skipped, js.SkipReasons)
	}
	for i, p := range progress {
		if p.Done > p.Total || (i > 0 && p.Done < progress[i-1].Done) {
			t.Fatalf("%s: progress %d of %d after %d", sum.Direction, p.Done, p.Total, progress[max(i-1, 0)].Done)
		}
	}
	entries := runLog(t, n, sum.RunID)
	if len(entries) == 0 || entries[len(entries)-1].Outcome != "finished" {
		t.Fatalf("%s: the run's log does not end with finished: %d entries", sum.Direction, len(entries))
	}
	last := 0
	for _, e := range entries {
		if e.Total != 0 && (e.Done > e.Total || e.Done < last) {
			t.Errorf("%s: log says %d of %d after %d", sum.Direction, e.Done, e.Total, last)
		}
		last = max(last, e.Done)
	}
}

// sameVerdicts holds a dry run to the real run, event by event.
func sameVerdicts(t *testing.T, dry, real *RunSummary) {
	t.Helper()
	want := map[string]Verdict{}
	for _, v := range real.Verdicts {
		want[v.Event] = v
	}
	if len(dry.Verdicts) != len(real.Verdicts) || len(dry.Verdicts) != dry.Candidates {
		t.Errorf("%s: dry run %d verdicts, real run %d, candidates %d", dry.Direction, len(dry.Verdicts), len(real.Verdicts), dry.Candidates)
	}
	for _, v := range dry.Verdicts {
		if want[v.Event] != v {
			t.Errorf("%s %s: dry run %+v, real run %+v", dry.Direction, v.Event, v, want[v.Event])
		}
	}
}

// A push and a pull of 200 mixed events: summaries add up, reasons are the rules' codes,
// and the dry runs decide every event as the real runs do.
func TestRunSummariesAddUpAndDryRunsMatch(t *testing.T) {
	a, b, c := newNode(t, "A"), newNode(t, "B"), newNode(t, "C")
	events := 200
	if testing.Short() {
		events = 40 // the race pass of make test; the non-race pass moves 200
	}
	mixedEvents(t, a, events)
	connect(t, a, b, store.ServerOptions{Push: true, PushRules: `{"tags":{"OR":[],"NOT":["tlp:red"]}}`})
	var mu sync.Mutex
	var progress []Progress
	record := func(p Progress) { mu.Lock(); progress = append(progress, p); mu.Unlock() }

	dry, err := a.eng.Push(ctx, a.serverID("B"), RunOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	real, err := a.eng.Push(ctx, a.serverID("B"), RunOptions{Verdicts: true, Progress: record})
	if err != nil {
		t.Fatal(err)
	}
	checkAddsUp(t, a, real, progress)
	sameVerdicts(t, dry, real)
	for _, code := range []string{"distribution: org only", "distribution: community only", "push_rules.tags NOT tlp:red"} {
		if real.SkipReasons[code] == 0 {
			t.Errorf("push: no event skipped under %q: %v", code, real.SkipReasons)
		}
	}
	if real.Done == 0 || b.count(t) != real.Done {
		t.Errorf("push: %s, B holds %d", real.Line(), b.count(t))
	}

	// C pulls from A: the same promises on the other side.
	connect(t, c, a, store.ServerOptions{Pull: true})
	progress = nil
	dryPull, err := c.eng.Pull(ctx, c.serverID("A"), RunOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.count(t) != 0 {
		t.Fatal("a dry pull stored events")
	}
	pull, err := c.eng.Pull(ctx, c.serverID("A"), RunOptions{Verdicts: true, Progress: record})
	if err != nil {
		t.Fatal(err)
	}
	checkAddsUp(t, c, pull, progress)
	sameVerdicts(t, dryPull, pull)
	if pull.Done == 0 || c.count(t) != pull.Done {
		t.Errorf("pull: %s, C holds %d", pull.Line(), c.count(t))
	}
	// Pulled again: everything is skipped as the local copy is not older, under one code.
	again, err := c.eng.Pull(ctx, c.serverID("A"), RunOptions{Technique: "update"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Skipped != again.Candidates || again.SkipReasons["local copy newer"] != again.Skipped {
		t.Errorf("second pull: %s %v", again.Line(), again.SkipReasons)
	}
}

// A pull of one event the remote does not give us counts it as not offered, not failed.
func TestPullOfAnEventNotOffered(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	a.importFile(t, smallEvent, func(e *misp.Event) { e.Distribution, e.Published = misp.OrgOnly, true })
	connect(t, b, a, store.ServerOptions{Pull: true})
	ev, err := a.st.EventMetadata(ctx, testsupport.LocalEvent(t, a.st, "5a0a9aa9-23a4-4607-b6df-41a9950d210f"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{Technique: ev.UUID})
	if err != nil {
		t.Fatal(err)
	}
	if sum.NotOffered != 1 || sum.Failed != 0 || sum.SkipReasons[skipNotOffered] != 1 || !strings.Contains(sum.Line(), "not offered by the remote 1") {
		t.Errorf("%s %v", sum.Line(), sum.SkipReasons)
	}
}

// A user's cancel is logged as a cancel, with what was done before it: a warning, not
// an error, and no event failed for it.
func TestCancelIsLoggedAsCancel(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	mixedEvents(t, a, 12)
	connect(t, b, a, store.ServerOptions{Pull: true})
	var views sync.Mutex
	seen := 0
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	faultOn(a, "/events/view/", func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		views.Lock()
		seen++
		n := seen
		views.Unlock()
		if n <= 2 {
			next.ServeHTTP(w, r)
			return
		}
		cancel()
		<-r.Context().Done()
	})
	sum, err := b.eng.Pull(runCtx, b.serverID("A"), RunOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if sum == nil || !sum.Cancelled || sum.Failed != 0 {
		t.Fatalf("summary %+v", sum)
	}
	entries := runLog(t, b, sum.RunID)
	last := entries[len(entries)-1]
	want := fmt.Sprintf("cancelled after %d of %d events", sum.Finished(), sum.Candidates)
	if last.Outcome != "finished" || last.Level != "warn" || !strings.HasPrefix(last.Message, want) {
		t.Errorf("last entry %s %s %q, want a warning starting %q", last.Level, last.Outcome, last.Message, want)
	}
	for _, e := range entries {
		if e.Level == "error" || strings.Contains(e.Message, "context canceled") {
			t.Errorf("logged as a failure: %s %s %q", e.Level, e.Outcome, e.Message)
		}
	}
}

// A running sync's rate and time left come from its own numbers: none before the first
// event is done, none left once all are.
func TestProgressRateAndETA(t *testing.T) {
	p := Progress{Done: 0, Total: 200, Elapsed: 3 * time.Second}
	if _, ok := p.ETA(); ok || p.Rate() != 0 {
		t.Errorf("nothing done yet: rate %v", p.Rate())
	}
	p = Progress{Done: 50, Total: 200, Elapsed: 10 * time.Second}
	if eta, ok := p.ETA(); !ok || p.Rate() != 5 || eta != 30*time.Second {
		t.Errorf("rate %v, eta %v %v", p.Rate(), eta, ok)
	}
	p.Done = 200
	if eta, ok := p.ETA(); !ok || eta != 0 {
		t.Errorf("all done: eta %v %v", eta, ok)
	}
}
