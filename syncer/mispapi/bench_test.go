package mispapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"mispdesk/store"
	"mispdesk/store/misp"
)

// BenchmarkEventsIndex answers the minimal index a pull asks for over 100,000 events, as
// a sync user (visibility decided per row) and as site admin.
func BenchmarkEventsIndex(b *testing.B) {
	const n = 100_000
	e := newEnv(b)
	ctx := context.Background()
	b.Logf("generating %d events…", n)
	for i := range n {
		ev := &misp.Event{UUID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), Info: "bench", Date: "2024-10-01",
			Distribution: misp.Distribution(i % 4), Published: misp.Bool(i%5 != 0), Timestamp: misp.Int(1700000000 + i),
			ThreatLevelID: 2, Orgc: &misp.Org{Name: "CIRCL", UUID: "55f6ea5e-2c60-40e5-964f-47a8950d210f"}}
		if _, err := e.st.UpsertEvent(ctx, ev, store.UpsertOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct{ name, key string }{{"sync", e.syncKey}, {"admin", e.admin}} {
		b.Run(c.name, func(b *testing.B) {
			rows := ""
			for b.Loop() {
				req, _ := http.NewRequest("POST", e.srv.URL+"/events/index", strings.NewReader(`{"minimal":1,"published":1}`))
				req.Header.Set("Authorization", c.key)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatal(res.Status)
				}
				rows = res.Header.Get("X-Result-Count")
			}
			b.Logf("%s: %s rows", c.name, rows)
		})
	}
}

// BenchmarkRESTSearch answers events/restSearch over 100,000 events as a user of the host
// organisation (visibility decided per row): by a value held by one event, by a tag held
// by one event in 100 (first page of 50), and events/view of the largest fixture event.
// Run with: go test ./syncer/mispapi -run XXX -bench RESTSearch -benchtime 50x
func BenchmarkRESTSearch(b *testing.B) {
	const n = 100_000
	e := newEnv(b)
	ctx := context.Background()
	b.Logf("generating %d events…", n)
	batch := e.st.BeginBatch(ctx)
	for i := range n {
		ev := &misp.Event{UUID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), Info: "bench", Date: "2024-10-01",
			Distribution: misp.Distribution(i % 4), Published: misp.Bool(i%5 != 0), Timestamp: misp.Int(1700000000 + i),
			ThreatLevelID: 2, Orgc: &misp.Org{Name: "CIRCL", UUID: "55f6ea5e-2c60-40e5-964f-47a8950d210f"},
			Attribute: []misp.Attribute{
				{Type: "ip-dst", Category: "Network activity", Value: fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255),
					UUID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, n+i), Distribution: misp.InheritEvent, Timestamp: misp.Int(1700000000 + i), ToIDs: true},
				{Type: "domain", Category: "Network activity", Value: fmt.Sprintf("host%d.example", i),
					UUID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, 2*n+i), Distribution: misp.InheritEvent, Timestamp: misp.Int(1700000000 + i)},
			}}
		if i%100 == 0 {
			ev.Tag = []misp.Tag{{Name: "bench:rare"}}
		}
		ev.Tag = append(ev.Tag, misp.Tag{Name: "tlp:white"})
		if _, err := batch.UpsertEvent(ev, store.UpsertOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	batch.Close()
	big := e.importFile("../../testdata/feeds/osint-mixed/7dcfe4a0-a264-558f-a253-3269be3b2890.json", nil)
	for _, c := range []struct{ name, method, path, body string }{
		{"restSearch-value", "POST", "/events/restSearch", `{"value":"10.1.47.209"}`},
		{"restSearch-value-metadata", "POST", "/events/restSearch", `{"value":"host77777.example","metadata":1}`},
		{"restSearch-tag-limit50", "POST", "/events/restSearch", `{"tags":["bench:rare"],"limit":50}`},
		{"restSearch-tag-not-limit50", "POST", "/events/restSearch", `{"tags":{"OR":["tlp:white"],"NOT":["bench:rare"]},"limit":50,"metadata":1}`},
		{"attributes-restSearch-value", "POST", "/attributes/restSearch", `{"value":"10.0.1.%","type":"ip-dst","limit":50}`},
		{"view-largest-fixture", "GET", "/events/view/" + big.UUID, ``},
	} {
		b.Run(c.name, func(b *testing.B) {
			var total time.Duration
			count := ""
			for b.Loop() {
				start := time.Now()
				req, _ := http.NewRequest(c.method, e.srv.URL+c.path, strings.NewReader(c.body))
				req.Header.Set("Authorization", e.sameOrgUser)
				req.Header.Set("Accept", "application/json")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatal(res.Status)
				}
				total += time.Since(start)
				count = res.Header.Get("X-Result-Count")
			}
			lat := total / time.Duration(b.N)
			b.ReportMetric(float64(lat.Microseconds())/1000, "ms/req")
			b.ReportMetric(float64(time.Second)/float64(lat), "req/s")
			b.Logf("%s: %s results", c.name, count)
		})
	}
}
