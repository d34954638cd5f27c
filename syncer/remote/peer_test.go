package remote

import (
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// testKey is a MISP-shaped authkey; tests check it never shows up in errors or logs.
const testKey = "Zq7Xv2Lm9Pk4Rt8Wn3Ys6Bd1Hf5Jc0GaEuTiOoQr"

// seen is one request as the fake peer received it.
type seen struct {
	Method     string
	RequestURI string
	Header     http.Header
	Body       []byte // as sent, possibly compressed
	Plain      []byte // decompressed
}

// peer is an httptest server playing a MISP instance: routes keyed by "METHOD uri"
// (the raw request URI, so named parameters are checked exactly).
type peer struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []seen
	routes map[string]http.HandlerFunc
}

func newPeer(t *testing.T) *peer {
	p := &peer{t: t, routes: map[string]http.HandlerFunc{}}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	p.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	return p
}

func (p *peer) start() *peer {
	p.srv.Start()
	p.t.Cleanup(p.srv.Close)
	return p
}

func (p *peer) startTLS() *peer {
	p.srv.StartTLS()
	p.t.Cleanup(p.srv.Close)
	return p
}

func (p *peer) handle(key string, h http.HandlerFunc) { p.mu.Lock(); p.routes[key] = h; p.mu.Unlock() }

func (p *peer) json(key string, status int, body string) {
	p.handle(key, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
}

func (p *peer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	plain := body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			p.t.Errorf("bad gzip body: %v", err)
		} else {
			plain, _ = io.ReadAll(zr)
		}
	}
	key := r.Method + " " + r.RequestURI
	p.mu.Lock()
	p.reqs = append(p.reqs, seen{r.Method, r.RequestURI, r.Header.Clone(), body, plain})
	h := p.routes[key]
	p.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(plain))
	if h == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"name":"Not Found","message":"Not Found","url":"`+r.URL.Path+`"}`)
		return
	}
	h(w, r)
}

func (p *peer) requests() []seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]seen(nil), p.reqs...)
}

func (p *peer) count(key string) int {
	n := 0
	for _, s := range p.requests() {
		if s.Method+" "+s.RequestURI == key {
			n++
		}
	}
	return n
}

func (p *peer) client(t *testing.T, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{Name: "B", URL: p.srv.URL + "/", AuthKey: testKey, RetryWait: time.Millisecond,
		Timeout: 5 * time.Second, SkipProxy: true}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

const versionBody = `{"version":"2.5.1","pymisp_recommended_version":"2.5.1","perm_sync":true,
"perm_sighting":true,"perm_galaxy_editor":true,"perm_analyst_data":false,
"uuid":"5f6e7a4e-0000-4000-8000-00000000aaaa","request_encoding":["gzip","br"],"filter_sightings":true}`

const versionNoGzip = `{"version":"2.5.1","perm_sync":"1","perm_sighting":1,"uuid":"-","request_encoding":[]}`

// testPKI is a CA, a server certificate for 127.0.0.1 (or for another name only), and a
// client CA with one client certificate.
type testPKI struct {
	caPEM, clientCAPEM []byte
	caPool             *x509.CertPool
	clientCAPool       *x509.CertPool
	serverCert         tls.Certificate // SAN 127.0.0.1 and mispdesk.test
	otherNameCert      tls.Certificate // SAN other.test only
	clientPEM          string          // cert + key
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	ca, caKey, caPEM := makeCA(t, "mispdesk test CA")
	cca, ccaKey, ccaPEM := makeCA(t, "mispdesk client CA")
	p := &testPKI{caPEM: caPEM, clientCAPEM: ccaPEM, caPool: x509.NewCertPool(), clientCAPool: x509.NewCertPool()}
	p.caPool.AddCert(ca)
	p.clientCAPool.AddCert(cca)
	p.serverCert, _ = makeLeaf(t, ca, caKey, "misp-b", []string{"mispdesk.test"}, []net.IP{net.ParseIP("127.0.0.1")}, false)
	p.otherNameCert, _ = makeLeaf(t, ca, caKey, "other", []string{"other.test"}, nil, false)
	_, p.clientPEM = makeLeaf(t, cca, ccaKey, "sync-client", nil, nil, true)
	return p
}

func makeCA(t *testing.T, cn string) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func makeLeaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, dns []string, ips []net.IP, client bool) (tls.Certificate, string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	usage := x509.ExtKeyUsageServerAuth
	if client {
		usage = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn, Organization: []string{"Org B"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), DNSNames: dns, IPAddresses: ips,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair, string(certPEM) + string(keyPEM)
}

func mustContain(t *testing.T, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%q does not contain %q", s, sub)
		}
	}
}

func gzipWriter(w io.Writer) *gzip.Writer { return gzip.NewWriter(w) }
