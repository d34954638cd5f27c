// Package mispapi serves the MISP-compatible REST API that MISP peers, PyMISP and other
// mispdesk instances call: the endpoints of server sync (MISP's ServersController and EventsController) and of
// its set-up, with MISP's paths, verbs, JSON shapes, status codes and error envelopes.
//
// Every request is authenticated by a MISP auth key; what it may see and store is decided
// by package policy; all data goes through package store.
package mispapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"

	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/syncer/gate"
)

// SyncRunner runs the sync work some endpoints trigger (servers/pull, servers/push,
// servers/testConnection, feed fetches and caching). The sync engine implements it.
type SyncRunner interface {
	Pull(ctx context.Context, serverID store.ServerID, technique string) (summary string, err error)
	Push(ctx context.Context, serverID store.ServerID, technique string) (string, error)
	TestConnection(ctx context.Context, serverID store.ServerID) (any, error)
	// FetchFeed fetches a feed now and says how many events it created and updated;
	// CacheFeed refreshes a feed's cache and says how many values it holds.
	FetchFeed(ctx context.Context, id store.FeedID) (created, updated int, err error)
	CacheFeed(ctx context.Context, id store.FeedID) (int, error)
	// Wake tells the outbox worker that a call queued pushes, so that it delivers them at
	// once rather than at its next poll.
	Wake()
}

// Config is what the API needs.
type Config struct {
	Store  *store.Store
	Logger *slog.Logger
	// Syncer runs pulls, pushes and connection tests, and is woken when a call queued
	// pushes; nil answers those endpoints 501.
	Syncer SyncRunner
	// MaxBodyBytes bounds request bodies after decompression; 0: DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// BodyTimeout is how long a request body may take to start arriving, after which it
	// must keep coming at 16 KiB/s; 0: DefaultBodyTimeout.
	BodyTimeout time.Duration
	// BlocklistOnDelete puts every event deleted over the API on the event blocklist, as
	// MISP does with MISP.enableEventBlocklisting; a request may also ask for it with
	// the named parameter blocklist:1.
	BlocklistOnDelete bool
}

// API is the HTTP handler.
type API struct {
	cfg    Config
	st     *store.Store
	log    *slog.Logger
	routes map[string]*route
	gate   *gate.Gate
	// events writes received events: concurrent pushes share a transaction (one commit
	// for the group, a savepoint each), each answered once its event is committed.
	events *store.GroupWriter
}

// New returns the API's handler.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	a := &API{cfg: cfg, st: cfg.Store, log: cfg.Logger, routes: map[string]*route{}}
	if a.st != nil {
		a.gate = gate.New(a.st)
		a.events = a.st.NewGroupWriter(0)
	}
	a.register()
	return a
}

// wake nudges the outbox worker after a call queued pushes.
func (a *API) wake() {
	if a.cfg.Syncer != nil {
		a.cfg.Syncer.Wake()
	}
}

// storeInstance is this instance as policy sees it: its host organisation and base URL.
func (a *API) storeInstance(ctx context.Context) (*policy.Instance, error) {
	return gate.Instance(ctx, a.st)
}

// handler answers one call.
type handler func(c *call) error

// perm says whether a principal may call an endpoint.
type perm func(r *store.Role) bool

func permAuth(*store.Role) bool         { return true }
func permSiteAdmin(r *store.Role) bool  { return r.PermSiteAdmin }
func permSync(r *store.Role) bool       { return r.PermSync || r.PermSiteAdmin }
func permAdd(r *store.Role) bool        { return r.PermAdd || r.PermSiteAdmin }
func permModify(r *store.Role) bool     { return r.PermModify || r.PermModifyOrg || r.PermSiteAdmin }
func permSighting(r *store.Role) bool   { return r.PermSighting || r.PermSync || r.PermSiteAdmin }
func permGalaxyPush(r *store.Role) bool { return (r.PermSync && r.PermGalaxyEditor) || r.PermSiteAdmin }
func permPublish(r *store.Role) bool    { return r.PermPublish || r.PermSiteAdmin }
func permTagger(r *store.Role) bool     { return r.PermTagger || r.PermSiteAdmin }
func permTagEditor(r *store.Role) bool  { return r.PermTagEditor || r.PermSiteAdmin }
func permGalaxy(r *store.Role) bool     { return r.PermGalaxyEditor || r.PermSiteAdmin }
func permAdmin(r *store.Role) bool      { return r.PermAdmin || r.PermSiteAdmin }

