package mispapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

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
