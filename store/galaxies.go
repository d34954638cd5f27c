package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"

	"mispdesk/store/misp"
)

// GalaxyRow is a stored galaxy: MISP's library galaxies (Default) and custom ones with
// their own owner, creator and distribution.
type GalaxyRow struct {
	ID             GalaxyID
	UUID           string
	Name           string
	Type           string
	Description    string
	Version        string
	Icon           string
	Namespace      string
	Default        bool
	Distribution   misp.Distribution
	SharingGroupID SharingGroupID
	// Org owns the galaxy here, Orgc created it; zero for library galaxies.
	Org, Orgc misp.Org
	// Locked marks a galaxy received from a peer.
	Locked            bool
	Created, Modified int64
	// KillChainOrder is a library galaxy's kill_chain_order (JSON); empty when it has none.
	KillChainOrder string
}

const galaxySelect = `SELECT g.id, g.uuid, g.name, g.type, g.description, g.version, g.icon, g.namespace, g.is_default,
	g.distribution, ifnull(g.sharing_group_id, 0), ifnull(o.id, 0), ifnull(o.uuid, ''), ifnull(o.name, ''),
	ifnull(oc.id, 0), ifnull(oc.uuid, ''), ifnull(oc.name, ''), g.locked, g.created, g.modified,
	CASE json_type(g.extra, '$.kill_chain_order') WHEN 'object' THEN json_extract(g.extra, '$.kill_chain_order') ELSE '' END
	FROM galaxies g LEFT JOIN orgs o ON o.id = g.org_id LEFT JOIN orgs oc ON oc.id = g.orgc_id`

func scanGalaxy(row interface{ Scan(...any) error }) (*GalaxyRow, error) {
	var g GalaxyRow
	var oid, ocid int64
	err := row.Scan(&g.ID, &g.UUID, &g.Name, &g.Type, &g.Description, &g.Version, &g.Icon, &g.Namespace, &g.Default,
		&g.Distribution, &g.SharingGroupID, &oid, &g.Org.UUID, &g.Org.Name, &ocid, &g.Orgc.UUID, &g.Orgc.Name,
		&g.Locked, &g.Created, &g.Modified, &g.KillChainOrder)
	g.Org.ID, g.Orgc.ID = misp.Int(oid), misp.Int(ocid)
	return &g, err
}

// Sharing is the galaxy's sharing as decisions read it (the members a cluster has too).
func (g *GalaxyRow) Sharing() misp.ClusterSharing {
	return misp.ClusterSharing{Default: g.Default, Distribution: g.Distribution, SharingGroupID: misp.Int(g.SharingGroupID),
		OrgUUID: g.Org.UUID, OrgcUUID: g.Orgc.UUID}
}

// Galaxies lists the galaxies in the order they were stored (MISP's index: a new galaxy
// comes last).
func (s *Store) Galaxies(ctx context.Context) ([]GalaxyRow, error) {
	rows, err := s.read.QueryContext(ctx, galaxySelect+` ORDER BY g.id`)
	if err != nil {
		return nil, fmt.Errorf("galaxies: %w", err)
	}
	defer rows.Close()
	var out []GalaxyRow
	for rows.Next() {
		g, err := scanGalaxy(rows)
		if err != nil {
			return nil, fmt.Errorf("galaxies: %w", err)
		}
		out = append(out, *g)
	}
	return out, rows.Err()
}

// GalaxyID is a galaxy's local id.
type GalaxyID int64

// ResolveGalaxy finds the galaxy a person or a peer names by id or UUID (ErrNotFound when
// there is none).
func (s *Store) ResolveGalaxy(ctx context.Context, ref string) (GalaxyID, error) {
	return resolve[GalaxyID](ctx, s.read, galaxyRefs, ref)
}

// Galaxy reads a galaxy.
func (s *Store) Galaxy(ctx context.Context, id GalaxyID) (*GalaxyRow, error) {
	return galaxyByID(ctx, s.read, id)
}

func galaxyByID(ctx context.Context, q queryer, id GalaxyID) (*GalaxyRow, error) {
	return readRow(ctx, q, "galaxy", id, galaxySelect+` WHERE g.id = ?`, scanGalaxy)
}

