package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const remoteKey = "Ab3dEfGhIjKlMnOpQrStUvWxYz0123456789wxyz"

// serverDBT is an initialised database with an external org "Remote".
func serverDBT(t *testing.T) string {
	t.Helper()
	db, _ := initT(t)
	if code, _, stderr := runT(t, "org", "add", "--db", db, "--name", "Remote", "--external"); code != 0 {
		t.Fatal(stderr)
	}
	return db
}

// writePEMs writes a self-signed certificate, and the same with its key, and
// returns their paths.
func writePEMs(t *testing.T) (certPath, pairPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "misp-b CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	pair := append(append([]byte{}, cert...), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})...)
	dir := t.TempDir()
	certPath, pairPath = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem")
	os.WriteFile(certPath, cert, 0o600)
	os.WriteFile(pairPath, pair, 0o600)
	return certPath, pairPath
}

func TestServerAddListShowEditRm(t *testing.T) {
	db := serverDBT(t)
	ca, client := writePEMs(t)
	code, stdout, stderr := runT(t, "server", "add", "--db", db, "--name", "misp-b", "--url", "https://misp-b.example/",
		"--org", "Remote", "--authkey", remoteKey, "--push", "--push-sightings", "--self-signed",
		"--ca-file", ca, "--client-cert", client, "--push-rules", `{"tags":{"OR":[],"NOT":["tlp:red"]}}`, "--json")
	if code != 0 || stderr != "" {
		t.Fatalf("server add: exit %d, %q", code, stderr)
	}
	var added map[string]any
	if err := json.Unmarshal([]byte(stdout), &added); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"name": "misp-b", "url": "https://misp-b.example", "push": true, "pull": false,
		"internal": false, "push_sightings": true, "self_signed": true, "authkey": "Ab3d…wxyz", "org_id": 1.0} {
		if added[k] != want {
			t.Errorf("%s = %v, want %v", k, added[k], want)
		}
	}
	if _, ok := added["remote_org_id"]; !ok || !strings.Contains(added["push_rules"].(string), "tlp:red") {
		t.Errorf("server add --json: %s", stdout)
	}
	if strings.Contains(stdout, remoteKey) || strings.Contains(stdout, "PRIVATE KEY") {
		t.Errorf("server add --json shows the key or the client certificate's private key: %s", stdout)
	}
	if !strings.Contains(added["client_cert_file"].(string), "private key") || !strings.Contains(added["cert_file"].(string), "misp-b CA") {
		t.Errorf("certificate files described as %q, %q", added["cert_file"], added["client_cert_file"])
	}

	code, stdout, _ = runT(t, "server", "list", "--db", db)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if code != 0 || len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "ID NAME URL REMOTE ORG PUSH PULL INTERNAL HEALTH" ||
		strings.Join(strings.Fields(lines[1]), " ") != "1 misp-b https://misp-b.example Remote yes no no unknown" {
		t.Errorf("server list:\n%s", stdout)
	}
	code, stdout, _ = runT(t, "server", "list", "--db", db, "--json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(stdout), &list); err != nil || code != 0 || len(list) != 1 || list[0]["name"] != "misp-b" {
		t.Fatalf("server list --json: %q", stdout)
	}
	if _, ok := list[0]["authkey"]; ok || strings.Contains(stdout, "Ab3d") {
		t.Errorf("server list --json shows the key: %s", stdout)
	}

	code, stdout, _ = runT(t, "server", "show", "misp-b", "--db", db)
	if code != 0 || strings.Contains(stdout, remoteKey) || !strings.Contains(stdout, "Authkey:               Ab3d…wxyz\n") ||
		!strings.Contains(stdout, "push-sightings:        yes\n") || !strings.Contains(stdout, "Remote org:            Remote (") {
		t.Errorf("server show:\n%s", stdout)
	}

	// Edit changes only what is given.
	code, stdout, stderr = runT(t, "server", "edit", "1", "--db", db, "--push=false", "--pull", "--url", "http://10.0.0.2:8080", "--json")
	if code != 0 || stderr != "" {
		t.Fatalf("server edit: exit %d, %q", code, stderr)
	}
	var edited map[string]any
	json.Unmarshal([]byte(stdout), &edited)
	for k, want := range map[string]any{"name": "misp-b", "url": "http://10.0.0.2:8080", "push": false, "pull": true,
		"push_sightings": true, "self_signed": true, "authkey": "Ab3d…wxyz"} {
		if edited[k] != want {
			t.Errorf("after edit %s = %v, want %v", k, edited[k], want)
		}
	}
	if !strings.Contains(edited["push_rules"].(string), "tlp:red") || edited["cert_file"] == "" {
		t.Errorf("edit lost fields it was not given: %s", stdout)
	}
	code, stdout, _ = runT(t, "server", "edit", "misp-b", "--db", db, "--ca-file", "", "--name", "misp-c")
	if code != 0 || !strings.HasPrefix(stdout, `Updated server "misp-c" (id 1)`) {
		t.Errorf("rename: exit %d, %q", code, stdout)
	}
	if _, stdout, _ = runT(t, "server", "show", "misp-c", "--db", db); !strings.Contains(stdout, "ca-file:               none\n") {
		t.Errorf("--ca-file \"\" did not clear it:\n%s", stdout)
	}

	// rm: refused when piped without --yes, done with it.
	code, stdout, stderr = runT(t, "server", "rm", "misp-c", "--db", db)
	if code != 2 || stdout != "" {
		t.Errorf("rm without --yes: exit %d, %q", code, stdout)
	}
	wantOneLine(t, stderr, `mispdesk server: deleting server "misp-c" needs --yes when not on a terminal`)
	code, stdout, _ = runT(t, "server", "rm", "misp-c", "--db", db, "--yes")
	if code != 0 || stdout != "Deleted server \"misp-c\" (id 1)\n" {
		t.Errorf("rm --yes: exit %d, %q", code, stdout)
	}
	if code, stdout, _ = runT(t, "server", "list", "--db", db, "--json"); code != 0 || stdout != "[]\n" {
		t.Errorf("after rm: %q", stdout)
	}
}

