package misp

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// maxWrapDepth bounds how deeply events may be wrapped in lists and responses.
const maxWrapDepth = 4

var decodeOpts = json.JoinOptions(
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
)

// ErrGalaxyDocument is returned for a document that holds a galaxy and its clusters rather
// than events.
var ErrGalaxyDocument = errors.New("document is a galaxy, not an event")

// envelope is every wrapper MISP and its tools put around events.
type envelope struct {
	Event    *Event         `json:"Event"`
	Response jsontext.Value `json:"response"`
	Request  jsontext.Value `json:"request"`
	Rest     Extra          `json:",embed"`
}

// ParseEvents decodes a document holding events in any shape MISP and its tools write:
// {"Event":{…}}, {"response":[{"Event":…},…]}, {"response":{"Event":…}}, a bare event
// object, or a list of any of those. Each event is normalised (see Normalize) and checked.
func ParseEvents(data []byte) ([]*Event, error) {
	var out []*Event
	if err := parseInto(data, &out, 0); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no event in document")
	}
	for i, e := range out {
		if err := e.Normalize(); err != nil {
			if len(out) > 1 {
				return nil, fmt.Errorf("event %d: %w", i, err)
			}
			return nil, err
		}
	}
	return out, nil
}

// ParseEvent decodes a document that must hold exactly one event.
func ParseEvent(data []byte) (*Event, error) {
	evs, err := ParseEvents(data)
	if err != nil {
		return nil, err
	}
	if len(evs) != 1 {
		return nil, fmt.Errorf("want one event, document holds %d", len(evs))
	}
	return evs[0], nil
}

// ReadEvent decodes one event from r as it arrives, without holding the document in
// memory beside the event: the way to read a large event from a peer. It accepts what
// ParseEvent accepts and normalises the event the same way. A document whose elements
// pass MaxElementBytes is refused with ErrTooLarge.
func ReadEvent(r io.Reader) (*Event, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if lead, _ := br.Peek(3); bytes.Equal(lead, []byte("\ufeff")) {
		br.Discard(3) // a byte-order mark some tools write
	}
	var env envelope
	budget := &elementBudget{left: MaxElementBytes}
	if err := json.UnmarshalRead(br, &env, decodeOpts, budget.unmarshalers()); err != nil {
		return nil, DescribeJSONError(err)
	}
	if env.Event != nil {
		if err := env.Event.Normalize(); err != nil {
			return nil, err
		}
		return env.Event, nil
	}
	// Another shape: what was read is small enough to decode again from memory.
	var doc []byte
	switch {
	case len(env.Response) > 0:
		doc = env.Response
	case len(env.Request) > 0:
		doc = env.Request
	default:
		b, err := json.Marshal(env.Rest, json.Deterministic(true))
		if err != nil {
			return nil, err
		}
		doc = b
	}
	return ParseEvent(doc)
}

func parseInto(data []byte, out *[]*Event, depth int) error {
	if depth > maxWrapDepth {
		return errors.New("events wrapped too deeply")
	}
	data = bytes.TrimPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("\ufeff"))
	switch firstByte(data) {
	case '[':
		var items []jsontext.Value
		if err := json.Unmarshal(data, &items, decodeOpts); err != nil {
			return DescribeJSONError(err)
		}
		for i, it := range items {
			if err := parseInto(it, out, depth+1); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
		}
		return nil
	case '{':
	default:
		var v any
		if err := json.Unmarshal(data, &v, decodeOpts); err != nil {
			return DescribeJSONError(err)
		}
		return errors.New("document is not a JSON object or array")
	}
	var env envelope
	if err := json.Unmarshal(data, &env, decodeOpts); err != nil {
		return DescribeJSONError(err)
	}
	switch {
	case env.Event != nil:
		*out = append(*out, env.Event)
		return nil
	case len(env.Response) > 0:
		return parseInto(env.Response, out, depth+1)
	case len(env.Request) > 0:
		return parseInto(env.Request, out, depth+1)
	}
	if _, ok := env.Rest["GalaxyCluster"]; ok {
		if _, ok := env.Rest["info"]; !ok {
			return ErrGalaxyDocument
		}
	}
	if _, ok := env.Rest["uuid"]; !ok {
		if _, ok := env.Rest["info"]; !ok {
			return errors.New(`no "Event" member, and not an event`)
		}
	}
	var e Event
	if err := json.Unmarshal(data, &e, decodeOpts); err != nil {
		return DescribeJSONError(err)
	}
	*out = append(*out, &e)
	return nil
}

