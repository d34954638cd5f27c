// Package feed reads and writes events as files: single event documents, directories of
// them, and MISP feeds (manifest.json, one {uuid}.json per event, hashes.csv) — the way
// events reach an air-gapped box on removable media.
package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/store"
	"mispdesk/store/misp"
)

// MaxEventFile bounds the size of one event file: MISP events with attachments reach tens
// of megabytes; anything far beyond is not an event.
const MaxEventFile = 256 << 20

// Progress is reported after each event of an import.
type Progress struct {
	Done, Total int
	Elapsed     time.Duration
	Summary     Summary
}

// FileError says which file (and, in a feed, which event) could not be imported.
type FileError struct {
	Path string
	Err  error
}

func (e FileError) Error() string { return e.Path + ": " + e.Err.Error() }

// Summary counts what an import did.
type Summary struct {
	Imported, Updated, Skipped, Failed int
	Attributes                         int
	// Clusters counts galaxy clusters stored from galaxy definition files.
	Clusters int
	Errors   []FileError
	// Skips counts skipped events by reason.
	Skips map[string]int
}

func (s Summary) String() string {
	return fmt.Sprintf("imported %d, updated %d, skipped %d, failed %d", s.Imported, s.Updated, s.Skipped, s.Failed)
}

// Importer stores events read from files.
type Importer struct {
	Store   *store.Store
	Options store.UpsertOptions
	// Progress, when set, is called after every event.
	Progress func(Progress)
}

// job is one file to import; uuid is set for feed entries, whose file name must match.
type job struct {
	path string
	uuid string
}

// ImportPaths imports every event found under paths: event files ({"Event":…},
// {"response":[…]}, bare events, lists), directories of them (recursively), and MISP feed
// directories, which are read through their manifest. Each event is stored whole or not at
// all (its own savepoint of a store.Batch); a bad file is reported and the others still
// come in. Progress counts lag by at most one batch commit.
func (im *Importer) ImportPaths(ctx context.Context, paths []string) (Summary, error) {
	sum := Summary{Skips: map[string]int{}}
	var jobs []job
	for _, p := range paths {
		js, err := collect(p)
		if err != nil {
			sum.Failed++
			sum.Errors = append(sum.Errors, FileError{Path: p, Err: err})
			continue
		}
		jobs = append(jobs, js...)
	}
	start := time.Now()
	batch := im.Store.BeginBatch(ctx)
	batch.Committed = func(results []store.UpsertResult) {
		for _, res := range results {
			sum.Attributes += res.Attributes
			switch res.Outcome {
			case store.Created:
				sum.Imported++
			case store.Updated:
				sum.Updated++
			case store.Skipped:
				sum.Skipped++
				sum.Skips[res.Reason]++
			}
		}
	}
	batch.Lost = func(results []store.UpsertResult, err error) {
		for _, res := range results {
			sum.Failed++
			sum.Errors = append(sum.Errors, FileError{Path: "event " + res.UUID, Err: err})
		}
	}
	for i, j := range jobs {
		if err := ctx.Err(); err != nil {
			batch.Close()
			return sum, err
		}
		im.importFile(ctx, batch, j, &sum)
		if im.Progress != nil {
			im.Progress(Progress{Done: i + 1, Total: len(jobs), Elapsed: time.Since(start), Summary: sum})
		}
	}
	batch.Close()
	return sum, ctx.Err()
}

// collect lists the files to import under path.
func collect(path string) ([]job, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	if !info.IsDir() {
		return []job{{path: path}}, nil
	}
	var jobs []job
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		manifest := filepath.Join(p, "manifest.json")
		if _, err := os.Stat(manifest); err == nil {
			js, err := feedJobs(p, manifest)
			if err != nil {
				return err
			}
			jobs = append(jobs, js...)
			return fs.SkipDir
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".json") {
				jobs = append(jobs, job{path: filepath.Join(p, e.Name())})
			}
		}
		return nil
	})
	return jobs, err
}

