package mispapi

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/gate"
)

// indexFilter is an events/index request: the store query plus what is applied here.
type indexFilter struct {
	q       store.IndexQuery
	minimal bool
	limit   int
	page    int
}

// indexParams collects the request's filters: the JSON body of a POST, the named
// parameters and the query string, each key with or without MISP's "search" prefix.
func (c *call) indexParams() (map[string]any, error) {
	params := map[string]any{}
	if c.r.Method == http.MethodPost || c.r.Method == http.MethodPut {
		b, err := c.body()
		if err != nil {
			return nil, err
		}
		if len(strings.TrimSpace(string(b))) > 0 {
			var body any
			if err := json.Unmarshal(b, &body); err != nil {
				return nil, httpError(http.StatusBadRequest, msgInvalidJSON)
			}
			m, ok := body.(map[string]any)
			if !ok {
				if _, isList := body.([]any); !isList || len(body.([]any)) > 0 {
					return nil, httpError(http.StatusBadRequest, msgInvalidJSON)
				}
				m = map[string]any{}
			}
			if req, ok := m["request"].(map[string]any); ok {
				m = req
			}
			for k, v := range m {
				params[k] = v
			}
		}
	}
	for k, vs := range c.path.Named {
		if len(vs) == 1 {
			params[k] = vs[0]
		} else {
			l := make([]any, len(vs))
			for i, v := range vs {
				l[i] = v
			}
			params[k] = l
		}
	}
	for k, vs := range c.r.URL.Query() {
		if len(vs) > 0 {
			params[strings.TrimSuffix(k, "[]")] = vs[len(vs)-1]
		}
	}
	out := map[string]any{}
	for k, v := range params {
		k = strings.ToLower(k)
		if strings.HasPrefix(k, "search") && len(k) > len("search") {
			k = strings.TrimPrefix(k, "search")
		}
		out[k] = v
	}
	return out, nil
}

// parseIndexFilter reads MISP's index filters (EventsController::index in MISP's app/Controller/EventsController.php). Values may be
// strings, numbers, lists, "|"-joined strings or {"OR":…,"NOT":…,"AND":…}; "!" negates.
// Filters that search attributes (value, attribute, all, email, hasproposal) are not
// served and are ignored, as MISP ignores keys it does not know.
func parseIndexFilter(params map[string]any, now time.Time) (*indexFilter, error) {
	f := &indexFilter{page: 1}
	for k, v := range params {
		switch k {
		case "minimal":
			f.minimal = truthy(v)
			f.q.Minimal = f.minimal
		case "published":
			vals := values(v)
			var t, fl bool
			for _, s := range vals.or {
				if truthy(s) {
					t = true
				} else {
					fl = true
				}
			}
			if t != fl {
				f.q.Published = &t
			}
		case "timestamp":
			from, to, err := timeRange(v, now)
			if err != nil {
				return nil, err
			}
			f.q.TimestampFrom, f.q.TimestampTo = from, to
		case "publish_timestamp", "publishtimestamp":
			from, to, err := timeRange(v, now)
			if err != nil {
				return nil, err
			}
			f.q.PublishTimestampFrom, f.q.PublishTimestampTo = from, to
		case "datefrom", "from":
			s, err := dateValue(v)
			if err != nil {
				return nil, err
			}
			f.q.DateFrom = s
		case "dateuntil", "to":
			s, err := dateValue(v)
			if err != nil {
				return nil, err
			}
			f.q.DateUntil = s
		case "tag", "tags":
			vals := tagValues(v)
			f.q.TagsOR = append(f.q.TagsOR, vals.or...)
			f.q.TagsAND = append(f.q.TagsAND, vals.and...)
			f.q.TagsNOT = append(f.q.TagsNOT, vals.not...)
		case "org":
			vals := values(v)
			f.q.OrgsOR = append(f.q.OrgsOR, vals.or...)
			f.q.OrgsNOT = append(f.q.OrgsNOT, vals.not...)
		case "eventid", "uuid", "eventuuid":
			vals := values(v)
			f.q.EventIDs = append(f.q.EventIDs, vals.or...)
			f.q.EventIDsNOT = append(f.q.EventIDsNOT, vals.not...)
		case "distribution":
			f.q.Distributions = append(f.q.Distributions, ints(values(v).or)...)
		case "threatlevel", "threat_level_id":
			f.q.ThreatLevels = append(f.q.ThreatLevels, ints(values(v).or)...)
		case "analysis":
			f.q.Analyses = append(f.q.Analyses, ints(values(v).or)...)
		case "sharinggroup", "sharing_group_id":
			f.q.SharingGroups = append(f.q.SharingGroups, ints(values(v).or)...)
		case "eventinfo", "info":
			if vals := values(v); len(vals.or) > 0 {
				f.q.Info = strings.Trim(vals.or[0], "%")
			}
		case "limit":
			f.limit = atoiDefault(scalar(v), 0)
		case "page":
			f.page = max(atoiDefault(scalar(v), 1), 1)
		case "direction":
			f.q.Ascending = strings.EqualFold(scalar(v), "asc")
		}
	}
	return f, nil
}