// GalaxySpec is a custom galaxy as galaxies/add and galaxies/edit take it.
type GalaxySpec struct {
	UUID           string // add only; empty: a new one
	Name           string
	Type           string // add only; empty: the galaxy's UUID, so its clusters' tags are its own
	Namespace      string
	Description    string
	Icon           string
	Version        string
	Distribution   misp.Distribution
	SharingGroupID SharingGroupID
	OrgID          OrgID // add only: the creating user's organisation, owner and creator
}

func (g *GalaxySpec) check() error {
	if strings.TrimSpace(g.Name) == "" {
		return errors.New("galaxy name: must not be empty")
	}
	if g.Distribution < misp.OrgOnly || g.Distribution > misp.SharingGroupDist {
		return fmt.Errorf("galaxy distribution: %d is not one of 0-4", g.Distribution)
	}
	if (g.Distribution == misp.SharingGroupDist) != (g.SharingGroupID != 0) {
		return errors.New("galaxy sharing_group_id: needed with distribution 4, and only then")
	}
	for name, v := range map[string]string{"name": g.Name, "type": g.Type, "namespace": g.Namespace, "icon": g.Icon, "version": g.Version} {
		if len(v) > 255 {
			return fmt.Errorf("galaxy %s: longer than 255 bytes", name)
		}
	}
	if len(g.Description) > 65535 {
		return errors.New("galaxy description: longer than 65,535 bytes")
	}
	return nil
}

// AddGalaxy creates a custom galaxy owned and created by spec.OrgID.
func (s *Store) AddGalaxy(ctx context.Context, spec GalaxySpec) (*GalaxyRow, error) {
	if spec.UUID == "" {
		spec.UUID = uuid.NewString()
	}
	spec.UUID = strings.ToLower(spec.UUID)
	if !misp.IsUUID(spec.UUID) {
		return nil, fmt.Errorf("galaxy uuid: %q is not a UUID", spec.UUID)
	}
	if strings.TrimSpace(spec.Type) == "" {
		spec.Type = spec.UUID
	}
	if spec.Namespace == "" {
		spec.Namespace = "misp"
	}
	if err := spec.check(); err != nil {
		return nil, err
	}
	var g *GalaxyRow
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now().Unix()
		var id GalaxyID
		err := tx.QueryRowContext(ctx, `INSERT INTO galaxies (uuid, name, type, description, version, icon, namespace, is_default,
			distribution, sharing_group_id, org_id, orgc_id, locked, created, modified) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, 0, ?, ?)
			ON CONFLICT (uuid) DO NOTHING RETURNING id`,
			spec.UUID, spec.Name, spec.Type, spec.Description, spec.Version, spec.Icon, spec.Namespace, int(spec.Distribution),
			nullID(spec.SharingGroupID), nullID(spec.OrgID), nullID(spec.OrgID), now, now).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("galaxy %s: %w", spec.UUID, ErrExists)
		}
		if err != nil {
			return fmt.Errorf("add galaxy: %w", err)
		}
		g, err = galaxyByID(ctx, tx, id)
		return err
	})
	return g, err
}

// EditGalaxy changes a custom galaxy's name, namespace, description, icon, version and
// sharing. Library galaxies and galaxies received from a peer are not edited here.
func (s *Store) EditGalaxy(ctx context.Context, id GalaxyID, spec GalaxySpec) (*GalaxyRow, error) {
	if err := spec.check(); err != nil {
		return nil, err
	}
	var g *GalaxyRow
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := galaxyByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if old.Default || old.Locked {
			return fmt.Errorf("galaxy %s: %w", old.UUID, ErrNotEditable)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE galaxies SET name = ?, namespace = ?, description = ?, icon = ?, version = ?,
			distribution = ?, sharing_group_id = ?, modified = ? WHERE id = ?`, spec.Name, spec.Namespace, spec.Description, spec.Icon,
			spec.Version, int(spec.Distribution), nullID(spec.SharingGroupID), s.now().Unix(), old.ID); err != nil {
			return fmt.Errorf("edit galaxy %s: %w", old.UUID, err)
		}
		g, err = galaxyByID(ctx, tx, old.ID)
		return err
	})
	return g, err
}

// DeleteGalaxy removes a galaxy and its clusters (their attachments to events go with
// them; the tags naming them stay, as in MISP).
func (s *Store) DeleteGalaxy(ctx context.Context, id GalaxyID) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		g, err := galaxyByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM galaxies WHERE id = ?`, g.ID); err != nil {
			return fmt.Errorf("delete galaxy %s: %w", g.UUID, err)
		}
		return nil
	})
}

