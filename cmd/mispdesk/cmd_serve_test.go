package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"mispdesk/syncer"
)

// lockedBuffer is a bytes.Buffer safe for a goroutine writing while a test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestServe(t *testing.T) {
	a := initInstance(t, "OrgA")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--db", a.db, "--listen", "127.0.0.1:0"}, strings.NewReader(""), pw, &stderr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no listening line: %v; stderr %q", err, stderr.String())
	}
	go io.Copy(io.Discard, pr)
	const prefix = "mispdesk serve: listening on http://127.0.0.1:"
	if !strings.HasPrefix(line, prefix) || strings.HasSuffix(line, ":0\n") {
		t.Fatalf("listening line %q", line)
	}
	url := strings.TrimPrefix(strings.TrimSpace(line), "mispdesk serve: listening on ")

	req, _ := http.NewRequest("GET", url+"/servers/getVersion", nil)
	req.Header.Set("Authorization", a.adminKey)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Version string `json:"version"`
	}
	err = json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || v.Version != "2.5.1" {
		t.Errorf("getVersion: %d, %+v, %v", resp.StatusCode, v, err)
	}

	// An event deleted over the API goes on the event blocklist, as MISP's default.
	call := func(method, path, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
		req.Header.Set("Authorization", a.adminKey)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, err)
		}
		return m
	}
	added, _ := call("POST", "/events/add", `{"Event":{"info":"to be deleted"}}`)["Event"].(map[string]any)
	evUUID, _ := added["uuid"].(string)
	call("DELETE", "/events/delete/"+evUUID, "")
	bl, err := openT(t, a.db).Blocklists(context.Background())
	if _, blocked := bl.Events[evUUID]; err != nil || !blocked {
		t.Errorf("event %q deleted over the API is not on the blocklist: %v", evUUID, err)
	}

	// The base URL peers see is the address served.
	inst, err := openT(t, a.db).Instance(context.Background())
	if err != nil || inst.BaseURL != url {
		t.Errorf("base URL %q, want %q (%v)", inst.BaseURL, url, err)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d; stderr %q", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	logs := stderr.String()
	if !strings.Contains(logs, "servers/getVersion") || !strings.Contains(logs, "msg=stopped") {
		t.Errorf("serve's log lacks the request or the stop:\n%s", logs)
	}
	// The daemon released the leader lease: another process may lead at once.
	if ok, err := openT(t, a.db).AcquireLease(context.Background(), syncer.LeaderLease, "next", time.Minute); !ok || err != nil {
		t.Errorf("leader lease still held: %v %v", ok, err)
	}
}

func TestServePortInUse(t *testing.T) {
	a := initInstance(t, "OrgA")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, stdout, stderr := runT(t, "serve", "--db", a.db, "--listen", ln.Addr().String())
	if code != 1 || stdout != "" {
		t.Errorf("exit %d, stdout %q", code, stdout)
	}
	wantOneLine(t, stderr, fmt.Sprintf("mispdesk serve: listen on %s: ", ln.Addr()))
}

// The body bounds are checked before anything is opened: exit 2 naming the flag.
func TestServeBodyBoundFlags(t *testing.T) {
	a := initInstance(t, "OrgA")
	for _, tc := range [][]string{{"--max-body", "0"}, {"--max-body", "5000"}, {"--read-timeout", "0s"}} {
		code, stdout, stderr := runT(t, append([]string{"serve", "--db", a.db, "--listen", "127.0.0.1:0"}, tc...)...)
		if code != 2 || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q", tc, code, stdout)
		}
		wantOneLine(t, stderr, "mispdesk serve: "+tc[0]+" ")
	}
}
