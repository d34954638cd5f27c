package gate

import (
	"context"
	"path/filepath"
	"testing"

	"mispdesk/store"
)

// BenchmarkInstance is the cost of describing the instance to policy, paid once per REST
// request and per sync run: its identity and its sightings policy settings.
// Run with: go test ./syncer/gate -run XXX -bench Instance
func BenchmarkInstance(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Init(ctx, store.InitOptions{OrgName: "Bench"}); err != nil {
		b.Fatal(err)
	}
	if err := st.SetInstanceSetting(ctx, store.SettingSightingsPolicy, "3"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		inst, err := Instance(ctx, st)
		if err != nil || inst.Sightings.Rule != 3 {
			b.Fatalf("%+v, %v", inst, err)
		}
	}
}