// eventsIndex is GET|POST /events/index.
func (c *call) eventsIndex() error {
	params, err := c.indexParams()
	if err != nil {
		return err
	}
	f, err := parseIndexFilter(params, time.Now())
	if err != nil {
		return err
	}
	vis, err := c.check()
	if err != nil {
		return err
	}
	if c.etag, err = c.indexETag(f); err != nil {
		return err
	}
	if c.notModified(c.etag) {
		return nil
	}
	skip := 0
	if f.limit > 0 {
		skip = (f.page - 1) * f.limit
		if f.page > 1 && skip/(f.page-1) != f.limit { // overflow
			skip = int(^uint(0) >> 1)
		}
	}
	var (
		rows    []store.IndexRow
		failure error
	)
	err = c.a.st.EventIndex(c.ctx, f.q, func(r *store.IndexRow) bool {
		ok, err := vis.Row(r)
		if err != nil {
			failure = err
			return false
		}
		if !ok || (r.Protected.Valid && r.Protected.Int64 != 0) {
			// MISP lists a protected event only when its own signing key may sign it
			// (protectedEventsByInstanceKey); mispdesk has none.
			return true
		}
		if skip > 0 {
			skip--
			return true
		}
		rows = append(rows, *r)
		return f.limit == 0 || len(rows) < f.limit
	})
	if err == nil {
		err = failure
	}
	if err != nil {
		return err
	}
	c.w.Header().Set("X-Result-Count", strconv.Itoa(len(rows)))
	if f.minimal {
		return c.replyRaw2(minimalIndex(rows))
	}
	full, err := c.fullIndex(rows, vis)
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, full)
}

// indexFormat changes when this code answers the same index differently, so that an ETag
// given out before never matches an answer of another form.
const indexFormat = "1"

// indexETag is the ETag of an index answer, known without reading the index: the store's
// index version, the viewer (organisation and role decide what it sees, and a sync
// account is not shown local tags) and the filter (absolute times included: a relative
// one gives another ETag as time passes).
func (c *call) indexETag(f *indexFilter) (string, error) {
	version, err := c.a.st.IndexVersion(c.ctx)
	if err != nil {
		return "", err
	}
	key, err := json.Marshal(struct {
		Format, Version string
		Viewer          *policy.Viewer
		Query           store.IndexQuery
		Limit, Page     int
	}{indexFormat, version, c.viewer, f.q, f.limit, f.page}, json.Deterministic(true))
	if err != nil {
		return "", fmt.Errorf("index etag: %w", err)
	}
	sum := sha1.Sum(key)
	return `"` + hex.EncodeToString(sum[:]) + `"`, nil
}

func (c *call) replyRaw2(b []byte) error {
	c.replyRaw(http.StatusOK, b)
	return nil
}

