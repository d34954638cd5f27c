package mispapi

// Request bodies: read as they arrive, decompressed, counted against the limit after
// decompression, and cut off when they stop arriving at a steady pace. A body over the
// limit is never read beyond it.

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"mispdesk/store/misp"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Defaults for the Config fields that bound request bodies.
const (
	// DefaultMaxBodyBytes bounds a request body after decompression.
	DefaultMaxBodyBytes = misp.MaxDocumentBytes
	// DefaultBodyTimeout is how long a body may take to start arriving; after that it
	// must keep arriving at minBodyRate.
	DefaultBodyTimeout = 30 * time.Second
	// minBodyRate is the slowest pace, in bytes per second on the wire, at which a body
	// is still read: a trickle below it is cut off, a slow but steady upload is not.
	minBodyRate = 16 << 10
)

// requestBody is a request's body as handlers read it.
type requestBody struct {
	c     *call
	rd    io.Reader // decompressed
	zr    *gzip.Reader
	limit int64
	n     int64 // decompressed bytes read
	wire  *pacedReader
	over  bool
}

// pacedReader reads the body off the connection, moving the read deadline on as data
// arrives: start + timeout + bytes/minBodyRate. It reads at most limit+1 bytes: a
// compressed body is bounded on the wire too.
type pacedReader struct {
	r        io.Reader
	rc       *http.ResponseController
	start    time.Time
	timeout  time.Duration
	limit, n int64
	over     bool
	timedOut bool
}

func (p *pacedReader) deadline() time.Time {
	return p.start.Add(p.timeout + time.Duration(p.n)*time.Second/minBodyRate)
}

func (p *pacedReader) Read(b []byte) (int, error) {
	if p.over {
		return 0, errBodyTooLarge
	}
	if rest := p.limit + 1 - p.n; int64(len(b)) > rest {
		b = b[:rest]
	}
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.n > p.limit {
		p.over = true
		return n, errBodyTooLarge
	}
	if n > 0 {
		_ = p.rc.SetReadDeadline(p.deadline()) // not supported: no deadline, as before
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		p.timedOut = true
	}
	return n, err
}

// bodyReader opens the request body. The caller closes it once read.
func (c *call) bodyReader() (*requestBody, error) {
	limit := c.a.cfg.MaxBodyBytes
	if c.r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	wire := &pacedReader{r: c.r.Body, rc: http.NewResponseController(c.w), start: time.Now(), timeout: c.a.cfg.BodyTimeout, limit: limit}
	_ = wire.rc.SetReadDeadline(wire.deadline())
	rb := &requestBody{c: c, rd: wire, limit: limit, wire: wire}
	switch enc := strings.ToLower(strings.TrimSpace(c.r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(wire)
		if err != nil {
			if e := rb.failure(); e != nil {
				return nil, e
			}
			return nil, httpError(http.StatusBadRequest, "The request body is not valid gzip.")
		}
		rb.zr, rb.rd = zr, zr
	default:
		return nil, httpError(http.StatusUnsupportedMediaType, "Unsupported Content-Encoding "+strconv.Quote(enc)+"; this instance accepts gzip.")
	}
	return rb, nil
}

// Read counts decompressed bytes and stops past the limit.
func (rb *requestBody) Read(b []byte) (int, error) {
	if rb.over {
		return 0, errBodyTooLarge
	}
	if rest := rb.limit + 1 - rb.n; int64(len(b)) > rest {
		b = b[:rest]
	}
	n, err := rb.rd.Read(b)
	rb.n += int64(n)
	if rb.n > rb.limit {
		rb.over = true
		return n, errBodyTooLarge
	}
	return n, err
}

var errBodyTooLarge = errors.New("request body too large")

// close ends the reading: the connection's read deadline is lifted so that the server's
// watch for a client gone away does not take a deadline for one.
func (rb *requestBody) close() {
	if rb.zr != nil {
		rb.zr.Close()
	}
	_ = rb.wire.rc.SetReadDeadline(time.Time{})
}

// failure is the answer to a read that failed because of the body itself — past the
// limit, too slow, cut — or nil when the failure lies in the content read.
func (rb *requestBody) failure() *apiError {
	switch {
	case rb.over || rb.wire.over:
		return tooLarge(rb.limit)
	case rb.wire.timedOut:
		e := httpError(http.StatusRequestTimeout, fmt.Sprintf("The request body did not arrive in time (it must start within %s and keep coming at %d KiB/s).",
			rb.c.a.cfg.BodyTimeout, minBodyRate>>10))
		e.header = http.Header{"Connection": {"close"}}
		return e
	}
	return nil
}

// readError is the answer to a failed read: failure's, or the body could not be read.
func (rb *requestBody) readError(err error) *apiError {
	if e := rb.failure(); e != nil {
		return e
	}
	return httpError(http.StatusBadRequest, "The request body could not be read: "+err.Error())
}

// tooLarge is the answer to a body over the limit; the connection is not kept, so the
// rest of the body is never read.
func tooLarge(limit int64) *apiError {
	e := httpError(http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than this instance accepts (%d bytes after decompression).", limit))
	e.header = http.Header{"Connection": {"close"}}
	return e
}

// body reads the whole request body: for the bodies handlers decode from memory.
func (c *call) body() ([]byte, error) {
	rb, err := c.bodyReader()
	if err != nil {
		return nil, err
	}
	defer rb.close()
	b, err := io.ReadAll(rb)
	if err != nil {
		return nil, rb.readError(err)
	}
	return b, nil
}

// Unwrap lets http.ResponseController reach the connection, for the read deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// fields is a decoded request body: {"Model":{…}} or the bare object, members kept raw.
type fields map[string]jsontext.Value

func (c *call) fields(model string) (fields, error) {
	b, err := c.body()
	if err != nil {
		return nil, err
	}
	f := fields{}
	if len(strings.TrimSpace(string(b))) == 0 {
		return f, nil
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, httpError(http.StatusBadRequest, msgInvalidJSON)
	}
	if inner, ok := f[model]; ok {
		g := fields{}
		if err := json.Unmarshal(inner, &g); err == nil {
			return g, nil
		}
	}
	return f, nil
}

func (f fields) has(k string) bool { _, ok := f[k]; return ok }

func (f fields) str(k string) string {
	v, ok := f[k]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	if v.Kind() == '0' {
		return string(v)
	}
	return ""
}

func (f fields) flag(k string) bool {
	v, ok := f[k]
	if !ok {
		return false
	}
	var b misp.Bool
	if json.Unmarshal(v, &b) == nil {
		return bool(b)
	}
	return false
}

// raw is a member kept as JSON text when it is an object (rules), else its string.
func (f fields) rules(k string) string {
	v, ok := f[k]
	if !ok {
		return ""
	}
	if v.Kind() == '{' {
		return string(v)
	}
	return f.str(k)
}
