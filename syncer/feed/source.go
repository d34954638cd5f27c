package feed

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mispdesk/assets"
	"mispdesk/store"
)

// Limits of what a feed may send.
const (
	// MaxManifest bounds manifest.json and hashes.csv: the CIRCL OSINT feed's manifest is a
	// few megabytes for thousands of events.
	MaxManifest = 256 << 20
	// DefaultTimeout bounds one request, body included.
	DefaultTimeout = 60 * time.Second
	// DefaultRetries is how often a request is retried after a timeout, a connection
	// error or a 5xx.
	DefaultRetries = 2
)

// errNotModified says the manifest is unchanged since the validator was taken.
var errNotModified = errors.New("not modified")

// SourceError is a failed read of one of a feed's files, with the HTTP status if there
// was an answer.
type SourceError struct {
	Name   string // manifest.json, hashes.csv, <uuid>.json
	Status int
	Err    error
}

func (e *SourceError) Error() string { return e.Name + ": " + e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }

// source reads a feed's files, over HTTP or from a directory.
type source interface {
	// get reads the file name. With a validator (from an earlier get of the same file) an
	// unchanged file returns errNotModified. It returns the body and the file's validator.
	get(ctx context.Context, name, validator string, limit int64) (body []byte, newValidator string, err error)
	// where names the file for a person.
	where(name string) string
}

// ClientOptions shape the HTTP side of a fetch. Zero values take the defaults.
type ClientOptions struct {
	Timeout   time.Duration // per request, body included (default 60s)
	Retries   int           // after a timeout, a connection error or a 5xx (0: default 2; negative: none)
	RetryWait time.Duration // before the first retry, doubled after (default 500ms)
	// Transport replaces the HTTP transport (tests); by default TLS is verified against
	// the system's CAs and HTTPS_PROXY/HTTP_PROXY/NO_PROXY apply.
	Transport http.RoundTripper
}

func newSource(f *store.Feed, o ClientOptions) (source, error) {
	if f.InputSource == store.FeedLocal {
		return dirSource{dir: f.URL}, nil
	}
	hs, err := f.HeaderLines()
	if err != nil {
		return nil, err
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	switch {
	case o.Retries == 0:
		o.Retries = DefaultRetries
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.RetryWait <= 0 {
		o.RetryWait = 500 * time.Millisecond
	}
	tr := o.Transport
	if tr == nil {
		tr = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: min(o.Timeout, 30*time.Second), KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   min(o.Timeout, 15*time.Second),
			ForceAttemptHTTP2:     true,
			MaxIdleConnsPerHost:   8,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: o.Timeout,
		}
	}
	client := &http.Client{
		Transport: tr,
		Timeout:   o.Timeout,
		// MISP follows up to 5 redirects for feeds (HttpSocket); so do we.
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("more than 5 redirects")
			}
			return nil
		},
	}
	return &httpSource{base: strings.TrimRight(f.URL, "/"), client: client, headers: hs, opts: o}, nil
}

type httpSource struct {
	base    string
	client  *http.Client
	headers [][2]string
	opts    ClientOptions
}

func (s *httpSource) where(name string) string { return s.base + "/" + name }

func (s *httpSource) get(ctx context.Context, name, validator string, limit int64) ([]byte, string, error) {
	wait := s.opts.RetryWait
	for attempt := 0; ; attempt++ {
		body, v, status, err := s.once(ctx, name, validator, limit)
		if err == nil || errors.Is(err, errNotModified) {
			return body, v, err
		}
		retry := status >= 500 || status == 0
		if !retry || attempt >= s.opts.Retries || ctx.Err() != nil {
			return nil, "", &SourceError{Name: name, Status: status, Err: err}
		}
		d := wait/2 + rand.N(wait/2+1)
		wait = min(wait*2, 10*time.Second)
		select {
		case <-ctx.Done():
			return nil, "", &SourceError{Name: name, Err: ctx.Err()}
		case <-time.After(d):
		}
	}
}

