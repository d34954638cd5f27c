// Package misp is MISP's event model as it travels on the wire: events, attributes,
// objects, tags, sightings, galaxies, sharing groups and the rest, decoded from any of the
// shapes real MISP instances and feeds send, and encoded in the shape MISP itself sends.
//
// Members the model does not name are kept in each element's Extra and written back out, so
// an event passing through mispdesk loses nothing.
package misp

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// Int is an integer column of MISP. MISP sends integers as JSON strings ("12") with its
// default database settings and as numbers with others, so both are accepted, as are null
// and "" (zero). It is written back as a string, as MISP writes it.
type Int int64

// UnmarshalJSONFrom accepts a number, a numeric string, "", or null.
func (i *Int) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	n, err := parseFlexInt(v)
	if err != nil {
		return err
	}
	*i = Int(n)
	return nil
}

// MarshalJSONTo writes the integer as a JSON string.
func (i Int) MarshalJSONTo(enc *jsontext.Encoder) error {
	var buf [24]byte
	b := append(buf[:0], '"')
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, '"')
	return enc.WriteValue(b)
}

func parseFlexInt(v jsontext.Value) (int64, error) {
	switch v.Kind() {
	case 'n':
		return 0, nil
	case 't':
		return 1, nil
	case 'f':
		return 0, nil
	case '0':
		return parseIntText(string(v))
	case '"':
		s, err := unquote(v)
		if err != nil {
			return 0, err
		}
		s = string(bytes.TrimSpace([]byte(s)))
		if s == "" {
			return 0, nil
		}
		return parseIntText(s)
	default:
		return 0, fmt.Errorf("want an integer, got %s", kindName(v.Kind()))
	}
}

func parseIntText(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err == nil {
		return n, nil
	}
	// PHP may send 1.0 or 1e3 for an integer column; accept whole floats only.
	f, ferr := strconv.ParseFloat(s, 64)
	if ferr == nil && f == float64(int64(f)) {
		return int64(f), nil
	}
	return 0, fmt.Errorf("want an integer, got %q", truncate(s, 40))
}

// Bool is a flag column of MISP: true/false, 0/1, "0"/"1", "true"/"false", "" and null are
// all accepted, because MISP versions and deployments differ. It is written as a JSON bool.
type Bool bool

// UnmarshalJSONFrom accepts every spelling of a flag MISP has used.
func (b *Bool) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	x, err := parseFlexBool(v)
	if err != nil {
		return err
	}
	*b = Bool(x)
	return nil
}

func parseFlexBool(v jsontext.Value) (bool, error) {
	switch v.Kind() {
	case 't':
		return true, nil
	case 'f', 'n':
		return false, nil
	case '0':
		n, err := parseIntText(string(v))
		if err != nil {
			return false, fmt.Errorf("want a flag, got %s", v)
		}
		return n != 0, nil
	case '"':
		s, err := unquote(v)
		if err != nil {
			return false, err
		}
		switch s {
		case "", "0", "false", "False", "FALSE":
			return false, nil
		case "1", "true", "True", "TRUE":
			return true, nil
		}
		return false, fmt.Errorf("want a flag, got %q", truncate(s, 40))
	default:
		return false, fmt.Errorf("want a flag, got %s", kindName(v.Kind()))
	}
}

// OptBool is a flag that may be absent or null and whose absence means something other than
// false (a tag's "exportable" defaults to true; an event's "protected" is null when unset).
type OptBool struct {
	Set   bool
	Value bool
}

// True returns the flag, or def when it was never given.
func (o OptBool) True(def bool) bool {
	if !o.Set {
		return def
	}
	return o.Value
}

// IsZero reports whether the flag was never given, so `omitzero` leaves it out.
func (o OptBool) IsZero() bool { return !o.Set }

// UnmarshalJSONFrom accepts the same spellings as Bool; null leaves the flag unset.
func (o *OptBool) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	if v.Kind() == 'n' {
		*o = OptBool{}
		return nil
	}
	x, err := parseFlexBool(v)
	if err != nil {
		return err
	}
	*o = OptBool{Set: true, Value: x}
	return nil
}

// MarshalJSONTo writes the flag, or null when unset.
func (o OptBool) MarshalJSONTo(enc *jsontext.Encoder) error {
	if !o.Set {
		return enc.WriteToken(jsontext.Null)
	}
	return enc.WriteToken(jsontext.Bool(o.Value))
}

// Text is a string column that MISP sometimes sends as null, false or a number (a tag's
// relationship_type, an attribute's object_relation). Empty is written as null.
type Text string

// UnmarshalJSONFrom accepts a string, null, false, or a number (kept as its digits).
func (t *Text) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	switch v.Kind() {
	case 'n', 'f':
		*t = ""
	case '"':
		s, err := unquote(v)
		if err != nil {
			return err
		}
		*t = Text(s)
	case '0':
		*t = Text(v)
	default:
		return fmt.Errorf("want a string, got %s", kindName(v.Kind()))
	}
	return nil
}

// MarshalJSONTo writes the string, or null when empty.
func (t Text) MarshalJSONTo(enc *jsontext.Encoder) error {
	if t == "" {
		return enc.WriteToken(jsontext.Null)
	}
	return enc.WriteToken(jsontext.String(string(t)))
}

// Str is a plain string column that a careless producer may send as a number or null.
type Str string

// UnmarshalJSONFrom accepts a string, a number (kept as its digits), or null.
func (s *Str) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	switch v.Kind() {
	case 'n':
		*s = ""
	case '"':
		u, err := unquote(v)
		if err != nil {
			return err
		}
		*s = Str(u)
	case '0':
		*s = Str(v)
	default:
		return fmt.Errorf("want a string, got %s", kindName(v.Kind()))
	}
	return nil
}

func unquote(v jsontext.Value) (string, error) {
	b, err := jsontext.AppendUnquote(nil, v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "an invalid value"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
