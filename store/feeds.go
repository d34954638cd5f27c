package store

import (
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"mispdesk/store/misp"
)

// DefaultFeedRules are MISP's rules of a feed added without any: nothing filtered.
const DefaultFeedRules = `{"tags":{"OR":[],"NOT":[]},"orgs":{"OR":[],"NOT":[]}}`

// Feed input sources (MISP's input_source).
const (
	FeedNetwork = "network" // an http:// or https:// URL
	FeedLocal   = "local"   // a directory on this box
)

// Feed is a MISP feed this instance reads: every column of the feeds table, with the names
// of its sharing group and tag.
type Feed struct {
	ID           FeedID `json:"id"`
	Name         string `json:"name"`
	Provider     string `json:"provider"`
	URL          string `json:"url"`
	InputSource  string `json:"input_source"`  // network or local
	SourceFormat string `json:"source_format"` // misp (the only format read so far)
	Enabled      bool   `json:"enabled"`
	Caching      bool   `json:"caching_enabled"`
	// Distribution and SharingGroupID are what the feed's events get here (MISP's rule:
	// 5 keeps the event's own distribution when it has one).
	Distribution     misp.Distribution `json:"distribution"`
	SharingGroupID   SharingGroupID    `json:"sharing_group_id"`
	SharingGroupName string            `json:"sharing_group,omitempty"`
	TagID            int64             `json:"tag_id"`
	Tag              string            `json:"tag"` // added to every event of the feed; "" none
	// Rules are MISP's feed rules JSON (tags and orgs, OR and NOT).
	Rules string `json:"rules"`
	// Headers are extra request headers, one "Key: value" per line.
	Headers  string `json:"headers"`
	Settings string `json:"settings"`
	// ScheduleSeconds fetches the feed this often from the daemon; 0 by hand only.
	ScheduleSeconds int64  `json:"schedule_seconds"`
	Default         bool   `json:"default"`
	LastFetched     int64  `json:"last_fetched"`
	LastResult      string `json:"last_result"`
	// ETag is the validator of the manifest last read in full (an ETag, or a
	// Last-Modified date, or a local file's size and time).
	ETag           string `json:"etag"`
	CacheTimestamp int64  `json:"cache_timestamp"`
	CacheCount     int64  `json:"cache_count"`
	Created        int64  `json:"created"`
	Modified       int64  `json:"modified"`
}

// FeedSpec is a feed as AddFeed and UpdateFeed take it.
type FeedSpec struct {
	Name, Provider, URL string
	// InputSource is network or local; empty: local unless URL is http(s).
	InputSource     string
	SourceFormat    string // empty: misp
	Enabled         bool
	Caching         bool
	Distribution    misp.Distribution
	SharingGroupRef string // id, UUID or name; required for distribution 4
	Tag             string
	Rules           string // empty: DefaultFeedRules
	Headers         string
	Settings        string
	ScheduleSeconds int64
	Default         bool
}

// Spec is the feed as a FeedSpec, to edit and pass to UpdateFeed.
func (f *Feed) Spec() FeedSpec {
	sg := ""
	if f.SharingGroupID != 0 {
		sg = strconv.FormatInt(int64(f.SharingGroupID), 10)
	}
	return FeedSpec{Name: f.Name, Provider: f.Provider, URL: f.URL, InputSource: f.InputSource, SourceFormat: f.SourceFormat,
		Enabled: f.Enabled, Caching: f.Caching, Distribution: f.Distribution, SharingGroupRef: sg, Tag: f.Tag,
		Rules: f.Rules, Headers: f.Headers, Settings: f.Settings, ScheduleSeconds: f.ScheduleSeconds, Default: f.Default}
}

// HeaderLines parses the feed's headers: one "Key: value" per non-blank line.
func (f *Feed) HeaderLines() ([][2]string, error) { return parseFeedHeaders(f.Headers) }

const feedSelect = `SELECT f.id, f.name, f.provider, f.url, f.input_source, f.source_format, f.enabled, f.caching_enabled,
	f.distribution, ifnull(f.sharing_group_id, 0), ifnull(sg.name, ''), ifnull(f.tag_id, 0), ifnull(t.name, ''), f.rules, f.headers,
	f.settings, f.schedule_seconds, f.is_default, f.last_fetched, f.last_result, f.etag, f.cache_timestamp, f.cache_count,
	f.created, f.modified
	FROM feeds f LEFT JOIN sharing_groups sg ON sg.id = f.sharing_group_id LEFT JOIN tags t ON t.id = f.tag_id`

