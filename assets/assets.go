// Package assets holds the files compiled into the mispdesk binary: MISP's
// attribute type and category table, the tlp and PAP taxonomies, and the
// version strings. It imports nothing of ours, so every package may use it.
//
// Everything returned here is shared: callers must not modify it.
package assets

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
)

// Version is mispdesk's own release version, stamped at build time with
// -ldflags "-X mispdesk/assets.Version=...". It is never the MISP API level.
var Version = "dev"

// MISPVersion is the MISP API level mispdesk speaks: what servers/getVersion
// answers as "version", so that MISP peers and PyMISP accept us.
const MISPVersion = "2.5.1"

// MemoryLimit is the Go heap's soft limit mispdesk runs under unless GOMEMLIMIT says
// otherwise: a one-box tool that syncs a 200,000-attribute event in under 256 MB of RAM.
// A soft limit only makes the collector work harder near it; it never fails an allocation.
const MemoryLimit = 160 << 20

//go:embed data/describeTypes.json data/taxonomies/*/machinetag.json
var data embed.FS

//go:embed ATTRIBUTION.md LICENSES/*.txt
var notices embed.FS

// DescribeTypesJSON returns MISP's describeTypes.json verbatim, as MISP serves
// it at attributes/describeTypes.json.
func DescribeTypesJSON() []byte {
	b, err := data.ReadFile("data/describeTypes.json")
	if err != nil { // embedded at build time: cannot happen
		panic(err)
	}
	return b
}

// TypeDefault is MISP's default category and to_ids flag for one attribute
// type (describeTypes' sane_defaults).
type TypeDefault struct {
	DefaultCategory string
	ToIDs           bool
}

// TypeTable is MISP's attribute type and category table.
type TypeTable struct {
	Types                []string               // every attribute type, in MISP's order
	Categories           []string               // every category, in MISP's order
	CategoryTypeMappings map[string][]string    // category -> types allowed in it
	SaneDefaults         map[string]TypeDefault // type -> its defaults
}

// IsType reports whether typ is an attribute type MISP knows.
func (t *TypeTable) IsType(typ string) bool {
	_, ok := t.SaneDefaults[typ]
	return ok
}

// IsCategory reports whether category is a category MISP knows.
func (t *TypeTable) IsCategory(category string) bool {
	_, ok := t.CategoryTypeMappings[category]
	return ok
}

// Allows reports whether an attribute of type typ may be in category.
func (t *TypeTable) Allows(category, typ string) bool {
	return slices.Contains(t.CategoryTypeMappings[category], typ)
}

// DescribeTypes returns the parsed attribute type table. It is parsed once.
var DescribeTypes = sync.OnceValues(parseDescribeTypes)

func parseDescribeTypes() (*TypeTable, error) {
	var raw struct {
		Result struct {
			Types                []string            `json:"types"`
			Categories           []string            `json:"categories"`
			CategoryTypeMappings map[string][]string `json:"category_type_mappings"`
			SaneDefaults         map[string]struct {
				DefaultCategory string `json:"default_category"`
				ToIDs           int    `json:"to_ids"`
			} `json:"sane_defaults"`
		} `json:"result"`
	}
	if err := json.Unmarshal(DescribeTypesJSON(), &raw); err != nil {
		return nil, fmt.Errorf("assets: describeTypes.json: %w", err)
	}
	r := raw.Result
	t := &TypeTable{
		Types:                r.Types,
		Categories:           r.Categories,
		CategoryTypeMappings: r.CategoryTypeMappings,
		SaneDefaults:         make(map[string]TypeDefault, len(r.SaneDefaults)),
	}
	for typ, d := range r.SaneDefaults {
		t.SaneDefaults[typ] = TypeDefault{DefaultCategory: d.DefaultCategory, ToIDs: d.ToIDs != 0}
	}
	if len(t.Types) == 0 || len(t.Categories) == 0 {
		return nil, fmt.Errorf("assets: describeTypes.json: no types or categories")
	}
	for _, typ := range t.Types {
		if _, ok := t.SaneDefaults[typ]; !ok {
			return nil, fmt.Errorf("assets: describeTypes.json: type %q has no sane_defaults", typ)
		}
	}
	return t, nil
}

// Notices returns the attribution of the embedded files followed by the
// licence texts they are distributed under.
func Notices() string {
	var b strings.Builder
	a, _ := notices.ReadFile("ATTRIBUTION.md")
	b.Write(a)
	names, _ := fs.Glob(notices, "LICENSES/*.txt")
	for _, n := range names {
		l, _ := notices.ReadFile(n)
		fmt.Fprintf(&b, "\n---- %s ----\n\n", strings.TrimPrefix(n, "LICENSES/"))
		b.Write(l)
	}
	return b.String()
}
