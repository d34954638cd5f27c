package store

// Correlation as MISP's default engine does it (app/Model/Correlation.php,
// afterSaveCorrelation): each attribute written is linked to the attributes of other events
// that share one of its values, in the transaction that writes it. A composite value
// correlates by its parts (filename|md5 by each; ip-dst|port, ip-src|port and hostname|port
// by the first only); MISP's non-correlating types, attributes and events with
// disable_correlation, deleted attributes and excluded values never correlate; a value that
// matches more than MISP.correlation_limit attributes is recorded as over-correlating and
// adds no rows. Under MISP.enable_advanced_correlations an IP address also correlates with
// the CIDR blocks (ip-src/ip-dst) that hold it, and a block with the addresses in it.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"

	"mispdesk/store/misp"
)

// The correlation settings, under MISP's names.
const (
	SettingCorrelationDisabled     = "MISP.completely_disable_correlation"
	SettingAdvancedCorrelations    = "MISP.enable_advanced_correlations"
	SettingCorrelationLimit        = "MISP.correlation_limit"
	SettingMaxCorrelationsPerEvent = "MISP.max_correlations_per_event"
)

// CorrelationSettings are the correlation settings with MISP's defaults (the limit's is
// OverCorrelatingValue::getLimit's).
var CorrelationSettings = []SettingDef{
	{Name: SettingCorrelationDisabled, Type: "boolean", Default: "false",
		Description: "Disable correlation entirely: nothing new is correlated (what is stored stays)."},
	{Name: SettingAdvancedCorrelations, Type: "boolean", Default: "false",
		Description: "Enable some performance heavy correlations (currently CIDR correlation)."},
	{Name: SettingCorrelationLimit, Type: "numeric", Default: "20",
		Description: "The number of other attributes a value may match before it is treated as over-correlating and no longer correlated."},
	{Name: SettingMaxCorrelationsPerEvent, Type: "numeric", Default: "5000",
		Description: "The most correlations fetched with a single event."},
}

// maxCorrelationSetting bounds the numeric correlation settings.
const maxCorrelationSetting = 1_000_000

// correlationSettingValue checks a numeric correlation setting.
func correlationSettingValue(d *SettingDef, value string) (string, error) {
	n, err := strconv.Atoi(strings.TrimSpace(value))
	if err != nil || n < 1 || n > maxCorrelationSetting {
		return "", invalidSetting("setting %s: %q is not a number from 1 to %d", d.Name, value, maxCorrelationSetting)
	}
	return strconv.Itoa(n), nil
}

// CheckCorrelationSetting checks a value of a correlation setting as SetInstanceSetting
// does before it writes it, so that a form of several is checked whole first.
func CheckCorrelationSetting(name, value string) error {
	for i := range CorrelationSettings {
		if d := &CorrelationSettings[i]; d.Name == name {
			if d.Type == "numeric" {
				_, err := correlationSettingValue(d, value)
				return err
			}
			return d.Check(value)
		}
	}
	return fmt.Errorf("setting %s: %w", name, ErrNotFound)
}

// nonCorrelatingTypes never correlate (MispAttribute::NON_CORRELATING_TYPES).
var nonCorrelatingTypes = []string{"comment", "http-method", "aba-rtn", "gender", "counter", "integer", "float",
	"port", "nationality", "cortex", "boolean", "anonymised"}

// primaryOnlyTypes correlate by their first part only (PRIMARY_ONLY_CORRELATING_TYPES).
var primaryOnlyTypes = []string{"ip-src|port", "ip-dst|port", "hostname|port"}

// ipTypes are the types advanced correlation matches against CIDR blocks.
var ipTypes = []string{"ip-src", "ip-dst", "ip-src|port", "ip-dst|port"}

// Correlates reports whether an attribute of type typ can correlate at all.
func Correlates(typ string) bool { return !slices.Contains(nonCorrelatingTypes, typ) }

func sqlList(vs []string) string { return "'" + strings.Join(vs, "', '") + "'" }