func (f *Feed) dest() []any {
	return []any{&f.ID, &f.Name, &f.Provider, &f.URL, &f.InputSource, &f.SourceFormat, &f.Enabled, &f.Caching,
		&f.Distribution, &f.SharingGroupID, &f.SharingGroupName, &f.TagID, &f.Tag, &f.Rules, &f.Headers,
		&f.Settings, &f.ScheduleSeconds, &f.Default, &f.LastFetched, &f.LastResult, &f.ETag, &f.CacheTimestamp, &f.CacheCount,
		&f.Created, &f.Modified}
}

// Feeds lists the feeds by id.
func (s *Store) Feeds(ctx context.Context) ([]Feed, error) {
	rows, err := s.read.QueryContext(ctx, feedSelect+` ORDER BY f.id`)
	if err != nil {
		return nil, fmt.Errorf("list feeds: %w", err)
	}
	defer rows.Close()
	var out []Feed
	for rows.Next() {
		var f Feed
		if err := rows.Scan(f.dest()...); err != nil {
			return nil, fmt.Errorf("list feeds: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// FeedID is a feed's local id.
type FeedID int64

// ResolveFeed finds the feed a person names by id or name (case-insensitive; ErrNotFound
// when there is none).
func (s *Store) ResolveFeed(ctx context.Context, ref string) (FeedID, error) {
	return resolve[FeedID](ctx, s.read, feedRefs, ref)
}

// Feed reads a feed.
func (s *Store) Feed(ctx context.Context, id FeedID) (*Feed, error) {
	return findFeed(ctx, s.read, id)
}

func findFeed(ctx context.Context, q queryer, id FeedID) (*Feed, error) {
	return readRow(ctx, q, "feed", id, feedSelect+` WHERE f.id = ?`, scanDest[Feed])
}

// feedRow is a checked spec, ready to write.
type feedRow struct {
	FeedSpec
	sgID, tagID sql.NullInt64
}

// AddFeed creates a feed.
func (s *Store) AddFeed(ctx context.Context, spec FeedSpec) (*Feed, error) {
	var id FeedID
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := s.resolveFeed(ctx, tx, spec, 0)
		if err != nil {
			return fmt.Errorf("add feed %q: %w", strings.TrimSpace(spec.Name), err)
		}
		now := s.now().Unix()
		res, err := tx.ExecContext(ctx, `INSERT INTO feeds (name, provider, url, input_source, source_format, enabled,
			caching_enabled, distribution, sharing_group_id, tag_id, rules, headers, settings, schedule_seconds, is_default,
			created, modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Name, r.Provider, r.URL, r.InputSource, r.SourceFormat, r.Enabled, r.Caching, int64(r.Distribution), r.sgID,
			r.tagID, r.Rules, r.Headers, r.Settings, r.ScheduleSeconds, r.Default, now, now)
		if err != nil {
			return fmt.Errorf("add feed %q: %w", r.Name, err)
		}
		n, err := res.LastInsertId()
		id = FeedID(n)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Feed(ctx, id)
}

// UpdateFeed replaces a feed's settings with spec. A changed URL or source forgets the
// manifest's ETag and the cache.
func (s *Store) UpdateFeed(ctx context.Context, id FeedID, spec FeedSpec) (*Feed, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := findFeed(ctx, tx, id)
		if err != nil {
			return fmt.Errorf("edit feed: %w", err)
		}
		r, err := s.resolveFeed(ctx, tx, spec, old.ID)
		if err != nil {
			return fmt.Errorf("edit feed %q: %w", old.Name, err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE feeds SET name = ?, provider = ?, url = ?, input_source = ?, source_format = ?,
			enabled = ?, caching_enabled = ?, distribution = ?, sharing_group_id = ?, tag_id = ?, rules = ?, headers = ?,
			settings = ?, schedule_seconds = ?, is_default = ?, modified = ? WHERE id = ?`,
			r.Name, r.Provider, r.URL, r.InputSource, r.SourceFormat, r.Enabled, r.Caching, int64(r.Distribution), r.sgID,
			r.tagID, r.Rules, r.Headers, r.Settings, r.ScheduleSeconds, r.Default, s.now().Unix(), id)
		if err != nil {
			return fmt.Errorf("edit feed %q: %w", old.Name, err)
		}
		if r.URL != old.URL || r.InputSource != old.InputSource || r.Headers != old.Headers {
			if _, err := tx.ExecContext(ctx, `UPDATE feeds SET etag = '' WHERE id = ?`, id); err != nil {
				return err
			}
		}
		if r.URL != old.URL || r.InputSource != old.InputSource || !r.Caching {
			return clearFeedCache(ctx, tx, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.Feed(ctx, id)
}

// DeleteFeed removes a feed and its cache. The events it brought stay.
func (s *Store) DeleteFeed(ctx context.Context, id FeedID) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		f, err := findFeed(ctx, tx, id)
		if err != nil {
			return fmt.Errorf("delete feed: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM feed_hashes WHERE feed_id = ?`, f.ID); err != nil {
			return fmt.Errorf("delete feed %q: %w", f.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM feeds WHERE id = ?`, f.ID); err != nil {
			return fmt.Errorf("delete feed %q: %w", f.Name, err)
		}
		return nil
	})
}

// resolveFeed checks spec; id is the feed being edited, 0 on add.
func (s *Store) resolveFeed(ctx context.Context, tx *sql.Tx, spec FeedSpec, id FeedID) (*feedRow, error) {
	r := &feedRow{FeedSpec: spec}
	r.Name = strings.TrimSpace(r.Name)
	r.Provider = strings.TrimSpace(r.Provider)
	r.URL = strings.TrimSpace(r.URL)
	if r.Name == "" {
		return nil, errors.New("name is empty")
	}
	if hasControl(r.Name) || hasControl(r.Provider) || hasControl(r.URL) {
		return nil, errors.New("name, provider and url may not hold control characters")
	}
	var clash FeedID
	err := tx.QueryRowContext(ctx, `SELECT id FROM feeds WHERE name = ? COLLATE NOCASE`, r.Name).Scan(&clash)
	if err == nil && clash != id {
		return nil, fmt.Errorf("%w: another feed is named %q", ErrConflict, r.Name)
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if r.URL == "" {
		return nil, errors.New("url is empty: give an http(s) URL or a directory")
	}
	isHTTP := strings.HasPrefix(strings.ToLower(r.URL), "http://") || strings.HasPrefix(strings.ToLower(r.URL), "https://")
	if r.InputSource == "" {
		r.InputSource = FeedLocal
		if isHTTP {
			r.InputSource = FeedNetwork
		}
	}
	switch r.InputSource {
	case FeedNetwork:
		u, err := url.Parse(r.URL)
		if err != nil || !isHTTP || u.Host == "" {
			return nil, fmt.Errorf("url %q must be an http:// or https:// address with a host", r.URL)
		}
		r.URL = strings.TrimRight(r.URL, "/")
	case FeedLocal:
		if isHTTP {
			return nil, fmt.Errorf("url %q is an http address, but the input source is local (a directory)", r.URL)
		}
		if len(r.URL) > 1 {
			r.URL = strings.TrimRight(r.URL, "/")
		}
	default:
		return nil, fmt.Errorf("input source %q: want network or local", r.InputSource)
	}
	if r.SourceFormat == "" {
		r.SourceFormat = "misp"
	}
	if r.SourceFormat != "misp" && r.SourceFormat != "freetext" && r.SourceFormat != "csv" {
		return nil, fmt.Errorf("source format %q: want misp, freetext or csv", r.SourceFormat)
	}
	if !r.Distribution.Valid() {
		return nil, fmt.Errorf("distribution %d is not one of MISP's levels 0-5", r.Distribution)
	}
	if r.Distribution == misp.SharingGroupDist {
		if strings.TrimSpace(r.SharingGroupRef) == "" {
			return nil, errors.New("distribution 4 (sharing group) needs a sharing group")
		}
		sgID, err := resolve[SharingGroupID](ctx, tx, sharingGroupRefs, r.SharingGroupRef)
		if err != nil {
			return nil, fmt.Errorf("sharing group: %w", err)
		}
		r.sgID = sql.NullInt64{Int64: int64(sgID), Valid: true}
	}
	if r.Tag = strings.TrimSpace(r.Tag); r.Tag != "" {
		if hasControl(r.Tag) {
			return nil, errors.New("tag may not hold control characters")
		}
		var tagID int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM tags WHERE name = ?`, r.Tag).Scan(&tagID)
		if errors.Is(err, sql.ErrNoRows) {
			var res sql.Result
			res, err = tx.ExecContext(ctx, `INSERT INTO tags (name) VALUES (?)`, r.Tag)
			if err == nil {
				tagID, err = res.LastInsertId()
			}
		}
		if err != nil {
			return nil, fmt.Errorf("tag %q: %w", r.Tag, err)
		}
		r.tagID = sql.NullInt64{Int64: tagID, Valid: true}
	}
	if r.Rules, err = rulesObject("rules", r.Rules, DefaultFeedRules); err != nil {
		return nil, err
	}
	hs, err := parseFeedHeaders(r.Headers)
	if err != nil {
		return nil, err
	}
	lines := make([]string, len(hs))
	for i, h := range hs {
		lines[i] = h[0] + ": " + h[1]
	}
	r.Headers = strings.Join(lines, "\n")
	if r.ScheduleSeconds < 0 {
		return nil, errors.New("schedule may not be negative")
	}
	if r.ScheduleSeconds > 0 && r.ScheduleSeconds < 60 {
		return nil, fmt.Errorf("schedule of %ds is too often for a feed: at least 60s", r.ScheduleSeconds)
	}
	return r, nil
}

func parseFeedHeaders(text string) ([][2]string, error) {
	var out [][2]string
	for _, line := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("header %.60q: want \"Key: value\"", line)
		}
		if hasControl(k) || hasControl(v) {
			return nil, fmt.Errorf("header %q: holds a control character", k)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) }) >= 0
}

// RecordFeedFetch stores the outcome of a fetch: when, a one-line result, and the
// manifest validator to send next time ("" to read the manifest in full next time).
func (s *Store) RecordFeedFetch(ctx context.Context, feedID FeedID, at time.Time, result, etag string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE feeds SET last_fetched = ?, last_result = ?, etag = ? WHERE id = ?`,
			at.Unix(), result, etag, feedID)
		if err != nil {
			return fmt.Errorf("feed %d: record fetch: %w", feedID, err)
		}
		return nil
	})
}

// FeedHash is one line of a feed's cache: the md5 of a value the feed holds and the
// event it is in.
type FeedHash struct {
	MD5       string // 32 lower-case hex digits
	EventUUID string
}

// ReplaceFeedCache replaces a feed's cache with hashes, in one transaction.
func (s *Store) ReplaceFeedCache(ctx context.Context, feedID FeedID, hashes []FeedHash) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := clearFeedCache(ctx, tx, feedID); err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO feed_hashes (md5, feed_id, event_uuid) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`)
		if err != nil {
			return err
		}
		defer st.Close()
		n := 0
		for _, h := range hashes {
			if !isMD5Hex(h.MD5) || !misp.IsUUID(h.EventUUID) {
				continue
			}
			res, err := st.ExecContext(ctx, strings.ToLower(h.MD5), feedID, strings.ToLower(h.EventUUID))
			if err != nil {
				return fmt.Errorf("feed %d: cache: %w", feedID, err)
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		_, err = tx.ExecContext(ctx, `UPDATE feeds SET cache_timestamp = ?, cache_count = ? WHERE id = ?`, s.now().Unix(), n, feedID)
		return err
	})
}

func clearFeedCache(ctx context.Context, tx *sql.Tx, feedID FeedID) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM feed_hashes WHERE feed_id = ?`, feedID); err != nil {
		return fmt.Errorf("feed %d: clear cache: %w", feedID, err)
	}
	_, err := tx.ExecContext(ctx, `UPDATE feeds SET cache_timestamp = 0, cache_count = 0 WHERE id = ?`, feedID)
	return err
}

func isMD5Hex(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// ValueMD5s are the md5s MISP's feed cache keeps for an attribute value: one for a plain
// value, one per part of a composite value (PyMISP MISPAttribute.hash_values).
func ValueMD5s(typ, value string) []string {
	parts := []string{value}
	if misp.IsComposite(typ) {
		v1, v2 := SplitValue(typ, value)
		parts = []string{v1}
		if v2 != "" {
			parts = append(parts, v2)
		}
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		sum := md5.Sum([]byte(p))
		out[i] = hex.EncodeToString(sum[:])
	}
	return out
}

// FeedHit is one feed holding an attribute's value, with the feed events that hold it.
type FeedHit struct {
	FeedID     int64    `json:"feed_id"`
	FeedName   string   `json:"feed_name"`
	EventUUIDs []string `json:"event_uuids"`
}

// AttributeFeedHits are the feeds holding one attribute's value.
type AttributeFeedHits struct {
	AttributeUUID string    `json:"attribute_uuid"`
	Type          string    `json:"type"`
	Value         string    `json:"value"`
	Feeds         []FeedHit `json:"feeds"`
}

// FeedHits says, for each attribute of the event whose value a cached feed holds, which
// feeds hold it — from the cache alone, without fetching anything. Attributes without hits
// are left out; deleted attributes are not looked up.
func (s *Store) FeedHits(ctx context.Context, eventID EventID) ([]AttributeFeedHits, error) {
	var uuid string
	if err := eventUUID(ctx, s.read, eventID, &uuid); err != nil {
		return nil, fmt.Errorf("feed hits of event %d: %w", eventID, err)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT uuid, type, value1, value2 FROM attributes WHERE event_id = ? AND deleted = 0 ORDER BY id`, int64(eventID))
	if err != nil {
		return nil, fmt.Errorf("feed hits of event %d: %w", eventID, err)
	}
	type attr struct {
		uuid, typ, value string
		md5s             []string
	}
	var attrs []attr
	byMD5 := map[string][]int{}
	for rows.Next() {
		var a attr
		var v1, v2 string
		if err := rows.Scan(&a.uuid, &a.typ, &v1, &v2); err != nil {
			rows.Close()
			return nil, err
		}
		a.value = v1
		if v2 != "" {
			a.value = v1 + "|" + v2
		}
		a.md5s = ValueMD5s(a.typ, a.value)
		for _, h := range a.md5s {
			byMD5[h] = append(byMD5[h], len(attrs))
		}
		attrs = append(attrs, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(byMD5))
	for k := range byMD5 {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// per attribute index: feed id → hit
	hits := map[int]map[int64]*FeedHit{}
	const chunk = 500
	for start := 0; start < len(keys); start += chunk {
		part := keys[start:min(start+chunk, len(keys))]
		args := make([]any, len(part))
		for i, k := range part {
			args[i] = k
		}
		q := `SELECT h.md5, f.id, f.name, h.event_uuid FROM feed_hashes h JOIN feeds f ON f.id = h.feed_id
			WHERE h.md5 IN (?` + strings.Repeat(`, ?`, len(part)-1) + `) ORDER BY f.id, h.event_uuid`
		rows, err := s.read.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("feed hits of event %d: %w", eventID, err)
		}
		for rows.Next() {
			var h, name, ev string
			var fid int64
			if err := rows.Scan(&h, &fid, &name, &ev); err != nil {
				rows.Close()
				return nil, err
			}
			for _, ai := range byMD5[h] {
				m := hits[ai]
				if m == nil {
					m = map[int64]*FeedHit{}
					hits[ai] = m
				}
				fh := m[fid]
				if fh == nil {
					fh = &FeedHit{FeedID: fid, FeedName: name}
					m[fid] = fh
				}
				if !containsString(fh.EventUUIDs, ev) {
					fh.EventUUIDs = append(fh.EventUUIDs, ev)
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	var out []AttributeFeedHits
	for i, a := range attrs {
		m := hits[i]
		if len(m) == 0 {
			continue
		}
		ah := AttributeFeedHits{AttributeUUID: a.uuid, Type: a.typ, Value: a.value}
		for _, fh := range m {
			ah.Feeds = append(ah.Feeds, *fh)
		}
		sort.Slice(ah.Feeds, func(x, y int) bool { return ah.Feeds[x].FeedID < ah.Feeds[y].FeedID })
		out = append(out, ah)
	}
	return out, nil
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