func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n\ufeff")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// DecodeError says where in a JSON document decoding failed.
type DecodeError struct {
	Pointer string // JSON pointer of the offending member, e.g. /Event/Attribute/3/timestamp
	Offset  int64  // byte offset in the document
	Err     error
	Syntax  bool // the document is not well-formed JSON (rather than JSON of the wrong shape)
}

func (e *DecodeError) Error() string {
	switch {
	case e.Pointer != "":
		return fmt.Sprintf("at %s (byte %d): %v", e.Pointer, e.Offset, e.Err)
	default:
		return fmt.Sprintf("at byte %d: %v", e.Offset, e.Err)
	}
}

func (e *DecodeError) Unwrap() error { return e.Err }

// DescribeJSONError turns the JSON library's errors into a DecodeError that names the
// member and byte offset in words a person can act on.
func DescribeJSONError(err error) error {
	var se *json.SemanticError
	if errors.As(err, &se) {
		inner := se.Err
		if inner == nil {
			inner = fmt.Errorf("cannot store JSON %s in %s", kindWord(se.JSONKind), se.GoType)
		}
		return &DecodeError{Pointer: string(se.JSONPointer), Offset: se.ByteOffset, Err: inner}
	}
	var sy *jsontext.SyntacticError
	if errors.As(err, &sy) {
		return &DecodeError{Pointer: string(sy.JSONPointer), Offset: sy.ByteOffset, Err: sy.Err, Syntax: true}
	}
	if errors.Is(err, jsontext.ErrDuplicateName) {
		return &DecodeError{Err: err}
	}
	return err
}

