package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"mispdesk/store/misp"
)

// initHost gives a test store a host organisation, as mispdesk init does.
func initHost(t testing.TB, s *Store) *Org {
	t.Helper()
	ctx := context.Background()
	org, err := s.AddOrg(ctx, Org{Name: "HOSTORG", Local: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('host_org_id', ?)`, org.ID); err != nil {
		t.Fatal(err)
	}
	return org
}

// fixtureEventFiles lists every event file of the copied fixtures.
func fixtureEventFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../testdata/feeds/*/*.json", "../testdata/events/*/*.json"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			if filepath.Base(f) != "manifest.json" {
				files = append(files, f)
			}
		}
	}
	if len(files) < 150 {
		t.Fatalf("found %d fixture event files; is testdata/ there?", len(files))
	}
	return files
}

// Every fixture event stores and reads back semantically equal to its source: only local
// ids, the local owner (Org) and derived data (correlations, counts) may differ. Each file
// gets its own database: tags and galaxy clusters are shared by all events of an instance
// (the newest cluster version, the first tag colour win), as in MISP.
func TestFixtureEventsRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("every fixture file: the non-race pass of make test runs it")
	}
	ctx := context.Background()
	var events, attrs, objects int
	for _, f := range fixtureEventFiles(t) {
		s := openTest(t)
		initHost(t, s)
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := misp.ParseEvents(raw)
		if err == misp.ErrGalaxyDocument {
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		sources := sourceEvents(t, raw)
		if len(sources) != len(evs) {
			t.Fatalf("%s: %d source events, %d parsed", f, len(sources), len(evs))
		}
		for i, e := range evs {
			res, err := s.UpsertEvent(ctx, e, UpsertOptions{DefaultDistribution: misp.CommunityOnly})
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			if res.Outcome != Created {
				t.Errorf("%s: outcome %v (%s), want created", f, res.Outcome, res.Reason)
				continue
			}
			got, err := s.Event(ctx, mustResolve(t, s.ResolveEvent, e.UUID))
			if err != nil {
				t.Fatalf("%s: read back: %v", f, err)
			}
			events++
			attrs += len(got.Attribute)
			for _, o := range got.Object {
				objects++
				attrs += len(o.Attribute)
			}
			out, err := misp.MarshalEvent(got)
			if err != nil {
				t.Fatal(err)
			}
			var exported map[string]any
			if err := json.Unmarshal(out, &exported); err != nil {
				t.Fatal(err)
			}
			if diffs := semanticDiff("Event", sources[i], exported["Event"], repeatedUUIDs(sources[i])); len(diffs) > 0 {
				if len(diffs) > 8 {
					diffs = append(diffs[:8], fmt.Sprintf("… and %d more", len(diffs)-8))
				}
				t.Errorf("%s: exported event differs from its source:\n  %s", f, strings.Join(diffs, "\n  "))
			}
		}
	}
	t.Logf("%d events, %d objects, %d attributes round-tripped", events, objects, attrs)
}

// sourceEvents unwraps the events of a fixture file as generic JSON.
func sourceEvents(t testing.TB, raw []byte) []any {
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var out []any
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, it := range x {
				walk(it)
			}
		case map[string]any:
			if ev, ok := x["Event"]; ok {
				out = append(out, ev)
			} else if r, ok := x["response"]; ok {
				walk(r)
			} else {
				out = append(out, x)
			}
		}
	}
	walk(doc)
	for _, ev := range out {
		asMISPStores(ev)
	}
	return out
}

// asMISPStores turns a source event's attribute values into what MISP stores for them
// (misp.NormalizeValue: hash case, datetime format, refanging…) and removes those MISP
// refuses, so that the source is compared with what it should become.
func asMISPStores(ev any) {
	m, _ := ev.(map[string]any)
	values := func(list any) []any {
		attrs, _ := list.([]any)
		kept := attrs[:0]
		for _, it := range attrs {
			a, _ := it.(map[string]any)
			typ, _ := a["type"].(string)
			val, isText := a["value"].(string)
			if a == nil || !isText || typ == "" {
				kept = append(kept, it)
				continue
			}
			norm, err := misp.NormalizeValue(typ, val)
			if err != nil {
				continue
			}
			a["value"] = norm
			kept = append(kept, a)
		}
		return kept
	}
	if m == nil {
		return
	}
	if _, ok := m["Attribute"]; ok {
		m["Attribute"] = values(m["Attribute"])
	}
	objs, _ := m["Object"].([]any)
	for _, o := range objs {
		if om, ok := o.(map[string]any); ok {
			if _, ok := om["Attribute"]; ok {
				om["Attribute"] = values(om["Attribute"])
			}
		}
	}
}

// Keys that are local to an instance, derived, or mispdesk's own defaults for what a
// source left out; they are not compared.
var (
	localKeys = map[string]bool{
		"id": true, "event_id": true, "object_id": true, "org_id": true, "orgc_id": true, "attribute_id": true,
		"galaxy_id": true, "tag_id": true, "sharing_group_id": true, "user_id": true, "event_tag_id": true,
		"attribute_tag_id": true, "referenced_id": true, "old_id": true, "sync_user_id": true,
		"RelatedEvent": true, "attribute_count": true, "Org": true, "publish_timestamp": true, "sighting_timestamp": true,
	}
	// Members the export may add where the source had none.
	addedKeys = map[string]bool{
		"uuid": true, "distribution": true, "attribute_uuid": true, "event_uuid": true, "object_uuid": true,
		"source_uuid": true, "date": true, "Orgc": true, "timestamp": true, "local": true, "exportable": true,
	}
	flagKeys = map[string]bool{
		"published": true, "to_ids": true, "deleted": true, "disable_correlation": true, "locked": true,
		"proposal_email_lock": true, "local": true, "exportable": true, "hide_tag": true, "is_galaxy": true,
		"is_custom_galaxy": true, "local_only": true, "default": true, "extend": true, "all_orgs": true,
		"roaming": true, "active": true, "proposal_to_delete": true, "protected": true,
	}
)

// repeatedUUIDs finds attribute UUIDs a source event uses more than once; mispdesk keeps
// those attributes under new UUIDs.
func repeatedUUIDs(ev any) map[string]bool {
	seen, rep := map[string]bool{}, map[string]bool{}
	m, _ := ev.(map[string]any)
	attrs, _ := m["Attribute"].([]any)
	for _, a := range attrs {
		if am, ok := a.(map[string]any); ok {
			u, _ := canonical("uuid", am["uuid"]).(string)
			if seen[u] {
				rep[u] = true
			}
			seen[u] = true
		}
	}
	return rep
}

// semanticDiff compares a source event with its export the way MISP would see them;
// UUIDs in renamed may change.
func semanticDiff(path string, src, got any, renamed map[string]bool) []string {
	src, got = canonical("", src), canonical("", got)
	var diffs []string
	var cmp func(path string, a, b any)
	cmp = func(path string, a, b any) {
		switch x := a.(type) {
		case map[string]any:
			y, ok := b.(map[string]any)
			if !ok {
				diffs = append(diffs, fmt.Sprintf("%s: source %s, export %s", path, short(a), short(b)))
				return
			}
			for k, v := range x {
				if localKeys[k] || (k == "local" && isOrgPath(path)) || capturedClusterKey(path, k) {
					continue
				}
				w, ok := y[k]
				if !ok {
					if !isZero(v) {
						diffs = append(diffs, fmt.Sprintf("%s.%s: lost (source %s)", path, k, short(v)))
					}
					continue
				}
				if k == "ObjectReference" {
					stripDerivedRefs(v)
				}
				if u, ok := v.(string); ok && k == "uuid" && renamed[u] {
					continue
				}
				cmp(path+"."+k, v, w)
			}
			for k, w := range y {
				if _, ok := x[k]; ok || localKeys[k] || addedKeys[k] || isZero(w) || capturedClusterKey(path, k) {
					continue
				}
				diffs = append(diffs, fmt.Sprintf("%s.%s: added %s", path, k, short(w)))
			}
		case []any:
			y, ok := b.([]any)
			if !ok || len(x) != len(y) {
				diffs = append(diffs, fmt.Sprintf("%s: source %s, export %s", path, short(a), short(b)))
				return
			}
			for i := range x {
				cmp(fmt.Sprintf("%s[%d]", path, i), x[i], y[i])
			}
		default:
			if !reflect.DeepEqual(a, b) {
				diffs = append(diffs, fmt.Sprintf("%s: source %s, export %s", path, short(a), short(b)))
			}
		}
	}
	cmp(path, src, got)
	sort.Strings(diffs)
	return diffs
}

// capturedClusterKey says whether member k at path is one a custom galaxy cluster takes
// from the instance that captures it (as MISP's captureCluster): its locked flag, and its
// creator's record beyond the UUID and name it is captured by.
func capturedClusterKey(path, k string) bool {
	if !strings.Contains(path, ".GalaxyCluster[") {
		return false
	}
	return (k == "locked" && strings.HasSuffix(path, "]")) || (strings.HasSuffix(path, "].Orgc") && k != "uuid" && k != "name")
}

// isOrgPath says whether path names an organisation, whose "local" flag says which pool
// it is in on the instance that wrote it.
func isOrgPath(path string) bool {
	for _, suffix := range []string{".Orgc", ".Org", ".Organisation"} {
		if strings.HasSuffix(path, suffix) {
			return true
		}
	}
	return false
}

// stripDerivedRefs drops MISP's summary of a reference's target, which is derived data.
func stripDerivedRefs(v any) {
	refs, _ := v.([]any)
	for _, r := range refs {
		if m, ok := r.(map[string]any); ok {
			delete(m, "Object")
			delete(m, "Attribute")
		}
	}
}

// canonical turns MISP's alternative spellings into one: numeric strings into numbers,
// flags into booleans, lower-case UUIDs.
func canonical(key string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, w := range x {
			out[k] = canonical(k, w)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, w := range x {
			out[i] = canonical(key, w)
		}
		return out
	case string:
		if flagKeys[key] {
			return x == "1" || x == "true"
		}
		if key == "analysis" {
			switch x {
			case "Initial":
				return float64(0)
			case "Ongoing":
				return float64(1)
			case "Completed":
				return float64(2)
			}
		}
		if n, err := strconv.ParseFloat(x, 64); err == nil && key != "value" && key != "name" && key != "info" && key != "comment" {
			return n
		}
		if misp.IsUUID(x) {
			return strings.ToLower(x)
		}
		return x
	case float64:
		if flagKeys[key] {
			return x != 0
		}
		return x
	case bool:
		// Older MISP writes a cluster's absent relationship_type as false, 2.5 as null.
		if key == "relationship_type" && !x {
			return nil
		}
	}
	return v
}

func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case float64:
		return x == 0
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 120 {
		return string(b[:120]) + "…"
	}
	return string(b)
}
