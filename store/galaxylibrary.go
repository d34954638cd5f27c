package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/store/misp"
)

// MISP's galaxy library (the misp-galaxy repository) stored here as MISP's Galaxy::update
// stores it: default galaxies and clusters, distribution 3, owned by no organisation,
// visible to everyone. An event names a library cluster by its tag; the event reader
// attaches every stored cluster its tags name, so an event that arrived with the tag
// alone (MISP pushes without clusters and is pulled from with excludeGalaxy) shows the
// cluster once the library is here, whenever the event came.

// LibraryGalaxy is one galaxy of the library (a galaxies/*.json file).
type LibraryGalaxy struct {
	UUID, Name, Type, Description, Icon, Namespace string
	Version                                        int64
	// KillChainOrder is the galaxy's kill_chain_order as the file has it; nil when none.
	KillChainOrder jsontext.Value
}

// LibraryOutcome is what an import did with one library galaxy or cluster.
type LibraryOutcome int

const (
	// LibraryAdded: it was new here.
	LibraryAdded LibraryOutcome = iota
	// LibraryUpdated: a stored older version was replaced.
	LibraryUpdated
	// LibraryUnchanged: the stored version is the same or newer.
	LibraryUnchanged
	// LibraryKept: a custom galaxy or cluster of that UUID (or tag) is stored; a library
	// import never replaces one.
	LibraryKept
)

// LibraryCounts counts the outcomes of a library import.
type LibraryCounts struct {
	Added, Updated, Unchanged, Kept int
}

// Add counts one outcome.
func (c *LibraryCounts) Add(o LibraryOutcome) {
	switch o {
	case LibraryAdded:
		c.Added++
	case LibraryUpdated:
		c.Updated++
	case LibraryUnchanged:
		c.Unchanged++
	case LibraryKept:
		c.Kept++
	}
}

// Sum adds other's counts to c.
func (c *LibraryCounts) Sum(other LibraryCounts) {
	c.Added += other.Added
	c.Updated += other.Updated
	c.Unchanged += other.Unchanged
	c.Kept += other.Kept
}

// genericOrg is the organisation MISP names as owner and creator of library clusters (id 0).
var genericOrg = map[string]string{"id": "0", "name": "MISP", "uuid": "0"}