func TestServerRmAsksOnATerminal(t *testing.T) {
	saved := onTerminal
	t.Cleanup(func() { onTerminal = saved })
	onTerminal = func(*Env) bool { return true }
	db := serverDBT(t)
	if code, _, stderr := runT(t, "server", "add", "--db", db, "--name", "misp-b", "--url", "https://b.example", "--org", "Remote", "--authkey", remoteKey); code != 0 {
		t.Fatal(stderr)
	}
	rm := func(answer string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"server", "rm", "misp-b", "--db", db}, strings.NewReader(answer), &stdout, &stderr)
		return code, stdout.String() + stderr.String()
	}
	for _, answer := range []string{"", "\n", "y\n", "yes\n", "misp\n"} {
		if code, out := rm(answer); code != 1 || !strings.Contains(out, "Type its name to confirm") || !strings.Contains(out, "not deleted") {
			t.Errorf("answer %q: exit %d, %q", answer, code, out)
		}
	}
	if code, out := rm("misp-b\n"); code != 0 || !strings.Contains(out, `Deleted server "misp-b"`) {
		t.Errorf("typed the name: exit %d, %q", code, out)
	}
}

func TestServerRefusals(t *testing.T) {
	db := serverDBT(t)
	base := []string{"--name", "misp-b", "--url", "https://b.example", "--org", "Remote", "--authkey", remoteKey}
	if code, _, stderr := runT(t, append([]string{"server", "add", "--db", db}, base...)...); code != 0 {
		t.Fatal(stderr)
	}
	with := func(flags ...string) []string {
		out := append([]string{}, base...)
		out[1] = "other"
		return append(out, flags...)
	}
	_, pair := writePEMs(t)
	notPEM := filepath.Join(t.TempDir(), "x.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	for _, tc := range []struct {
		args   []string
		prefix string
	}{
		{base, `mispdesk server: add server "misp-b": already exists`},
		{with("--url", "misp-b.example"), `mispdesk server: --url "misp-b.example": want the server's http:// or https:// address`},
		{with("--url", "ftp://b.example"), `mispdesk server: --url "ftp://b.example"`},
		{with("--org", "Nobody"), `mispdesk server: --org "Nobody": no such organisation`},
		{with("--authkey", "short"), "mispdesk server: --authkey: want the remote sync user's 40-character"},
		{with("--push-rules", `{"tags":{"NOT":"tlp:red","OR":{"x":1}}}`), "mispdesk server: --push-rules: push_rules.tags.OR: want a list"},
		{with("--pull-rules", `{"orgs":`), "mispdesk server: --pull-rules: pull_rules: not JSON"},
		{with("--pull-rules", `{"tagz":{}}`), `mispdesk server: --pull-rules: unknown key "tagz"`},
		{with("--internal"), `mispdesk server: --internal: only for a server of this instance's own host organisation "Host Org", not "Remote"`},
		{with("--ca-file", notPEM), "mispdesk server: --ca-file " + notPEM + ": no PEM certificate in it"},
		{with("--ca-file", pair), "mispdesk server: --ca-file " + pair + ": holds a EC PRIVATE KEY block"},
		{with("--client-cert", notPEM), "mispdesk server: --client-cert " + notPEM + ": want a PEM certificate and its private key"},
		{with("--client-cert", notPEM+".missing"), "mispdesk server: --client-cert " + notPEM + ".missing: no such file"},
		{[]string{"--name", "x", "--url", "https://x.example"}, "mispdesk server: --name, --url, --org and --authkey are required (missing --org)"},
	} {
		code, stdout, stderr := runT(t, append([]string{"server", "add", "--db", db}, tc.args...)...)
		if code != 2 || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q", tc.args, code, stdout)
		}
		wantOneLine(t, stderr, tc.prefix)
	}
	// The host org may have an internal server.
	if code, _, stderr := runT(t, append([]string{"server", "add", "--db", db}, with("--org", "Host Org", "--internal")...)...); code != 0 {
		t.Errorf("internal server of the host org: %s", stderr)
	}
	for _, tc := range []struct {
		args   []string
		prefix string
	}{
		{[]string{"edit", "nope", "--push"}, `mispdesk server: no server "nope"`},
		{[]string{"show", "42"}, `mispdesk server: no server "42"`},
		{[]string{"rm", "nope", "--yes"}, `mispdesk server: no server "nope"`},
		{[]string{"edit", "misp-b", "--name", "other"}, `mispdesk server: edit server "misp-b": already exists`},
		{[]string{"edit", "misp-b", "--url", ""}, `mispdesk server: --url ""`},
		{[]string{"edit", "misp-b", "--internal"}, `mispdesk server: --internal: only for`},
		{[]string{"show"}, "mispdesk server: which server"},
		{[]string{"frob"}, `mispdesk server: unknown command "frob"`},
	} {
		code, stdout, stderr := runT(t, append(append([]string{"server"}, tc.args...), "--db", db)...)
		if code != 2 || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q", tc.args, code, stdout)
		}
		wantOneLine(t, stderr, tc.prefix)
	}
}