// ErrNotEditable is returned for an edit of what this instance does not own the text of.
var ErrNotEditable = errors.New("not editable here")

// ErrExists is returned when a record of that UUID is already stored.
var ErrExists = errors.New("already exists")

// UpsertGalaxyCluster stores a galaxy cluster made here or imported from a file (MISP's
// {"GalaxyCluster":{…}} member, with its Galaxy when sent), replacing a stored one only by
// a newer version. It returns whether it was written.
func (s *Store) UpsertGalaxyCluster(ctx context.Context, raw jsontext.Value) (bool, error) {
	return s.upsertCluster(ctx, raw, 0, noClusterPushes)
}

// PublishGalaxyCluster stores a cluster made here that its owner publishes and, in the same
// transaction, queues its push to every server with push and push_galaxy_clusters (MISP's
// GalaxyCluster::publish, uploadClusterToServersRouter). It returns whether it was written.
func (s *Store) PublishGalaxyCluster(ctx context.Context, raw jsontext.Value) (bool, error) {
	return s.upsertCluster(ctx, raw, 0, 0)
}

// CaptureGalaxyCluster stores a cluster received from a peer (pushed to galaxies/pushCluster
// or pulled), as MISP's GalaxyCluster::captureCluster: owned here by ownerOrgID (the
// pushing user's organisation, or the pulling server's), its creator captured by the
// UUID of its Orgc, never by the sender's numeric ids; locked; and its galaxy, when the
// peer's is a custom one, captured with its own distribution and organisations the same
// way. A cluster or galaxy made here is never replaced by a peer's copy. A published one
// that was written is passed along as MISP's captureCluster publishes it: queued to every
// server with push and push_galaxy_clusters except link, the sync link it was pulled over
// (0 for a push received, which MISP passes to all).
func (s *Store) CaptureGalaxyCluster(ctx context.Context, raw jsontext.Value, ownerOrgID OrgID, link ServerID) (bool, error) {
	if ownerOrgID == 0 {
		return false, errors.New("galaxy cluster: a received cluster needs its owner organisation")
	}
	return s.upsertCluster(ctx, raw, ownerOrgID, link)
}

// noClusterPushes is upsertCluster's "queue no pushes" (no server has id -1).
const noClusterPushes = -1

// enqueueClusterPushes queues the push of a published cluster (a push_cluster row, its
// UUID in the row's event_uuid column) to every server with push and push_galaxy_clusters
// but link, in tx. MISP's uploadClusterToServersRouter.
func (s *Store) enqueueClusterPushes(ctx context.Context, tx *sql.Tx, clusterUUID string, link ServerID) error {
	now := s.now().Unix()
	_, err := tx.ExecContext(ctx, `INSERT INTO outbox (server_id, kind, event_uuid, created, next_attempt)
		SELECT id, ?, ?, ?, ? FROM servers WHERE push = 1 AND push_galaxy_clusters = 1 AND id <> ?`+enqueueSQL,
		OutboxPushCluster, strings.ToLower(clusterUUID), now, now, link)
	if err != nil {
		return fmt.Errorf("queue pushes of galaxy cluster %s: %w", clusterUUID, err)
	}
	return nil
}

// peerGalaxy is a custom galaxy as a peer sends it in a cluster's Galaxy member.
type peerGalaxy struct {
	UUID         string            `json:"uuid"`
	Name         string            `json:"name"`
	Type         string            `json:"type"`
	Description  string            `json:"description"`
	Version      misp.Str          `json:"version"`
	Icon         string            `json:"icon"`
	Namespace    string            `json:"namespace"`
	Default      *misp.Bool        `json:"default"`
	Distribution misp.Distribution `json:"distribution"`
	Orgc         *misp.Org         `json:"Orgc"`
}

