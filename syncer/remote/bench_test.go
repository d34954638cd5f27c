package remote

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkIndex100k pulls a 100,000-row minimal index over loopback: the "nothing new"
// pull's fixed cost on the client side.
func BenchmarkIndex100k(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("[")
	for i := range 100000 {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"id":"%d","timestamp":"1727800000","sighting_timestamp":"0","published":true,"uuid":"0a1b2c3d-0000-4000-8000-%012d","orgc_uuid":"55f6ea5e-2c60-40e5-964f-47a8950d210f"}`, i, i)
	}
	sb.WriteString("]")
	body := sb.String()
	t := &testing.T{}
	p := newPeer(t)
	p.handle("POST /events/index", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) })
	p.srv.Start()
	defer p.srv.Close()
	c, err := New(Config{Name: "B", URL: p.srv.URL, AuthKey: testKey, SkipProxy: true})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rows, _, err := c.Index(context.Background(), nil, "")
		if err != nil || len(rows) != 100000 {
			b.Fatal(len(rows), err)
		}
	}
}