// minimalIndex writes MISP's minimal index rows directly: a 100,000-row index is the
// common case of a pull and is built without reflection.
func minimalIndex(rows []store.IndexRow) []byte {
	b := make([]byte, 0, 64+len(rows)*190)
	b = append(b, '[')
	for i := range rows {
		r := &rows[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":"`...)
		b = strconv.AppendInt(b, int64(r.ID), 10)
		b = append(b, `","timestamp":"`...)
		b = strconv.AppendInt(b, r.Timestamp, 10)
		b = append(b, `","sighting_timestamp":"`...)
		b = strconv.AppendInt(b, r.SightingTimestamp, 10)
		b = append(b, `","published":`...)
		b = strconv.AppendBool(b, r.Published)
		b = append(b, `,"uuid":`...)
		b, _ = jsontext.AppendQuote(b, r.UUID)
		b = append(b, `,"orgc_uuid":`...)
		b, _ = jsontext.AppendQuote(b, r.OrgcUUID)
		b = append(b, '}')
	}
	return append(b, ']')
}

// fullIndex is the non-minimal index: flat event records with Org, Orgc, SharingGroup
// and EventTag, as PyMISP's search_index reads them.
func (c *call) fullIndex(rows []store.IndexRow, vis *gate.Check) ([]map[string]any, error) {
	ids := make([]store.EventID, len(rows))
	for i := range rows {
		ids[i] = rows[i].ID
	}
	tags, err := c.a.st.EventTagsOf(c.ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(rows))
	for i := range rows {
		r := &rows[i]
		var protected any
		if r.Protected.Valid {
			protected = r.Protected.Int64 != 0
		}
		m := map[string]any{
			"id": itoa(r.ID), "org_id": itoa(r.OrgID), "orgc_id": itoa(r.OrgcID), "date": r.Date, "info": r.Info,
			"uuid": r.UUID, "published": r.Published, "analysis": itoa(r.Analysis), "attribute_count": itoa(r.AttributeCount),
			"timestamp": itoa(r.Timestamp), "distribution": itoa(int64(r.Distribution)), "sharing_group_id": itoa(r.SharingGroupID),
			"proposal_email_lock": r.ProposalEmailLock, "locked": r.Locked, "threat_level_id": itoa(r.ThreatLevelID),
			"publish_timestamp": itoa(r.PublishTimestamp), "sighting_timestamp": itoa(r.SightingTimestamp),
			"disable_correlation": r.DisableCorrelation, "extends_uuid": r.ExtendsUUID, "protected": protected,
			"Org":  map[string]any{"id": itoa(r.OrgID), "name": r.OrgName, "uuid": r.OrgUUID},
			"Orgc": map[string]any{"id": itoa(r.OrgcID), "name": r.OrgcName, "uuid": r.OrgcUUID},
		}
		if r.Distribution == misp.SharingGroupDist {
			if sg, err := vis.SharingGroup(r.SharingGroupID); err == nil && sg != nil {
				m["SharingGroup"] = map[string]any{"id": itoa(int64(sg.ID)), "name": sg.Name, "uuid": sg.UUID}
			}
		}
		et := []map[string]any{}
		for _, t := range c.viewer.SharedTags(tags[r.ID]) {
			et = append(et, map[string]any{"id": "0", "event_id": itoa(r.ID), "tag_id": itoa(int64(t.ID)), "local": bool(t.Local),
				"relationship_type": nil, "Tag": map[string]any{"id": itoa(int64(t.ID)), "name": t.Name, "colour": t.Colour,
					"is_galaxy": bool(t.IsGalaxy)}})
		}
		m["EventTag"] = et
		out = append(out, m)
	}
	return out, nil
}

// filterValues is a filter's values sorted into MISP's OR, NOT and AND groups.
type filterValues struct{ or, not, and []string }

func values(v any) filterValues {
	var f filterValues
	var walk func(v any, neg bool)
	walk = func(v any, neg bool) {
		switch x := v.(type) {
		case nil:
		case []any:
			for _, e := range x {
				walk(e, neg)
			}
		case map[string]any:
			for k, e := range x {
				switch strings.ToUpper(k) {
				case "NOT":
					walk(e, true)
				case "AND":
					f.and = append(f.and, values(e).or...)
				default:
					walk(e, neg)
				}
			}
		default:
			for _, s := range strings.Split(scalar(x), "|") {
				s = strings.TrimSpace(s)
				if s == "" {
					continue
				}
				if strings.HasPrefix(s, "!") {
					if s = strings.TrimPrefix(s, "!"); s != "" {
						f.not = append(f.not, s)
					}
				} else if neg {
					f.not = append(f.not, s)
				} else {
					f.or = append(f.or, s)
				}
			}
		}
	}
	walk(v, false)
	return f
}

// tagValues is values for a tag filter, where MISP also reads "a&b" among the
// OR values as "both a and b": those go to the AND group.
func tagValues(v any) filterValues {
	vals := values(v)
	var or, and []string
	for _, s := range vals.or {
		if strings.Contains(s, "&") {
			and = append(and, nonEmpty(strings.Split(s, "&"))...)
		} else {
			or = append(or, s)
		}
	}
	return filterValues{or: or, not: vals.not, and: append(and, vals.and...)}
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "1"
		}
		return "0"
	case []any:
		if len(x) > 0 {
			return scalar(x[0])
		}
	}
	return ""
}

func truthy(v any) bool {
	switch strings.ToLower(strings.TrimSpace(scalar(v))) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func ints(ss []string) []int64 {
	var out []int64
	for _, s := range ss {
		if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

var deltaRe = regexp.MustCompile(`^(\d{1,9})([smhdw])$`)

// timeValue reads one of MISP's times: unix seconds, a delta back from now ("30d",
// "12h", "15m", "2w", "90s") or a date (YYYY-MM-DD[ HH:MM:SS]).
func timeValue(s string, now time.Time) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return max(n, 0), true
	}
	if m := deltaRe.FindStringSubmatch(strings.ToLower(s)); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		unit := map[string]int64{"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m[2]]
		return max(now.Unix()-n*unit, 0), true
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02 15:04:05", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return max(t.Unix(), 0), true
		}
	}
	return 0, false
}

func timeRange(v any, now time.Time) (int64, int64, error) {
	bad := httpError(http.StatusBadRequest, "Invalid timestamp filter: want a unix time, a delta such as 30d, or a [from, to] pair.")
	if l, ok := v.([]any); ok {
		if len(l) == 0 || len(l) > 2 {
			return 0, 0, bad
		}
		from, ok1 := timeValue(scalar(l[0]), now)
		to := int64(0)
		ok2 := true
		if len(l) == 2 {
			to, ok2 = timeValue(scalar(l[1]), now)
		}
		if !ok1 || !ok2 {
			return 0, 0, bad
		}
		return from, to, nil
	}
	from, ok := timeValue(scalar(v), now)
	if !ok {
		return 0, 0, bad
	}
	return from, 0, nil
}

func dateValue(v any) (string, error) {
	s := strings.TrimSpace(scalar(v))
	if s == "" {
		return "", nil
	}
	if _, err := time.Parse("2006-01-02", s); err == nil {
		return s, nil
	}
	if t, ok := timeValue(s, time.Now()); ok {
		return time.Unix(t, 0).UTC().Format("2006-01-02"), nil
	}
	return "", httpError(http.StatusBadRequest, "Invalid date filter "+strconv.Quote(s)+": want YYYY-MM-DD.")
}