// upsertCluster writes a cluster (ownerOrgID 0: made here) and, when it was written
// published, queues its pushes to every cluster push server but link (noClusterPushes:
// none).
func (s *Store) upsertCluster(ctx context.Context, raw jsontext.Value, ownerOrgID OrgID, link ServerID) (bool, error) {
	var members map[string]jsontext.Value
	if err := json.Unmarshal(raw, &members); err != nil {
		return false, fmt.Errorf("galaxy cluster: %w", err)
	}
	var c misp.GalaxyCluster
	if err := json.Unmarshal(raw, &c); err != nil {
		return false, fmt.Errorf("galaxy cluster: %w", err)
	}
	var galaxy peerGalaxy
	if g, ok := members["Galaxy"]; ok {
		if err := json.Unmarshal(g, &galaxy); err != nil {
			return false, fmt.Errorf("galaxy cluster %s: Galaxy: %w", c.UUID, err)
		}
	}
	c.UUID = strings.ToLower(c.UUID)
	if !misp.IsUUID(c.UUID) || strings.TrimSpace(c.Value) == "" || strings.TrimSpace(c.Type) == "" {
		return false, fmt.Errorf("galaxy cluster: needs a uuid, a type and a value")
	}
	// A galaxy that says nothing of its sharing is one of MISP's library galaxies.
	custom := galaxy.Default != nil && !bool(*galaxy.Default)
	if galaxy.Type == "" {
		galaxy.Type = c.Type
	}
	if galaxy.Name == "" {
		galaxy.Name = galaxy.Type
	}
	if !misp.IsUUID(galaxy.UUID) {
		galaxy.UUID = misp.DerivedUUID("galaxy", galaxy.Type)
	}
	galaxy.UUID = strings.ToLower(galaxy.UUID)
	if c.TagName == "" {
		c.TagName = fmt.Sprintf(`misp-galaxy:%s="%s"`, c.Type, c.Value)
	}
	var orgc *misp.Org
	if v, ok := members["Orgc"]; ok && ownerOrgID != 0 {
		orgc = &misp.Org{}
		if err := json.Unmarshal(v, orgc); err != nil {
			return false, fmt.Errorf("galaxy cluster %s: Orgc: %w", c.UUID, err)
		}
	}
	extra := map[string]jsontext.Value{}
	for k, v := range members {
		extra[k] = v
	}
	// extra holds the cluster whole but for what belongs to this instance or is kept
	// apart, as the event writer stores clusters: an event that carries this cluster
	// reads it back from there.
	for _, k := range []string{"id", "galaxy_id", "Galaxy"} {
		delete(extra, k)
	}
	misp.DropReaderMembers(extra)
	if err := keepRelations(extra); err != nil {
		return false, fmt.Errorf("galaxy cluster %s: %w", c.UUID, err)
	}
	written := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var (
			id, version int64
			locked      sql.NullString
		)
		err := tx.QueryRowContext(ctx, `SELECT id, version, json_extract(extra, '$.locked') FROM galaxy_clusters WHERE uuid = ? OR tag_name = ? LIMIT 1`,
			c.UUID, c.TagName).Scan(&id, &version, &locked)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if id != 0 && ownerOrgID != 0 && !ClusterFlag(locked.String) {
			return fmt.Errorf("galaxy cluster %s: made on this instance, a peer's copy does not replace it", c.UUID)
		}
		if id != 0 && int64(c.Version) <= version {
			return nil
		}
		if ownerOrgID != 0 {
			if err := s.ownCluster(ctx, tx, extra, ownerOrgID, orgc); err != nil {
				return fmt.Errorf("galaxy cluster %s: %w", c.UUID, err)
			}
		}
		ex, err := json.Marshal(extra, json.Deterministic(true))
		if err != nil {
			return err
		}
		gid, err := s.clusterGalaxy(ctx, tx, &galaxy, custom, ownerOrgID)
		if err != nil {
			return fmt.Errorf("galaxy cluster %s: galaxy %s: %w", c.UUID, galaxy.UUID, err)
		}
		if id != 0 {
			_, err = tx.ExecContext(ctx, `UPDATE galaxy_clusters SET uuid = ?, galaxy_id = ?, type = ?, value = ?, tag_name = ?,
				description = ?, version = ?, extra = ? WHERE id = ?`, c.UUID, gid, c.Type, c.Value, c.TagName, c.Description, int64(c.Version), string(ex), id)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO galaxy_clusters (uuid, galaxy_id, type, value, tag_name, description, version, extra)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, c.UUID, gid, c.Type, c.Value, c.TagName, c.Description, int64(c.Version), string(ex))
		}
		if err != nil {
			return err
		}
		written = true
		if link == noClusterPushes || !ClusterFlag(members["published"]) {
			return nil
		}
		return s.enqueueClusterPushes(ctx, tx, c.UUID, link)
	})
	return written, err
}

