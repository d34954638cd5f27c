// Package remote is the MISP REST client mispdesk uses to pull from and push to a MISP
// server (real MISP or another mispdesk). Every call is the request MISP itself sends on
// server sync (app/Lib/Tools/ServerSyncTool.php and app/Model/Server.php in MISP): the same paths with CakePHP named
// parameters, the same headers, the same body shapes, request compression only when the
// peer offers it.
//
// The package knows nothing of the store: it takes a Config and speaks the wire model of
// store/misp. Transport is resty on a net/http transport built here (TLS options of MISP's
// server record, proxy or not, keep-alive, gzip responses). Retries are done here, around
// each whole exchange including the body read, so that a connection cut mid-body is
// retried like a refused connection and a cancelled context stops at once.
package remote

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-resty/resty/v2"

	"mispdesk/assets"
	"mispdesk/store/misp"
)

// Defaults for a zero Config field.
const (
	DefaultTimeout      = 60 * time.Second
	DefaultRetries      = 3
	DefaultMaxBodyBytes = misp.MaxDocumentBytes
	DefaultRetryWait    = 500 * time.Millisecond
	maxRetryWait        = 10 * time.Second
	// compressThreshold is the body size above which MISP compresses request bodies.
	compressThreshold = 1024
	// errBodyCap bounds what is read of a non-2xx body to explain it.
	errBodyCap = 64 << 10
)

// Config is one remote server as the client needs it.
type Config struct {
	Name, URL, AuthKey string // URL: base URL, trailing slash stripped
	// SelfSigned allows a self-signed peer: without a CA the peer is not verified at all;
	// with a CA the chain is verified against it but the host name is not checked (MISP's
	// semantics).
	SelfSigned    bool
	CAPEM         string // PEM of CA(s) to trust (the server's cert_file), added to the system pool
	ClientCertPEM string // PEM holding the client certificate and its key (client_cert_file)
	// SkipProxy ignores the proxy environment and Proxy for this server.
	SkipProxy bool
	// Proxy is an explicit proxy URL; when empty HTTPS_PROXY/HTTP_PROXY/NO_PROXY apply
	// unless SkipProxy.
	Proxy   string
	Timeout time.Duration // per attempt, body included (default 60s)
	// Retries is how many times a request is retried after a timeout, a connection error
	// or a 5xx, with exponential backoff and jitter (0: default 3; negative: never).
	Retries int
	// RetryWait is the backoff before the first retry, doubled for each further one and
	// capped at 10s; each wait is drawn at random from its upper half (default 500ms).
	RetryWait    time.Duration
	UserAgent    string // default "MISP 2.5.1 - mispdesk/<assets.Version>"
	MaxBodyBytes int64  // cap on a response body after decompression (default misp.MaxDocumentBytes)
	// Observe, when set, hears the outcome of every request (after its retries): the
	// engine's per-server health.
	Observe func(Signal)
	// Log, when set, gets one debug line per attempt (method, path, status, duration) and
	// a warning per retry. The authkey is never part of it.
	Log *slog.Logger
}

// Client talks to one remote server. It is safe for concurrent use.
type Client struct {
	cfg      Config
	base     *url.URL
	rc       *resty.Client
	verifyBy string // how the peer certificate is checked, for TestConnection

	mu      sync.Mutex
	version *Version // last getVersion answer: drives request compression
}

