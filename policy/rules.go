package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Rules are a server's push_rules or pull_rules, in MISP's JSON:
//
//	{"tags":{"OR":[],"NOT":[]},"orgs":{"OR":[],"NOT":[]},
//	 "type_attributes":{"NOT":[]},"type_objects":{"NOT":[]},"url_params":""}
//
// MISP's push rules hold local numeric tag and org IDs; its pull rules hold names or
// UUIDs sent to the remote. Both forms match here (see matchesTag and matchesOrg).
type Rules struct {
	Tags           Filter `json:"tags"`
	Orgs           Filter `json:"orgs"`
	TypeAttributes Filter `json:"type_attributes"` // attribute types never synced (NOT only)
	TypeObjects    Filter `json:"type_objects"`    // object template UUIDs never synced (NOT only)
	// URLParams are extra events/index filters of pull rules (MISP keeps them as a JSON
	// string inside the JSON); nil when none.
	URLParams map[string]any `json:"url_params,omitempty"`
	// Ignored names keys this version does not know; they were not applied.
	Ignored []string `json:"ignored,omitempty"`
}

// Filter is one rule: an allow list (at least one must match) and a block list (none may).
type Filter struct {
	OR  []string `json:"OR"`
	NOT []string `json:"NOT"`
}

// IsZero reports whether the rules restrict nothing.
func (r *Rules) IsZero() bool {
	return r.Tags.empty() && r.Orgs.empty() && r.TypeAttributes.empty() && r.TypeObjects.empty() && len(r.URLParams) == 0
}

func (f Filter) empty() bool { return len(f.OR) == 0 && len(f.NOT) == 0 }

// RulesKind says which column rules come from; it names keys in errors.
type RulesKind string

const (
	PushRules RulesKind = "push_rules"
	PullRules RulesKind = "pull_rules"
)

// ParseRules reads rules as MISP stores them. It accepts every shape MISP and its UI
// have written: "", null, [] or {} for "no rules"; missing keys; PHP's [] for an empty
// group; values as strings or numbers; a single value instead of a list. Anything else
// is refused with an error naming the key, e.g.
// "push_rules.tags.OR: want a list of strings, got an object".
func ParseRules(kind RulesKind, text string) (Rules, error) {
	var r Rules
	text = strings.TrimSpace(text)
	if text == "" {
		return r, nil
	}
	root, err := decodeJSON([]byte(text))
	if err != nil {
		return r, fmt.Errorf("%s: not JSON: %v", kind, err)
	}
	top, err := asObject(string(kind), root)
	if err != nil || top == nil {
		return r, err
	}
	for _, key := range slices.Sorted(maps.Keys(top)) {
		v := top[key]
		path := string(kind) + "." + key
		switch key {
		case "tags":
			r.Tags, err = parseFilter(path, v, true)
		case "orgs":
			r.Orgs, err = parseFilter(path, v, true)
		case "type_attributes":
			r.TypeAttributes, err = parseFilter(path, v, false)
		case "type_objects":
			r.TypeObjects, err = parseFilter(path, v, false)
		case "url_params":
			r.URLParams, err = parseURLParams(path, v)
		default:
			r.Ignored = append(r.Ignored, key)
		}
		if err != nil {
			return Rules{}, err
		}
	}
	return r, nil
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("text after the JSON value")
	}
	return v, nil
}

// asObject takes a JSON object, or "nothing" (null, "", [] — PHP's empty array).
func asObject(path string, v any) (map[string]any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return x, nil
	case string:
		if strings.TrimSpace(x) == "" {
			return nil, nil
		}
	case []any:
		if len(x) == 0 {
			return nil, nil
		}
	}
	return nil, fmt.Errorf("%s: want an object, got %s", path, jsonKind(v))
}

// parseFilter reads {"OR":[…],"NOT":[…]}; MISP's type filters only have NOT.
func parseFilter(path string, v any, allowOR bool) (Filter, error) {
	var f Filter
	obj, err := asObject(path, v)
	if err != nil || obj == nil {
		return f, err
	}
	for _, key := range slices.Sorted(maps.Keys(obj)) {
		list := obj[key]
		var dst *[]string
		switch {
		case key == "OR" && allowOR:
			dst = &f.OR
		case key == "NOT":
			dst = &f.NOT
		default:
			return Filter{}, fmt.Errorf("%s.%s: unknown key (want OR or NOT)", path, key)
		}
		if *dst, err = parseValues(path+"."+key, list); err != nil {
			return Filter{}, err
		}
	}
	return f, nil
}

// parseValues reads a list of strings or numbers (a lone value counts as a list of one).
func parseValues(path string, v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string, json.Number:
		s, _ := scalar(x)
		if s == "" {
			return nil, nil
		}
		return []string{s}, nil
	case []any:
		out := make([]string, 0, len(x))
		for i, e := range x {
			s, ok := scalar(e)
			if !ok {
				return nil, fmt.Errorf("%s[%d]: want a string or a number, got %s", path, i, jsonKind(e))
			}
			if s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	case map[string]any:
		// PHP writes a list with holes as an object {"0":…,"2":…}: take its values in key order.
		if vals, ok := phpList(x); ok {
			return parseValues(path, vals)
		}
	}
	return nil, fmt.Errorf("%s: want a list of strings, got %s", path, jsonKind(v))
}

func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x), true
	case json.Number:
		return x.String(), true
	}
	return "", false
}

// phpList turns {"0":a,"1":b} (a PHP array that lost its list shape) back into a list.
func phpList(m map[string]any) ([]any, bool) {
	out := make([]any, len(m))
	for k, v := range m {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= len(m) || out[i] != nil {
			return nil, false
		}
		out[i] = v
	}
	return out, true
}

// parseURLParams reads url_params: a string holding a JSON object (MISP's form), or the
// object itself.
func parseURLParams(path string, v any) (map[string]any, error) {
	if s, ok := v.(string); ok {
		if strings.TrimSpace(s) == "" {
			return nil, nil
		}
		inner, err := decodeJSON([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("%s: the string is not JSON: %v", path, err)
		}
		v = inner
	}
	obj, err := asObject(path, v)
	if err != nil || len(obj) == 0 {
		return nil, err
	}
	return obj, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