func kindWord(k jsontext.Kind) string {
	if k == 0 {
		return "value"
	}
	return strings.TrimPrefix(kindName(k), "a ")
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsUUID reports whether s has the form of a UUID.
func IsUUID(s string) bool { return uuidRE.MatchString(s) }

// Normalize brings an event decoded from any of MISP's input shapes to the one shape the
// rest of mispdesk works with, and refuses what cannot be stored safely:
//   - EventTag/AttributeTag lists (with nested Tag) become Tag lists; a legacy "orgc" string
//     becomes Orgc;
//   - UUIDs are lower-cased; a missing attribute, object or report UUID is derived from the
//     event UUID and the element's content, so importing the same file twice gives the
//     same UUIDs;
//   - a missing date is taken from the timestamp;
//   - the event UUID must be a UUID and info must be present; every attribute needs a type
//     and a value, every distribution must be a MISP level;
//   - what MISP leaves out of an event it stores is left out here too: an attribute whose
//     value MISP refuses, an attribute or an object (with its attributes) seen last before
//     it was seen first (their attributes are listed in Dropped), a report without a
//     name; first_seen and last_seen are brought to MISP's form.
func (e *Event) Normalize() error {
	e.UUID = strings.ToLower(strings.TrimSpace(e.UUID))
	if e.UUID == "" && strings.TrimSpace(e.Info) != "" {
		// MISP gives a new event a random UUID; one derived from what identifies the
		// event lets the same file be imported twice without making two events.
		e.UUID = DerivedUUID("event", e.Info, e.Date, fmt.Sprint(int64(e.Timestamp)))
	}
	if !IsUUID(e.UUID) {
		if e.UUID == "" {
			return errors.New("event has no uuid (Event.uuid)")
		}
		return fmt.Errorf("event uuid %q (Event.uuid) is not a UUID", truncate(e.UUID, 60))
	}
	if strings.TrimSpace(e.Info) == "" {
		return fmt.Errorf("event %s: Event.info is empty", e.UUID)
	}
	if e.Distribution == InheritEvent {
		return fmt.Errorf("event %s: Event.distribution 5 (inherit) is only valid for children", e.UUID)
	}
	if e.Date == "" && e.Timestamp > 0 {
		e.Date = time.Unix(int64(e.Timestamp), 0).UTC().Format(time.DateOnly)
	}
	if err := takeTagLinks(&e.Tag, e.Extra, "EventTag"); err != nil {
		return fmt.Errorf("event %s: %w", e.UUID, err)
	}
	if e.Orgc == nil {
		if v, ok := e.Extra["orgc"]; ok && v.Kind() == '"' {
			name, _ := unquote(v)
			e.Orgc = &Org{Name: name}
			delete(e.Extra, "orgc")
		}
	}
	e.Org, e.Orgc = nonEmptyOrg(e.Org), nonEmptyOrg(e.Orgc)
	e.SharingGroup = nonEmptySG(e.SharingGroup)
	seen := make(map[string]string, len(e.Attribute))
	var err error
	if e.Attribute, err = e.normalizeAttributes(e.Attribute, "Attribute", seen); err != nil {
		return fmt.Errorf("event %s: %w", e.UUID, err)
	}
	objects := e.Object[:0]
	for i := range e.Object {
		o := &e.Object[i]
		where := fmt.Sprintf("Object[%d]", i)
		if o.FirstSeen, o.LastSeen, err = NormalizeSeen(o.FirstSeen, o.LastSeen); err != nil {
			reason := err.Error()
			// MISP refuses the object and saves none of its attributes.
			for j := range o.Attribute {
				a := &o.Attribute[j]
				e.drop(DroppedAttribute{Where: fmt.Sprintf("%s.Attribute[%d]", where, j), UUID: strings.ToLower(a.UUID), Type: a.Type,
					Value: truncate(a.Value, 80), Reason: "its object: " + reason})
			}
			slog.Warn("object dropped: MISP refuses it", "event", e.UUID, "where", where, "uuid", o.UUID, "reason", reason)
			continue
		}
		if o.UUID == "" {
			o.UUID = DerivedUUID(e.UUID, "object", o.Name, o.TemplateUUID, fmt.Sprint(i))
		}
		o.UUID = strings.ToLower(o.UUID)
		if !IsUUID(o.UUID) {
			return fmt.Errorf("event %s: %s.uuid %q is not a UUID", e.UUID, where, truncate(o.UUID, 60))
		}
		if o.Name == "" {
			return fmt.Errorf("event %s: %s.name is empty", e.UUID, where)
		}
		o.SharingGroup = nonEmptySG(o.SharingGroup)
		if o.Attribute, err = e.normalizeAttributes(o.Attribute, where+".Attribute", seen); err != nil {
			return fmt.Errorf("event %s: %w", e.UUID, err)
		}
		for j := range o.ObjectReference {
			r := &o.ObjectReference[j]
			r.ReferencedUUID = strings.ToLower(r.ReferencedUUID)
			if r.UUID == "" {
				r.UUID = DerivedUUID(e.UUID, "reference", o.UUID, r.ReferencedUUID, r.RelationshipType)
			}
			r.UUID = strings.ToLower(r.UUID)
			if !IsUUID(r.UUID) {
				return fmt.Errorf("event %s: %s.ObjectReference[%d].uuid %q is not a UUID", e.UUID, where, j, truncate(r.UUID, 60))
			}
		}
		objects = append(objects, *o)
	}
	e.Object = objects
	reports := e.EventReport[:0]
	for i := range e.EventReport {
		r := &e.EventReport[i]
		if strings.TrimSpace(r.Name) == "" {
			// MISP's EventReport requires a name (notBlank) and leaves the report out.
			slog.Warn("event report dropped: MISP refuses it", "event", e.UUID, "where", fmt.Sprintf("EventReport[%d]", i),
				"uuid", r.UUID, "reason", "the report has no name")
			continue
		}
		if r.UUID == "" {
			r.UUID = DerivedUUID(e.UUID, "report", r.Name, fmt.Sprint(i))
		}
		r.UUID = strings.ToLower(r.UUID)
		r.SharingGroup = nonEmptySG(r.SharingGroup)
		if !IsUUID(r.UUID) {
			return fmt.Errorf("event %s: EventReport[%d].uuid %q is not a UUID", e.UUID, i, truncate(r.UUID, 60))
		}
		reports = append(reports, *r)
	}
	e.EventReport = reports
	return nil
}

// seenLayouts are the forms of first_seen and last_seen that mispdesk reads: the ISO 8601
// forms and the other dates PHP's strtotime, which MISP validates them with
// (datetimeOrNull), reads the same way (2006/01/02, 01/02/2006 as month/day/year,
// "Jan 2 2006", RFC 1123 with a numeric zone, 20060102). A fraction of a second may follow
// the seconds; a value without a zone is UTC (MISP parses it in GMT). "@" followed by a
// Unix time is read as strtotime reads it, and so are a time zone abbreviation after the
// date (seenZones) and numeric dates whose day runs past the month's end (seenOverflow).
var seenLayouts = []string{time.RFC3339, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", time.DateOnly, "2006-01",
	"2006/01/02", "2006/01/02 15:04:05", "2006/01/02 15:04", "1/2/2006", "1/2/2006 15:04:05",
	"Jan 2 2006", "Jan 2, 2006", "January 2 2006", "January 2, 2006", "2 Jan 2006", "2 January 2006",
	"Jan 2 2006 15:04:05", "2 Jan 2006 15:04:05", time.RFC1123Z, "Mon, 2 Jan 2006 15:04:05 -0700",
	"20060102", "20060102T150405", "20060102T150405Z0700"}

// seenOverflow is a numeric date (2006-01-02, 2006/01/02, 01/02/2006 or 20060102), then
// an optional time and numeric zone, whose fields strtotime takes beyond the calendar and
// carries over: month 0 to 12, day 0 to 31 (2026-02-30 is 2 March), hour 0 to 24, second
// 0 to 60.
var seenOverflow = regexp.MustCompile(`^(?:(\d{4})-(\d{1,2})-(\d{1,2})|(\d{4})/(\d{1,2})/(\d{1,2})|(\d{1,2})/(\d{1,2})/(\d{4})|(\d{4})(\d{2})(\d{2}))` +
	`(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$`)

// SeenError is MISP's refusal of an element's first_seen or last_seen: the field it
// names and its message.
type SeenError struct{ Field, Message string }

func (e *SeenError) Error() string { return e.Field + ": " + e.Message }

// NormalizeSeen brings first_seen and last_seen to the form MISP stores and shows them in
// (UTC, microseconds: 2006-01-02T15:04:05.000000+00:00, MISP's ISODatetimeToUTC and
// microTimestampToIso), or answers MISP's refusal: a value it cannot read as a date
// ("Invalid ISO 8601 format": a bare Unix time such as 1700000000, a word) or last seen
// before first seen.
func NormalizeSeen(first, last Text) (Text, Text, error) {
	f, fok, err := parseSeen("first_seen", first)
	if err != nil {
		return first, last, err
	}
	l, lok, err := parseSeen("last_seen", last)
	if err != nil {
		return first, last, err
	}
	if fok {
		first = Text(f.Format("2006-01-02T15:04:05.000000-07:00"))
	}
	if lok {
		last = Text(l.Format("2006-01-02T15:04:05.000000-07:00"))
	}
	if fok && lok && l.Before(f) {
		return first, last, &SeenError{"last_seen", "Last seen value should be greater than first seen value"}
	}
	return first, last, nil
}

// parseSeen reads one of first_seen and last_seen (field); false when it is empty.
func parseSeen(field string, v Text) (time.Time, bool, error) {
	s := strings.TrimSpace(string(v))
	if s == "" {
		return time.Time{}, false, nil
	}
	if unix, ok := strings.CutPrefix(s, "@"); ok {
		if n, err := strconv.ParseInt(unix, 10, 64); err == nil && n > -1<<40 && n < 1<<40 {
			return time.Unix(n, 0).UTC(), true, nil
		}
	}
	offset := 0
	if i := strings.LastIndexByte(s, ' '); i > 0 {
		if off, ok := seenZones[strings.ToLower(s[i+1:])]; ok {
			s, offset = strings.TrimSpace(s[:i]), off
		}
	}
	t, zoned, ok := parseSeenDate(s)
	if !ok {
		return time.Time{}, false, &SeenError{field, "Invalid ISO 8601 format"}
	}
	if !zoned { // a zone the date itself states wins over an abbreviation after it, as in strtotime
		t = t.Add(-time.Duration(offset) * time.Second)
	}
	return t.UTC().Truncate(time.Microsecond), true, nil
}

// parseSeenDate reads a date in one of seenLayouts or the seenOverflow form, and says
// whether it stated its zone; a date without one is read in UTC.
func parseSeenDate(s string) (time.Time, bool, bool) {
	for _, layout := range seenLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, strings.Contains(layout, "07"), true
		}
	}
	m := seenOverflow.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false, false
	}
	num := func(i int) int { n, _ := strconv.Atoi(m[i]); return n }
	var y, mo, d int
	switch {
	case m[1] != "":
		y, mo, d = num(1), num(2), num(3)
	case m[4] != "":
		y, mo, d = num(4), num(5), num(6)
	case m[7] != "":
		y, mo, d = num(9), num(7), num(8)
	default:
		y, mo, d = num(10), num(11), num(12)
	}
	h, mi, sec := num(13), num(14), num(15)
	if mo > 12 || d > 31 || h > 24 || mi > 59 || sec > 60 {
		return time.Time{}, false, false
	}
	var nsec int
	if m[16] != "" {
		frac, _ := strconv.ParseFloat("0"+m[16], 64)
		nsec = int(frac * 1e9)
	}
	loc := time.UTC
	if z := m[17]; z != "" && z != "Z" {
		zh, _ := strconv.Atoi(z[1:3])
		zm, _ := strconv.Atoi(strings.TrimPrefix(z[3:], ":"))
		off := zh*3600 + zm*60
		if z[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, nsec, loc), m[17] != "", true
}

