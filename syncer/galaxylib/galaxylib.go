// Package galaxylib reads MISP's galaxy library from a checkout of the misp-galaxy
// repository (galaxies/*.json, clusters/*.json) into the store, as MISP's Galaxy::update
// loads it from its copy: every galaxy first, then each cluster file in one transaction.
package galaxylib

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/feed"
)

// MaxGalaxyFile bounds a galaxy file, read whole: the library's are a few kilobytes.
const MaxGalaxyFile = 4 << 20

// Summary counts what an import did.
type Summary struct {
	Galaxies, Clusters store.LibraryCounts
	// Files is how many files were read; Failed how many of them stored nothing.
	Files, Failed int
	// Unmatched counts cluster files whose galaxy is not in the library (MISP passes them
	// over too).
	Unmatched int
	Errors    []feed.FileError
}

func (s Summary) String() string {
	c := func(n store.LibraryCounts) string {
		return fmt.Sprintf("%d added, %d updated, %d unchanged, %d kept custom", n.Added, n.Updated, n.Unchanged, n.Kept)
	}
	return fmt.Sprintf("galaxies: %s; clusters: %s; %d files, %d failed", c(s.Galaxies), c(s.Clusters), s.Files, s.Failed)
}

// Import stores the library under dir. A file that cannot be read or stored is reported
// (onError, when set, and in the summary) and stores nothing; the others still come in.
// The error is for what stops the whole import: no galaxies directory, a cancelled
// context.
func Import(ctx context.Context, st *store.Store, dir string, onError func(feed.FileError)) (Summary, error) {
	var sum Summary
	galaxies, err := jsonFiles(dir, "galaxies")
	if err != nil {
		return sum, err
	}
	clusters, err := jsonFiles(dir, "clusters")
	if err != nil {
		return sum, err
	}
	fail := func(path string, err error) {
		fe := feed.FileError{Path: path, Err: err}
		sum.Failed++
		sum.Errors = append(sum.Errors, fe)
		if onError != nil {
			onError(fe)
		}
	}
	for _, path := range galaxies {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		sum.Files++
		g, err := readGalaxy(path)
		if err != nil {
			fail(path, err)
			continue
		}
		o, err := st.ImportLibraryGalaxy(ctx, g)
		if err != nil {
			fail(path, err)
			continue
		}
		sum.Galaxies.Add(o)
	}
	for _, path := range clusters {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		sum.Files++
		n, err := importClusters(ctx, st, path)
		switch {
		case errors.Is(err, store.ErrNoLibraryGalaxy):
			sum.Unmatched++
		case err != nil:
			fail(path, err)
		default:
			sum.Clusters.Sum(n)
		}
	}
	return sum, ctx.Err()
}

// jsonFiles lists dir/sub/*.json in name order.
func jsonFiles(dir, sub string) ([]string, error) {
	d := filepath.Join(dir, sub)
	if fi, err := os.Stat(d); err != nil {
		return nil, fmt.Errorf("%s: not a misp-galaxy checkout (%w)", dir, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%s: not a misp-galaxy checkout (%s is not a directory)", dir, d)
	}
	return filepath.Glob(filepath.Join(d, "*.json"))
}

// galaxyFile is a galaxies/*.json file.
type galaxyFile struct {
	UUID           string         `json:"uuid"`
	Name           string         `json:"name"`
	Type           string         `json:"type"`
	Description    string         `json:"description"`
	Icon           string         `json:"icon"`
	Namespace      string         `json:"namespace"`
	Version        misp.Int       `json:"version"`
	KillChainOrder jsontext.Value `json:"kill_chain_order"`
}

func readGalaxy(path string) (*store.LibraryGalaxy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxGalaxyFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxGalaxyFile {
		return nil, fmt.Errorf("larger than %d MiB: not a galaxy", MaxGalaxyFile>>20)
	}
	var g galaxyFile
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, oneLine(err)
	}
	kco := g.KillChainOrder
	if k := kco.Kind(); k == 'n' || k == 0 {
		kco = nil
	} else if k != '{' {
		return nil, errors.New(`at "/kill_chain_order": not an object`)
	}
	return &store.LibraryGalaxy{UUID: g.UUID, Name: g.Name, Type: g.Type, Description: g.Description, Icon: g.Icon,
		Namespace: g.Namespace, Version: int64(g.Version), KillChainOrder: kco}, nil
}

// clusterSetFile is a cluster file's members other than its values.
type clusterSetFile struct {
	Type    string   `json:"type"`
	UUID    string   `json:"uuid"`
	Source  string   `json:"source"`
	Authors []string `json:"authors"`
	Version misp.Int `json:"version"`
}

// clusterFile is one member of a cluster file's values.
type clusterFile struct {
	UUID        string                    `json:"uuid"`
	Value       string                    `json:"value"`
	Description string                    `json:"description"`
	Version     misp.Int                  `json:"version"`
	Meta        map[string]jsontext.Value `json:"meta"`
	Related     []struct {
		DestUUID string   `json:"dest-uuid"`
		Type     string   `json:"type"`
		Tags     []string `json:"tags"`
	} `json:"related"`
}

// pointedError is an error that already says where in the file it is.
type pointedError struct{ err error }

func (e pointedError) Error() string { return e.err.Error() }
func (e pointedError) Unwrap() error { return e.err }