func (s *httpSource) once(ctx context.Context, name, validator string, limit int64) ([]byte, string, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/"+name, nil)
	if err != nil {
		return nil, "", -1, err
	}
	req.Header.Set("User-Agent", "mispdesk/"+assets.Version)
	req.Header.Set("Accept", "application/json, text/csv, */*")
	for _, h := range s.headers {
		req.Header.Set(h[0], h[1])
	}
	switch {
	case strings.HasPrefix(validator, "etag:"):
		req.Header.Set("If-None-Match", validator[len("etag:"):])
	case strings.HasPrefix(validator, "lm:"):
		req.Header.Set("If-Modified-Since", validator[len("lm:"):])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, "", 0, plainNetError(err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && validator != "":
		return nil, validator, resp.StatusCode, errNotModified
	case resp.StatusCode != http.StatusOK:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, "", resp.StatusCode, fmt.Errorf("HTTP %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, "", 0, fmt.Errorf("reading the body: %w", plainNetError(err))
	}
	if int64(len(body)) > limit {
		return nil, "", resp.StatusCode, fmt.Errorf("larger than %d MiB", limit>>20)
	}
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/zip") {
		if body, err = unzipFirst(body, limit); err != nil {
			return nil, "", resp.StatusCode, err
		}
	}
	v := ""
	switch {
	case resp.Header.Get("ETag") != "":
		v = "etag:" + resp.Header.Get("ETag")
	case resp.Header.Get("Last-Modified") != "":
		v = "lm:" + resp.Header.Get("Last-Modified")
	default:
		v = contentValidator(body)
	}
	if v == validator && strings.HasPrefix(v, "sha256:") {
		return body, v, resp.StatusCode, errNotModified
	}
	return body, v, resp.StatusCode, nil
}

// plainNetError drops the request URL from a client error: the log line names the file.
func plainNetError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && strings.HasPrefix(err.Error(), "Get ") {
		if inner := ue.Unwrap(); inner != nil {
			err = inner
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("timed out: %w", err)
	}
	return err
}

// contentValidator stands in for a validator when the server sends neither ETag nor
// Last-Modified: an unchanged manifest is then known after reading it, before anything else.
func contentValidator(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// unzipFirst returns the first file of a zip archive, as MISP does with a zipped answer.
func unzipFirst(body []byte, limit int64) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("zip %s: %w", f.Name, err)
		}
		defer rc.Close()
		out, err := io.ReadAll(io.LimitReader(rc, limit+1))
		if err != nil {
			return nil, fmt.Errorf("zip %s: %w", f.Name, err)
		}
		if int64(len(out)) > limit {
			return nil, fmt.Errorf("zip %s: larger than %d MiB", f.Name, limit>>20)
		}
		return out, nil
	}
	return nil, errors.New("zip: no file in the archive")
}

// dirSource reads a feed from a directory (MISP's input_source local).
type dirSource struct{ dir string }

func (s dirSource) where(name string) string { return filepath.Join(s.dir, name) }

func (s dirSource) get(_ context.Context, name, validator string, limit int64) ([]byte, string, error) {
	path := filepath.Join(s.dir, name)
	info, err := os.Stat(path)
	if err != nil {
		return nil, "", &SourceError{Name: name, Err: unwrapPathError(err)}
	}
	v := fmt.Sprintf("file:%d:%d", info.Size(), info.ModTime().UnixNano())
	if validator != "" && v == validator {
		return nil, v, errNotModified
	}
	if info.Size() > limit {
		return nil, "", &SourceError{Name: name, Err: fmt.Errorf("larger than %d MiB", limit>>20)}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", &SourceError{Name: name, Err: unwrapPathError(err)}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, "", &SourceError{Name: name, Err: unwrapPathError(err)}
	}
	if int64(len(b)) > limit {
		return nil, "", &SourceError{Name: name, Err: fmt.Errorf("larger than %d MiB", limit>>20)}
	}
	return b, v, nil
}