// feedJobs reads a feed's manifest: the events it lists, in a stable order.
func feedJobs(dir, manifestPath string) ([]job, error) {
	m, err := ReadManifest(manifestPath)
	if err != nil {
		return nil, err
	}
	uuids := make([]string, 0, len(m))
	for u := range m {
		uuids = append(uuids, u)
	}
	sort.Strings(uuids)
	jobs := make([]job, 0, len(uuids))
	for _, u := range uuids {
		jobs = append(jobs, job{path: filepath.Join(dir, u+".json"), uuid: u})
	}
	return jobs, nil
}

// importFile reads one file and writes its events to the batch; their outcomes are
// counted when the batch commits them.
func (im *Importer) importFile(ctx context.Context, batch *store.Batch, j job, sum *Summary) {
	fail := func(err error) {
		sum.Failed++
		sum.Errors = append(sum.Errors, FileError{Path: j.path, Err: err})
	}
	raw, err := readBounded(j.path)
	if err != nil {
		fail(err)
		return
	}
	events, err := misp.ParseEvents(raw)
	if errors.Is(err, misp.ErrGalaxyDocument) {
		batch.Flush() // the batch holds the one write connection the galaxy needs
		n, err := im.importGalaxy(ctx, raw)
		if err != nil {
			fail(err)
		}
		sum.Clusters += n
		return
	}
	if err != nil {
		fail(err)
		return
	}
	for _, e := range events {
		if j.uuid != "" && !strings.EqualFold(e.UUID, j.uuid) {
			fail(fmt.Errorf("holds event %s, but the manifest lists it as %s", e.UUID, j.uuid))
			continue
		}
		if _, err := batch.UpsertEvent(e, im.Options); err != nil {
			fail(err)
		}
	}
}

// importGalaxy stores the clusters of a galaxy definition ({galaxy…, "GalaxyCluster":[…]},
// as MISP's galaxies/view and the misp-galaxy files hold them), each with its galaxy, a
// stored cluster replaced only by a newer version. It returns how many it wrote.
func (im *Importer) importGalaxy(ctx context.Context, raw []byte) (int, error) {
	var doc struct {
		Clusters []map[string]jsontext.Value `json:"GalaxyCluster"`
		Galaxy   misp.Extra                  `json:",embed"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return 0, misp.DescribeJSONError(err)
	}
	galaxy, err := json.Marshal(doc.Galaxy, json.Deterministic(true))
	if err != nil {
		return 0, err
	}
	written := 0
	for i, c := range doc.Clusters {
		c["Galaxy"] = galaxy
		b, err := json.Marshal(c, json.Deterministic(true))
		if err != nil {
			return written, err
		}
		ok, err := im.Store.UpsertGalaxyCluster(ctx, b)
		if err != nil {
			return written, fmt.Errorf("GalaxyCluster[%d]: %w", i, err)
		}
		if ok {
			written++
		}
	}
	return written, nil
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxEventFile+1))
	if err != nil {
		return nil, unwrapPathError(err)
	}
	if len(b) > MaxEventFile {
		return nil, fmt.Errorf("larger than %d MiB; not an event file", MaxEventFile>>20)
	}
	return b, nil
}

// unwrapPathError drops the path from an *fs.PathError, since FileError names it already.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// ManifestEntry is one event as a feed's manifest.json describes it.
type ManifestEntry struct {
	Orgc          *misp.Org     `json:"Orgc,omitzero"`
	Tag           []misp.Tag    `json:"Tag,omitzero"`
	Info          string        `json:"info"`
	Date          string        `json:"date"`
	Analysis      misp.Analysis `json:"analysis"`
	ThreatLevelID misp.Int      `json:"threat_level_id"`
	Timestamp     misp.Int      `json:"timestamp"`
	Extra         misp.Extra    `json:",embed"`
}

// Manifest is a feed's index: event UUID → entry.
type Manifest map[string]ManifestEntry

// ReadManifest reads and checks a manifest.json.
func ReadManifest(path string) (Manifest, error) {
	raw, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ParseManifest reads a manifest.json's content: an object keyed by event UUID, values
// as strings or numbers (both are found in real feeds).
func ParseManifest(raw []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, misp.DescribeJSONError(err)
	}
	for u := range m {
		if !misp.IsUUID(u) {
			return nil, fmt.Errorf("key %q is not an event UUID", u)
		}
	}
	return m, nil
}