var (
	sqlCorrelationMatch = prepared(`SELECT a.id, a.event_id FROM attributes a JOIN events e ON e.id = a.event_id
		WHERE a.value1 = ?1 AND a.event_id <> ?2 AND a.deleted = 0 AND a.disable_correlation = 0 AND e.disable_correlation = 0
			AND a.type NOT IN (` + sqlList(nonCorrelatingTypes) + `)
		UNION ALL
		SELECT a.id, a.event_id FROM attributes a JOIN events e ON e.id = a.event_id
		WHERE a.value2 = ?1 AND a.value2 <> '' AND a.event_id <> ?2 AND a.deleted = 0 AND a.disable_correlation = 0 AND e.disable_correlation = 0
			AND a.type NOT IN (` + sqlList(nonCorrelatingTypes) + `, ` + sqlList(primaryOnlyTypes) + `)
		LIMIT ?3`)
	// sqlCorrelationProbe finds which values of a JSON array (?1) an attribute of another
	// event holds as value1 or value2, whatever its type, flags or event: a superset of
	// the values sqlCorrelationMatch finds anything for, found for a whole event in one
	// statement instead of one query per value (most values of a new event match nothing).
	sqlCorrelationProbe = prepared(`SELECT j.value FROM json_each(?1) j
		WHERE EXISTS (SELECT 1 FROM attributes a WHERE a.value1 = j.value AND a.event_id <> ?2)
			OR EXISTS (SELECT 1 FROM attributes a WHERE a.value2 = j.value AND a.value2 <> '' AND a.event_id <> ?2)`)
	sqlCorrelationInsert = prepared(`INSERT INTO correlations (value, attribute_id, event_id, attribute_id_1, event_id_1)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
	sqlCorrelationDeleteA  = prepared(`DELETE FROM correlations WHERE attribute_id = ?`)
	sqlCorrelationDeleteA1 = prepared(`DELETE FROM correlations WHERE attribute_id_1 = ?`)
	sqlOverCorrelatingAdd  = prepared(`INSERT INTO over_correlating_values (value, occurrence) VALUES (?, ?)
		ON CONFLICT (value) DO UPDATE SET occurrence = max(occurrence, excluded.occurrence)`)
	sqlOverCorrelatingDel = prepared(`DELETE FROM over_correlating_values WHERE value = ?`)
	sqlCIDRList           = prepared(`SELECT DISTINCT value1 FROM attributes
		WHERE type IN ('ip-src', 'ip-dst') AND instr(value1, '/') > 0 AND deleted = 0 AND disable_correlation = 0`)
	sqlIPsFrom = prepared(`SELECT DISTINCT value1 FROM attributes
		WHERE value1 >= ?1 AND value1 < ?2 AND type IN (` + sqlList(ipTypes) + `) AND instr(value1, '/') = 0
			AND deleted = 0 AND disable_correlation = 0`)
)

// correlationConfig is what correlating needs from the settings, read once per write.
type correlationConfig struct {
	disabled   bool
	advanced   bool
	limit      int
	exclusions []string
	anyOver    bool           // over_correlating_values has rows (else nothing to unblock)
	cidrs      []netip.Prefix // advanced: the stored CIDR blocks, read when first needed
	cidrsRead  bool
}

func readCorrelationConfig(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) (*correlationConfig, error) {
	cfg := &correlationConfig{limit: 20}
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM settings WHERE key IN (?, ?, ?)`,
		SettingCorrelationDisabled, SettingAdvancedCorrelations, SettingCorrelationLimit)
	if err != nil {
		return nil, fmt.Errorf("read correlation settings: %w", err)
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return nil, err
		}
		switch k {
		case SettingCorrelationDisabled:
			cfg.disabled = v == "true"
		case SettingAdvancedCorrelations:
			cfg.advanced = v == "true"
		case SettingCorrelationLimit:
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				cfg.limit = n
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if cfg.disabled {
		return cfg, nil
	}
	over, err := q.QueryContext(ctx, `SELECT 1 FROM over_correlating_values LIMIT 1`)
	if err != nil {
		return nil, fmt.Errorf("read over-correlating values: %w", err)
	}
	cfg.anyOver = over.Next()
	over.Close()
	rows, err = q.QueryContext(ctx, `SELECT value FROM correlation_exclusions`)
	if err != nil {
		return nil, fmt.Errorf("read correlation exclusions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		cfg.exclusions = append(cfg.exclusions, v)
	}
	return cfg, rows.Err()
}

// excluded reports whether the exclusion list holds value: an entry matches the whole
// value, or with % at its start, end or both the value's end, start or any part
// (Correlation::__preventExcludedCorrelations).
func (c *correlationConfig) excluded(value string) bool {
	for _, x := range c.exclusions {
		if exclusionMatches(x, value) {
			return true
		}
	}
	return false
}

func exclusionMatches(x, value string) bool {
	if x == "" {
		return false
	}
	pre, suf := strings.HasPrefix(x, "%"), len(x) > 1 && strings.HasSuffix(x, "%")
	switch {
	case pre && suf:
		return strings.Contains(value, x[1:len(x)-1])
	case pre:
		return strings.HasSuffix(value, x[1:])
	case suf:
		return strings.HasPrefix(value, x[:len(x)-1])
	}
	return value == x
}

// overCorrelatingKey is a value as over_correlating_values keeps it: lower case, at most
// 191 characters (OverCorrelatingValue::truncate).
func overCorrelatingKey(v string) string {
	v = strings.ToLower(v)
	if utf8.RuneCountInString(v) > 191 {
		v = string([]rune(v)[:191])
	}
	return v
}

// corrAttr is an attribute as correlating reads it.
type corrAttr struct {
	id, eventID             int64
	typ, value1, value2     string
	deleted, disabled, live bool // live: stored before this write (its old rows must go)
}

// correlator correlates the attributes of one write.
type correlator struct {
	t   *txStmts
	cfg *correlationConfig
	// matchable, when not nil, holds the values that may have matches (probe): any
	// other value has none and is not looked up.
	matchable map[string]bool
}

// probeBatch bounds the values of one probe statement.
const probeBatch = 1000

// probe finds which values of attrs (all of event eventID) an attribute of another event
// holds, so that attribute and value look up only those. A value that is not valid
// UTF-8 cannot travel in JSON and is always looked up.
func (c *correlator) probe(attrs []corrAttr, eventID int64) error {
	c.matchable = nil
	if c.cfg.disabled {
		return nil
	}
	var values []string
	seen := map[string]bool{}
	for i := range attrs {
		for _, v := range []string{attrs[i].value1, attrs[i].value2} {
			if v != "" && !seen[v] {
				seen[v] = true
				values = append(values, v)
			}
		}
	}
	matchable := make(map[string]bool)
	for len(values) > 0 {
		n := min(len(values), probeBatch)
		var list []string
		for _, v := range values[:n] {
			if utf8.ValidString(v) {
				list = append(list, v)
			} else {
				matchable[v] = true
			}
		}
		values = values[n:]
		arg, err := json.Marshal(list)
		if err != nil {
			return fmt.Errorf("probe correlations of event %d: %w", eventID, err)
		}
		rows, err := c.t.query(sqlCorrelationProbe, string(arg), eventID)
		if err != nil {
			return fmt.Errorf("probe correlations of event %d: %w", eventID, err)
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return fmt.Errorf("probe correlations of event %d: %w", eventID, err)
			}
			matchable[v] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("probe correlations of event %d: %w", eventID, err)
		}
	}
	c.matchable = matchable
	return nil
}

func newCorrelator(t *txStmts) (*correlator, error) {
	cfg, err := readCorrelationConfig(t.ctx, t.tx)
	if err != nil {
		return nil, err
	}
	return &correlator{t: t, cfg: cfg}, nil
}

// forget removes an attribute's rows.
func (c *correlator) forget(id int64) error {
	if _, err := c.t.exec(sqlCorrelationDeleteA, id); err != nil {
		return fmt.Errorf("forget correlations of attribute %d: %w", id, err)
	}
	if _, err := c.t.exec(sqlCorrelationDeleteA1, id); err != nil {
		return fmt.Errorf("forget correlations of attribute %d: %w", id, err)
	}
	return nil
}

// attribute replaces the rows of one attribute of an event whose own disable_correlation
// is eventDisabled.
func (c *correlator) attribute(a *corrAttr, eventDisabled bool) error {
	if a.live {
		if err := c.forget(a.id); err != nil {
			return err
		}
	}
	if c.cfg.disabled || eventDisabled || a.deleted || a.disabled || !Correlates(a.typ) {
		return nil
	}
	var values []string
	if a.value1 != "" && !c.cfg.excluded(a.value1) {
		values = append(values, a.value1)
	}
	if a.value2 != "" && !slices.Contains(primaryOnlyTypes, a.typ) && !c.cfg.excluded(a.value2) {
		values = append(values, a.value2)
	}
	if len(values) == 0 {
		return nil
	}
	var extra []string
	if c.cfg.advanced && slices.Contains(ipTypes, a.typ) && !c.cfg.excluded(a.value1) {
		var err error
		if extra, err = c.cidrValues(a.value1); err != nil {
			return fmt.Errorf("attribute %d: %w", a.id, err)
		}
	}
	for _, v := range values {
		if err := c.value(a, v, extra); err != nil {
			return fmt.Errorf("correlate attribute %d: %w", a.id, err)
		}
	}
	return nil
}

type corrMatch struct {
	value           string
	attrID, eventID int64
}

// value links a to the attributes of other events that hold v (or, advanced, one of
// extra), unless they are more than the limit.
func (c *correlator) value(a *corrAttr, v string, extra []string) error {
	if len(extra) == 0 && c.matchable != nil && !c.matchable[v] {
		return nil
	}
	limit := c.cfg.limit
	var matches []corrMatch
	for _, x := range append([]string{v}, extra...) {
		rows, err := c.t.query(sqlCorrelationMatch, x, a.eventID, limit+1-len(matches))
		if err != nil {
			return err
		}
		for rows.Next() {
			m := corrMatch{value: x}
			if err := rows.Scan(&m.attrID, &m.eventID); err != nil {
				rows.Close()
				return err
			}
			matches = append(matches, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(matches) > limit {
			break
		}
	}
	key := overCorrelatingKey(v)
	if len(matches) > limit {
		c.cfg.anyOver = true
		_, err := c.t.exec(sqlOverCorrelatingAdd, key, len(matches))
		return err
	}
	if len(matches) == 0 {
		return nil
	}
	if c.cfg.anyOver {
		if _, err := c.t.exec(sqlOverCorrelatingDel, key); err != nil {
			return err
		}
	}
	for _, m := range matches {
		lo, loEv, hi, hiEv := a.id, a.eventID, m.attrID, m.eventID
		if lo > hi {
			lo, loEv, hi, hiEv = hi, hiEv, lo, loEv
		}
		if _, err := c.t.exec(sqlCorrelationInsert, m.value, lo, loEv, hi, hiEv); err != nil {
			return err
		}
	}
	return nil
}

// cidrValues are the stored values an IP address or CIDR block correlates with under
// advanced correlation (Correlation::cidrCorrelation): for an address the blocks that
// hold it, for a block the addresses in it (same IP version).
func (c *correlator) cidrValues(v string) ([]string, error) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return nil, nil // not a block: nothing to match
		}
		p = p.Masked()
		lo, hi := ipTextRange(p)
		rows, err := c.t.query(sqlIPsFrom, lo, hi)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return nil, err
			}
			if ip, err := netip.ParseAddr(s); err == nil && p.Contains(ip.Unmap()) {
				out = append(out, s)
			}
		}
		return out, rows.Err()
	}
	ip, err := netip.ParseAddr(v)
	if err != nil {
		return nil, nil
	}
	ip = ip.Unmap()
	if !c.cfg.cidrsRead {
		if err := c.readCIDRs(); err != nil {
			return nil, err
		}
	}
	var out []string
	for _, p := range c.cfg.cidrs {
		if p.Contains(ip) {
			out = append(out, p.String())
		}
	}
	return out, nil
}

