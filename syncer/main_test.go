package syncer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"mispdesk/store"
	"mispdesk/syncer/mispapi"
)

// serveDBEnv makes the test binary a peer instance instead: it serves the REST API of the
// database it names on 127.0.0.1, prints the URL and runs until its standard input closes.
// Benchmarks use it to measure one side of a sync without the other in the same process.
const serveDBEnv = "MISPDESK_TEST_SERVE_DB"

func TestMain(m *testing.M) {
	if path := os.Getenv(serveDBEnv); path != "" {
		if err := servePeer(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func servePeer(path string) error {
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer st.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	if err := st.SetBaseURL(ctx, url); err != nil {
		return err
	}
	srv := &http.Server{Handler: mispapi.New(mispapi.Config{Store: st})}
	go srv.Serve(ln)
	fmt.Println(url)
	io.Copy(io.Discard, os.Stdin)
	return srv.Close()
}

// peerProcess moves node n into a process of its own: its in-process API stops, the same
// database is served by a child process, and from's server record for n points there.
func peerProcess(tb testing.TB, n *node, from *node) {
	tb.Helper()
	n.http.Close()
	n.eng.Close()
	path := n.st.Path()
	n.st.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveDBEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { stdin.Close(); cmd.Wait() })
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		tb.Fatalf("peer process: %v", err)
	}
	srv, err := from.st.Server(context.Background(), from.serverID(n.name))
	if err != nil {
		tb.Fatal(err)
	}
	spec := srv.Spec()
	spec.URL = strings.TrimSpace(url)
	if _, err := from.st.UpdateServer(context.Background(), from.serverID(n.name), spec); err != nil {
		tb.Fatal(err)
	}
}