// New checks cfg and builds a client. It does not contact the server.
func New(cfg Config) (*Client, error) {
	cfg.URL = strings.TrimRight(strings.TrimSpace(cfg.URL), "/")
	who := fmt.Sprintf("server %q", cfg.Name)
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: URL %q is not an http:// or https:// base URL", who, redactURL(cfg.URL))
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s: URL must not carry credentials; put the key in the authkey field", who)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%s: URL %q must not have a query or fragment", who, cfg.URL)
	}
	if cfg.AuthKey == "" {
		return nil, fmt.Errorf("%s: no authkey", who)
	}
	if strings.ContainsAny(cfg.AuthKey, "\r\n") {
		return nil, fmt.Errorf("%s: authkey holds a line break", who)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Retries == 0 {
		cfg.Retries = DefaultRetries
	} else if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.RetryWait <= 0 {
		cfg.RetryWait = DefaultRetryWait
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "MISP " + assets.MISPVersion + " - mispdesk/" + assets.Version
	}

	tlsConf, verifyBy, err := buildTLS(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", who, err)
	}
	tr := &http.Transport{
		DialContext: (&net.Dialer{
			Timeout:   min(cfg.Timeout, 30*time.Second),
			KeepAlive: 30 * time.Second,
		}).DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   min(cfg.Timeout, 15*time.Second),
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          32,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		// DisableCompression stays false: the transport asks for gzip and inflates it.
	}
	switch {
	case cfg.SkipProxy:
		tr.Proxy = nil
	case cfg.Proxy != "":
		pu, err := url.Parse(cfg.Proxy)
		if err != nil || pu.Host == "" {
			return nil, fmt.Errorf("%s: proxy %q is not a URL", who, redactURL(cfg.Proxy))
		}
		tr.Proxy = http.ProxyURL(pu)
	default:
		tr.Proxy = http.ProxyFromEnvironment
	}
	hc := &http.Client{
		Transport: tr,
		// Never follow redirects: a POST would turn into a GET and lose its body, and the
		// key would follow to wherever the peer points. A 3xx is reported with its target.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	rc := resty.NewWithClient(hc).
		SetLogger(nopLogger{}).
		SetDisableWarn(true).
		SetRetryCount(0).
		SetDoNotParseResponse(true).
		SetHeader("Authorization", cfg.AuthKey).
		SetHeader("Accept", "application/json").
		SetHeader("Content-Type", "application/json").
		SetHeader("User-Agent", cfg.UserAgent)
	return &Client{cfg: cfg, base: u, rc: rc, verifyBy: verifyBy}, nil
}

// Name is the server's name as configured.
func (c *Client) Name() string { return c.cfg.Name }

// URL is the server's base URL without a trailing slash.
func (c *Client) URL() string { return c.cfg.URL }

// CachedVersion is the last getVersion answer of this client, or nil.
func (c *Client) CachedVersion() *Version {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}

// Close drops idle connections.
func (c *Client) Close() {
	c.rc.GetClient().CloseIdleConnections()
}

func buildTLS(cfg Config) (*tls.Config, string, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	verifyBy := "system CAs"
	if cfg.CAPEM != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(cfg.CAPEM)) {
			return nil, "", errors.New("CA file holds no PEM certificate")
		}
		conf.RootCAs = pool
		verifyBy = "system CAs and the server's CA file"
	}
	if cfg.ClientCertPEM != "" {
		cert, err := tls.X509KeyPair([]byte(cfg.ClientCertPEM), []byte(cfg.ClientCertPEM))
		if err != nil {
			// err names what is missing, never the key material.
			return nil, "", fmt.Errorf("client certificate: %v", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	if cfg.SelfSigned {
		conf.InsecureSkipVerify = true
		if cfg.CAPEM == "" {
			verifyBy = "none (self-signed allowed, no CA file)"
		} else {
			roots := conf.RootCAs
			conf.VerifyConnection = func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 {
					return errors.New("peer sent no certificate")
				}
				inter := x509.NewCertPool()
				for _, ic := range cs.PeerCertificates[1:] {
					inter.AddCert(ic)
				}
				_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
				return err
			}
			verifyBy = "the server's CA file, host name not checked (self-signed)"
		}
	}
	return conf, verifyBy, nil
}

// request is one MISP call.
type request struct {
	method string
	path   string // starts with '/', named parameters unencoded
	body   []byte // JSON, nil for none
	etag   *string
	// consume, when set, reads a 2xx body as it arrives instead of buffering it. It may
	// be called again on a retry and must start over each time.
	consume func(r io.Reader) error
	noRetry bool
}

// response is what came back.
type response struct {
	status int
	header http.Header
	body   []byte // the 2xx body unless consumed; the start of any other body
	tls    *tls.ConnectionState
	rtt    time.Duration // of the attempt that answered
}

// do runs a request with retries. It returns an *Error for transport failures and for
// decode or size errors of a 2xx body; any HTTP status is returned in the response for
// the caller to judge (see statusError).
func (c *Client) do(ctx context.Context, rq request) (*response, error) {
	body, encoding := rq.body, ""
	if len(body) > compressThreshold && c.peerAccepts("gzip") {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(body)
		if err := zw.Close(); err != nil {
			return nil, c.errorf(rq, 0, err)
		}
		body, encoding = buf.Bytes(), "gzip"
	}
	retries := c.cfg.Retries
	if rq.noRetry {
		retries = 0
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, c.errorf(rq, 0, err)
		}
		resp, err, retryable := c.attempt(ctx, rq, body, encoding)
		if ctx.Err() != nil {
			// The caller gave up: report that, not whatever the transport made of it.
			return nil, c.errorf(rq, 0, ctx.Err())
		}
		if err == nil && resp.status >= 500 {
			retryable = true
		}
		if !retryable || attempt >= retries {
			c.observe(ctx, rq, resp, err)
			return resp, err
		}
		wait := backoff(c.cfg.RetryWait, attempt)
		if c.cfg.Log != nil {
			why := "transport error"
			if err != nil {
				why = err.Error()
			} else {
				why = fmt.Sprintf("HTTP %d", resp.status)
			}
			c.cfg.Log.Warn("remote: retrying", "server", c.cfg.Name, "method", rq.method,
				"path", rq.path, "attempt", attempt+1, "wait", wait, "reason", c.redact(why))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, c.errorf(rq, 0, ctx.Err())
		case <-t.C:
		}
	}
}