// readCIDRs reads the stored CIDR blocks once per write; the text of each is kept as
// stored, since correlation matches on it.
func (c *correlator) readCIDRs() error {
	rows, err := c.t.query(sqlCIDRList)
	if err != nil {
		return err
	}
	defer rows.Close()
	c.cfg.cidrsRead = true
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		if p, err := netip.ParsePrefix(s); err == nil && p.String() == s {
			c.cfg.cidrs = append(c.cfg.cidrs, p)
		}
	}
	return rows.Err()
}

// ipTextRange is the range of value1 texts that can hold an address of p: the text of
// its whole leading octets (IPv4, /8 and longer) or groups (IPv6, /16 and longer) as
// MISP narrows its search; everything otherwise.
func ipTextRange(p netip.Prefix) (string, string) {
	addr := p.Addr().String()
	var prefix string
	if p.Addr().Is4() {
		parts := strings.Split(addr, ".")
		if n := p.Bits() / 8; n > 0 {
			prefix = strings.Join(parts[:n], ".")
		}
	} else {
		parts := strings.Split(strings.TrimRight(addr, ":"), ":")
		if n := min(p.Bits()/16, len(parts)); n > 0 {
			prefix = strings.Join(parts[:n], ":")
		}
	}
	if prefix == "" {
		return "", "\U0010FFFF"
	}
	return prefix, prefix + "\U0010FFFF"
}