// drop records an attribute left out of the event as MISP refuses it, and logs it.
func (e *Event) drop(d DroppedAttribute) {
	e.Dropped = append(e.Dropped, d)
	slog.Warn("attribute dropped: MISP refuses it", "event", e.UUID, "where", d.Where, "uuid", d.UUID,
		"type", d.Type, "value", d.Value, "reason", d.Reason)
}

// DroppedAttribute is an attribute Normalize took out of an event, as MISP leaves out an
// attribute it refuses and stores the rest of the event: where it was, what it was, and
// MISP's reason.
type DroppedAttribute struct {
	Where, UUID, Type, Value, Reason string
}

// DroppedNote says in one line, for a log, which attributes were left out and why (the
// first three, then how many more); "" when none were.
func DroppedNote(dropped []DroppedAttribute) string {
	if len(dropped) == 0 {
		return ""
	}
	parts := make([]string, 0, 3)
	for _, d := range dropped[:min(len(dropped), 3)] {
		parts = append(parts, fmt.Sprintf("%s %s %q: %s", d.Where, d.Type, truncate(d.Value, 40), d.Reason))
	}
	note := fmt.Sprintf("%d attribute(s) dropped as MISP refuses them: %s", len(dropped), strings.Join(parts, "; "))
	if len(dropped) > 3 {
		note += fmt.Sprintf("; and %d more", len(dropped)-3)
	}
	return note
}