// backoff is the wait before retry n+1: base·2ⁿ capped, drawn from its upper half.
func backoff(base time.Duration, n int) time.Duration {
	d := base << min(n, 16)
	if d <= 0 || d > maxRetryWait {
		d = maxRetryWait
	}
	half := d / 2
	return half + rand.N(half+1)
}

// attempt is one exchange, body read included, under the per-attempt timeout.
func (c *Client) attempt(ctx context.Context, rq request, body []byte, encoding string) (*response, error, bool) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	r := c.rc.R().SetContext(actx)
	if body != nil {
		r.SetBody(body)
	}
	if encoding != "" {
		r.SetHeader("Content-Encoding", encoding)
	}
	if rq.etag != nil {
		et := *rq.etag
		if et == "" {
			et = `""`
		}
		r.SetHeader("If-None-Match", et)
	}
	start := time.Now()
	rr, err := r.Execute(rq.method, c.cfg.URL+rq.path)
	if err != nil {
		if rr != nil && rr.RawResponse != nil {
			rr.RawResponse.Body.Close()
		}
		return nil, c.errorf(rq, 0, c.timeoutAware(actx, withoutURL(err))), true
	}
	hr := rr.RawResponse
	defer hr.Body.Close()
	resp := &response{status: hr.StatusCode, header: hr.Header, tls: hr.TLS}
	src := &trackingReader{r: hr.Body, limit: c.cfg.MaxBodyBytes}
	ok2xx := hr.StatusCode >= 200 && hr.StatusCode < 300
	switch {
	case rq.method == http.MethodHead || hr.StatusCode == http.StatusNotModified:
	case ok2xx && hr.ContentLength > c.cfg.MaxBodyBytes:
		// Announced too large (and not compressed, or the transport would not know
		// the length): not a byte of it is read.
		src.tooLarge = true
		return c.bodyError(actx, rq, resp, src, errTooLarge)
	case ok2xx && rq.consume != nil:
		if err := rq.consume(src); err != nil {
			return c.bodyError(actx, rq, resp, src, err)
		}
		// Drain what follows the value so the connection can be reused.
		if _, err := io.Copy(io.Discard, src); err != nil {
			return c.bodyError(actx, rq, resp, src, err)
		}
	case ok2xx:
		b, err := io.ReadAll(src)
		if err != nil {
			return c.bodyError(actx, rq, resp, src, err)
		}
		resp.body = b
	default:
		b, err := io.ReadAll(io.LimitReader(hr.Body, errBodyCap))
		resp.body = b
		if err != nil && hr.StatusCode >= 500 {
			return nil, c.errorf(rq, hr.StatusCode, c.timeoutAware(actx, err)), true
		}
	}
	resp.rtt = time.Since(start)
	if c.cfg.Log != nil {
		c.cfg.Log.Debug("remote", "server", c.cfg.Name, "method", rq.method, "path", rq.path,
			"status", hr.StatusCode, "duration", resp.rtt)
	}
	return resp, nil, false
}

