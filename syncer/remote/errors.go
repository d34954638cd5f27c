package remote

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

var (
	// ErrAuth marks a refusal of the authkey (HTTP 401, or 403 where MISP means
	// "authentication failed"): errors.Is(err, ErrAuth).
	ErrAuth = errors.New("authentication failed")
	// ErrNotModified is Index's answer when the remote index has the ETag sent.
	ErrNotModified = errors.New("not modified")
	// ErrDropped marks a push the remote saved without some of its attributes (MISP drops
	// an element it refuses, such as an object without a description or a duplicate value,
	// and still answers 200): errors.Is(err, ErrDropped).
	ErrDropped = errors.New("attributes dropped by the remote")
	// ErrReportsDropped marks a push the remote saved without some of its event reports
	// (MISP leaves out a report it refuses, such as one whose UUID another event's report
	// holds, and still answers 200): errors.Is(err, ErrReportsDropped).
	ErrReportsDropped = errors.New("event reports dropped by the remote")
	// ErrReportsUnchecked marks a push the remote saved whose event reports could not be
	// checked (its eventReports/index failed): the event is there, but whether every
	// report is cannot be told, so the push is not a success: errors.Is(err,
	// ErrReportsUnchecked).
	ErrReportsUnchecked = errors.New("event reports not checked")
)

// DroppedError is a push the remote saved with fewer attributes, or fewer event reports,
// on its copy of the event than the push sent alive, or whose reports could not be
// checked.
type DroppedError struct {
	Server      string
	Event       string // UUID
	Sent        int    // attributes the push sent, deleted ones left out
	Kept        int    // the remote's attribute_count after the push
	ReportsSent int    // event reports the push sent, deleted ones left out
	ReportsKept int    // of those, the ones the remote's copy holds
	// ReportCheck is why the remote's event reports could not be listed; nil when they were.
	ReportCheck error
}

func (e *DroppedError) Error() string {
	var parts []string
	if e.ReportCheck != nil {
		parts = append(parts, fmt.Sprintf("%s: the remote saved the event, but listing its reports failed: %v", ErrReportsUnchecked, e.ReportCheck))
	}
	if e.Kept < e.Sent {
		parts = append(parts, fmt.Sprintf("%d attributes dropped by the remote: it kept %d of %d", e.Sent-e.Kept, e.Kept, e.Sent))
	}
	if e.ReportsKept < e.ReportsSent {
		parts = append(parts, fmt.Sprintf("%d event reports dropped by the remote: it kept %d of %d",
			e.ReportsSent-e.ReportsKept, e.ReportsKept, e.ReportsSent))
	}
	return fmt.Sprintf("%s (server %q, event %s)", strings.Join(parts, "; "), e.Server, e.Event)
}

// Unwrap is ErrDropped when attributes were dropped, ErrReportsDropped when reports were,
// ErrReportsUnchecked when they could not be checked (the check's own error is not
// unwrapped: the push failed for that reason, not for the check's).
func (e *DroppedError) Unwrap() []error {
	var out []error
	if e.ReportCheck != nil {
		out = append(out, ErrReportsUnchecked)
	}
	if e.Kept < e.Sent {
		out = append(out, ErrDropped)
	}
	if e.ReportsKept < e.ReportsSent {
		out = append(out, ErrReportsDropped)
	}
	return out
}

// Error is a failed call to a remote server: a transport failure (Status 0, Err set), an
// HTTP status the call does not accept (Status, Message), or a body that could not be
// read or understood (Status 2xx, Err set).
type Error struct {
	Server  string // the server's configured name
	Method  string
	Path    string // the MISP path, named parameters included
	URL     string // the full URL (base URL + Path)
	Status  int    // HTTP status, 0 when none arrived
	Message string // what the remote said, extracted from MISP's error envelope
	Err     error  // the cause; ErrAuth for authentication refusals
	key     string // to redact, never printed
}

