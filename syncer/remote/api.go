package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/store/misp"
)

const (
	pathGetVersion = "/servers/getVersion"
	pathPostTest   = "/servers/postTest"
	pathMe         = "/users/view/me.json"
	pathIndex      = "/events/index"
	// viewParams are the named parameters MISP's pull puts after /events/view/<uuid>.
	viewParams = "/deleted[]:0/deleted[]:1/excludeGalaxy:1/includeEventCorrelations:0/includeFeedCorrelations:0/includeWarninglistHits:0"
	// NotNewerMessage is MISP's refusal of an edit that is not newer than its copy.
	NotNewerMessage = "Event could not be saved: Event in the request not newer than the local copy."
	// sightingChunk is how many events MISP asks sightings for at once.
	sightingChunk = 20
	proposalPage  = 1000
	maxPages      = 10000
)

var lenient = json.JoinOptions(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))

// Version is the answer of GET /servers/getVersion.
type Version struct {
	Version string `json:"version"`
	Major   int    `json:"major"`
	Minor   int    `json:"minor"`
	Hotfix  int    `json:"hotfix"`
	// AppVersion is mispdesk's own release when the peer is a mispdesk (its
	// "mispdesk_version" member), else empty.
	AppVersion       string `json:"app_version,omitempty"`
	PermSync         bool   `json:"perm_sync"`
	PermSighting     bool   `json:"perm_sighting"`
	PermGalaxyEditor bool   `json:"perm_galaxy_editor"`
	PermAnalystData  bool   `json:"perm_analyst_data"`
	// GalaxyEditorKnown: the perm_galaxy_editor member is present, i.e. the peer
	// understands galaxy cluster sync.
	GalaxyEditorKnown bool     `json:"galaxy_editor_known"`
	UUID              string   `json:"uuid"`
	RequestEncoding   []string `json:"request_encoding"`
	FilterSightings   bool     `json:"filter_sightings"`
}

// AtLeast reports whether the version is at least major.minor.hotfix.
func (v *Version) AtLeast(major, minor, hotfix int) bool {
	return compareVersions([3]int{v.Major, v.Minor, v.Hotfix}, [3]int{major, minor, hotfix}) >= 0
}

var versionRE = regexp.MustCompile(`^(\d{1,4})\.(\d{1,4})\.(\d{1,6})`)

// ParseVersion splits "x.y.z" (anything may follow the hotfix).
func ParseVersion(s string) (major, minor, hotfix int, err error) {
	m := versionRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, 0, 0, fmt.Errorf("version %q is not x.y.z", escapeText(s, 40))
	}
	major, _ = strconv.Atoi(m[1])
	minor, _ = strconv.Atoi(m[2])
	hotfix, _ = strconv.Atoi(m[3])
	return major, minor, hotfix, nil
}

// GetVersion asks the remote for its MISP version and the sync user's permissions, and
// caches the answer in the client (it decides request compression).
func (c *Client) GetVersion(ctx context.Context) (*Version, error) {
	v, _, err := c.getVersion(ctx, false)
	return v, err
}

func (c *Client) getVersion(ctx context.Context, noRetry bool) (*Version, *response, error) {
	rq := request{method: http.MethodGet, path: pathGetVersion, noRetry: noRetry}
	var w struct {
		Version          jsontext.Value `json:"version"`
		PermSync         misp.Bool      `json:"perm_sync"`
		PermSighting     misp.Bool      `json:"perm_sighting"`
		PermGalaxyEditor jsontext.Value `json:"perm_galaxy_editor"`
		PermAnalystData  misp.Bool      `json:"perm_analyst_data"`
		UUID             misp.Str       `json:"uuid"`
		RequestEncoding  jsontext.Value `json:"request_encoding"`
		FilterSightings  misp.Bool      `json:"filter_sightings"`
		MispdeskVersion  misp.Str       `json:"mispdesk_version"`
	}
	resp, err := c.requestJSON(ctx, rq, &w)
	if err != nil {
		return nil, resp, err
	}
	var vs string
	if w.Version.Kind() == '"' {
		_ = json.Unmarshal(w.Version, &vs)
	}
	if vs == "" {
		return nil, resp, c.contentError(rq, resp, "getVersion answer has no version")
	}
	v := &Version{Version: vs, PermSync: bool(w.PermSync), PermSighting: bool(w.PermSighting),
		PermAnalystData: bool(w.PermAnalystData), UUID: string(w.UUID),
		FilterSightings: bool(w.FilterSightings), AppVersion: escapeText(string(w.MispdeskVersion), 64)}
	var perr error
	if v.Major, v.Minor, v.Hotfix, perr = ParseVersion(vs); perr != nil {
		return nil, resp, c.contentError(rq, resp, "getVersion: "+perr.Error())
	}
	if len(w.PermGalaxyEditor) > 0 && w.PermGalaxyEditor.Kind() != 'n' {
		v.GalaxyEditorKnown = true
		var b misp.Bool
		if json.Unmarshal(w.PermGalaxyEditor, &b) == nil {
			v.PermGalaxyEditor = bool(b)
		}
	}
	switch w.RequestEncoding.Kind() {
	case '[':
		_ = json.Unmarshal(w.RequestEncoding, &v.RequestEncoding, lenient)
	case '"': // tolerate "gzip, br"
		var s string
		_ = json.Unmarshal(w.RequestEncoding, &s, lenient)
		for _, e := range strings.Split(s, ",") {
			if e = strings.TrimSpace(e); e != "" {
				v.RequestEncoding = append(v.RequestEncoding, e)
			}
		}
	}
	c.mu.Lock()
	c.version = v
	c.mu.Unlock()
	return v, resp, nil
}

