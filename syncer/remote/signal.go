package remote

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
)

// SignalKind is what one request said about the health of its server.
type SignalKind int

const (
	// Answered: the server answered (any status below 500 that is not an auth refusal).
	Answered SignalKind = iota
	// ServerError: the server answered with a 5xx.
	ServerError
	// Unreachable: no answer came (refused, reset, timed out, DNS, TLS).
	Unreachable
	// AuthRefused: the server refused the authkey.
	AuthRefused
)

// Signal is the outcome of one request (after its retries), for a health tracker.
type Signal struct {
	Kind  SignalKind
	Cause string // Cause of the failure; "" when answered
}

// observe reports the outcome of a request to Config.Observe. A request the caller gave
// up on says nothing about the server.
func (c *Client) observe(ctx context.Context, rq request, resp *response, err error) {
	if c.cfg.Observe == nil || ctx.Err() != nil {
		return
	}
	var s Signal
	var re *Error
	switch {
	case err != nil && errors.As(err, &re) && re.Status != 0:
		// An answer whose body could not be read or understood: the server is there.
	case err != nil:
		s = Signal{Kind: Unreachable, Cause: Cause(err)}
	case resp.status >= 500:
		s = Signal{Kind: ServerError, Cause: fmt.Sprintf("HTTP %d", resp.status)}
	case (resp.status == http.StatusUnauthorized || resp.status == http.StatusForbidden) && isAuthFailure(rq, resp.status, remoteMessage(resp.body)):
		s = Signal{Kind: AuthRefused, Cause: fmt.Sprintf("HTTP %d: authentication failed", resp.status)}
	}
	c.cfg.Observe(s)
}

// Cause names why a call failed in a few stable words, the detail of the event or the URL
// left out, so failures can be counted and shown by it: "connection refused", "timed out",
// "HTTP 500", "authentication failed"…
func Cause(err error) string {
	var (
		re   *Error
		dns  *net.DNSError
		cert *x509.UnknownAuthorityError
		host x509.HostnameError
		rec  tls.RecordHeaderError
		nerr net.Error
	)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, ErrAuth):
		return "authentication failed"
	case errors.Is(err, ErrDropped):
		return ErrDropped.Error()
	case errors.Is(err, ErrReportsDropped):
		return ErrReportsDropped.Error()
	case errors.Is(err, ErrReportsUnchecked):
		return ErrReportsUnchecked.Error()
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.As(err, &dns):
		return "no such host"
	case errors.As(err, &cert), errors.As(err, &host), errors.As(err, &rec):
		return "TLS: certificate not accepted"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &nerr) && nerr.Timeout():
		return "timed out"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "connection closed"
	case errors.As(err, &re) && re.Status != 0:
		return fmt.Sprintf("HTTP %d", re.Status)
	case errors.As(err, &re):
		return "transport error"
	}
	return "local error"
}

// withoutURL drops the URL net/http puts in front of a transport error: the Error the
// client makes names it once already.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}
