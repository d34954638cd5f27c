package remote

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReadPEMFiles(t *testing.T) {
	pki := newPKI(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca, client := write("ca.pem", string(pki.caPEM)), write("client.pem", pki.clientPEM)

	if got, err := ReadCAFile(ca); err != nil || got != string(pki.caPEM) {
		t.Errorf("CA file: %v", err)
	}
	if got, err := ReadClientCertFile(client); err != nil || got != pki.clientPEM {
		t.Errorf("client cert file: %v", err)
	}
	if got, err := ReadCAFile(""); err != nil || got != "" {
		t.Errorf("no CA file: %q %v", got, err)
	}
	cases := []struct {
		name string
		read func(string) (string, error)
		path string
		want string
	}{
		{"missing CA", ReadCAFile, filepath.Join(dir, "nope.pem"), "nope.pem: no such file"},
		{"key in a CA file", ReadCAFile, client, "holds a EC PRIVATE KEY block"},
		{"not PEM", ReadCAFile, write("junk.pem", "hello"), "no PEM certificate"},
		{"certificate without key", ReadClientCertFile, ca, "want a PEM certificate and its private key"},
	}
	for _, c := range cases {
		if _, err := c.read(c.path); err == nil {
			t.Errorf("%s: no error", c.name)
		} else {
			mustContain(t, err.Error(), c.want)
		}
	}
}
