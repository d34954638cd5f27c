package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// SyncCluster is a galaxy cluster as cluster sync handles it: MISP's galaxy_clusters/view
// member (GalaxyClusterJSON) with the fields sync decides on.
type SyncCluster struct {
	UUID         string
	Version      int64
	Distribution int
	Member       map[string]any
}

// ClusterVersions returns the version of every stored cluster by UUID.
func (s *Store) ClusterVersions(ctx context.Context) (map[string]int64, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT uuid, version FROM galaxy_clusters`)
	if err != nil {
		return nil, fmt.Errorf("cluster versions: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var u string
		var v int64
		if err := rows.Scan(&u, &v); err != nil {
			return nil, fmt.Errorf("cluster versions: %w", err)
		}
		out[u] = max(out[u], v)
	}
	return out, rows.Err()
}

// CustomClusters lists the custom (not default) published clusters, as a cluster push
// sends them: all of them, or with eventUUID only those the event (or one of its
// attributes) carries, by link or by galaxy tag.
func (s *Store) CustomClusters(ctx context.Context, eventUUID string) ([]SyncCluster, error) {
	q := `SELECT id FROM galaxy_clusters ORDER BY id`
	var args []any
	if eventUUID != "" {
		q = `SELECT c.id FROM galaxy_clusters c WHERE c.id IN (
				SELECT l.cluster_id FROM event_galaxy_clusters l JOIN events e ON e.id = l.event_id WHERE e.uuid = ?)
			OR c.tag_name IN (
				SELECT t.name FROM event_tags et JOIN tags t ON t.id = et.tag_id JOIN events e ON e.id = et.event_id WHERE e.uuid = ?
				UNION SELECT t.name FROM attribute_tags at JOIN tags t ON t.id = at.tag_id JOIN events e ON e.id = at.event_id WHERE e.uuid = ?)
			ORDER BY c.id`
		u := strings.ToLower(eventUUID)
		args = []any{u, u, u}
	}
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("custom clusters: %w", err)
	}
	var ids []ClusterID
	for rows.Next() {
		var id ClusterID
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("custom clusters: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("custom clusters: %w", err)
	}
	var out []SyncCluster
	for _, id := range ids {
		c, err := s.CustomCluster(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, nil
}

// CustomCluster is one custom published cluster, as a cluster push sends it; ErrNotFound
// when it is not such (a library cluster, or not published).
func (s *Store) CustomCluster(ctx context.Context, id ClusterID) (*SyncCluster, error) {
	m, err := s.GalaxyClusterJSON(ctx, id)
	if err != nil {
		return nil, err
	}
	if ClusterFlag(m["default"]) || !ClusterFlag(m["published"]) {
		return nil, fmt.Errorf("galaxy cluster %d: not a custom published cluster: %w", id, ErrNotFound)
	}
	v, _ := strconv.ParseInt(fmt.Sprint(m["version"]), 10, 64)
	u, _ := m["uuid"].(string)
	return &SyncCluster{UUID: u, Version: v, Distribution: ClusterInt(m["distribution"]), Member: m}, nil
}

// ClusterFlag reads a boolean member of a cluster as MISP writes them (true, 1, "1").
func ClusterFlag(v any) bool {
	s := clusterText(v)
	return s == "true" || s == "1"
}

// ClusterInt reads a number member of a cluster (3 or "3"); 0 when absent or not a number.
func ClusterInt(v any) int {
	n, _ := strconv.Atoi(clusterText(v))
	return n
}

func clusterText(v any) string {
	switch x := v.(type) {
	case jsontext.Value:
		s := strings.TrimSpace(string(x))
		if uq, err := strconv.Unquote(s); err == nil {
			return uq
		}
		return s
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
