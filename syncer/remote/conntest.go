package remote

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// LocalVersion is this instance's side of a connection test.
type LocalVersion struct {
	MISPVersion string `json:"misp_version"` // assets.MISPVersion
	AppVersion  string `json:"app_version"`  // assets.Version
}

// Connection-test status codes (MISP's syncTestErrorCodes, app/Model/Server.php).
const (
	StatusOK               = 1
	StatusUnreachable      = 2
	StatusUnexpected       = 3
	StatusAuthFailed       = 4
	StatusPasswordChange   = 5
	StatusTermsNotAccepted = 6
	StatusNotSyncUser      = 7
	StatusSightingsOnly    = 8
)

// StatusText is MISP's wording of a connection-test status.
func StatusText(code int) string {
	switch code {
	case StatusOK:
		return "OK"
	case StatusUnreachable:
		return "Server unreachable"
	case StatusUnexpected:
		return "Unexpected error"
	case StatusAuthFailed:
		return "Authentication failed"
	case StatusPasswordChange:
		return "Password change required"
	case StatusTermsNotAccepted:
		return "Terms not accepted"
	case StatusNotSyncUser:
		return "Remote user not a sync user, only pulling events is available"
	case StatusSightingsOnly:
		return "Remote user not a sync user, only pulling events is available. Pushing available for sightings only"
	}
	return "Unknown"
}

// PostTestText is MISP's wording of a POST-test result.
func PostTestText(code int) string {
	switch code {
	case PostOK:
		return "Received sent package"
	case PostFailed:
		return "Could not POST message"
	case PostInvalidBody:
		return "Invalid body"
	case PostInvalidHeaders:
		return "Invalid headers"
	}
	return "Remote too old for this test"
}