// Error is one line, the cause first so a narrow screen keeps it, then where:
// HTTP 403: Event blocked by event blocklist. (server "B" POST /events/add/metadata:1);
// connection refused (server "B" GET https://b.example/servers/getVersion).
func (e *Error) Error() string {
	var b strings.Builder
	msg := e.Message
	if msg == "" && e.Err != nil && !(errors.Is(e.Err, ErrAuth) && e.Status != 0) {
		msg = e.Err.Error()
		if c := Cause(e.Err); e.Status == 0 && strings.HasSuffix(msg, c) {
			msg = c // a transport failure: its last words, not net's chain ("dial tcp …: connect: …")
		}
	}
	if msg == "" && e.Status != 0 {
		msg = http.StatusText(e.Status)
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d", e.Status)
		if msg != "" {
			b.WriteString(": ")
		}
	}
	b.WriteString(msg)
	where := e.Path
	if e.Status == 0 && e.URL != "" {
		where = e.URL
	}
	fmt.Fprintf(&b, " (server %q %s %s)", e.Server, e.Method, where)
	return redactKey(b.String(), e.key)
}

// requestSuffix matches the "(server "B" GET where)" an Error's text ends with.
var requestSuffix = regexp.MustCompile(` \(server "(?:[^"\\]|\\.)*" ([A-Z]+) (\S+)\)$`)

// SplitRequest splits an Error's text (or a text ending with one) into its cause and the
// request it names, method and path ("GET /servers/getVersion"), the server's name and
// base URL left out: for places that already name the server. A text without a request
// is all cause.
func SplitRequest(text string) (cause, request string) {
	m := requestSuffix.FindStringSubmatchIndex(text)
	if m == nil {
		return text, ""
	}
	method, where := text[m[2]:m[3]], text[m[4]:m[5]]
	if u, err := url.Parse(where); err == nil && u.Host != "" {
		where = u.RequestURI()
	}
	return text[:m[0]], method + " " + where
}

func (e *Error) Unwrap() error { return e.Err }

// GoString keeps %#v from printing the fields (the key among them).
func (e *Error) GoString() string { return "&remote.Error{" + strconv.Quote(e.Error()) + "}" }

// errorf wraps a failure of rq.
func (c *Client) errorf(rq request, status int, err error) *Error {
	return &Error{Server: c.cfg.Name, Method: rq.method, Path: rq.path, URL: c.cfg.URL + rq.path,
		Status: status, Err: err, key: c.cfg.AuthKey}
}

// statusError turns an unwanted HTTP status into an *Error carrying the remote's message.
func (c *Client) statusError(rq request, resp *response) *Error {
	e := c.errorf(rq, resp.status, nil)
	e.Message = c.redact(remoteMessage(resp.body))
	if resp.status >= 300 && resp.status < 400 {
		if loc := resp.header.Get("Location"); loc != "" {
			e.Message = strings.TrimSpace(e.Message + " (redirected to " + escapeText(loc, 200) + "; check the server URL)")
		}
	}
	if isAuthFailure(rq, resp.status, e.Message) {
		e.Err = ErrAuth
		if e.Message == "" {
			e.Message = "authentication failed (check the authkey and that its user may use the API)"
		}
	}
	return e
}

func (c *Client) redact(s string) string { return redactKey(s, c.cfg.AuthKey) }

func redactKey(s, key string) string {
	if len(key) < 4 || !strings.Contains(s, key) {
		return s
	}
	return strings.ReplaceAll(s, key, "[authkey]")
}

