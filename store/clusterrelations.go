package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"

	"mispdesk/store/misp"
)

// A cluster's relations are kept inside its stored JSON, not in rows of their own. MISP
// names one by the cluster it belongs to, the cluster it refers to and its type (a second
// relation of those three is refused), so that triple gives a relation its local id: a
// number that stays the same while the relation does, whatever else changes on the
// cluster. The id a sender gave it means nothing here.

// ClusterRelationID is the local id of the relation r of the cluster clusterUUID: 1 to 2^48.
func ClusterRelationID(clusterUUID string, r *misp.ClusterRelation) int64 {
	h := sha256.Sum256([]byte(strings.ToLower(clusterUUID) + "\x00" + strings.ToLower(r.ReferencedUUID) + "\x00" + r.ReferencedType))
	var b [8]byte
	copy(b[2:], h[:6])
	return int64(binary.BigEndian.Uint64(b[:])) + 1
}

// relationRows lists, for every stored relation, its cluster's id and UUID and the
// relation's referenced cluster and type.
const relationRows = `SELECT c.id, c.uuid, ifnull(json_extract(r.value, '$.referenced_galaxy_cluster_uuid'), ''),
	ifnull(json_extract(r.value, '$.referenced_galaxy_cluster_type'), '')
	FROM galaxy_clusters c, json_each(c.extra, '$.GalaxyClusterRelation') r WHERE r.type = 'object'`

// ClusterOfRelation finds the cluster that holds the relation of local id id
// (ErrNotFound when none does).
func (s *Store) ClusterOfRelation(ctx context.Context, id int64) (ClusterID, error) {
	rows, err := s.read.QueryContext(ctx, relationRows)
	if err != nil {
		return 0, fmt.Errorf("galaxy cluster relation %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			cid  ClusterID
			cuid string
			r    misp.ClusterRelation
		)
		if err := rows.Scan(&cid, &cuid, &r.ReferencedUUID, &r.ReferencedType); err != nil {
			return 0, fmt.Errorf("galaxy cluster relation %d: %w", id, err)
		}
		if ClusterRelationID(cuid, &r) == id {
			return cid, nil
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("galaxy cluster relation %d: %w", id, err)
	}
	return 0, fmt.Errorf("galaxy cluster relation %d: %w", id, ErrNotFound)
}

// ClustersWithRelations lists the clusters that have relations, by id.
func (s *Store) ClustersWithRelations(ctx context.Context) ([]ClusterID, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT DISTINCT id FROM (`+relationRows+`) ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("galaxy cluster relations: %w", err)
	}
	defer rows.Close()
	var out []ClusterID
	for rows.Next() {
		var id ClusterID
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("galaxy cluster relations: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
