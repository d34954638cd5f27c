package feed

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-json-experiment/json"

	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/gate"
)

// ExportOptions chooses what Export writes.
type ExportOptions struct {
	// Feed writes MISP's feed layout (manifest.json, {uuid}.json without this instance's
	// ids, hashes.csv) for another MISP or mispdesk to consume; otherwise each event is
	// written as events/view returns it.
	Feed bool
	// Unpublished includes unpublished events in a feed (MISP's generator leaves them out).
	Unpublished bool
	// Distribution is the narrowest distribution written (feeds only): 0 writes
	// everything; 1, 2 or 3 write only events whose distribution is at least that and,
	// inside them, only the attributes, objects and reports whose own distribution (5:
	// the event's) is at least that. Sharing-group data (4) is not on that scale and goes
	// only with 0: a feed has no way to keep it to the group's members.
	Distribution misp.Distribution
	// Progress, when set, is called after every event.
	Progress func(done, total int)
}

// ExportSummary counts what an export wrote.
type ExportSummary struct {
	Events, Attributes, Hashes int
}

// Export writes the store's events under dir, one file per event, each written whole
// before it is renamed into place.
func Export(ctx context.Context, st *store.Store, dir string, opts ExportOptions) (ExportSummary, error) {
	var sum ExportSummary
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return sum, fmt.Errorf("export to %s: %w", dir, unwrapPathError(err))
	}
	filter := store.EventFilter{Sort: "timestamp", Ascending: true}
	if opts.Feed && !opts.Unpublished {
		published := true
		filter.Published = &published
	}
	list, err := st.ListEvents(ctx, filter)
	if err != nil {
		return sum, err
	}
	manifest := Manifest{}
	var hashes strings.Builder
	g := gate.New(st)
	for i, row := range list {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		e, err := st.Event(ctx, row.ID)
		if err != nil {
			return sum, err
		}
		if opts.Feed {
			if e, _, err = g.FeedEvent(ctx, e, opts.Distribution); err != nil {
				return sum, fmt.Errorf("export event %s: %w", row.UUID, err)
			}
			if e == nil {
				continue // narrower than the feed
			}
			toFeed(e)
			manifest[e.UUID] = manifestEntry(e)
			sum.Hashes += writeHashes(&hashes, e)
		}
		raw, err := misp.MarshalEvent(e)
		if err != nil {
			return sum, fmt.Errorf("export event %s: %w", e.UUID, err)
		}
		if err := writeFileAtomic(filepath.Join(dir, e.UUID+".json"), raw); err != nil {
			return sum, err
		}
		sum.Events++
		sum.Attributes += len(e.Attribute)
		for _, o := range e.Object {
			sum.Attributes += len(o.Attribute)
		}
		if opts.Progress != nil {
			opts.Progress(i+1, len(list))
		}
	}
	if !opts.Feed {
		return sum, nil
	}
	raw, err := json.Marshal(manifest, json.Deterministic(true))
	if err != nil {
		return sum, err
	}
	if err := writeFileAtomic(filepath.Join(dir, "manifest.json"), raw); err != nil {
		return sum, err
	}
	return sum, writeFileAtomic(filepath.Join(dir, "hashes.csv"), []byte(hashes.String()))
}

// toFeed strips what belongs to this instance from an event, as MISP's feed generator
// does: local ids, the local owner, local and non-exportable tags.
func toFeed(e *misp.Event) {
	e.ID, e.OrgID, e.OrgcID, e.Org, e.AttributeCount = 0, 0, 0, nil, 0
	e.SightingTimestamp, e.EventCreatorEmail = 0, ""
	if e.Orgc != nil {
		e.Orgc = &misp.Org{Name: e.Orgc.Name, UUID: e.Orgc.UUID}
	}
	e.Tag = exportableTags(e.Tag)
	attrs := func(as []misp.Attribute) {
		for i := range as {
			a := &as[i]
			a.ID, a.EventID, a.ObjectID = 0, 0, 0
			a.Tag = exportableTags(a.Tag)
			for j := range a.Sighting {
				s := &a.Sighting[j]
				s.ID, s.AttributeID, s.EventID = 0, 0, 0
			}
		}
	}
	attrs(e.Attribute)
	for i := range e.Object {
		o := &e.Object[i]
		o.ID, o.EventID = 0, 0
		for j := range o.ObjectReference {
			r := &o.ObjectReference[j]
			r.ID, r.EventID, r.ObjectID = 0, 0, 0
		}
		attrs(o.Attribute)
	}
	for i := range e.EventReport {
		e.EventReport[i].ID, e.EventReport[i].EventID = 0, 0
	}
}

func exportableTags(tags []misp.Tag) []misp.Tag {
	out := tags[:0]
	for _, t := range tags {
		if bool(t.Local) || !t.IsExportable() {
			continue
		}
		t.ID, t.UserID = 0, 0
		out = append(out, t)
	}
	return out
}

func manifestEntry(e *misp.Event) ManifestEntry {
	m := ManifestEntry{Info: e.Info, Date: e.Date, Analysis: e.Analysis, ThreatLevelID: e.ThreatLevelID, Timestamp: e.Timestamp}
	if e.Orgc != nil {
		m.Orgc = &misp.Org{Name: e.Orgc.Name, UUID: e.Orgc.UUID}
	}
	for _, t := range e.Tag {
		m.Tag = append(m.Tag, misp.Tag{Name: t.Name, Colour: t.Colour, Local: t.Local, RelationshipType: t.RelationshipType})
	}
	return m
}

// writeHashes adds MISP's hashes.csv lines for an event: md5 of each value (each part of a
// composite value) and the event UUID.
func writeHashes(b *strings.Builder, e *misp.Event) int {
	n := 0
	add := func(as []misp.Attribute) {
		for _, a := range as {
			parts := []string{a.Value}
			if v1, v2 := store.SplitValue(a.Type, a.Value); misp.IsComposite(a.Type) {
				parts = []string{v1, v2}
			}
			for _, p := range parts {
				sum := md5.Sum([]byte(p))
				b.WriteString(hex.EncodeToString(sum[:]))
				b.WriteByte(',')
				b.WriteString(e.UUID)
				b.WriteByte('\n')
				n++
			}
		}
	}
	add(e.Attribute)
	for _, o := range e.Object {
		add(o.Attribute)
	}
	return n
}

// writeFileAtomic writes data next to path and renames it into place, so a reader never
// sees half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".export-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, unwrapPathError(err))
	}
	w := bufio.NewWriterSize(tmp, 1<<16)
	_, err = w.Write(data)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = tmp.Close()
	} else {
		tmp.Close()
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, unwrapPathError(err))
	}
	return nil
}
