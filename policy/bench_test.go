package policy

import (
	"testing"
)

// Decisions per second on the largest fixture event (5 050 attributes):
//
//	go test -run '^$' -bench 'Push|Pull' -benchmem ./policy/
func BenchmarkPush(b *testing.B) {
	a := instance(orgA, "https://a.example")
	toB := link(1, "https://b.example", orgA, orgB, false)
	toB.PushRules.Tags.NOT = []string{"tlp:red"}
	ev := loadEvent(b, "7dcfe4a0-a264-558f-a253-3269be3b2890.json")
	ev.OrgID, ev.Org = orgA.ID, orgPtr(orgA)
	for b.Loop() {
		if res := a.Push(toB, ev, Scheduled, Blocklists{}); !res.Allowed {
			b.Fatal(res.Decision)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}

func BenchmarkPull(b *testing.B) {
	bInst := instance(orgB, "https://b.example")
	fromA := link(1, "https://a.example", orgB, orgA, false)
	ev := loadEvent(b, "7dcfe4a0-a264-558f-a253-3269be3b2890.json")
	for b.Loop() {
		if res := bInst.Pull(fromA, ev, nil, Blocklists{}); !res.Allowed {
			b.Fatal(res.Decision)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}
