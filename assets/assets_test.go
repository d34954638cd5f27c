package assets

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestDescribeTypes(t *testing.T) {
	tt, err := DescribeTypes()
	if err != nil {
		t.Fatal(err)
	}
	if len(tt.Types) != 194 || len(tt.Categories) != 16 {
		t.Errorf("got %d types, %d categories; want 194, 16", len(tt.Types), len(tt.Categories))
	}
	if tt2, _ := DescribeTypes(); tt2 != tt {
		t.Error("DescribeTypes parsed twice")
	}
	for _, c := range []struct {
		typ, category string
		toIDs         bool
	}{
		{"md5", "Payload delivery", true},
		{"ip-dst", "Network activity", true},
		{"comment", "Other", false},
		{"text", "Other", false},
	} {
		d, ok := tt.SaneDefaults[c.typ]
		if !ok || d.DefaultCategory != c.category || d.ToIDs != c.toIDs {
			t.Errorf("SaneDefaults[%q] = %+v, %v; want {%s %v}", c.typ, d, ok, c.category, c.toIDs)
		}
		if !tt.IsType(c.typ) || !tt.Allows(c.category, c.typ) {
			t.Errorf("%s not allowed in its default category %s", c.typ, c.category)
		}
	}
	for _, cat := range tt.Categories {
		if !tt.IsCategory(cat) {
			t.Errorf("category %q has no type mapping", cat)
		}
		for _, typ := range tt.CategoryTypeMappings[cat] {
			if !tt.IsType(typ) {
				t.Errorf("category %q maps unknown type %q", cat, typ)
			}
		}
	}
	if tt.IsType("no-such-type") || tt.IsCategory("No such category") || tt.Allows("Network activity", "md5") {
		t.Error("unknown type or category accepted")
	}
}

func TestDescribeTypesJSON(t *testing.T) {
	var v struct {
		Result map[string]json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(DescribeTypesJSON(), &v); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"types", "categories", "category_type_mappings", "sane_defaults"} {
		if _, ok := v.Result[k]; !ok {
			t.Errorf("result has no %q", k)
		}
	}
}

func TestTaxonomy(t *testing.T) {
	if got := TaxonomyNames(); !slices.Equal(got, []string{"PAP", "tlp"}) {
		t.Errorf("TaxonomyNames() = %v", got)
	}
	tlp, err := Taxonomy("tlp")
	if err != nil {
		t.Fatal(err)
	}
	if tlp.Namespace != "tlp" || !tlp.Exclusive {
		t.Errorf("tlp: namespace %q exclusive %v", tlp.Namespace, tlp.Exclusive)
	}
	names := tlp.TagNames()
	for _, want := range []string{"tlp:red", "tlp:amber", "tlp:amber+strict", "tlp:green", "tlp:white", "tlp:clear"} {
		if !slices.Contains(names, want) {
			t.Errorf("tlp tags %v lack %q", names, want)
		}
	}
	pap, err := Taxonomy("pap")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pap.TagNames(), []string{"PAP:RED", "PAP:AMBER", "PAP:GREEN", "PAP:CLEAR", "PAP:WHITE"}; !slices.Equal(got, want) {
		t.Errorf("PAP tags = %v, want %v", got, want)
	}
	if _, err := Taxonomy("rainbow"); err == nil || !strings.Contains(err.Error(), "rainbow") {
		t.Errorf("Taxonomy(rainbow) error = %v", err)
	}
}

func TestLookupTag(t *testing.T) {
	red, ok := LookupTag("tlp:red")
	if !ok || red.Colour != "#FF2B2B" {
		t.Errorf("tlp:red = %+v, %v", red, ok)
	}
	if g, ok := LookupTag("PAP:GREEN"); !ok || g.Colour != "#33ff00" {
		t.Errorf("PAP:GREEN = %+v, %v", g, ok)
	}
	for _, name := range []string{"tlp:rainbow", "nope", "osint:x", ""} {
		if _, ok := LookupTag(name); ok {
			t.Errorf("LookupTag(%q) found", name)
		}
	}
}

func TestTagsWithValues(t *testing.T) {
	tax := &TaxonomyDef{
		Namespace:  "osint",
		Predicates: []Predicate{{Value: "source-type", Colour: "#000000"}, {Value: "lifetime"}},
		Values: []PredicateValues{{Predicate: "source-type", Entry: []Entry{
			{Value: "blog-post"}, {Value: "block-or-filter-list", Colour: "#ffffff"},
		}}},
	}
	got := tax.Tags()
	want := []TaxonomyTag{
		{Name: `osint:source-type="blog-post"`, Colour: "#000000"},
		{Name: `osint:source-type="block-or-filter-list"`, Colour: "#ffffff"},
		{Name: "osint:lifetime"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Tags() = %+v, want %+v", got, want)
	}
}

func TestNotices(t *testing.T) {
	n := Notices()
	for _, want := range []string{"MISP/PyMISP", "MISP/misp-taxonomies", "Redistribution and use"} {
		if !strings.Contains(n, want) {
			t.Errorf("Notices() lacks %q", want)
		}
	}
}

func TestVersions(t *testing.T) {
	if Version == "" || MISPVersion != "2.5.1" {
		t.Errorf("Version %q, MISPVersion %q", Version, MISPVersion)
	}
}