// importClusters stores one cluster file. It reads the file twice, streaming: first
// everything but its values (which may come before the type and version they need),
// then the values one at a time, inside the store's transaction for the file.
func importClusters(ctx context.Context, st *store.Store, path string) (store.LibraryCounts, error) {
	var set clusterSetFile
	err := withDecoder(path, func(dec *jsontext.Decoder) error {
		return members(dec, func(name string) error {
			if f := set.field(name); f != nil {
				return json.UnmarshalDecode(dec, f)
			}
			return dec.SkipValue()
		})
	})
	if err != nil {
		return store.LibraryCounts{}, err
	}
	if strings.TrimSpace(set.Type) == "" {
		return store.LibraryCounts{}, errors.New(`at "/type": a cluster file needs its galaxy's type`)
	}
	header := &store.LibraryClusterSet{Type: set.Type, UUID: set.UUID, Source: set.Source, Authors: set.Authors,
		Version: int64(set.Version)}
	var counts store.LibraryCounts
	at := ""
	err = withDecoder(path, func(dec *jsontext.Decoder) error {
		found := false
		err := members(dec, func(name string) error {
			if name != "values" || found {
				return dec.SkipValue()
			}
			found = true
			if tok, err := dec.ReadToken(); err != nil {
				return err
			} else if tok.Kind() != '[' {
				return errors.New(`at "/values": not an array`)
			}
			i := 0
			var err error
			counts, err = st.ImportLibraryClusters(ctx, header, func() (*store.LibraryCluster, error) {
				if dec.PeekKind() == ']' {
					return nil, nil
				}
				at = "/values/" + strconv.Itoa(i)
				i++
				var c clusterFile
				if err := json.UnmarshalDecode(dec, &c); err != nil {
					return nil, pointedError{oneLine(err)}
				}
				meta, err := clusterMeta(c.Meta)
				if err != nil {
					return nil, pointedError{fmt.Errorf("at %q: %w", at+"/meta", err)}
				}
				lc := &store.LibraryCluster{UUID: c.UUID, Value: c.Value, Description: c.Description, Version: int64(c.Version),
					Meta: meta}
				for _, r := range c.Related {
					lc.Related = append(lc.Related, store.LibraryRelation{DestUUID: r.DestUUID, Type: r.Type, Tags: r.Tags})
				}
				return lc, nil
			})
			if err != nil {
				return err
			}
			_, err = dec.ReadToken() // the closing ']'
			return err
		})
		if err == nil && !found {
			err = errors.New(`at "/values": a cluster file needs its values`)
		}
		return err
	})
	var pe pointedError
	if err != nil && at != "" && !errors.As(err, &pe) && !errors.Is(err, store.ErrNoLibraryGalaxy) {
		err = fmt.Errorf("at %q: %w", at, err)
	}
	return counts, err
}

// withDecoder runs fn over a decoder of the file, then checks nothing follows its value.
func withDecoder(path string, fn func(*jsontext.Decoder) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := jsontext.NewDecoder(bufio.NewReader(f))
	if err := fn(dec); err != nil {
		return err
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return oneLine(fmt.Errorf("after the top-level object: %w", err))
	}
	return nil
}

// members walks the top-level object, calling each(name) at every member to read its
// value.
func members(dec *jsontext.Decoder, each func(name string) error) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return oneLine(err)
	}
	if tok.Kind() != '{' {
		return errors.New(`at "": a cluster file is a JSON object`)
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return oneLine(err)
		}
		if err := each(name.String()); err != nil {
			var pe pointedError
			if errors.As(err, &pe) || errors.Is(err, store.ErrNoLibraryGalaxy) {
				return err
			}
			return oneLine(err)
		}
	}
	_, err = dec.ReadToken()
	return oneLine(err)
}

// field is the field a header member is read into; nil for the members not kept.
func (s *clusterSetFile) field(name string) any {
	switch name {
	case "type":
		return &s.Type
	case "uuid":
		return &s.UUID
	case "source":
		return &s.Source
	case "authors":
		return &s.Authors
	case "version":
		return &s.Version
	}
	return nil
}

// clusterMeta reads a cluster's meta as MISP keeps it: each key with a list of text
// values (a single value becomes a list of one; numbers keep their digits, true is "1",
// false and null ""). Nested lists and objects in a list are left out, as MISP leaves
// them out.
func clusterMeta(meta map[string]jsontext.Value) (map[string][]string, error) {
	if len(meta) == 0 {
		return nil, nil
	}
	out := make(map[string][]string, len(meta))
	for k, v := range meta {
		var items []jsontext.Value
		switch v.Kind() {
		case '[':
			if err := json.Unmarshal(v, &items); err != nil {
				return nil, err
			}
		case '{':
			var m map[string]jsontext.Value
			if err := json.Unmarshal(v, &m); err != nil {
				return nil, err
			}
			for _, x := range m {
				items = append(items, x)
			}
		default:
			items = []jsontext.Value{v}
		}
		vals := []string{}
		for _, it := range items {
			switch it.Kind() {
			case '"':
				var s string
				if err := json.Unmarshal(it, &s); err != nil {
					return nil, err
				}
				vals = append(vals, s)
			case '0':
				vals = append(vals, string(it))
			case 't':
				vals = append(vals, "1")
			case 'f', 'n':
				vals = append(vals, "")
			}
		}
		out[k] = vals
	}
	return out, nil
}

// oneLine keeps an error to one line (a decoder's message names the JSON pointer).
func oneLine(err error) error {
	if err == nil || !strings.ContainsAny(err.Error(), "\r\n") {
		return err
	}
	return errors.New(strings.Join(strings.Fields(err.Error()), " "))
}