// permAnalyst is MISP's ACL for analyst data add, edit and delete: perm_add and perm_analyst_data.
func permAnalyst(r *store.Role) bool { return (r.PermAdd && r.PermAnalystData) || r.PermSiteAdmin }

type route struct {
	methods []string
	perm    perm
	fn      handler
	// write marks an endpoint that changes data: a read-only key is refused there even
	// when its remaining permissions would pass.
	write bool
}

// The methods a route accepts, as handle takes them: one set for every route
// file. MISP answers PUT wherever it answers POST, and its delete actions answer
// POST and PUT as well as DELETE.
const (
	methodsGet     = "GET"
	methodsPost    = "POST,PUT"
	methodsGetPost = "GET,POST,PUT"
	methodsDelete  = "POST,PUT,DELETE"
)

// handle registers fn for controller/action; admin routes answer /admin/... and, where
// MISP also has it, the plain form.
func (a *API) handle(key string, methods string, p perm, fn handler) {
	a.addRoute(key, &route{methods: strings.Split(methods, ","), perm: p, fn: fn})
}

// handleWrite registers an endpoint that changes data (see route.write).
func (a *API) handleWrite(key string, methods string, p perm, fn handler) {
	a.addRoute(key, &route{methods: strings.Split(methods, ","), perm: p, fn: fn, write: true})
}

// addRoute files rt under routeKey(key). A key registered twice is a
// programming error that would let the later registration silently decide which
// handler and permission apply: it panics at start-up, naming the route.
func (a *API) addRoute(key string, rt *route) {
	k := routeKey(key)
	if _, dup := a.routes[k]; dup {
		panic(fmt.Sprintf("mispapi: route %q registered twice", key))
	}
	a.routes[k] = rt
}

// call is one request being answered.
type call struct {
	a      *API
	w      http.ResponseWriter
	r      *http.Request
	ctx    context.Context
	path   Path
	who    *store.Principal
	viewer *policy.Viewer
	inst   *policy.Instance
	// gateCheck is made by check on first use.
	gateCheck *gate.Check
	// etag, when set, is the answer's ETag known before its body was built (the index's);
	// otherwise an answer's ETag is its body's SHA-1.
	etag string
	// signed is the event body as a protected event's X-Pgp-Signature signs it (every
	// white space removed), kept only when the request carries one (protected.go).
	signed *bytes.Buffer
}

// apiError is an answer other than success: MISP's thrown-exception envelope
// {"name","message","url"} (body nil) or a body of its own.
type apiError struct {
	status int
	msg    string
	body   any
	header http.Header
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.status, e.msg) }

func httpError(status int, msg string) *apiError { return &apiError{status: status, msg: msg} }

func notFound(msg string) *apiError  { return httpError(http.StatusNotFound, msg) }
func forbidden(msg string) *apiError { return httpError(http.StatusForbidden, msg) }

const (
	msgAuthFailed = "Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header."
	msgNoPerm     = "You do not have permission to use this functionality."
	msgNotNewer   = "Event could not be saved: Event in the request not newer than the local copy."
)

// saveFail is MISP's saveFailResponse: HTTP 403 with saved:false.
func saveFail(c *call, name string, id any, errs any) *apiError {
	body := map[string]any{"saved": false, "name": name, "message": name, "url": c.shortURL(), "errors": errs}
	if id != nil {
		body["id"] = id
	}
	return &apiError{status: http.StatusForbidden, msg: name, body: body}
}

// saveSuccess is MISP's saveSuccessResponse.
func saveSuccess(c *call, name, message string, id any) map[string]any {
	body := map[string]any{"saved": true, "success": true, "name": name, "message": message, "url": c.shortURL()}
	if id != nil {
		body["id"] = id
	}
	return body
}

// shortURL is /controller/action as MISP's save responses name it.
func (c *call) shortURL() string {
	u := "/" + c.path.Controller + "/" + c.path.Action
	if len(c.path.Args) > 0 {
		u += "/" + c.path.Args[0]
	}
	return u
}