// decodeError reports a 2xx body that is not the JSON expected.
func (c *Client) decodeError(rq request, resp *response, err error) *Error {
	e := c.errorf(rq, resp.status, fmt.Errorf("malformed JSON in answer: %w", misp.DescribeJSONError(err)))
	return e
}

func (c *Client) contentError(rq request, resp *response, msg string) *Error {
	return c.errorf(rq, resp.status, errors.New(msg))
}

// Post-test codes (MISP's runPOSTtest).
const (
	PostOK             = 1
	PostFailed         = 8
	PostInvalidBody    = 9
	PostInvalidHeaders = 10
)

// PostTest is MISP's POST test: it posts a ~6 KB text (compressed when the peer offers
// it) and checks the echo. It returns 1 (ok), 8 (request failed or not JSON), 9 (body
// changed on the way) or 10 (headers changed); the error explains 8.
func (c *Client) PostTest(ctx context.Context) (int, error) {
	return c.postTest(ctx, false)
}

func (c *Client) postTest(ctx context.Context, noRetry bool) (int, error) {
	body, err := json.Marshal(map[string]string{"testString": testPayload})
	if err != nil {
		return PostFailed, err
	}
	rq := request{method: http.MethodPost, path: pathPostTest, body: body, noRetry: noRetry}
	var w struct {
		Body struct {
			TestString jsontext.Value `json:"testString"`
		} `json:"body"`
		Headers map[string]jsontext.Value `json:"headers"`
	}
	if _, err := c.requestJSON(ctx, rq, &w); err != nil {
		return PostFailed, err
	}
	var echoed string
	if w.Body.TestString.Kind() == '"' {
		_ = json.Unmarshal(w.Body.TestString, &echoed, lenient)
	}
	if echoed != testPayload {
		return PostInvalidBody, nil
	}
	header := func(name string) string {
		for k, v := range w.Headers {
			if strings.EqualFold(k, name) && v.Kind() == '"' {
				var s string
				_ = json.Unmarshal(v, &s, lenient)
				return s
			}
		}
		return ""
	}
	if header("Content-Type") != "application/json" || header("Accept") != "application/json" {
		return PostInvalidHeaders, nil
	}
	return PostOK, nil
}

// RemoteUser is the remote account behind the authkey (GET /users/view/me.json).
type RemoteUser struct {
	ID    string    `json:"id"`
	Email string    `json:"email"`
	Org   RemoteOrg `json:"org"`
	Role  string    `json:"role"`
	// Perms holds every perm_* flag of the role, by MISP's name.
	Perms            map[string]bool `json:"perms"`
	PermSync         bool            `json:"perm_sync"`
	PermSighting     bool            `json:"perm_sighting"`
	PermGalaxyEditor bool            `json:"perm_galaxy_editor"`
	PermAnalystData  bool            `json:"perm_analyst_data"`
	PermSiteAdmin    bool            `json:"perm_site_admin"`
	PermAdmin        bool            `json:"perm_admin"`
	PermPublish      bool            `json:"perm_publish"`
	// KeyExpiration is X-Auth-Key-Expiration as sent; KeyExpires its parsed time (zero
	// when the key does not expire or the header did not parse).
	KeyExpiration string    `json:"key_expiration,omitempty"`
	KeyExpires    time.Time `json:"key_expires,omitzero"`
}

// RemoteOrg names an organisation on the remote.
type RemoteOrg struct {
	ID   string `json:"id"`
	UUID string `json:"uuid"`
	Name string `json:"name"`
}