// correlate correlates the attributes this write changed, or every attribute of the
// event when its own disable_correlation changed.
func (w *eventWriter) correlate(disabled bool) error {
	changed := w.update && disabled != w.wasUncorrelated
	if !changed && (len(w.corr) == 0 || disabled && !w.update) {
		return nil
	}
	c, err := newCorrelator(&w.txStmts)
	if err != nil {
		return err
	}
	if changed {
		return c.correlateEvent(w.eventID, disabled, true)
	}
	if err := c.probe(w.corr, w.eventID); err != nil {
		return err
	}
	for i := range w.corr {
		if err := c.attribute(&w.corr[i], disabled); err != nil {
			return err
		}
	}
	return nil
}

// correlateEvent replaces the rows of every attribute of an event (when its own
// disable_correlation changed, or on a rebuild).
func (c *correlator) correlateEvent(eventID int64, eventDisabled, live bool) error {
	rows, err := c.t.tx.QueryContext(c.t.ctx, `SELECT id, type, value1, value2, deleted, disable_correlation
		FROM attributes WHERE event_id = ?`, eventID)
	if err != nil {
		return fmt.Errorf("correlate event %d: %w", eventID, err)
	}
	var attrs []corrAttr
	for rows.Next() {
		a := corrAttr{eventID: eventID, live: live}
		if err := rows.Scan(&a.id, &a.typ, &a.value1, &a.value2, &a.deleted, &a.disabled); err != nil {
			rows.Close()
			return err
		}
		attrs = append(attrs, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if err := c.probe(attrs, eventID); err != nil {
		return err
	}
	for i := range attrs {
		if err := c.attribute(&attrs[i], eventDisabled); err != nil {
			return err
		}
	}
	return nil
}

// Recorrelate drops every correlation and over-correlating value and correlates every
// stored event again (MISP's "re-correlate"), batch events to a transaction.
func (s *Store) Recorrelate(ctx context.Context) (events int, err error) {
	if err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM correlations`, `DELETE FROM over_correlating_values`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return 0, fmt.Errorf("recorrelate: %w", err)
	}
	const batch = 200
	var last int64
	for {
		var ids []int64
		var disabled []bool
		rows, err := s.read.QueryContext(ctx, `SELECT id, disable_correlation FROM events WHERE id > ? ORDER BY id LIMIT ?`, last, batch)
		if err != nil {
			return events, fmt.Errorf("recorrelate: %w", err)
		}
		for rows.Next() {
			var id int64
			var d bool
			if err := rows.Scan(&id, &d); err != nil {
				rows.Close()
				return events, err
			}
			ids, disabled = append(ids, id), append(disabled, d)
		}
		rows.Close()
		if len(ids) == 0 {
			return events, rows.Err()
		}
		err = s.tx(ctx, func(tx *sql.Tx) error {
			c, err := newCorrelator(&txStmts{s: s, ctx: ctx, tx: tx})
			if err != nil {
				return err
			}
			for i, id := range ids {
				if err := c.correlateEvent(id, disabled[i], false); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return events, fmt.Errorf("recorrelate: %w", err)
		}
		events += len(ids)
		last = ids[len(ids)-1]
	}
}

// CorrelationSide is one end of a correlation: an attribute and where it sits.
type CorrelationSide struct {
	AttributeID   int64
	AttributeUUID string
	EventID       int64
	ObjectID      int64
	Type          string
	Category      string
	Value         string // the attribute's whole value
	// Path is the attribute's sharing below its event: its object's (when in one) and its
	// own, as Element gives it.
	Path []ElementSharing
}

// Correlation links an attribute of the event (or attribute) asked about, Own, to an
// attribute of another event, Other, by a shared value.
type Correlation struct {
	Value string
	Own   CorrelationSide
	Other CorrelationSide
}

// correlationSideCols reads a side: its attribute t<n>, and object o<n>.
func correlationSideCols(n string) string {
	return fmt.Sprintf(`a%[1]s.id, a%[1]s.uuid, a%[1]s.event_id, ifnull(a%[1]s.object_id, 0), a%[1]s.type, a%[1]s.category,
		a%[1]s.value1, a%[1]s.value2, ifnull(o%[1]s.distribution, -1), ifnull(o%[1]s.sharing_group_id, 0), a%[1]s.distribution, ifnull(a%[1]s.sharing_group_id, 0)`, n)
}

// correlationsQuery reads the correlations of the attributes of event ?1 from both
// directions, found through the event's attributes (there is no index by event id),
// without excluded or over-correlating values, at most limit from each direction as MISP
// fetches them.
func correlationsQuery() string {
	side := func(mine, theirs string) string {
		return `SELECT c.value, ` + correlationSideCols("0") + `, ` + correlationSideCols("1") + `
		FROM correlations c
		JOIN attributes a0 ON a0.id = c.attribute_id` + mine + ` LEFT JOIN objects o0 ON o0.id = a0.object_id
		JOIN attributes a1 ON a1.id = c.attribute_id` + theirs + ` LEFT JOIN objects o1 ON o1.id = a1.object_id
		WHERE c.attribute_id` + mine + ` IN (SELECT id FROM attributes WHERE event_id = ?1)
			AND c.value NOT IN (SELECT value FROM correlation_exclusions)
			AND lower(c.value) NOT IN (SELECT value FROM over_correlating_values)
		LIMIT ?2`
	}
	return `SELECT * FROM (` + side("", "_1") + `) UNION ALL SELECT * FROM (` + side("_1", "") + `)`
}

var sqlEventCorrelations = preparedRead(correlationsQuery())

// EventCorrelations lists the correlations of an event's attributes, unfiltered: the
// gate decides what a viewer sees of them.
func (s *Store) EventCorrelations(ctx context.Context, eventID int64) ([]Correlation, error) {
	limit, err := s.settingInt(ctx, SettingMaxCorrelationsPerEvent)
	if err != nil {
		return nil, err
	}
	rows, err := s.readStmts[sqlEventCorrelations].QueryContext(ctx, eventID, limit)
	if err != nil {
		return nil, fmt.Errorf("read correlations: %w", err)
	}
	return scanCorrelations(rows)
}

var sqlValueCorrelations = preparedRead(`SELECT c.value, ` + correlationSideCols("0") + `, ` + correlationSideCols("1") + `
	FROM correlations c
	JOIN attributes a0 ON a0.id = c.attribute_id LEFT JOIN objects o0 ON o0.id = a0.object_id
	JOIN attributes a1 ON a1.id = c.attribute_id_1 LEFT JOIN objects o1 ON o1.id = a1.object_id
	WHERE c.value = ?1 LIMIT ?2`)

// ValueCorrelations lists the correlations of one value, at most limit, unfiltered: the
// gate decides what a viewer sees of them. Own and Other are the two attributes in the
// order stored.
func (s *Store) ValueCorrelations(ctx context.Context, value string, limit int) ([]Correlation, error) {
	rows, err := s.readStmts[sqlValueCorrelations].QueryContext(ctx, value, limit)
	if err != nil {
		return nil, fmt.Errorf("read correlations of a value: %w", err)
	}
	return scanCorrelations(rows)
}

// scanCorrelations reads rows of a correlations query (a value, then two sides) and
// closes them.
func scanCorrelations(rows *sql.Rows) ([]Correlation, error) {
	defer rows.Close()
	var out []Correlation
	for rows.Next() {
		var c Correlation
		var sides [2]struct {
			v2      string
			objDist int64
			objSG   SharingGroupID
			dist    misp.Distribution
			sg      SharingGroupID
		}
		dest := []any{&c.Value}
		for i, sd := range []*CorrelationSide{&c.Own, &c.Other} {
			dest = append(dest, &sd.AttributeID, &sd.AttributeUUID, &sd.EventID, &sd.ObjectID, &sd.Type, &sd.Category,
				&sd.Value, &sides[i].v2, &sides[i].objDist, &sides[i].objSG, &sides[i].dist, &sides[i].sg)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("read correlations: %w", err)
		}
		for i, sd := range []*CorrelationSide{&c.Own, &c.Other} {
			x := sides[i]
			if x.v2 != "" {
				sd.Value += "|" + x.v2
			}
			if sd.ObjectID != 0 {
				sd.Path = append(sd.Path, ElementSharing{Distribution: misp.Distribution(x.objDist), SharingGroupID: x.objSG})
			}
			sd.Path = append(sd.Path, ElementSharing{Distribution: x.dist, SharingGroupID: x.sg})
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// settingInt reads a numeric correlation setting (its default when unset).
func (s *Store) settingInt(ctx context.Context, name string) (int, error) {
	v, err := s.setting(ctx, s.read, name)
	if err != nil {
		return 0, fmt.Errorf("read setting %s: %w", name, err)
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return n, nil
	}
	for _, d := range CorrelationSettings {
		if d.Name == name {
			return strconv.Atoi(d.Default)
		}
	}
	return 0, fmt.Errorf("setting %s: %w", name, ErrNotFound)
}

// CorrelationExclusion is an entry of MISP's correlation exclusion list.
type CorrelationExclusion struct {
	ID       CorrelationExclusionID `json:"id"`
	Value    string                 `json:"value"`
	FromJSON bool                   `json:"from_json"`
	Comment  string                 `json:"comment"`
}

// ErrExclusionExists is the refusal of a value already on the exclusion list.
var ErrExclusionExists = errors.New("value is already in the exclusion list")

// maxExclusionBytes bounds an exclusion's value (MISP's column is a varchar(255)) and
// comment.
const maxExclusionBytes = 255

// AddCorrelationExclusion puts a value on the exclusion list. Stored correlations stay
// until CleanCorrelationExclusions (as MISP), but reads leave them out at once.
func (s *Store) AddCorrelationExclusion(ctx context.Context, value, comment string) (*CorrelationExclusion, error) {
	value = strings.TrimSpace(value)
	switch {
	case value == "":
		return nil, fmt.Errorf("%w: correlation exclusion: the value is empty", ErrInvalidEvent)
	case len(value) > maxExclusionBytes:
		return nil, fmt.Errorf("%w: correlation exclusion: the value is longer than %d bytes", ErrInvalidEvent, maxExclusionBytes)
	case len(comment) > 64<<10:
		return nil, fmt.Errorf("%w: correlation exclusion: the comment is longer than 64 KiB", ErrInvalidEvent)
	}
	x := &CorrelationExclusion{Value: value, Comment: comment}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `INSERT INTO correlation_exclusions (value, comment) VALUES (?, ?) ON CONFLICT (value) DO NOTHING`, value, comment)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return ErrExclusionExists
		}
		id, err := r.LastInsertId()
		x.ID = CorrelationExclusionID(id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("add correlation exclusion %q: %w", value, err)
	}
	return x, nil
}

// CorrelationExclusions lists the exclusion list by value.
func (s *Store) CorrelationExclusions(ctx context.Context) ([]CorrelationExclusion, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, value, from_json, comment FROM correlation_exclusions ORDER BY value`)
	if err != nil {
		return nil, fmt.Errorf("list correlation exclusions: %w", err)
	}
	defer rows.Close()
	out := []CorrelationExclusion{}
	for rows.Next() {
		var x CorrelationExclusion
		if err := rows.Scan(x.dest()...); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// CorrelationExclusionID is a correlation exclusion's local id.
type CorrelationExclusionID int64

// ResolveCorrelationExclusion finds the entry a person names by id or value (ErrNotFound
// when there is none).
func (s *Store) ResolveCorrelationExclusion(ctx context.Context, ref string) (CorrelationExclusionID, error) {
	return resolve[CorrelationExclusionID](ctx, s.read, exclusionRefs, ref)
}

// CorrelationExclusion reads an entry of the exclusion list.
func (s *Store) CorrelationExclusion(ctx context.Context, id CorrelationExclusionID) (*CorrelationExclusion, error) {
	return readRow(ctx, s.read, "correlation exclusion", id, `SELECT id, value, from_json, comment FROM correlation_exclusions WHERE id = ?`,
		scanDest[CorrelationExclusion])
}

// dest is where a row of id, value, from_json, comment scans to.
func (x *CorrelationExclusion) dest() []any { return []any{&x.ID, &x.Value, &x.FromJSON, &x.Comment} }

// DeleteCorrelationExclusion removes an entry and, in the same transaction, correlates its
// value again (MISP's beforeDelete: correlateValue).
func (s *Store) DeleteCorrelationExclusion(ctx context.Context, id CorrelationExclusionID) error {
	x, err := s.CorrelationExclusion(ctx, id)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM correlation_exclusions WHERE id = ?`, x.ID); err != nil {
			return fmt.Errorf("delete correlation exclusion %q: %w", x.Value, err)
		}
		return s.correlateValue(ctx, tx, x.Value)
	})
}

// correlateValue correlates again every attribute holding value.
func (s *Store) correlateValue(ctx context.Context, tx *sql.Tx, value string) error {
	c, err := newCorrelator(&txStmts{s: s, ctx: ctx, tx: tx})
	if err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT a.id, a.event_id, a.type, a.value1, a.value2, a.deleted, a.disable_correlation, e.disable_correlation
		FROM attributes a JOIN events e ON e.id = a.event_id WHERE a.value1 = ?1 OR (a.value2 = ?1 AND a.value2 <> '')`, value)
	if err != nil {
		return fmt.Errorf("correlate value %q: %w", value, err)
	}
	type item struct {
		a  corrAttr
		ed bool
	}
	var items []item
	for rows.Next() {
		it := item{a: corrAttr{live: true}}
		if err := rows.Scan(&it.a.id, &it.a.eventID, &it.a.typ, &it.a.value1, &it.a.value2, &it.a.deleted, &it.a.disabled, &it.ed); err != nil {
			rows.Close()
			return err
		}
		items = append(items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range items {
		if err := c.attribute(&items[i].a, items[i].ed); err != nil {
			return err
		}
	}
	return nil
}

// CleanCorrelationExclusions deletes the stored correlations of every excluded value
// (MISP's correlation_exclusions/clean); it returns how many went.
func (s *Store) CleanCorrelationExclusions(ctx context.Context) (int64, error) {
	xs, err := s.CorrelationExclusions(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.tx(ctx, func(tx *sql.Tx) error {
		for _, x := range xs {
			r, err := tx.ExecContext(ctx, `DELETE FROM correlations WHERE value GLOB ?`, exclusionGlob(x.Value))
			if err != nil {
				return err
			}
			k, _ := r.RowsAffected()
			n += k
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("clean correlations: %w", err)
	}
	return n, nil
}

// exclusionGlob is an exclusion entry as a GLOB pattern: % at either end for any text,
// everything else literal.
func exclusionGlob(x string) string {
	pre, suf := strings.HasPrefix(x, "%"), len(x) > 1 && strings.HasSuffix(x, "%")
	body := x
	if pre {
		body = body[1:]
	}
	if suf {
		body = body[:len(body)-1]
	}
	var b strings.Builder
	if pre {
		b.WriteByte('*')
	}
	for _, r := range body {
		switch r {
		case '*', '?', '[', ']':
			b.WriteByte('[')
			b.WriteRune(r)
			b.WriteByte(']')
		default:
			b.WriteRune(r)
		}
	}
	if suf {
		b.WriteByte('*')
	}
	return b.String()
}

// CorrelationCount is a value with how many correlations hold it.
type CorrelationCount struct {
	Value string
	Count int
	// Over is set for a value on the over-correlating list (Count is then the number of
	// matches seen when it went there).
	Over bool
}

// TopCorrelations lists the values with the most stored correlations (MISP's "top
// correlations"), then the over-correlating values, at most limit of each.
func (s *Store) TopCorrelations(ctx context.Context, limit int) ([]CorrelationCount, error) {
	var out []CorrelationCount
	read := func(q string, over bool) error {
		rows, err := s.read.QueryContext(ctx, q, limit)
		if err != nil {
			return fmt.Errorf("top correlations: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			c := CorrelationCount{Over: over}
			if err := rows.Scan(&c.Value, &c.Count); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	}
	if err := read(`SELECT value, count(*) AS n FROM correlations
		WHERE value NOT IN (SELECT value FROM correlation_exclusions)
		GROUP BY value ORDER BY n DESC, value LIMIT ?`, false); err != nil {
		return nil, err
	}
	if err := read(`SELECT value, occurrence FROM over_correlating_values ORDER BY occurrence DESC, value LIMIT ?`, true); err != nil {
		return nil, err
	}
	return out, nil
}