// normalizeAttributes normalises the attributes of the event or of one of its objects
// (list is where they sit, e.g. "Object[2].Attribute") and returns those MISP keeps. Each
// value is brought to MISP's form (NormalizeValue); an attribute MISP refuses (no type,
// a value it does not take) is recorded in e.Dropped, logged, and left out.
func (e *Event) normalizeAttributes(attrs []Attribute, list string, seen map[string]string) ([]Attribute, error) {
	kept := attrs[:0]
	for i := range attrs {
		a := &attrs[i]
		where := fmt.Sprintf("%s[%d]", list, i)
		reason := "No type set."
		if a.Type != "" {
			v, err := NormalizeValue(a.Type, a.Value)
			if err == nil {
				a.Value, reason = v, ""
			} else {
				reason = err.Error()
			}
		}
		if reason == "" {
			var err error
			if a.FirstSeen, a.LastSeen, err = NormalizeSeen(a.FirstSeen, a.LastSeen); err != nil {
				reason = err.Error()
			}
		}
		if reason != "" {
			e.drop(DroppedAttribute{Where: where, UUID: strings.ToLower(a.UUID), Type: a.Type, Value: truncate(a.Value, 80), Reason: reason})
			continue
		}
		if err := e.normalizeAttribute(a, where, seen); err != nil {
			return nil, err
		}
		kept = append(kept, *a)
	}
	return kept, nil
}