// Me fetches the remote user the authkey belongs to, with its organisation and role.
func (c *Client) Me(ctx context.Context) (*RemoteUser, error) {
	return c.me(ctx, false)
}

func (c *Client) me(ctx context.Context, noRetry bool) (*RemoteUser, error) {
	rq := request{method: http.MethodGet, path: pathMe, noRetry: noRetry}
	type org struct {
		ID   misp.Str `json:"id"`
		UUID misp.Str `json:"uuid"`
		Name misp.Str `json:"name"`
	}
	var w struct {
		User struct {
			ID    misp.Str `json:"id"`
			Email misp.Str `json:"email"`
		} `json:"User"`
		Role         map[string]jsontext.Value `json:"Role"`
		Organisation org                       `json:"Organisation"`
	}
	resp, err := c.requestJSON(ctx, rq, &w)
	if err != nil {
		return nil, err
	}
	if w.User.Email == "" && w.User.ID == "" {
		return nil, c.contentError(rq, resp, "users/view/me answer has no User")
	}
	u := &RemoteUser{ID: escapeText(string(w.User.ID), 40), Email: escapeText(string(w.User.Email), 200),
		Org: RemoteOrg{ID: escapeText(string(w.Organisation.ID), 40), UUID: escapeText(string(w.Organisation.UUID), 40),
			Name: escapeText(string(w.Organisation.Name), 200)},
		Perms: map[string]bool{}}
	for k, v := range w.Role {
		switch {
		case k == "name":
			var s misp.Str
			_ = json.Unmarshal(v, &s)
			u.Role = escapeText(string(s), 100)
		case strings.HasPrefix(k, "perm_"):
			var b misp.Bool
			if json.Unmarshal(v, &b) == nil {
				u.Perms[k] = bool(b)
			}
		}
	}
	u.PermSync, u.PermSighting = u.Perms["perm_sync"], u.Perms["perm_sighting"]
	u.PermGalaxyEditor, u.PermAnalystData = u.Perms["perm_galaxy_editor"], u.Perms["perm_analyst_data"]
	u.PermSiteAdmin, u.PermAdmin, u.PermPublish = u.Perms["perm_site_admin"], u.Perms["perm_admin"], u.Perms["perm_publish"]
	if exp := resp.header.Get("X-Auth-Key-Expiration"); exp != "" {
		u.KeyExpiration = escapeText(exp, 64)
		for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05-0700", "2006-01-02 15:04:05"} {
			if t, err := time.Parse(layout, exp); err == nil {
				u.KeyExpires = t
				break
			}
		}
	}
	return u, nil
}

// IndexRow is one row of the minimal event index.
type IndexRow struct {
	ID                string
	UUID              string
	Timestamp         int64
	SightingTimestamp int64
	Published         bool
	OrgcUUID          string
}

type indexRowWire struct {
	ID                misp.Str  `json:"id"`
	UUID              misp.Str  `json:"uuid"`
	Timestamp         misp.Int  `json:"timestamp"`
	SightingTimestamp misp.Int  `json:"sighting_timestamp"`
	Published         misp.Bool `json:"published"`
	OrgcUUID          misp.Str  `json:"orgc_uuid"`
	Orgc              *struct {
		UUID misp.Str `json:"uuid"`
	} `json:"Orgc"`
}

// Index fetches the remote event index (POST /events/index) with the filter as body,
// typically {"minimal":1,"published":1,...}. etag is the ETag of the previous answer ("":
// none, sent as "" the way MISP does to obtain one). A 304 returns ErrNotModified with
// the same etag. Rows are decoded as they arrive.
func (c *Client) Index(ctx context.Context, filter map[string]any, etag string) ([]IndexRow, string, error) {
	if filter == nil {
		filter = map[string]any{"minimal": 1, "published": 1}
	}
	body, err := json.Marshal(filter, json.Deterministic(true))
	if err != nil {
		return nil, "", fmt.Errorf("server %q: index filter: %w", c.cfg.Name, err)
	}
	var rows []IndexRow
	rq := request{method: http.MethodPost, path: pathIndex, body: body, etag: &etag,
		consume: func(r io.Reader) error {
			rows = rows[:0]
			return decodeIndex(r, func(row IndexRow) { rows = append(rows, row) })
		}}
	resp, err := c.do(ctx, rq)
	if err != nil {
		return nil, "", err
	}
	switch {
	case resp.status == http.StatusNotModified:
		return nil, etag, ErrNotModified
	case resp.status != http.StatusOK:
		return nil, "", c.statusError(rq, resp)
	}
	return rows, normalizeETag(resp.header.Get("ETag")), nil
}