// keepRelations stores a cluster's relations (members, the cluster's JSON members) as
// MISP's captureRelations takes them: the list received replaces the stored one, and a
// relation that names no referenced cluster is refused (a pull's log says so, from
// policy.PullClusterRelations).
func keepRelations(members map[string]jsontext.Value) error {
	raw, ok := members["GalaxyClusterRelation"]
	if !ok {
		return nil
	}
	var rs misp.ClusterRelations
	if err := json.Unmarshal(raw, &rs); err != nil {
		return fmt.Errorf("GalaxyClusterRelation: %w", err)
	}
	b, err := json.Marshal(capturedRelations(rs), json.Deterministic(true))
	if err != nil {
		return err
	}
	members["GalaxyClusterRelation"] = b
	return nil
}

// capturedRelations keeps the relations that name the cluster they refer to.
func capturedRelations(rs misp.ClusterRelations) misp.ClusterRelations {
	if rs == nil {
		return nil
	}
	kept := make(misp.ClusterRelations, 0, len(rs))
	for _, r := range rs {
		if strings.TrimSpace(r.ReferencedUUID) != "" {
			kept = append(kept, r)
		}
	}
	return kept
}

// ClusterModel reads a stored cluster (GalaxyClusterJSON's shape) as the model does.
func ClusterModel(cl map[string]any) (*misp.GalaxyCluster, error) {
	b, err := json.Marshal(cl)
	if err != nil {
		return nil, err
	}
	var mc misp.GalaxyCluster
	if err := json.Unmarshal(b, &mc); err != nil {
		return nil, fmt.Errorf("galaxy cluster: %w", err)
	}
	return &mc, nil
}

// ownCluster gives a received cluster its local owner and creator: org_id/orgc_id are
// local ids, Org/Orgc the local records (the UUIDs every decision reads). The sender's
// ids mean other organisations here and are never kept.
func (s *Store) ownCluster(ctx context.Context, tx *sql.Tx, extra map[string]jsontext.Value, ownerOrgID OrgID, orgc *misp.Org) error {
	owner, err := orgByID(ctx, tx, OrgID(ownerOrgID))
	if err != nil {
		return err
	}
	creator := owner
	if orgc != nil && (orgc.UUID != "" || orgc.Name != "") {
		orgc.UUID = strings.ToLower(orgc.UUID)
		id, err := s.captureOrg(ctx, tx, orgc)
		if err != nil {
			return fmt.Errorf("its Orgc: %w", err)
		}
		if creator, err = orgByID(ctx, tx, OrgID(id)); err != nil {
			return err
		}
	}
	for _, k := range []string{"org_uuid", "orgc_uuid"} {
		delete(extra, k)
	}
	set := func(k string, v any) error {
		b, err := json.Marshal(v, json.Deterministic(true))
		extra[k] = b
		return err
	}
	for k, v := range map[string]any{
		"org_id": strconv.FormatInt(int64(owner.ID), 10), "orgc_id": strconv.FormatInt(int64(creator.ID), 10),
		"Org": owner.model(), "Orgc": creator.model(), "locked": true,
	} {
		if err := set(k, v); err != nil {
			return err
		}
	}
	return nil
}