func (e *Event) normalizeAttribute(a *Attribute, where string, seen map[string]string) error {
	if a.UUID == "" {
		a.UUID = DerivedUUID(e.UUID, "attribute", where, a.Type, a.Category, a.Value)
	}
	a.UUID = strings.ToLower(a.UUID)
	if !IsUUID(a.UUID) {
		return fmt.Errorf("%s.uuid %q is not a UUID", where, truncate(a.UUID, 60))
	}
	if _, dup := seen[a.UUID]; dup {
		// MISP would refuse the second attribute and lose it; a derived UUID keeps it.
		a.UUID = DerivedUUID(e.UUID, "duplicate", a.UUID, where)
	}
	seen[a.UUID] = where
	a.SharingGroup = nonEmptySG(a.SharingGroup)
	// The sender's correlations are its local view (as RelatedEvent): never stored.
	delete(a.Extra, "RelatedAttribute")
	delete(a.Extra, "RelatedTags")
	if a.Data == "" {
		if v, ok := a.Extra["base64"]; ok && v.Kind() == '"' {
			a.Data, _ = unquote(v)
			delete(a.Extra, "base64")
		}
	}
	return takeTagLinks(&a.Tag, a.Extra, "AttributeTag")
}

func nonEmptyOrg(o *Org) *Org {
	if o == nil || (o.ID == 0 && o.UUID == "" && o.Name == "") {
		return nil
	}
	o.UUID = strings.ToLower(o.UUID)
	return o
}

func nonEmptySG(g *SharingGroup) *SharingGroup {
	if g == nil || (g.ID == 0 && g.UUID == "" && g.Name == "") {
		return nil
	}
	g.UUID = strings.ToLower(g.UUID)
	return g
}

// takeTagLinks moves MISP's EventTag/AttributeTag form ([{"Tag":{…},"local":…}]) into tags.
func takeTagLinks(tags *[]Tag, extra Extra, key string) error {
	raw, ok := extra[key]
	if !ok {
		return nil
	}
	var links []struct {
		Tag   *Tag  `json:"Tag"`
		Local Bool  `json:"local"`
		Rest  Extra `json:",embed"`
	}
	if err := json.Unmarshal(raw, &links, decodeOpts); err != nil {
		return fmt.Errorf("%s: %w", key, DescribeJSONError(err))
	}
	for _, l := range links {
		if l.Tag == nil || l.Tag.Name == "" {
			continue
		}
		t := *l.Tag
		if l.Local {
			t.Local = true
		}
		*tags = append(*tags, t)
	}
	delete(extra, key)
	return nil
}

// DerivedUUID makes a name-based (version 5 style) UUID from the parts, so an element that
// arrives without a UUID gets the same one every time it arrives.
func DerivedUUID(parts ...string) string {
	h := sha1.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var b [16]byte
	copy(b[:], h.Sum(nil))
	b[6] = (b[6] & 0x0f) | 0x50
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// MarshalEvent encodes an event as MISP sends it: {"Event":{…}}. Members are written in
// MISP's order, unknown members after them in sorted order, so equal events encode to
// equal bytes (ETags depend on it).
func MarshalEvent(e *Event) ([]byte, error) {
	return json.Marshal(struct {
		Event *Event `json:"Event"`
	}{e}, json.Deterministic(true))
}
