package main

import (
	"context"
	"mispdesk/syncer"
	"net"
	"strings"
	"testing"
	"time"
)

func TestEventPublishDelivers(t *testing.T) {
	a, b, _ := pair(t)
	unpublished := withEvent(t, sunorcal, "3", false)
	mustRun(t, "import", "--db", a.db, unpublished)
	const uuid = "5a0a9aa9-23a4-4607-b6df-41a9950d210f"
	if hasEvent(t, b.db, uuid) {
		t.Fatal("B has the event before it is published")
	}
	code, stdout, stderr := runT(t, "event", "publish", uuid, "--db", a.db)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q\n%s", code, stderr, stdout)
	}
	if !strings.Contains(stdout, "push queued to 1 server\n") || !strings.Contains(stdout, "  B: pushed: ") {
		t.Errorf("publish printed %q", stdout)
	}
	if !hasEvent(t, b.db, uuid) {
		t.Error("B lacks the published event")
	}
	code, stdout, _ = runT(t, "event", "unpublish", uuid, "--db", a.db)
	if code != 0 || !strings.HasPrefix(stdout, "Unpublished event ") {
		t.Errorf("unpublish: exit %d, %q", code, stdout)
	}
}

// A daemon holding the leader lease delivers: publish only queues.
func TestEventPublishLeavesPushesToTheDaemon(t *testing.T) {
	a, _, _ := pair(t)
	mustRun(t, "import", "--db", a.db, withEvent(t, sunorcal, "3", false))
	st := openT(t, a.db)
	if ok, err := st.AcquireLease(context.Background(), syncer.LeaderLease, "daemon elsewhere", time.Minute); !ok || err != nil {
		t.Fatal(ok, err)
	}
	code, stdout, _ := runT(t, "event", "publish", "5a0a9aa9-23a4-4607-b6df-41a9950d210f", "--db", a.db)
	if code != 0 || !strings.Contains(stdout, "mispdesk serve holds the sync lease") {
		t.Errorf("exit %d, %q", code, stdout)
	}
	stats, err := st.OutboxStats(context.Background())
	if err != nil || len(stats) != 1 || stats[0].Queued != 1 {
		t.Errorf("outbox %+v, %v", stats, err)
	}
}

func TestEventPublishRefusals(t *testing.T) {
	a, _, _ := pair(t)
	for _, tc := range []struct {
		args   []string
		prefix string
	}{
		{[]string{"event", "publish", "no-such-event"}, `mispdesk event: no event "no-such-event"`},
		{[]string{"event", "unpublish", "no-such-event"}, `mispdesk event: no event "no-such-event"`},
		{[]string{"event", "publish"}, "mispdesk event: which event"},
		{[]string{"event", "publish", "1", "2"}, `mispdesk event: unexpected argument "2"`},
	} {
		code, stdout, stderr := runT(t, append(tc.args, "--db", a.db)...)
		if code != 2 || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q", tc.args, code, stdout)
		}
		wantOneLine(t, stderr, tc.prefix)
	}
}

// Each server's line comes from the engine's own account of the delivery: one peer
// takes the event, one is down (its push stays queued and the command fails).
func TestEventPublishReportsEachServer(t *testing.T) {
	a, b, _ := pair(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + ln.Addr().String()
	ln.Close()
	mustRun(t, "server", "add", "--db", a.db, "--name", "Dead", "--url", deadURL, "--org", b.orgUUID,
		"--authkey", strings.Repeat("k", 40), "--push")
	mustRun(t, "import", "--db", a.db, withEvent(t, sunorcal, "3", false))
	const uuid = "5a0a9aa9-23a4-4607-b6df-41a9950d210f"
	code, stdout, _ := runT(t, "event", "publish", uuid, "--db", a.db)
	if code != 1 {
		t.Errorf("exit %d, want 1 (a push failed)", code)
	}
	for _, want := range []string{"push queued to 2 servers\n", "  B: pushed: created on the remote\n",
		"  Dead: failed: connection refused\n", "Failed pushes stay queued"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("publish printed %q, want %q in it", stdout, want)
		}
	}
	stats, err := openT(t, a.db).OutboxStats(context.Background())
	if err != nil || len(stats) != 1 || stats[0].Queued != 1 || stats[0].ServerName != "Dead" {
		t.Errorf("outbox %+v, %v", stats, err)
	}
}