// bodyError classifies a failure while reading a 2xx body: the network (retryable), the
// size cap, or the content.
func (c *Client) bodyError(actx context.Context, rq request, resp *response, src *trackingReader, err error) (*response, error, bool) {
	switch {
	case src.tooLarge:
		return nil, c.errorf(rq, resp.status, fmt.Errorf("answer larger than %d bytes (this client's limit, counted after decompression); reading stopped there", c.cfg.MaxBodyBytes)), false
	case errors.Is(err, misp.ErrTooLarge):
		return nil, c.errorf(rq, resp.status, fmt.Errorf("answer decodes into more than %d bytes of elements (this client's limit); reading stopped there", misp.MaxElementBytes)), false
	case src.err != nil && !errors.Is(src.err, io.EOF):
		return nil, c.errorf(rq, resp.status, fmt.Errorf("reading body: %w", c.timeoutAware(actx, src.err))), true
	default:
		return nil, c.errorf(rq, resp.status, fmt.Errorf("malformed answer: %w", err)), false
	}
}

// timeoutAware names a per-attempt timeout as such.
func (c *Client) timeoutAware(actx context.Context, err error) error {
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %s: %w", c.cfg.Timeout, err)
	}
	return err
}

// peerAccepts reports whether the cached getVersion lists the request encoding.
func (c *Client) peerAccepts(enc string) bool {
	v := c.CachedVersion()
	if v == nil {
		return false
	}
	for _, e := range v.RequestEncoding {
		if strings.EqualFold(strings.TrimSpace(e), enc) {
			return true
		}
	}
	return false
}

// trackingReader caps a body and remembers the first read error, so that a decode
// failure caused by the network can be told from one caused by the content.
type trackingReader struct {
	r        io.Reader
	limit    int64
	n        int64
	err      error
	tooLarge bool
}

var errTooLarge = errors.New("response body too large")

func (t *trackingReader) Read(p []byte) (int, error) {
	if t.tooLarge {
		return 0, errTooLarge
	}
	if rest := t.limit + 1 - t.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := t.r.Read(p)
	t.n += int64(n)
	if t.n > t.limit {
		t.tooLarge = true
		return n, errTooLarge
	}
	if err != nil && t.err == nil {
		t.err = err
	}
	return n, err
}

type nopLogger struct{}

func (nopLogger) Errorf(string, ...any) {}
func (nopLogger) Warnf(string, ...any)  {}
func (nopLogger) Debugf(string, ...any) {}

// redactURL drops any user information from a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if i := strings.Index(s, "@"); i >= 0 && strings.Contains(s[:i], "://") {
			return s[:strings.Index(s, "://")+3] + "…@" + s[i+1:]
		}
		return s
	}
	u.User = nil
	return u.String()
}