// clusterGalaxy returns the id of a cluster's galaxy, storing it when new. A peer's custom
// galaxy (ownerOrgID set) is stored locked with its distribution and organisations, and
// updated from the peer only while it stays a received one.
func (s *Store) clusterGalaxy(ctx context.Context, tx *sql.Tx, g *peerGalaxy, custom bool, ownerOrgID OrgID) (int64, error) {
	var (
		id     int64
		locked bool
	)
	err := tx.QueryRowContext(ctx, `SELECT id, locked FROM galaxies WHERE uuid = ?`, g.UUID).Scan(&id, &locked)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	if id != 0 && (ownerOrgID == 0 || !custom || !locked) {
		return id, nil
	}
	if !custom || ownerOrgID == 0 {
		gj, err := json.Marshal(g, json.Deterministic(true))
		if err != nil {
			return 0, err
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO galaxies (uuid, name, type, description, version, icon, namespace, extra)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			g.UUID, g.Name, g.Type, g.Description, string(g.Version), g.Icon, g.Namespace, string(gj)).Scan(&id)
		return id, err
	}
	if g.Distribution < misp.OrgOnly || g.Distribution > misp.AllCommunities {
		return 0, fmt.Errorf("distribution %d is not one a received galaxy may have", g.Distribution)
	}
	orgcID := ownerOrgID
	if g.Orgc != nil && (g.Orgc.UUID != "" || g.Orgc.Name != "") {
		g.Orgc.UUID = strings.ToLower(g.Orgc.UUID)
		if orgcID, err = s.captureOrg(ctx, tx, g.Orgc); err != nil {
			return 0, fmt.Errorf("its Orgc: %w", err)
		}
	}
	now := s.now().Unix()
	if id != 0 {
		_, err = tx.ExecContext(ctx, `UPDATE galaxies SET name = ?, type = ?, description = ?, version = ?, icon = ?, namespace = ?,
			distribution = ?, org_id = ?, orgc_id = ?, modified = ? WHERE id = ?`, g.Name, g.Type, g.Description, string(g.Version),
			g.Icon, g.Namespace, int(g.Distribution), ownerOrgID, orgcID, now, id)
		return id, err
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO galaxies (uuid, name, type, description, version, icon, namespace, is_default,
		distribution, org_id, orgc_id, locked, created, modified) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, 1, ?, ?) RETURNING id`,
		g.UUID, g.Name, g.Type, g.Description, string(g.Version), g.Icon, g.Namespace, int(g.Distribution), ownerOrgID, orgcID,
		now, now).Scan(&id)
	return id, err
}

// ClusterID is a galaxy cluster's local id.
type ClusterID int64

// ResolveCluster finds the galaxy cluster a person or a peer names by id or UUID
// (ErrNotFound when there is none).
func (s *Store) ResolveCluster(ctx context.Context, ref string) (ClusterID, error) {
	return resolve[ClusterID](ctx, s.read, clusterRefs, ref)
}

// GalaxyClusterJSON returns a stored cluster as MISP's galaxy_clusters/view member: the
// cluster's columns, its kept members and its Galaxy (GalaxyJSON).
func (s *Store) GalaxyClusterJSON(ctx context.Context, id ClusterID) (map[string]any, error) {
	var (
		gid                          GalaxyID
		version                      int64
		cuuid, typ, value, tag, desc string
		extra                        sql.NullString
	)
	err := s.read.QueryRowContext(ctx, `SELECT c.uuid, c.type, c.value, c.tag_name, c.description, c.version, c.extra, c.galaxy_id
		FROM galaxy_clusters c WHERE c.id = ?`, id).Scan(&cuuid, &typ, &value, &tag, &desc, &version, &extra, &gid)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("galaxy cluster %d: %w", id, err)
	}
	g, err := s.Galaxy(ctx, gid)
	if err != nil {
		return nil, fmt.Errorf("galaxy cluster %d: %w", id, err)
	}
	out := map[string]any{}
	if extra.Valid && extra.String != "" {
		var m map[string]jsontext.Value
		if err := json.Unmarshal([]byte(extra.String), &m); err == nil {
			for k, v := range m {
				out[k] = v
			}
		}
	}
	out["id"] = strconv.FormatInt(int64(id), 10)
	out["uuid"] = cuuid
	out["type"] = typ
	out["value"] = value
	out["tag_name"] = tag
	out["description"] = desc
	out["galaxy_id"] = strconv.FormatInt(int64(gid), 10)
	out["version"] = strconv.FormatInt(version, 10)
	out["Galaxy"] = GalaxyJSON(g)
	return out, nil
}

// GalaxyJSON is a galaxy as MISP's galaxies/index and view show it, with its sharing.
func GalaxyJSON(g *GalaxyRow) map[string]any {
	id := strconv.FormatInt(int64(g.ID), 10)
	org := func(o misp.Org) any {
		if o.UUID == "" {
			return nil
		}
		return map[string]any{"id": strconv.FormatInt(int64(o.ID), 10), "uuid": o.UUID, "name": o.Name}
	}
	m := map[string]any{"id": id, "uuid": g.UUID, "name": g.Name, "type": g.Type, "description": g.Description,
		"version": g.Version, "icon": g.Icon, "namespace": g.Namespace, "enabled": true, "local_only": false, "kill_chain_order": nil,
		"default": g.Default, "distribution": strconv.Itoa(int(g.Distribution)), "sharing_group_id": nil,
		"org_id": strconv.FormatInt(int64(g.Org.ID), 10), "orgc_id": strconv.FormatInt(int64(g.Orgc.ID), 10),
		"locked": g.Locked, "created": stamp(g.Created), "modified": stamp(g.Modified)}
	if g.KillChainOrder != "" {
		m["kill_chain_order"] = jsontext.Value(g.KillChainOrder)
	}
	if g.SharingGroupID != 0 {
		m["sharing_group_id"] = strconv.FormatInt(int64(g.SharingGroupID), 10)
	}
	if o := org(g.Org); o != nil {
		m["Org"] = o
	}
	if o := org(g.Orgc); o != nil {
		m["Orgc"] = o
	}
	return m
}

func stamp(t int64) string {
	if t == 0 {
		return "0000-00-00 00:00:00"
	}
	return time.Unix(t, 0).UTC().Format("2006-01-02 15:04:05")
}

// ClusterQuery selects galaxy clusters; zero fields do not filter.
type ClusterQuery struct {
	GalaxyID GalaxyID
	Value    string // substring of value, tag name or description (case-insensitive)
	UUIDs    []string
	// NotDefault leaves out the clusters that say they are default (the galaxy library's,
	// tens of thousands once imported), for a search of custom clusters.
	NotDefault bool
	Limit      int
}

// GalaxyClusterRefs lists the ids of the clusters matching q, by value.
func (s *Store) GalaxyClusterRefs(ctx context.Context, q ClusterQuery) ([]ClusterID, error) {
	var conds []string
	var args []any
	if q.GalaxyID != 0 {
		conds = append(conds, `galaxy_id = ?`)
		args = append(args, q.GalaxyID)
	}
	if v := strings.Trim(q.Value, "%"); v != "" {
		p := "%" + likeEscape(v) + "%"
		conds = append(conds, `(value LIKE ? ESCAPE '\' OR tag_name LIKE ? ESCAPE '\' OR description LIKE ? ESCAPE '\')`)
		args = append(args, p, p, p)
	}
	if len(q.UUIDs) > 0 {
		a := make([]any, len(q.UUIDs))
		for i, u := range q.UUIDs {
			a[i] = strings.ToLower(u)
		}
		conds = append(conds, `uuid IN (`+placeholders(len(a))+`)`)
		args = append(args, a...)
	}
	if q.NotDefault {
		conds = append(conds, `ifnull(json_extract(extra, '$.default'), 0) NOT IN (1, '1', 'true')`)
	}
	query := `SELECT id FROM galaxy_clusters`
	if len(conds) > 0 {
		query += ` WHERE ` + strings.Join(conds, " AND ")
	}
	query += ` ORDER BY value, id`
	if q.Limit > 0 {
		query += ` LIMIT ` + strconv.Itoa(q.Limit)
	}
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("galaxy clusters: %w", err)
	}
	defer rows.Close()
	var out []ClusterID
	for rows.Next() {
		var id ClusterID
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// DeleteGalaxyCluster removes a cluster and its attachments to events. The tag naming it
// stays on the events that carry it, as in MISP.
func (s *Store) DeleteGalaxyCluster(ctx context.Context, id ClusterID) error {
	return deleteByID(ctx, s, "galaxy cluster", "galaxy_clusters", id)
}