// normalizeETag drops the -gzip/-br suffix Apache adds inside the quotes.
func normalizeETag(et string) string {
	for _, suf := range []string{`-gzip"`, `-br"`, `-zstd"`, `-deflate"`} {
		if strings.HasSuffix(et, suf) {
			return et[:len(et)-len(suf)] + `"`
		}
	}
	return et
}

// decodeIndex reads a JSON array of index rows one at a time.
func decodeIndex(r io.Reader, emit func(IndexRow)) error {
	dec := jsontext.NewDecoder(r, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	tok, err := dec.ReadToken()
	if err != nil {
		return misp.DescribeJSONError(err)
	}
	if tok.Kind() != '[' {
		return fmt.Errorf("index is a JSON %s, want an array of events", kindWord(tok.Kind()))
	}
	for n := 0; dec.PeekKind() != ']'; n++ {
		if dec.PeekKind() == 0 {
			_, err := dec.ReadToken()
			return misp.DescribeJSONError(err)
		}
		var w indexRowWire
		if err := json.UnmarshalDecode(dec, &w); err != nil {
			return fmt.Errorf("index row %d: %w", n, misp.DescribeJSONError(err))
		}
		row := IndexRow{ID: string(w.ID), UUID: strings.ToLower(string(w.UUID)), Timestamp: int64(w.Timestamp),
			SightingTimestamp: int64(w.SightingTimestamp), Published: bool(w.Published), OrgcUUID: string(w.OrgcUUID)}
		if row.OrgcUUID == "" && w.Orgc != nil {
			row.OrgcUUID = string(w.Orgc.UUID)
		}
		emit(row)
	}
	if _, err := dec.ReadToken(); err != nil {
		return misp.DescribeJSONError(err)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		if err == nil {
			err = errors.New("more after the index array")
		}
		return misp.DescribeJSONError(err)
	}
	return nil
}

func kindWord(k jsontext.Kind) string {
	switch k {
	case '{':
		return "object"
	case '"':
		return "string"
	case '0':
		return "number"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "value"
}

// checkRef refuses anything but a UUID or a numeric id where one goes into a path.
func (c *Client) checkRef(what, ref string) error {
	if misp.IsUUID(ref) {
		return nil
	}
	if ref != "" && len(ref) <= 20 && strings.Trim(ref, "0123456789") == "" {
		return nil
	}
	return fmt.Errorf("server %q: %s %q is not a UUID", c.cfg.Name, what, escapeText(ref, 60))
}

// ViewEvent fetches one full event as MISP's pull does. excludeLocalTags adds
// /excludeLocalTags:1 (every server but an internal one).
func (c *Client) ViewEvent(ctx context.Context, uuid string, excludeLocalTags bool) (*misp.Event, error) {
	if err := c.checkRef("event", uuid); err != nil {
		return nil, err
	}
	path := "/events/view/" + uuid + viewParams
	if excludeLocalTags {
		path += "/excludeLocalTags:1"
	}
	// The event is decoded as it arrives: a 200,000-attribute event is never held twice,
	// as text and as data.
	var ev *misp.Event
	rq := request{method: http.MethodGet, path: path, consume: func(r io.Reader) error {
		var err error
		ev, err = misp.ReadEvent(r)
		if err != nil {
			return fmt.Errorf("event: %w", err)
		}
		return nil
	}}
	resp, err := c.doOK(ctx, rq)
	if err != nil {
		return nil, err
	}
	if misp.IsUUID(uuid) && !strings.EqualFold(ev.UUID, uuid) {
		return nil, c.contentError(rq, resp, fmt.Sprintf("asked for event %s, got %s", uuid, escapeText(ev.UUID, 60)))
	}
	return ev, nil
}

// EventExists asks HEAD /events/view/<uuid>: 200 true, 404 false, anything else false
// with an error.
func (c *Client) EventExists(ctx context.Context, uuid string) (bool, error) {
	if err := c.checkRef("event", uuid); err != nil {
		return false, err
	}
	rq := request{method: http.MethodHead, path: "/events/view/" + uuid}
	resp, err := c.do(ctx, rq)
	if err != nil {
		return false, err
	}
	switch resp.status {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, c.statusError(rq, resp)
}

// PushOutcome is what a push achieved.
type PushOutcome int

const (
	Created  PushOutcome = iota + 1 // the remote added the event
	Updated                         // the remote updated its copy
	NotNewer                        // the remote's copy is as new or newer: nothing to do
)

func (o PushOutcome) String() string {
	switch o {
	case Created:
		return "created"
	case Updated:
		return "updated"
	case NotNewer:
		return "not newer"
	}
	return "unknown"
}

// MarshalText makes outcomes readable in JSON.
func (o PushOutcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// PushResult is the outcome of PushEvent and the remote's id of the event when known.
type PushResult struct {
	Outcome  PushOutcome `json:"outcome"`
	RemoteID string      `json:"remote_id,omitempty"`
}

// PushEvent sends an event the way MISP's push does: HEAD to learn whether the remote
// has it, then edit or add with metadata:1, falling back from edit to add on 404 and from
// add to edit on 404 with a Location. A refusal because the remote copy is not older is
// the quiet outcome NotNewer; any other refusal is an *Error with the remote's message.
func (c *Client) PushEvent(ctx context.Context, e *misp.Event) (PushResult, error) {
	return c.pushEvent(ctx, e, true)
}

// PushNewEvent is PushEvent for an event the remote most likely lacks (a bulk push, where
// most events are new there): it posts events/add at once, without the HEAD. A remote
// that has the event answers the add with 404 and a Location (MISP's EventsController::add
// does, and so does mispdesk), and the event then goes as an edit, as PushEvent would
// send it.
func (c *Client) PushNewEvent(ctx context.Context, e *misp.Event) (PushResult, error) {
	return c.pushEvent(ctx, e, false)
}

func (c *Client) pushEvent(ctx context.Context, e *misp.Event, check bool) (PushResult, error) {
	if e == nil || !misp.IsUUID(e.UUID) {
		return PushResult{}, fmt.Errorf("server %q: push: event without a valid UUID", c.cfg.Name)
	}
	body, err := misp.MarshalEvent(e)
	if err != nil {
		return PushResult{}, fmt.Errorf("server %q: push event %s: %w", c.cfg.Name, e.UUID, err)
	}
	exists := false
	if check {
		exists, err = c.EventExists(ctx, e.UUID)
		if err != nil {
			// MISP treats any other answer as "does not exist"; but a cancelled run or a
			// refused key will not get better by posting.
			if ctx.Err() != nil || errors.Is(err, ErrAuth) {
				return PushResult{}, err
			}
			exists = false
		}
	}
	editPath := func(ref string) string { return "/events/edit/" + ref + "/metadata:1" }
	const addPath = "/events/add/metadata:1"
	post := func(path string) (request, *response, error) {
		rq := request{method: http.MethodPost, path: path, body: body}
		resp, err := c.do(ctx, rq)
		return rq, resp, err
	}
	var (
		rq   request
		resp *response
	)
	outcome := Updated
	if exists {
		rq, resp, err = post(editPath(e.UUID))
		if err == nil && resp.status == http.StatusNotFound {
			outcome = Created
			rq, resp, err = post(addPath)
		}
	} else {
		outcome = Created
		rq, resp, err = post(addPath)
		if err == nil && resp.status == http.StatusNotFound {
			if ref := locationRef(resp.header.Get("Location")); ref != "" {
				outcome = Updated
				rq, resp, err = post(editPath(ref))
			}
		}
	}
	if err != nil {
		return PushResult{}, err
	}
	if resp.status >= 200 && resp.status < 300 {
		saved := readSavedEvent(resp.body)
		res := PushResult{Outcome: outcome, RemoteID: escapeText(string(saved.ID), 40)}
		// The answer (metadata:1, as MISP's push asks) holds the remote copy's count of
		// attributes alive; fewer than the push sent alive means the remote dropped some.
		// It lists no reports: those the remote kept are asked for (eventReports/index).
		d := DroppedError{Server: c.cfg.Name, Event: e.UUID}
		if sent := liveAttributes(e); saved.AttributeCount != nil && int(*saved.AttributeCount) < sent {
			d.Sent, d.Kept = sent, int(*saved.AttributeCount)
		}
		if sent := liveReports(e); len(sent) > 0 && res.RemoteID != "" {
			kept, err := c.keptReports(ctx, res.RemoteID, sent)
			if err != nil {
				if ctx.Err() != nil {
					return res, err
				}
				// the event was saved; only the check could not be made, so whether
				// the remote kept every report is unknown: not a success
				d.ReportCheck = err
			} else {
				d.ReportsSent, d.ReportsKept = len(sent), kept
			}
		}
		if d.Kept < d.Sent || d.ReportsKept < d.ReportsSent || d.ReportCheck != nil {
			return res, &d
		}
		return res, nil
	}
	if resp.status == http.StatusForbidden && isNotNewer(resp.body) {
		return PushResult{Outcome: NotNewer}, nil
	}
	return PushResult{}, c.statusError(rq, resp)
}

// locationRef is the last path segment of a Location header when it is an event id or
// UUID.
func locationRef(loc string) string {
	loc = strings.TrimRight(strings.TrimSpace(loc), "/")
	if i := strings.IndexAny(loc, "?#"); i >= 0 {
		loc = loc[:i]
	}
	ref := loc[strings.LastIndexByte(loc, '/')+1:]
	ref = strings.TrimSuffix(ref, ".json")
	if misp.IsUUID(ref) || (ref != "" && len(ref) <= 20 && strings.Trim(ref, "0123456789") == "") {
		return ref
	}
	return ""
}

// savedEvent is what a push's answer says of the remote's copy: its id, and its count of
// attributes alive (nil when the answer does not say).
type savedEvent struct {
	ID             misp.Str  `json:"id"`
	AttributeCount *misp.Int `json:"attribute_count"`
}

func readSavedEvent(body []byte) savedEvent {
	var w struct {
		Event savedEvent `json:"Event"`
	}
	if json.Unmarshal(trimBOM(body), &w, lenient) != nil {
		return savedEvent{}
	}
	return w.Event
}

// liveAttributes counts the attributes of e, its objects' included, that are not deleted
// (as MISP's attribute_count does).
func liveAttributes(e *misp.Event) int {
	n := 0
	for i := range e.Attribute {
		if !bool(e.Attribute[i].Deleted) {
			n++
		}
	}
	for i := range e.Object {
		if bool(e.Object[i].Deleted) {
			continue
		}
		for j := range e.Object[i].Attribute {
			if !bool(e.Object[i].Attribute[j].Deleted) {
				n++
			}
		}
	}
	return n
}

// liveReports lists the UUIDs of e's event reports that are not deleted.
func liveReports(e *misp.Event) []string {
	var out []string
	for i := range e.EventReport {
		if r := &e.EventReport[i]; !bool(r.Deleted) {
			out = append(out, strings.ToLower(r.UUID))
		}
	}
	return out
}

// keptReports counts how many of the reports sent (UUIDs) the remote's copy of the event
// (its id there) holds alive, as its eventReports/index/event_id: lists them.
func (c *Client) keptReports(ctx context.Context, remoteID string, sent []string) (int, error) {
	rq := request{method: http.MethodGet, path: "/eventReports/index/event_id:" + url.PathEscape(remoteID)}
	resp, err := c.do(ctx, rq)
	if err != nil {
		return 0, err
	}
	if resp.status != http.StatusOK {
		return 0, c.statusError(rq, resp)
	}
	var list []struct {
		EventReport struct {
			UUID    string    `json:"uuid"`
			Deleted misp.Bool `json:"deleted"`
		} `json:"EventReport"`
	}
	if err := json.Unmarshal(trimBOM(resp.body), &list, lenient); err != nil {
		return 0, fmt.Errorf("server %q: %s: %w", c.cfg.Name, rq.path, err)
	}
	held := make(map[string]bool, len(list))
	for _, r := range list {
		if !bool(r.EventReport.Deleted) {
			held[strings.ToLower(r.EventReport.UUID)] = true
		}
	}
	kept := 0
	for _, u := range sent {
		if held[u] {
			kept++
		}
	}
	return kept, nil
}

func isNotNewer(body []byte) bool {
	var env struct {
		Errors  jsontext.Value `json:"errors"`
		Message jsontext.Value `json:"message"`
		Error   jsontext.Value `json:"error"`
	}
	if json.Unmarshal(trimBOM(body), &env, lenient) != nil {
		return false
	}
	for _, v := range []jsontext.Value{env.Errors, env.Error, env.Message} {
		if strings.Contains(flatten(v), "not newer than the local copy") {
			return true
		}
	}
	return false
}

// UUIDTimestamp is a candidate for push: an event and its timestamp.
type UUIDTimestamp struct {
	UUID      string
	Timestamp int64
}

// FilterEventIDsForPush asks which of the candidates the remote wants (those it lacks or
// holds an older synced copy of).
func (c *Client) FilterEventIDsForPush(ctx context.Context, cands []UUIDTimestamp) ([]string, error) {
	type ev struct {
		UUID      string   `json:"uuid"`
		Timestamp misp.Int `json:"timestamp"`
	}
	type item struct {
		Event ev `json:"Event"`
	}
	items := make([]item, len(cands))
	for i, x := range cands {
		items[i] = item{ev{x.UUID, misp.Int(x.Timestamp)}}
	}
	body, err := json.Marshal(items)
	if err != nil {
		return nil, err
	}
	rq := request{method: http.MethodPost, path: "/events/filterEventIdsForPush", body: body}
	var out []string
	if _, err := c.requestJSON(ctx, rq, &out); err != nil {
		return nil, err
	}
	return keepUUIDs(out), nil
}

func keepUUIDs(in []string) []string {
	out := in[:0]
	for _, s := range in {
		if misp.IsUUID(s) {
			out = append(out, strings.ToLower(s))
		}
	}
	return out
}

// doOK runs rq and wants 200: any other status is the remote's refusal, told
// by statusError. The response comes back with the error too, when there is one.
func (c *Client) doOK(ctx context.Context, rq request) (*response, error) {
	resp, err := c.do(ctx, rq)
	if err != nil {
		return resp, err
	}
	if resp.status != http.StatusOK {
		return resp, c.statusError(rq, resp)
	}
	return resp, nil
}

// requestJSON runs rq, wants 200 and decodes the body into out (null leaves it
// empty), leniently as MISP's JSON needs. The response is returned for checks
// of what was decoded.
func (c *Client) requestJSON(ctx context.Context, rq request, out any) (*response, error) {
	resp, err := c.doOK(ctx, rq)
	if err != nil {
		return resp, err
	}
	if err := json.Unmarshal(trimBOM(resp.body), out, lenient); err != nil {
		return resp, c.decodeError(rq, resp, err)
	}
	return resp, nil
}

// requestWrapped runs rq, wants 200 and decodes the list of elements, each
// wrapped as {"<key>":{…}}, that it answers (see decodeWrapped).
func requestWrapped[T any](ctx context.Context, c *Client, rq request, key string) ([]T, error) {
	resp, err := c.doOK(ctx, rq)
	if err != nil {
		return nil, err
	}
	list, err := decodeWrapped[T](trimBOM(resp.body), key)
	if err != nil {
		return nil, c.decodeError(rq, resp, err)
	}
	return list, nil
}

// Sightings fetches the sightings of the given events (POST /sightings/restSearch/event),
// 20 events per request as MISP asks.
func (c *Client) Sightings(ctx context.Context, eventUUIDs []string) ([]misp.Sighting, error) {
	var all []misp.Sighting
	for start := 0; start < len(eventUUIDs); start += sightingChunk {
		chunk := eventUUIDs[start:min(start+sightingChunk, len(eventUUIDs))]
		body, err := json.Marshal(map[string]any{"returnFormat": "json", "last": 0, "includeUuid": true, "uuid": chunk},
			json.Deterministic(true))
		if err != nil {
			return nil, err
		}
		rq := request{method: http.MethodPost, path: "/sightings/restSearch/event", body: body}
		got, err := requestWrapped[misp.Sighting](ctx, c, rq, "Sighting")
		if err != nil {
			return nil, err
		}
		all = append(all, got...)
	}
	return all, nil
}

// decodeWrapped decodes {"response":[{"<key>":{…}}]}, a bare list of those, or a list of
// bare elements.
func decodeWrapped[T any](body []byte, key string) ([]T, error) {
	var list []jsontext.Value
	if len(body) > 0 && jsontext.Value(body).Kind() == '{' {
		var env struct {
			Response jsontext.Value `json:"response"`
		}
		if err := json.Unmarshal(body, &env, lenient); err != nil {
			return nil, err
		}
		if env.Response.Kind() == 'n' || len(env.Response) == 0 {
			return nil, nil
		}
		body = env.Response
	}
	if err := json.Unmarshal(body, &list, lenient); err != nil {
		return nil, err
	}
	out := make([]T, 0, len(list))
	for i, raw := range list {
		if raw.Kind() != '{' {
			return nil, fmt.Errorf("element %d is not an object", i)
		}
		var w map[string]jsontext.Value
		if err := json.Unmarshal(raw, &w, lenient); err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		if inner, ok := w[key]; ok {
			raw = inner
		}
		var x T
		if err := json.Unmarshal(raw, &x, lenient); err != nil {
			return nil, fmt.Errorf("element %d: %w", i, misp.DescribeJSONError(err))
		}
		out = append(out, x)
	}
	return out, nil
}

// FilterSightingUUIDsForPush returns those of the sighting UUIDs that the remote already
// has for the event.
func (c *Client) FilterSightingUUIDsForPush(ctx context.Context, eventUUID string, uuids []string) ([]string, error) {
	if err := c.checkRef("event", eventUUID); err != nil {
		return nil, err
	}
	if uuids == nil {
		uuids = []string{}
	}
	body, err := json.Marshal(uuids)
	if err != nil {
		return nil, err
	}
	rq := request{method: http.MethodPost, path: "/sightings/filterSightingUuidsForPush/" + eventUUID, body: body}
	var raw jsontext.Value
	if _, err := c.requestJSON(ctx, rq, &raw); err != nil {
		return nil, err
	}
	// MISP answers a list of UUIDs; tolerate a list of {"Sighting":{"uuid":…}} too.
	var out []string
	if raw.Kind() == '[' {
		var list []jsontext.Value
		_ = json.Unmarshal(raw, &list, lenient)
		for _, v := range list {
			switch v.Kind() {
			case '"':
				var s string
				_ = json.Unmarshal(v, &s, lenient)
				out = append(out, s)
			case '{':
				var w struct {
					UUID     string `json:"uuid"`
					Sighting struct {
						UUID string `json:"uuid"`
					} `json:"Sighting"`
				}
				_ = json.Unmarshal(v, &w, lenient)
				out = append(out, w.UUID+w.Sighting.UUID)
			}
		}
	}
	return keepUUIDs(out), nil
}

// BulkSaveSightings sends sightings of one event (POST /sightings/bulkSaveSightings/<uuid>);
// numbers travel as strings and a missing org_id as "0", as MISP sends them.
func (c *Client) BulkSaveSightings(ctx context.Context, eventUUID string, s []misp.Sighting) error {
	if err := c.checkRef("event", eventUUID); err != nil {
		return err
	}
	if s == nil {
		s = []misp.Sighting{}
	}
	body, err := json.Marshal(s, json.Deterministic(true))
	if err != nil {
		return err
	}
	rq := request{method: http.MethodPost, path: "/sightings/bulkSaveSightings/" + eventUUID, body: body}
	if _, err := c.doOK(ctx, rq); err != nil {
		return err
	}
	// {"saved":false,"success":"No sightings added."} means all were known: not an error.
	return nil
}

// GalaxyCluster fetches one galaxy cluster (GET /galaxy_clusters/view/<uuid>) as the raw
// JSON the remote sent, {"GalaxyCluster":{…}}, checked to be a JSON object.
func (c *Client) GalaxyCluster(ctx context.Context, uuid string) (jsontext.Value, error) {
	if !misp.IsUUID(uuid) {
		return nil, fmt.Errorf("server %q: galaxy cluster %q is not a UUID", c.cfg.Name, escapeText(uuid, 60))
	}
	rq := request{method: http.MethodGet, path: "/galaxy_clusters/view/" + uuid}
	resp, err := c.doOK(ctx, rq)
	if err != nil {
		return nil, err
	}
	v := jsontext.Value(trimBOM(resp.body))
	if err := v.Compact(); err != nil {
		return nil, c.decodeError(rq, resp, err)
	}
	if v.Kind() != '{' {
		return nil, c.contentError(rq, resp, "galaxy cluster answer is not a JSON object")
	}
	return v, nil
}

// ClusterRow is one row of a minimal galaxy cluster search: a cluster and its version.
type ClusterRow struct {
	UUID    string   `json:"uuid"`
	Version misp.Int `json:"version"`
}

// GalaxyClusterIndex lists the remote's custom published clusters (POST
// /galaxy_clusters/restSearch {"published":1,"minimal":1,"custom":1}), only those of
// uuids when given, as MISP's cluster pull and push ask.
func (c *Client) GalaxyClusterIndex(ctx context.Context, uuids []string) ([]ClusterRow, error) {
	q := map[string]any{"published": 1, "minimal": 1, "custom": 1}
	if len(uuids) > 0 {
		q["uuid"] = uuids
	}
	body, err := json.Marshal(q, json.Deterministic(true))
	if err != nil {
		return nil, err
	}
	rq := request{method: http.MethodPost, path: "/galaxy_clusters/restSearch", body: body}
	rows, err := requestWrapped[ClusterRow](ctx, c, rq, "GalaxyCluster")
	if err != nil {
		return nil, err
	}
	out := rows[:0]
	for _, r := range rows {
		if misp.IsUUID(r.UUID) {
			r.UUID = strings.ToLower(r.UUID)
			out = append(out, r)
		}
	}
	return out, nil
}

// PushGalaxyClusters sends clusters (each the member of {"GalaxyCluster":…}) with POST
// /galaxies/pushCluster.
func (c *Client) PushGalaxyClusters(ctx context.Context, clusters []jsontext.Value) error {
	type wrapped struct {
		GalaxyCluster jsontext.Value `json:"GalaxyCluster"`
	}
	items := make([]wrapped, len(clusters))
	for i, cl := range clusters {
		items[i] = wrapped{cl}
	}
	body, err := json.Marshal(items)
	if err != nil {
		return err
	}
	rq := request{method: http.MethodPost, path: "/galaxies/pushCluster", body: body}
	_, err = c.doOK(ctx, rq)
	return err
}
