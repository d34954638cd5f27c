package feed

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
)

func newStore(t testing.TB) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Init(ctx, store.InitOptions{OrgName: "HOSTORG"}); err != nil {
		t.Fatal(err)
	}
	return s
}

func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestImportEveryFixture(t *testing.T) {
	if testing.Short() {
		t.Skip("every fixture file: the non-race pass of make test runs it")
	}
	s := newStore(t)
	ctx := context.Background()
	im := &Importer{Store: s, Options: store.UpsertOptions{DefaultDistribution: misp.CommunityOnly}}
	sum, err := im.ImportPaths(ctx, []string{"../../testdata/feeds", "../../testdata/events"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed != 0 {
		t.Fatalf("%s: %v", sum, sum.Errors)
	}
	// 71 + 79 + 3 + 2 feed events; 9 event files (one holds two events) and a galaxy.
	n, _ := s.CountEvents(ctx, store.EventFilter{})
	if sum.Imported != n || n < 160 {
		t.Errorf("%s; store holds %d events", sum, n)
	}
	if sum.Clusters != 1 {
		t.Errorf("%d galaxy clusters stored, want the one of pymisp/galaxy.json", sum.Clusters)
	}
	if c, err := testsupport.ClusterJSON(s, "24430dc6-9c27-4b3c-a5e7-6dda478fffa0"); err != nil || c == nil {
		t.Errorf("the galaxy file's cluster is not stored: %v", err)
	}
	again, err := im.ImportPaths(ctx, []string{"../../testdata/feeds", "../../testdata/events"})
	if err != nil || again.Imported != 0 || again.Updated != 0 || again.Failed != 0 || again.Clusters != 0 {
		t.Errorf("second import: %s, %v; want everything skipped", again, err)
	}
	if got := again.String(); !strings.HasPrefix(got, "imported 0, updated 0, skipped ") || !strings.HasSuffix(got, ", failed 0") {
		t.Errorf("summary line %q", got)
	}
}

// A bad file costs only itself: the rest of the run is imported and the error names the
// file and what is wrong.
func TestImportBadFilesAreReportedAndSkipped(t *testing.T) {
	s := newStore(t)
	dir := t.TempDir()
	copyDir(t, "../../testdata/feeds/crowdsec-threat-feed", filepath.Join(dir, "feed"))
	feedDir := filepath.Join(dir, "feed")
	// One event file truncated, one renamed to a UUID the manifest lists for another event.
	victim := filepath.Join(feedDir, "6a10e5d8-f1cd-42b0-8240-a4650efd83d6.json")
	b, _ := os.ReadFile(victim)
	os.WriteFile(victim, b[:len(b)/2], 0o644)
	loose := filepath.Join(dir, "loose")
	os.MkdirAll(loose, 0o755)
	os.WriteFile(filepath.Join(loose, "bad-timestamp.json"), []byte(`{"Event":{"uuid":"5a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f","info":"x","timestamp":"soon"}}`), 0o644)
	os.WriteFile(filepath.Join(loose, "good.json"), []byte(`{"Event":{"uuid":"6a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f","info":"fine","Attribute":[{"type":"domain","value":"ok.example"}]}}`), 0o644)

	sum, err := (&Importer{Store: s}).ImportPaths(context.Background(), []string{dir, filepath.Join(dir, "missing.json")})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Imported != 3 || sum.Failed != 3 {
		t.Fatalf("%s, errors %v; want 3 imported (2 feed events and good.json), 3 failed", sum, sum.Errors)
	}
	joined := ""
	for _, e := range sum.Errors {
		line := e.Error()
		if strings.Contains(line, "\n") {
			t.Errorf("multi-line error %q", line)
		}
		joined += line + "\n"
	}
	for _, want := range []string{"6a10e5d8-f1cd-42b0-8240-a4650efd83d6.json: at /Event/", "bad-timestamp.json: at /Event/timestamp", "missing.json: stat: no such file"} {
		if !strings.Contains(joined, want) {
			t.Errorf("errors lack %q:\n%s", want, joined)
		}
	}
	if n, _ := s.CountEvents(context.Background(), store.EventFilter{Text: "fine"}); n != 1 {
		t.Error("good.json was not imported")
	}
}

func TestImportFeedFileMustMatchManifest(t *testing.T) {
	s := newStore(t)
	dir := t.TempDir()
	copyDir(t, "../../testdata/feeds/act-workers-circl", dir)
	// Swap the two event files: each now holds the event the manifest lists under the other name.
	a := filepath.Join(dir, "5721c2e4-05ec-4af3-9264-411b950d210f.json")
	b := filepath.Join(dir, "57e27c3d-17a8-4c3b-8195-493e950d210f.json")
	tmp := filepath.Join(dir, "swap")
	os.Rename(a, tmp)
	os.Rename(b, a)
	os.Rename(tmp, b)
	sum, _ := (&Importer{Store: s}).ImportPaths(context.Background(), []string{dir})
	if sum.Failed != 2 || sum.Imported != 0 {
		t.Fatalf("%s; want both refused", sum)
	}
	if !strings.Contains(sum.Errors[0].Error(), "but the manifest lists it as") {
		t.Errorf("error %q", sum.Errors[0])
	}
}

// A feed exported from one instance and imported on another arrives whole.
func TestExportFeedRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("every fixture through a feed: the non-race pass of make test runs it")
	}
	ctx := context.Background()
	a := newStore(t)
	if _, err := (&Importer{Store: a}).ImportPaths(ctx, []string{"../../testdata/feeds/osint-mixed"}); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	sum, err := Export(ctx, a, out, ExportOptions{Feed: true, Unpublished: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Events != 71 || sum.Attributes != 10255 { // one ssdeep value with line breaks is refused as MISP refuses it
		t.Errorf("exported %+v, want 71 events and 10255 attributes", sum)
	}
	m, err := ReadManifest(filepath.Join(out, "manifest.json"))
	if err != nil || len(m) != 71 {
		t.Fatalf("manifest: %d entries, %v", len(m), err)
	}
	lines := 0
	f, _ := os.Open(filepath.Join(out, "hashes.csv"))
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		md5, uuid, ok := strings.Cut(sc.Text(), ",")
		if !ok || len(md5) != 32 || m[uuid].Info == "" {
			t.Fatalf("hashes.csv line %q", sc.Text())
		}
		lines++
	}
	f.Close()
	if lines != sum.Hashes || lines < 10256 {
		t.Errorf("hashes.csv has %d lines, export counted %d", lines, sum.Hashes)
	}

	b := newStore(t)
	got, err := (&Importer{Store: b}).ImportPaths(ctx, []string{out})
	if err != nil || got.Imported != 71 || got.Failed != 0 {
		t.Fatalf("import of the export: %s %v %v", got, err, got.Errors)
	}
	for _, row := range mustList(t, a) {
		ea, _ := a.Event(ctx, testsupport.LocalEvent(t, a, row.UUID))
		eb, err := b.Event(ctx, testsupport.LocalEvent(t, b, row.UUID))
		if err != nil {
			t.Fatalf("%s missing on B: %v", row.UUID, err)
		}
		if ea.Info != eb.Info || ea.Timestamp != eb.Timestamp || len(ea.Attribute) != len(eb.Attribute) ||
			len(ea.Object) != len(eb.Object) || ea.Distribution != eb.Distribution || ea.Orgc.UUID != eb.Orgc.UUID {
			t.Errorf("%s differs after export and import", row.UUID)
		}
	}
}

func mustList(t testing.TB, s *store.Store) []store.EventSummary {
	t.Helper()
	l, err := s.ListEvents(context.Background(), store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A feed carries a cluster's relations as wide as itself, never one kept to an
// organisation or a community, nor a tag this instance's tag list says may not leave,
// even when the relation's copy of the tag says nothing of it.
func TestExportFeedClusterRelations(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.AddTag(ctx, store.TagRow{Name: "internal:note", Colour: "#000000"}); err != nil {
		t.Fatal(err)
	}
	in := t.TempDir()
	const ev = `{"Event":{"uuid":"5f000000-0000-4000-8000-00000000f001","info":"related","date":"2024-01-01","timestamp":"1700000000",
		"published":true,"distribution":"3","analysis":"0","threat_level_id":"1",
		"Orgc":{"name":"ORGC","uuid":"5f000000-0000-4000-8000-00000000f0c0"},
		"Attribute":[{"uuid":"5f000000-0000-4000-8000-00000000f0a1","type":"text","category":"Other","value":"x","timestamp":"1700000000","distribution":"5"}],
		"Galaxy":[{"uuid":"5f000000-0000-4000-8000-00000000f0g1","name":"Custom","type":"custom","default":false,"distribution":"3",
		"GalaxyCluster":[{"uuid":"5f000000-0000-4000-8000-00000000f0c1","type":"custom","value":"Actor","version":"1",
		"tag_name":"misp-galaxy:custom=\"5f000000-0000-4000-8000-00000000f0c1\"","default":false,"distribution":"3",
		"GalaxyClusterRelation":[
		{"referenced_galaxy_cluster_uuid":"5f000000-0000-4000-8000-00000000f0r0","referenced_galaxy_cluster_type":"similar","distribution":"0"},
		{"referenced_galaxy_cluster_uuid":"5f000000-0000-4000-8000-00000000f0r1","referenced_galaxy_cluster_type":"similar","distribution":"1"},
		{"referenced_galaxy_cluster_uuid":"5f000000-0000-4000-8000-00000000f0r3","referenced_galaxy_cluster_type":"similar","distribution":"3",
		 "Tag":[{"name":"tlp:green"},{"name":"internal:note"}]}]}]}]}}`
	if err := os.WriteFile(filepath.Join(in, "5f000000-0000-4000-8000-00000000f001.json"), []byte(ev), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := (&Importer{Store: s}).ImportPaths(ctx, []string{in}); err != nil || got.Imported != 1 {
		t.Fatalf("import: %s %v %v", got, err, got.Errors)
	}
	out := t.TempDir()
	if _, err := Export(ctx, s, out, ExportOptions{Feed: true, Distribution: misp.AllCommunities}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "5f000000-0000-4000-8000-00000000f001.json"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := misp.ParseEvent(b)
	if err != nil || len(e.Galaxy) != 1 || len(e.Galaxy[0].GalaxyCluster) != 1 {
		t.Fatalf("exported event: %v %s", err, b)
	}
	var got []string
	for _, r := range e.Galaxy[0].GalaxyCluster[0].GalaxyClusterRelation {
		s := r.ReferencedUUID[len(r.ReferencedUUID)-2:]
		for _, tg := range r.Tag {
			s += "+" + tg.Name
		}
		got = append(got, s)
	}
	if strings.Join(got, " ") != "r3+tlp:green" {
		t.Errorf("the feed carries relations %q, want %q", strings.Join(got, " "), "r3+tlp:green")
	}
}
