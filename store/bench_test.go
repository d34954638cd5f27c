package store

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"mispdesk/store/misp"
)

// BenchmarkImportFeed imports the osint-mixed feed (71 events, 10,256 attributes) file by
// file — read, decode, store, each event in its own savepoint of a Batch, as mispdesk import
// does — into a fresh database per run.
func BenchmarkImportFeed(b *testing.B) {
	files, _ := filepath.Glob("../testdata/feeds/osint-mixed/*.json")
	var attrs, events int
	var peak uint64
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := openTest(b)
		initHost(b, s)
		runtime.GC()
		b.StartTimer()
		start := time.Now()
		batch := s.BeginBatch(context.Background())
		for _, f := range files {
			if filepath.Base(f) == "manifest.json" {
				continue
			}
			raw, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			e, err := misp.ParseEvent(raw)
			if err != nil {
				b.Fatal(err)
			}
			res, err := batch.UpsertEvent(e, UpsertOptions{})
			if err != nil {
				b.Fatal(err)
			}
			attrs += res.Attributes
			events++
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		batch.Close()
		elapsed += time.Since(start)
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(attrs)/elapsed.Seconds(), "attrs/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}

// BenchmarkRawAttributeInsert inserts the same attribute rows as BenchmarkImportFeed with
// one prepared statement in one transaction: the ceiling an import is measured against.
func BenchmarkRawAttributeInsert(b *testing.B) {
	files, _ := filepath.Glob("../testdata/feeds/osint-mixed/*.json")
	var rows []misp.Attribute
	for _, f := range files {
		if filepath.Base(f) == "manifest.json" {
			continue
		}
		raw, _ := os.ReadFile(f)
		e, err := misp.ParseEvent(raw)
		if err != nil {
			b.Fatal(err)
		}
		rows = append(rows, e.Attribute...)
		for _, o := range e.Object {
			rows = append(rows, o.Attribute...)
		}
	}
	ctx := context.Background()
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := openTest(b)
		org := initHost(b, s)
		var eventID int64
		s.write.QueryRowContext(ctx, `INSERT INTO events (uuid, org_id, orgc_id, date, info, timestamp, distribution)
			VALUES ('00000000-0000-4000-8000-000000000000', ?, ?, '2020-01-01', 'bench', 1, 0) RETURNING id`, org.ID, org.ID).Scan(&eventID)
		b.StartTimer()
		start := time.Now()
		tx, err := s.write.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO attributes (uuid, event_id, type, category, value1, value2, to_ids,
			timestamp, distribution, comment, first_seen, last_seen, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range rows {
			v1, v2 := SplitValue(a.Type, a.Value)
			if _, err := stmt.ExecContext(ctx, a.UUID, eventID, a.Type, a.Category, v1, v2, boolInt(bool(a.ToIDs)),
				int64(a.Timestamp), int64(a.Distribution), a.Comment, nullText(string(a.FirstSeen)), nullText(string(a.LastSeen)),
				nullText(a.Data)); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(len(rows)*b.N)/elapsed.Seconds(), "attrs/s")
}