// isAuthFailure: 401; or 403 where MISP says so, or on a call any key with perm_auth may
// make (getVersion, users/view/me, a HEAD).
func isAuthFailure(rq request, status int, msg string) bool {
	if status == http.StatusUnauthorized {
		return true
	}
	if status != http.StatusForbidden {
		return false
	}
	// getVersion and users/view/me need nothing but a valid key; a HEAD carries no
	// explanation, and a bare 403 on an existence check is the key being refused.
	if rq.path == pathGetVersion || rq.path == pathMe || (rq.method == http.MethodHead && msg == "") {
		return true
	}
	m := strings.ToLower(msg)
	return strings.Contains(m, "authentication failed") || strings.Contains(m, "authkey") ||
		strings.Contains(m, "auth key") || strings.Contains(m, "api key")
}

// remoteMessage extracts MISP's explanation from an error body: message (or name) and
// errors from the JSON envelope, else a short excerpt of the body.
func remoteMessage(body []byte) string {
	body = trimBOM(body)
	if len(strings.TrimSpace(string(body))) == 0 {
		return ""
	}
	var env struct {
		Name    jsontext.Value `json:"name"`
		Message jsontext.Value `json:"message"`
		Errors  jsontext.Value `json:"errors"`
		Error   jsontext.Value `json:"error"`
	}
	if err := json.Unmarshal(body, &env, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)); err != nil {
		return excerpt(body)
	}
	msg := flatten(env.Message)
	if msg == "" {
		msg = flatten(env.Name)
	}
	for _, extra := range []string{flatten(env.Errors), flatten(env.Error)} {
		if extra != "" && extra != msg && !strings.Contains(msg, extra) {
			if msg == "" {
				msg = extra
			} else {
				msg += ": " + extra
			}
		}
	}
	if msg == "" {
		return excerpt(body)
	}
	return escapeText(msg, 400)
}

// flatten renders a JSON value of MISP's errors (string, list, or field → messages) as
// one line.
func flatten(v jsontext.Value) string {
	if len(v) == 0 {
		return ""
	}
	var parts []string
	var walk func(prefix string, v jsontext.Value)
	walk = func(prefix string, v jsontext.Value) {
		switch v.Kind() {
		case '"':
			var s string
			if json.Unmarshal(v, &s, jsontext.AllowInvalidUTF8(true)) == nil && strings.TrimSpace(s) != "" {
				parts = append(parts, prefix+strings.TrimSpace(s))
			}
		case '0', 't', 'f':
			if v.Kind() != 'f' || prefix != "" {
				parts = append(parts, prefix+string(v))
			}
		case '[':
			var list []jsontext.Value
			if json.Unmarshal(v, &list, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)) == nil {
				for _, x := range list {
					walk(prefix, x)
				}
			}
		case '{':
			dec := jsontext.NewDecoder(strings.NewReader(string(v)), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
			if _, err := dec.ReadToken(); err != nil {
				return
			}
			for dec.PeekKind() == '"' {
				tok, err := dec.ReadToken()
				if err != nil {
					return
				}
				k := tok.String() // copy before the next read voids the token
				val, err := dec.ReadValue()
				if err != nil {
					return
				}
				walk(prefix+k+": ", val)
			}
		}
	}
	walk("", v)
	return strings.Join(parts, "; ")
}

// excerpt is the start of a non-JSON body, HTML tags dropped, whitespace collapsed,
// control characters escaped.
func excerpt(body []byte) string {
	s := string(body)
	if len(s) > 4096 {
		s = s[:4096]
	}
	if strings.Contains(s, "<") {
		if i := strings.Index(strings.ToLower(s), "<title>"); i >= 0 {
			if j := strings.Index(strings.ToLower(s[i:]), "</title>"); j > 0 {
				return escapeText(strings.Join(strings.Fields(s[i+7:i+j]), " "), 200)
			}
		}
	}
	return escapeText(strings.Join(strings.Fields(s), " "), 200)
}

// escapeText makes s safe for one terminal line: control characters and invalid UTF-8
// escaped, at most max runes.
func escapeText(s string, max int) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if n >= max {
			b.WriteString("…")
			break
		}
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
		i += size
		n++
	}
	return b.String()
}

func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf {
		return b[3:]
	}
	return b
}