// statusWriter records the status and size for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP authenticates, routes, and answers with MISP's envelopes; it logs one line per
// request and never lets a panic escape.
func (a *API) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w := &statusWriter{ResponseWriter: rw}
	c := &call{a: a, w: w, r: r, ctx: r.Context()}
	defer func() {
		if v := recover(); v != nil {
			a.log.Error("panic answering request", "method", r.Method, "path", logPath(r), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if w.status == 0 {
				c.writeError(httpError(http.StatusInternalServerError, "An internal error has occurred."))
			}
		}
		var uid store.UserID
		if c.who != nil {
			uid = c.who.User.ID
		}
		a.log.Info("request", "method", r.Method, "path", logPath(r), "status", w.status,
			"duration", time.Since(start).Round(time.Microsecond), "user_id", uid)
	}()
	if err := c.serve(); err != nil {
		c.writeError(err)
	}
}

// logPath is the request path without its query, and without an apikey named parameter.
func logPath(r *http.Request) string {
	p := r.URL.EscapedPath()
	if i := strings.Index(strings.ToLower(p), "apikey:"); i >= 0 {
		p = p[:i] + "apikey:[redacted]"
	}
	if len(p) > 512 {
		p = p[:512] + "…"
	}
	return p
}

func (c *call) serve() error {
	p, ok := ParsePath(c.r.URL.EscapedPath())
	if !ok {
		c.path = Path{Controller: "", Action: ""}
		return notFound("Not Found")
	}
	c.path = p
	key := p.Controller + "/" + p.Action
	if p.Admin {
		key = "admin/" + key
	}
	rt := c.a.routes[routeKey(key)]
	// Authenticate before revealing whether the endpoint exists, as MISP does.
	if err := c.authenticate(); err != nil {
		return err
	}
	if rt == nil {
		return notFound(fmt.Sprintf("Controller or action %s/%s not found.", p.Controller, p.Action))
	}
	allowed := false
	for _, m := range rt.methods {
		if m == c.r.Method || (m == http.MethodGet && c.r.Method == http.MethodHead) {
			allowed = true
		}
	}
	if !allowed {
		return httpError(http.StatusMethodNotAllowed, "You don't have permission to access this resource with the "+c.r.Method+" method.")
	}
	if !rt.perm(&c.who.User.Role) || (rt.write && c.who.ReadOnly && c.r.Method != http.MethodGet && c.r.Method != http.MethodHead) {
		return forbidden(msgNoPerm)
	}
	return rt.fn(c)
}

// authenticate takes the key from X-MISP-AUTH (which wins) or Authorization, as MISP
// does: comma-separated, the first that has a key's shape, values starting with "Basic"
// ignored.
func (c *call) authenticate() error {
	header := c.r.Header.Get("X-MISP-AUTH")
	if header == "" {
		header = c.r.Header.Get("Authorization")
	}
	key := ""
	if !strings.HasPrefix(header, "Basic") {
		for _, k := range strings.Split(header, ",") {
			if k = strings.TrimSpace(k); store.IsAuthKey(k) {
				key = k
				break
			}
		}
	}
	if key == "" {
		c.a.log.Info("authentication refused", "path", logPath(c.r), "reason", "no key of the right shape in Authorization or X-MISP-AUTH")
		return forbidden(msgAuthFailed)
	}
	who, err := c.a.st.Authenticate(c.ctx, key, c.r.RemoteAddr)
	if err != nil {
		if errors.Is(err, store.ErrAuthFailed) {
			c.a.log.Info("authentication refused", "path", logPath(c.r), "remote", c.r.RemoteAddr, "reason", err.Error())
			return forbidden(msgAuthFailed)
		}
		return err
	}
	c.who = who
	c.viewer = gate.Viewer(who)
	if !who.Expiration.IsZero() {
		c.w.Header().Set("X-Auth-Key-Expiration", who.Expiration.UTC().Format("2006-01-02T15:04:05-07:00"))
	}
	return nil
}

// instance is this instance as policy sees it, read once per call.
func (c *call) instance() (*policy.Instance, error) {
	if c.inst == nil {
		in, err := c.a.storeInstance(c.ctx)
		if err != nil {
			return nil, err
		}
		c.inst = in
	}
	return c.inst, nil
}