// ImportLibraryGalaxy stores a library galaxy: new, or replacing a stored library galaxy of
// that UUID when of a newer version or another icon (MISP's update rule), or when it was
// stored from an event rather than the library. A custom galaxy of that UUID is kept.
func (s *Store) ImportLibraryGalaxy(ctx context.Context, g *LibraryGalaxy) (LibraryOutcome, error) {
	g.UUID = strings.ToLower(g.UUID)
	if !misp.IsUUID(g.UUID) {
		return 0, fmt.Errorf("uuid %q is not a UUID", g.UUID)
	}
	if strings.TrimSpace(g.Type) == "" || strings.TrimSpace(g.Name) == "" {
		return 0, errors.New("a galaxy needs a name and a type")
	}
	var out LibraryOutcome
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var (
			id            GalaxyID
			version, icon string
			isDefault     bool
			created       int64
		)
		err := tx.QueryRowContext(ctx, `SELECT id, version, icon, is_default, created FROM galaxies WHERE uuid = ?`, g.UUID).
			Scan(&id, &version, &icon, &isDefault, &created)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		now := s.now().Unix()
		switch {
		case id == 0:
			out, created = LibraryAdded, now
		case !isDefault:
			out = LibraryKept
			return nil
		case versionNumber(version) < g.Version || (g.Icon != "" && g.Icon != icon) || created == 0:
			// created 0: stored from an event that embedded it, without the members only
			// the library has
			out = LibraryUpdated
			if created == 0 {
				created = now
			}
		default:
			out = LibraryUnchanged
			return nil
		}
		ex, err := libraryGalaxyMember(g, created, now)
		if err != nil {
			return err
		}
		version = strconv.FormatInt(g.Version, 10)
		if id != 0 {
			_, err = tx.ExecContext(ctx, `UPDATE galaxies SET name = ?, type = ?, description = ?, version = ?, icon = ?, namespace = ?,
				is_default = 1, distribution = 3, sharing_group_id = NULL, org_id = NULL, orgc_id = NULL, locked = 0, created = ?,
				modified = ?, extra = ? WHERE id = ?`, g.Name, g.Type, g.Description, version, g.Icon, g.Namespace, created, now, ex, id)
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO galaxies (uuid, name, type, description, version, icon, namespace, is_default,
			distribution, locked, created, modified, extra) VALUES (?, ?, ?, ?, ?, ?, ?, 1, 3, 0, ?, ?, ?)`,
			g.UUID, g.Name, g.Type, g.Description, version, g.Icon, g.Namespace, created, now, ex)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("library galaxy %s: %w", g.UUID, err)
	}
	return out, nil
}

// libraryGalaxyMember is the library galaxy as an event embeds it (MISP's galaxies row:
// enabled, not local only, its kill chain order when it has one).
func libraryGalaxyMember(g *LibraryGalaxy, created, modified int64) (string, error) {
	m := map[string]any{"uuid": g.UUID, "name": g.Name, "type": g.Type, "description": g.Description,
		"version": strconv.FormatInt(g.Version, 10), "icon": g.Icon, "namespace": g.Namespace, "enabled": true,
		"local_only": false, "default": true, "distribution": "3", "sharing_group_id": nil, "org_id": "0", "orgc_id": "0",
		"created": stamp(created), "modified": stamp(modified)}
	if len(g.KillChainOrder) > 0 {
		m["kill_chain_order"] = g.KillChainOrder
	}
	b, err := json.Marshal(m, json.Deterministic(true))
	return string(b), err
}

// versionNumber reads a stored galaxy version ("" or not a number: 0).
func versionNumber(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return n
}

// LibraryClusterSet is what a library cluster file says of all its clusters: its
// galaxy's type, its collection UUID, source, authors and version.
type LibraryClusterSet struct {
	Type, UUID, Source string
	Authors            []string
	Version            int64
}

// LibraryCluster is one cluster of a library cluster file (a member of its values).
type LibraryCluster struct {
	UUID, Value, Description string
	// Version is the cluster's own; 0 takes its set's.
	Version int64
	// Meta is the cluster's metadata as MISP keeps it: each key with its values as text.
	Meta    map[string][]string
	Related []LibraryRelation
}

// LibraryRelation is a cluster's relation to another cluster.
type LibraryRelation struct {
	DestUUID, Type string
	Tags           []string
}

// ErrNoLibraryGalaxy is returned for a cluster file whose galaxy type is not in the
// library here (MISP's update passes such files over).
var ErrNoLibraryGalaxy = errors.New("no library galaxy of that type")

// ImportLibraryClusters stores the clusters of one library cluster file in one
// transaction: next yields them one at a time (nil at the end), so a file of any size is
// read in bounded memory, and an error from next or from a cluster leaves nothing of the
// file written. A cluster is matched by its tag (its galaxy's type and its value, as
// MISP matches library clusters: the library gives one UUID to clusters of several
// galaxies) and replaced only by a newer version; a custom cluster so matched is kept.
func (s *Store) ImportLibraryClusters(ctx context.Context, set *LibraryClusterSet, next func() (*LibraryCluster, error)) (LibraryCounts, error) {
	var counts LibraryCounts
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var galaxyID GalaxyID
		err := tx.QueryRowContext(ctx, `SELECT id FROM galaxies WHERE type = ? AND is_default = 1 ORDER BY id LIMIT 1`, set.Type).Scan(&galaxyID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("type %q: %w", set.Type, ErrNoLibraryGalaxy)
		}
		if err != nil {
			return err
		}
		for {
			c, err := next()
			if err != nil {
				return err
			}
			if c == nil {
				return nil
			}
			o, err := s.importLibraryCluster(ctx, tx, set, galaxyID, c)
			if err != nil {
				return err
			}
			counts.Add(o)
		}
	})
	if err != nil {
		return LibraryCounts{}, err
	}
	return counts, nil
}

func (s *Store) importLibraryCluster(ctx context.Context, tx *sql.Tx, set *LibraryClusterSet, galaxyID GalaxyID, c *LibraryCluster) (LibraryOutcome, error) {
	c.UUID = strings.ToLower(c.UUID)
	if !misp.IsUUID(c.UUID) {
		return 0, fmt.Errorf("uuid %q is not a UUID", c.UUID)
	}
	if strings.TrimSpace(c.Value) == "" {
		return 0, fmt.Errorf("cluster %s: value must not be empty", c.UUID)
	}
	version := cmp.Or(c.Version, set.Version, 1)
	tagName := fmt.Sprintf(`misp-galaxy:%s="%s"`, set.Type, c.Value)
	var (
		id, stored int64
		def        sql.NullString
	)
	err := tx.QueryRowContext(ctx, `SELECT id, version, json_extract(extra, '$.default') FROM galaxy_clusters WHERE tag_name = ?`,
		tagName).Scan(&id, &stored, &def)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	out := LibraryAdded
	switch {
	case id != 0 && def.Valid && !ClusterFlag(def.String):
		return LibraryKept, nil
	case id != 0 && stored >= version:
		return LibraryUnchanged, nil
	case id != 0:
		out = LibraryUpdated
	}
	ex, err := libraryClusterMember(set, c, tagName, version)
	if err != nil {
		return 0, err
	}
	if id != 0 {
		_, err = tx.ExecContext(ctx, `UPDATE galaxy_clusters SET uuid = ?, galaxy_id = ?, type = ?, value = ?, tag_name = ?,
			description = ?, version = ?, extra = ? WHERE id = ?`, c.UUID, galaxyID, set.Type, c.Value, tagName, c.Description, version, ex, id)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO galaxy_clusters (uuid, galaxy_id, type, value, tag_name, description, version, extra)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, c.UUID, galaxyID, set.Type, c.Value, tagName, c.Description, version, ex)
	}
	if err != nil {
		return 0, fmt.Errorf("cluster %s: %w", c.UUID, err)
	}
	return out, nil
}

// libraryClusterMember is the library cluster as MISP's events/view embeds it (without
// its local id and galaxy id, which the reader adds): a default cluster at distribution 3
// owned by no organisation, its metadata as meta and its relations as
// GalaxyClusterRelation.
func libraryClusterMember(set *LibraryClusterSet, c *LibraryCluster, tagName string, version int64) (string, error) {
	rels := make([]map[string]any, 0, len(c.Related))
	for _, r := range c.Related {
		rel := map[string]any{"galaxy_cluster_uuid": c.UUID, "referenced_galaxy_cluster_uuid": strings.ToLower(r.DestUUID),
			"referenced_galaxy_cluster_type": r.Type, "default": true, "distribution": "3", "sharing_group_id": nil}
		if len(r.Tags) > 0 {
			tags := make([]map[string]string, len(r.Tags))
			for i, t := range r.Tags {
				tags[i] = map[string]string{"name": t}
			}
			rel["Tag"] = tags
		}
		rels = append(rels, rel)
	}
	meta := c.Meta
	if meta == nil {
		meta = map[string][]string{}
	}
	var authors any // null when the file names none, as MISP shows it
	if set.Authors != nil {
		authors = set.Authors
	}
	m := map[string]any{"uuid": c.UUID, "collection_uuid": strings.ToLower(set.UUID), "type": set.Type, "value": c.Value,
		"tag_name": tagName, "description": c.Description, "source": set.Source, "authors": authors,
		"version": strconv.FormatInt(version, 10), "distribution": "3", "sharing_group_id": nil, "org_id": "0", "orgc_id": "0",
		"default": true, "locked": false, "extends_uuid": "", "extends_version": "0", "published": false, "deleted": false,
		"meta": meta, "GalaxyClusterRelation": rels, "Org": genericOrg, "Orgc": genericOrg}
	b, err := json.Marshal(m, json.Deterministic(true))
	return string(b), err
}
