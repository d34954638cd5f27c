package assets

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
)

// TaxonomyDef is one MISP taxonomy (a misp-taxonomies machinetag.json).
type TaxonomyDef struct {
	Namespace   string            `json:"namespace"`
	Expanded    string            `json:"expanded"`
	Description string            `json:"description"`
	Version     int               `json:"version"`
	Exclusive   bool              `json:"exclusive"`
	UUID        string            `json:"uuid"`
	Predicates  []Predicate       `json:"predicates"`
	Values      []PredicateValues `json:"values"`
}

// Predicate is one predicate of a taxonomy. In taxonomies without values
// (tlp, PAP) each predicate is itself a tag: "tlp:red".
type Predicate struct {
	Value       string `json:"value"`
	Expanded    string `json:"expanded"`
	Description string `json:"description"`
	Colour      string `json:"colour"`
	UUID        string `json:"uuid"`
}

// PredicateValues lists the values of one predicate, each a tag of the form
// namespace:predicate="value".
type PredicateValues struct {
	Predicate string  `json:"predicate"`
	Entry     []Entry `json:"entry"`
}

// Entry is one value of a predicate.
type Entry struct {
	Value       string `json:"value"`
	Expanded    string `json:"expanded"`
	Description string `json:"description"`
	Colour      string `json:"colour"`
	UUID        string `json:"uuid"`
}

// TaxonomyTag is one tag a taxonomy defines, with its colour ("#rrggbb", or
// empty when the taxonomy gives none).
type TaxonomyTag struct {
	Name     string
	Colour   string
	Expanded string
}

// Tags lists every tag the taxonomy defines, in the taxonomy's order:
// "tlp:red", "PAP:RED", or `osint:source-type="blog-post"` for predicates
// that have values.
func (t *TaxonomyDef) Tags() []TaxonomyTag {
	var tags []TaxonomyTag
	for _, p := range t.Predicates {
		i := slices.IndexFunc(t.Values, func(v PredicateValues) bool { return v.Predicate == p.Value })
		if i < 0 || len(t.Values[i].Entry) == 0 {
			tags = append(tags, TaxonomyTag{Name: t.Namespace + ":" + p.Value, Colour: p.Colour, Expanded: p.Expanded})
			continue
		}
		for _, e := range t.Values[i].Entry {
			colour := e.Colour
			if colour == "" {
				colour = p.Colour
			}
			tags = append(tags, TaxonomyTag{
				Name:     fmt.Sprintf("%s:%s=%q", t.Namespace, p.Value, e.Value),
				Colour:   colour,
				Expanded: e.Expanded,
			})
		}
	}
	return tags
}

// TagNames lists the names of the taxonomy's tags, as Tags does.
func (t *TaxonomyDef) TagNames() []string {
	tags := t.Tags()
	names := make([]string, len(tags))
	for i, tag := range tags {
		names[i] = tag.Name
	}
	return names
}

var taxonomies = sync.OnceValues(func() (map[string]*TaxonomyDef, error) {
	files, err := fs.Glob(data, "data/taxonomies/*/machinetag.json")
	if err != nil {
		return nil, err
	}
	m := make(map[string]*TaxonomyDef, len(files))
	for _, f := range files {
		b, err := data.ReadFile(f)
		if err != nil {
			return nil, err
		}
		t := new(TaxonomyDef)
		if err := json.Unmarshal(b, t); err != nil {
			return nil, fmt.Errorf("assets: %s: %w", f, err)
		}
		if dir := path.Base(path.Dir(f)); t.Namespace != dir {
			return nil, fmt.Errorf("assets: %s: namespace %q does not match its directory", f, t.Namespace)
		}
		m[t.Namespace] = t
	}
	return m, nil
})

// TaxonomyNames lists the namespaces of the embedded taxonomies, sorted.
func TaxonomyNames() []string {
	m, err := taxonomies()
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Taxonomy returns the embedded taxonomy with namespace name ("tlp", "PAP";
// case does not matter).
func Taxonomy(name string) (*TaxonomyDef, error) {
	m, err := taxonomies()
	if err != nil {
		return nil, err
	}
	if t, ok := m[name]; ok {
		return t, nil
	}
	for ns, t := range m {
		if strings.EqualFold(ns, name) {
			return t, nil
		}
	}
	return nil, fmt.Errorf("assets: no taxonomy %q (have %s)", name, strings.Join(TaxonomyNames(), ", "))
}

// LookupTag finds a tag of an embedded taxonomy by its exact name, e.g.
// "tlp:amber" or "PAP:GREEN", to learn its colour.
func LookupTag(name string) (TaxonomyTag, bool) {
	ns, _, ok := strings.Cut(name, ":")
	if !ok {
		return TaxonomyTag{}, false
	}
	m, err := taxonomies()
	if err != nil {
		return TaxonomyTag{}, false
	}
	t, ok := m[ns]
	if !ok {
		return TaxonomyTag{}, false
	}
	for _, tag := range t.Tags() {
		if tag.Name == name {
			return tag, true
		}
	}
	return TaxonomyTag{}, false
}