// check is the caller's questions to the gate, one per call.
func (c *call) check() (*gate.Check, error) {
	if c.gateCheck == nil {
		inst, err := c.instance()
		if err != nil {
			return nil, err
		}
		c.gateCheck = c.a.gate.For(c.ctx, inst, c.viewer)
	}
	return c.gateCheck, nil
}

const msgInvalidJSON = "Invalid JSON input. Make sure that the JSON input is a correctly formatted JSON string. This request has been blocked to avoid an unfiltered request."

// jsonList renders every record for an index answer: [] when there are none,
// never null, as MISP answers.
func jsonList[T, R any](records []T, render func(*T) R) []any {
	out := make([]any, 0, len(records))
	for i := range records {
		out = append(out, render(&records[i]))
	}
	return out
}

// reply writes a JSON answer with MISP's REST conventions: an ETag of the body's SHA-1
// and 304 when the client has it, gzip when the client accepts it.
func (c *call) reply(status int, v any) error {
	b, err := json.Marshal(v, json.Deterministic(true))
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	c.replyRaw(status, b)
	return nil
}

func (c *call) replyRaw(status int, b []byte) {
	h := c.w.Header()
	h.Set("Content-Type", "application/json")
	if status == http.StatusOK && (c.r.Method == http.MethodGet || c.r.Method == http.MethodPost || c.r.Method == http.MethodHead) {
		etag := c.etag
		if etag == "" {
			sum := sha1.Sum(b)
			etag = `"` + hex.EncodeToString(sum[:]) + `"`
		}
		if c.notModified(etag) {
			return
		}
	}
	h.Add("Vary", "Accept-Encoding")
	if len(b) > 1024 && acceptsGzip(c.r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		h.Del("Content-Length")
		c.w.WriteHeader(status)
		if c.r.Method == http.MethodHead {
			return
		}
		zw, _ := gzip.NewWriterLevel(c.w, gzip.BestSpeed)
		zw.Write(b)
		zw.Close()
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	c.w.WriteHeader(status)
	if c.r.Method != http.MethodHead {
		c.w.Write(b)
	}
}

// notModified sets the answer's ETag and, when the client already has it, answers 304.
func (c *call) notModified(etag string) bool {
	h := c.w.Header()
	h.Set("ETag", etag)
	if inm := c.r.Header.Get("If-None-Match"); inm == "" || !etagMatch(inm, etag) {
		return false
	}
	h.Del("Content-Type")
	c.w.WriteHeader(http.StatusNotModified)
	return true
}

// etagMatch compares If-None-Match (a list, possibly weak, possibly with a -gzip suffix
// a proxy added) with our ETag.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" {
			return true
		}
		t = strings.TrimSuffix(strings.TrimSuffix(strings.Trim(t, `"`), "-gzip"), "-br")
		if `"`+t+`"` == etag {
			return true
		}
	}
	return false
}

func acceptsGzip(h string) bool {
	for _, part := range strings.Split(h, ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") || strings.TrimSpace(name) == "*" {
			q = strings.ReplaceAll(q, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// writeError answers an error: an apiError as MISP shows it, anything else as a logged 500.
func (c *call) writeError(err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		c.a.log.Error("request failed", "method", c.r.Method, "path", logPath(c.r), "err", err)
		ae = httpError(http.StatusInternalServerError, "An internal error has occurred.")
	}
	for k, vs := range ae.header {
		for _, v := range vs {
			c.w.Header().Add(k, v)
		}
	}
	body := ae.body
	if body == nil {
		body = map[string]any{"name": ae.msg, "message": ae.msg, "url": c.r.URL.Path}
	}
	b, merr := json.Marshal(body, json.Deterministic(true))
	if merr != nil {
		b = []byte(`{"name":"An internal error has occurred.","message":"An internal error has occurred.","url":""}`)
	}
	c.w.Header().Set("Content-Type", "application/json")
	c.w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	c.w.WriteHeader(ae.status)
	if c.r.Method != http.MethodHead {
		c.w.Write(b)
	}
}

// itoa is MISP's integer-as-string.
func itoa[T ~int64](i T) string { return strconv.FormatInt(int64(i), 10) }
