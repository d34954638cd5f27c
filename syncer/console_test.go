package syncer

import (
	"context"
	"testing"
	"time"
)

// TestIsLeader: Run holds the lease, says so, and stops saying so when it ends.
func TestIsLeader(t *testing.T) {
	n := newNode(t, "a")
	if n.eng.IsLeader() {
		t.Fatal("leader before Run")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.eng.Run(ctx, DaemonOptions{}) }()
	deadline := time.Now().Add(5 * time.Second)
	for !n.eng.IsLeader() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !n.eng.IsLeader() {
		t.Fatal("Run did not become leader of a database nobody else uses")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n.eng.IsLeader() {
		t.Error("still leader after Run returned")
	}
}