// CertInfo describes a certificate.
type CertInfo struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	DNSNames  []string  `json:"dns_names,omitempty"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	SHA256    string    `json:"sha256"` // colon-separated upper-case hex, as openssl prints it
	// SelfSigned: issued by its own subject.
	SelfSigned bool `json:"self_signed"`
}

// TLSInfo is what the TLS handshake with the remote settled.
type TLSInfo struct {
	Version         string    `json:"version"`
	CipherSuite     string    `json:"cipher_suite"`
	ALPN            string    `json:"alpn,omitempty"`
	Verification    string    `json:"verification"` // how the peer certificate was checked
	PeerCertificate *CertInfo `json:"peer_certificate,omitempty"`
	Chain           int       `json:"chain_length"`
}

// ConnectionTest is MISP's "Test connection", and more. Status is MISP's code (1 OK, 2
// unreachable, 3 unexpected answer, 4 authentication failed, 7 not a sync user, 8
// sightings only); Verdict sums it up in one line.
type ConnectionTest struct {
	Server     string `json:"server"`
	URL        string `json:"url"`
	Status     int    `json:"status"`
	StatusText string `json:"status_text"`
	// Error is the failure behind a status other than 1, in one line.
	Error string `json:"error,omitempty"`

	Local  LocalVersion `json:"local"`
	Remote *Version     `json:"remote,omitempty"`
	// Mismatch is "", "major", "minor", "hotfix" or "proposal" (remote older than
	// 2.4.111); Newer is "", "local" or "remote".
	Mismatch      string `json:"mismatch,omitempty"`
	Newer         string `json:"newer,omitempty"`
	Compatibility string `json:"compatibility"` // Compatible, Pull only, Incompatible, Unknown

	Post     int    `json:"post,omitempty"` // POST-test code, 0 when not run
	PostText string `json:"post_text,omitempty"`

	User      *RemoteUser `json:"user,omitempty"`
	UserError string      `json:"user_error,omitempty"`

	RequestEncoding   []string  `json:"request_encoding"`
	ResponseEncoding  string    `json:"response_encoding,omitempty"`
	TLS               *TLSInfo  `json:"tls,omitempty"`
	ClientCertificate *CertInfo `json:"client_certificate,omitempty"`
	Proxy             string    `json:"proxy"`

	RTT       time.Duration `json:"-"`
	RTTMillis float64       `json:"rtt_ms"` // round trip of getVersion
	Verdict   string        `json:"verdict"`
	// Warnings are what the test found odd but not fatal, each in one line.
	Warnings []string `json:"warnings,omitempty"`
}

// RequireOrg holds the remote user's organisation to the one it must be, by UUID: the
// organisation pushed events are owned by there. Another organisation with the same name
// fails the test (events would be owned by the wrong organisation, silently); another
// name is a warning.
func (ct *ConnectionTest) RequireOrg(name, uuid string) {
	if ct.User == nil || ct.User.Org.UUID == "" || strings.EqualFold(ct.User.Org.UUID, uuid) {
		return
	}
	got := ct.User.Org
	if !strings.EqualFold(got.Name, name) {
		ct.Warn(fmt.Sprintf("the remote user belongs to organisation %q (%s), not to %q (%s): events pushed there are owned by it", got.Name, got.UUID, name, uuid))
		return
	}
	ct.Status, ct.StatusText = StatusUnexpected, StatusText(StatusUnexpected)
	ct.Error = fmt.Sprintf("the remote user's organisation %q has UUID %s there, but %q is %s here: another organisation of the same name, which would own what we push; give the sync user an organisation with UUID %s on the remote", got.Name, got.UUID, name, uuid, uuid)
	ct.Verdict = verdict(ct)
}

// Warn adds a warning and turns an OK verdict into a WARN.
func (ct *ConnectionTest) Warn(msg string) {
	ct.Warnings = append(ct.Warnings, msg)
	ct.Verdict = verdict(ct)
}

// TestConnection runs MISP's connection test against the remote: getVersion (timed, with
// the TLS state captured), the POST test, users/view/me. Each call is tried once. The
// outcome is in the result, error or not; the returned error is only ever the context's.
func (c *Client) TestConnection(ctx context.Context, local LocalVersion) (*ConnectionTest, error) {
	ct := &ConnectionTest{Server: c.cfg.Name, URL: c.cfg.URL, Local: local, Compatibility: "Unknown",
		RequestEncoding: []string{}}
	switch {
	case c.cfg.SkipProxy:
		ct.Proxy = "none (skip proxy)"
	case c.cfg.Proxy != "":
		ct.Proxy = redactURL(c.cfg.Proxy)
	default:
		ct.Proxy = "from environment"
	}
	if c.cfg.ClientCertPEM != "" {
		ct.ClientCertificate = clientCertInfo(c.cfg.ClientCertPEM)
	}
	finish := func() (*ConnectionTest, error) {
		ct.StatusText = StatusText(ct.Status)
		ct.Verdict = verdict(ct)
		if err := ctx.Err(); err != nil {
			return ct, err
		}
		return ct, nil
	}

	start := time.Now()
	v, resp, err := c.getVersion(ctx, true)
	ct.RTT = time.Since(start)
	if resp != nil {
		ct.RTT = resp.rtt
		ct.TLS = c.tlsInfo(resp.tls)
		ct.ResponseEncoding = resp.header.Get("Content-Encoding")
	}
	ct.RTTMillis = float64(ct.RTT.Microseconds()) / 1000
	if err != nil {
		ct.Error = err.Error()
		var e *Error
		switch {
		case errors.As(err, &e) && e.Status == http.StatusForbidden, errors.Is(err, ErrAuth):
			ct.Status = StatusAuthFailed
		case errors.As(err, &e) && e.Status == http.StatusMethodNotAllowed && strings.Contains(strings.ToLower(e.Message), "password"):
			ct.Status = StatusPasswordChange
		case errors.As(err, &e) && e.Status == http.StatusMethodNotAllowed && strings.Contains(strings.ToLower(e.Message), "terms"):
			ct.Status = StatusTermsNotAccepted
		case errors.As(err, &e) && e.Status == 0:
			ct.Status = StatusUnreachable
		default:
			ct.Status = StatusUnexpected
		}
		return finish()
	}
	ct.Remote = v
	if v.RequestEncoding != nil {
		ct.RequestEncoding = v.RequestEncoding
	}
	switch {
	case !v.PermSync && !v.PermSighting:
		ct.Status = StatusNotSyncUser
	case !v.PermSync:
		ct.Status = StatusSightingsOnly
	default:
		ct.Status = StatusOK
	}
	ct.Mismatch, ct.Newer, ct.Compatibility = compatibility(local.MISPVersion, v)

	if v.AtLeast(2, 4, 69) {
		code, err := c.postTest(ctx, true)
		ct.Post, ct.PostText = code, PostTestText(code)
		if err != nil {
			ct.PostText += ": " + err.Error()
		}
	} else {
		ct.PostText = PostTestText(0)
	}
	if u, err := c.me(ctx, true); err != nil {
		ct.UserError = err.Error()
	} else {
		ct.User = u
	}
	return finish()
}

// compatibility compares the versions as MISP's checkVersionCompatibility and its UI do:
// the first difference wins.
func compatibility(localVersion string, remote *Version) (mismatch, newer, verdict string) {
	lmaj, lmin, lhot, err := ParseVersion(localVersion)
	if err != nil {
		return "", "", "Unknown"
	}
	l := [3]int{lmaj, lmin, lhot}
	r := [3]int{remote.Major, remote.Minor, remote.Hotfix}
	for i, name := range []string{"major", "minor", "hotfix"} {
		if l[i] == r[i] {
			continue
		}
		mismatch = name
		if l[i] > r[i] {
			newer = "local"
		} else {
			newer = "remote"
		}
		break
	}
	switch {
	case mismatch == "hotfix" || mismatch == "":
		verdict = "Compatible"
	case newer == "local" && mismatch == "minor":
		verdict = "Pull only"
	default:
		verdict = "Incompatible"
	}
	// MISP compares only the hotfix with 111 and so flags every 2.5.x; the rule means
	// "older than 2.4.111", which is what is checked here.
	if mismatch == "" && !remote.AtLeast(2, 4, 111) {
		mismatch = "proposal"
	}
	return mismatch, newer, verdict
}

func compareVersions(a, b [3]int) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func verdict(ct *ConnectionTest) string {
	switch ct.Status {
	case StatusUnreachable:
		return "FAIL: cannot reach " + ct.URL + ": " + shortCause(ct.Error)
	case StatusAuthFailed:
		return "FAIL: the remote refused the authkey (HTTP 403); check the key and that its user may use the API"
	case StatusUnexpected, StatusPasswordChange, StatusTermsNotAccepted:
		if ct.Remote != nil {
			return "FAIL: " + ct.Error // the remote answered: a finding of this test, in full
		}
		return "FAIL: " + ct.StatusText + ": " + shortCause(ct.Error)
	}
	var parts []string
	rv := ct.Remote
	ver := fmt.Sprintf("%s (local %s)", rv.Version, ct.Local.MISPVersion)
	switch ct.Compatibility {
	case "Compatible":
		if ct.Mismatch == "hotfix" {
			parts = append(parts, "compatible, hotfix differs "+ver)
		} else {
			parts = append(parts, "compatible "+ver)
		}
	default:
		parts = append(parts, strings.ToLower(ct.Compatibility)+": "+ct.Mismatch+" version differs, "+ct.Newer+" is newer "+ver)
	}
	switch ct.Status {
	case StatusOK:
		parts = append(parts, "sync user")
	case StatusNotSyncUser:
		parts = append(parts, "not a sync user: pull only")
	case StatusSightingsOnly:
		parts = append(parts, "sightings-only user: pull, and push sightings only")
	}
	if ct.User != nil && ct.User.Org.Name != "" {
		parts[len(parts)-1] += " of " + ct.User.Org.Name
	}
	if ct.Post != 0 && ct.Post != PostOK {
		parts = append(parts, "POST test failed: "+PostTestText(ct.Post))
	}
	if ct.TLS != nil {
		parts = append(parts, ct.TLS.Version)
	} else if strings.HasPrefix(ct.URL, "http://") {
		parts = append(parts, "plain HTTP")
	}
	parts = append(parts, ct.Warnings...)
	head := "OK"
	if ct.Status != StatusOK || ct.Compatibility == "Incompatible" || (ct.Post != 0 && ct.Post != PostOK) || len(ct.Warnings) > 0 {
		head = "WARN"
	}
	return head + ": " + strings.Join(parts, "; ")
}

func shortCause(s string) string {
	// The error already names the server and URL; keep its cause.
	if i := strings.LastIndex(s, ": "); i >= 0 && len(s)-i < 160 {
		return s[i+2:]
	}
	return s
}

func (c *Client) tlsInfo(cs *tls.ConnectionState) *TLSInfo {
	if cs == nil {
		return nil
	}
	ti := &TLSInfo{Version: tls.VersionName(cs.Version), CipherSuite: tls.CipherSuiteName(cs.CipherSuite),
		ALPN: cs.NegotiatedProtocol, Verification: c.verifyBy, Chain: len(cs.PeerCertificates)}
	if len(cs.PeerCertificates) > 0 {
		ti.PeerCertificate = certInfo(cs.PeerCertificates[0])
	}
	return ti
}

func certInfo(cert *x509.Certificate) *CertInfo {
	sum := sha256.Sum256(cert.Raw)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var fp strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			fp.WriteByte(':')
		}
		fp.WriteString(h[i : i+2])
	}
	names := make([]string, 0, len(cert.DNSNames)+len(cert.IPAddresses))
	for _, n := range cert.DNSNames {
		names = append(names, escapeText(n, 100))
	}
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	return &CertInfo{
		Subject:    escapeText(cert.Subject.String(), 300),
		Issuer:     escapeText(cert.Issuer.String(), 300),
		DNSNames:   names,
		NotBefore:  cert.NotBefore.UTC(),
		NotAfter:   cert.NotAfter.UTC(),
		SHA256:     fp.String(),
		SelfSigned: cert.CheckSignatureFrom(cert) == nil && cert.Subject.String() == cert.Issuer.String(),
	}
}

func clientCertInfo(pemText string) *CertInfo {
	rest := []byte(pemText)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil
		}
		if b.Type == "CERTIFICATE" {
			cert, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil
			}
			return certInfo(cert)
		}
	}
}

// TLSNone says why a test has no TLS session: the server is plain HTTP, or the connection
// failed before (or while) one was made. Empty when there is a session.
func (t *ConnectionTest) TLSNone() string {
	switch {
	case t.TLS != nil:
		return ""
	case strings.HasPrefix(strings.ToLower(t.URL), "https:"):
		return "no session (the connection failed)"
	default:
		return "none (plain HTTP)"
	}
}
