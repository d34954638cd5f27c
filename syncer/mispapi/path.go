package mispapi

import (
	"context"
	"errors"
	"mispdesk/store"
	"net/http"
	"net/url"
	"strings"
)

// Path is a MISP (CakePHP) request path taken apart:
//
//	/admin/users/add              Admin, Controller "users", Action "add"
//	/events/view/<uuid>/deleted[]:0/deleted[]:1/excludeLocalTags:1.json
//	                              Args ["<uuid>"], Named {"deleted":["0","1"],"excludeLocalTags":["1"]}
//
// Named parameters are /key:value segments; /key[]:v repeats a key into a list. A ".json"
// suffix on the last segment is dropped (JSON is the only format served).
type Path struct {
	Admin      bool
	Controller string
	Action     string
	Args       []string
	Named      map[string][]string
}

// maxSegments bounds how many segments a path may have.
const maxSegments = 256

// ParsePath parses an escaped URL path (r.URL.EscapedPath()). Segments are unescaped one
// by one, so an escaped "/" inside a value stays in it. It reports false for a path it
// cannot take apart (bad escapes, too many segments, no controller).
func ParsePath(escaped string) (Path, bool) {
	var p Path
	escaped = strings.Trim(escaped, "/")
	if escaped == "" {
		return p, false
	}
	raw := strings.Split(escaped, "/")
	if len(raw) > maxSegments {
		return p, false
	}
	segs := make([]string, 0, len(raw))
	for i, s := range raw {
		if i == len(raw)-1 {
			s = trimExt(s)
		}
		u, err := url.PathUnescape(s)
		if err != nil {
			return p, false
		}
		if i == len(raw)-1 {
			u = trimExt(u)
		}
		if u == "" {
			continue // MISP's router ignores empty segments (//)
		}
		segs = append(segs, u)
	}
	if len(segs) > 0 && strings.EqualFold(segs[0], "admin") {
		p.Admin = true
		segs = segs[1:]
	}
	if len(segs) == 0 || strings.Contains(segs[0], ":") {
		return p, false
	}
	p.Controller = segs[0]
	p.Action = "index"
	rest := segs[1:]
	if len(rest) > 0 && !strings.Contains(rest[0], ":") {
		p.Action = rest[0]
		rest = rest[1:]
	}
	for _, s := range rest {
		key, val, named := strings.Cut(s, ":")
		if !named || key == "" {
			p.Args = append(p.Args, s)
			continue
		}
		if p.Named == nil {
			p.Named = map[string][]string{}
		}
		if k, ok := strings.CutSuffix(key, "[]"); ok && k != "" {
			p.Named[k] = append(p.Named[k], val)
			continue
		}
		if i := strings.IndexByte(key, '['); i > 0 && strings.HasSuffix(key, "]") {
			// key[0]:v, key[1]:w — indexed lists, as PHP builds them
			k := key[:i]
			p.Named[k] = append(p.Named[k], val)
			continue
		}
		p.Named[key] = []string{val}
	}
	return p, true
}

// routeKey is the key a route is registered and looked up under: [admin/]controller/action
// with the controller in snake_case and everything in lower case. CakePHP's router takes a
// controller in either spelling (sharing_groups/view and sharingGroups/view reach one
// action) and action names regardless of case; so does this one.
func routeKey(key string) string {
	var b strings.Builder
	b.Grow(len(key) + 4)
	seg := 0 // index of the segment being written
	last := strings.Count(key, "/")
	for i := 0; i < len(key); i++ {
		ch := key[i]
		if ch == '/' {
			seg++
		}
		if ch >= 'A' && ch <= 'Z' {
			// an upper-case letter inside the controller starts a new word
			if seg == last-1 && i > 0 && key[i-1] != '/' && key[i-1] != '_' {
				b.WriteByte('_')
			}
			ch += 'a' - 'A'
		}
		b.WriteByte(ch)
	}
	return b.String()
}

func trimExt(s string) string {
	if len(s) > 5 && strings.EqualFold(s[len(s)-5:], ".json") {
		return s[:len(s)-5]
	}
	return s
}

// Arg is the i-th positional argument, or "".
func (p *Path) Arg(i int) string {
	if i < len(p.Args) {
		return p.Args[i]
	}
	return ""
}

// Param is the last value of a named parameter, or "".
func (p *Path) Param(key string) string {
	v := p.Named[key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// Flag reports whether a named parameter is set to a true value (1, true).
func (p *Path) Flag(key string) bool {
	switch strings.ToLower(p.Param(key)) {
	case "1", "true", "yes":
		return true
	}
	return false
}

func notFoundOr(err error, msg string) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound(msg)
	}
	return err
}

// resolveBoth resolves the two refs a route names (a sharing group and a member, say),
// stopping at the first that names nothing.
func resolveBoth[A, B ~int64](ctx context.Context, resolveA func(context.Context, string) (A, error), refA string,
	resolveB func(context.Context, string) (B, error), refB string) (A, B, error) {
	a, err := resolveA(ctx, refA)
	if err != nil {
		return 0, 0, err
	}
	b, err := resolveB(ctx, refB)
	return a, b, err
}

// isNotFound reports whether err says that something does not exist, or is not visible
// to the caller, which answers the same.
func isNotFound(err error) bool {
	var ae *apiError
	return errors.Is(err, store.ErrNotFound) || (errors.As(err, &ae) && ae.status == http.StatusNotFound)
}
