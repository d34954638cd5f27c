package syncer

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/gate"
	"mispdesk/syncer/remote"
)

// pullClusters is MISP's GalaxyCluster::pullGalaxyClusters (app/Model/GalaxyCluster.php), run before the events
// of a pull when the server's pull_galaxy_clusters is set and the remote speaks cluster
// sync (its getVersion has perm_galaxy_editor): the remote's custom published clusters
// newer than the local copy are fetched whole, decided by policy (distribution
// downgraded), locked and stored.
func (r *runContext) pullClusters(ctx context.Context, ver *remote.Version) {
	if !r.srv.PullGalaxyClusters {
		return
	}
	if !ver.GalaxyEditorKnown {
		r.step(ctx, store.LevelInfo, "", store.OutcomeClusters, "galaxy clusters not pulled: the remote does not speak cluster sync (no perm_galaxy_editor)", time.Time{}, 0)
		return
	}
	t0 := time.Now()
	rows, err := r.client.GalaxyClusterIndex(ctx, nil)
	if err != nil {
		r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, "galaxy clusters: "+err.Error(), t0, statusOf(err))
		return
	}
	local, err := r.e.st.ClusterVersions(ctx)
	if err != nil {
		r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, "galaxy clusters: "+err.Error(), t0, 0)
		return
	}
	pulled, skipped, failed := 0, 0, 0
	for _, row := range rows {
		if ctx.Err() != nil {
			return
		}
		if v, ok := local[row.UUID]; ok && int64(row.Version) <= v {
			skipped++
			continue
		}
		c0 := time.Now()
		raw, err := r.client.GalaxyCluster(ctx, row.UUID)
		if err != nil {
			failed++
			r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, fmt.Sprintf("galaxy cluster %s: %v", row.UUID, err), c0, statusOf(err))
			continue
		}
		m, err := clusterMember(raw)
		if err == nil && !sameUUID(m["uuid"], row.UUID) {
			err = fmt.Errorf("asked for %s, got another cluster", row.UUID)
		}
		if err != nil {
			failed++
			r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, fmt.Sprintf("galaxy cluster %s: %v", row.UUID, err), c0, 200)
			continue
		}
		if orgc := clusterOrgcUUID(m); orgc != "" && r.bl.Orgs.Has(orgc) {
			skipped++
			r.step(ctx, store.LevelInfo, "", store.OutcomeSkipped, fmt.Sprintf("galaxy cluster %s: its creator organisation is blocklisted", row.UUID), c0, 200)
			continue
		}
		d, dist := r.inst.PullCluster(r.psrv, misp.Distribution(store.ClusterInt(m["distribution"])))
		if d.Allowed {
			d, err = r.pullGalaxyOf(m)
		}
		var relations string
		if err == nil && d.Allowed {
			relations, err = r.pullRelationsOf(m)
		}
		if err != nil {
			failed++
			r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, fmt.Sprintf("galaxy cluster %s: %v", row.UUID, err), c0, 200)
			continue
		}
		if !d.Allowed {
			skipped++
			r.step(ctx, store.LevelInfo, "", store.OutcomeSkipped, fmt.Sprintf("galaxy cluster %s: %s", row.UUID, d.Reason()), c0, 200)
			continue
		}
		// Stored as a synced copy: locked, owned here by the link's organisation, its
		// creator captured by UUID (store.CaptureGalaxyCluster).
		m["distribution"] = quoted(strconv.Itoa(int(dist)))
		b, err := json.Marshal(m, json.Deterministic(true))
		if err == nil {
			_, err = r.e.st.CaptureGalaxyCluster(ctx, b, r.srv.OrgID, r.srv.ID)
		}
		if err != nil {
			failed++
			r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, fmt.Sprintf("galaxy cluster %s: %v", row.UUID, err), c0, 200)
			continue
		}
		pulled++
		r.step(ctx, store.LevelInfo, "", store.OutcomeCluster, fmt.Sprintf("galaxy cluster %s pulled (version %d, distribution %d)%s", row.UUID, row.Version, dist, relations), c0, 200)
	}
	r.step(ctx, store.LevelInfo, "", store.OutcomeClusters, fmt.Sprintf("%d galaxy clusters pulled, %d not needed or not allowed, %d failed (%d listed)", pulled, skipped, failed, len(rows)), t0, 200)
}

// pushEventClusters is the cluster step of MISP's push (Server::push, its second step):
// a full push sends all custom published clusters, a single-event push only those the
// event names (eventUUID), by pushClusters.
func (r *runContext) pushEventClusters(ctx context.Context, ver *remote.Version, eventUUID string) {
	list, err := r.e.st.CustomClusters(ctx, eventUUID)
	if err != nil {
		r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, "galaxy clusters: "+err.Error(), time.Time{}, 0)
		return
	}
	r.pushClusters(ctx, ver, list)
}

// deliverCluster is an outbox push_cluster row: a cluster was published here (or received
// published), and MISP's uploadClusterToServersRouter sends it to every server with push
// and push_galaxy_clusters, as far as policy lets it go there.
func (r *runContext) deliverCluster(ctx context.Context, clusterUUID string) error {
	if !r.srv.Push || !r.srv.PushGalaxyClusters {
		return nil // the flags went off since: nothing to do
	}
	c, err := store.ReadByRef(ctx, r.e.st.ResolveCluster, r.e.st.CustomCluster, clusterUUID)
	if err != nil {
		return err // gone or unpublished since: ErrNotFound ends the row
	}
	ver, err := r.checkCanPush(ctx)
	if err != nil {
		return err
	}
	return r.pushClusters(ctx, ver, []store.SyncCluster{*c})
}

// pushClusters sends the clusters of list that may go (policy, on each cluster's own
// distribution and its galaxy's) and that the remote lacks or holds older, with
// galaxies/pushCluster; the error is the remote's when the push itself failed.
func (r *runContext) pushClusters(ctx context.Context, ver *remote.Version, list []store.SyncCluster) error {
	if !ver.PermGalaxyEditor {
		r.step(ctx, store.LevelInfo, "", store.OutcomeClusters, "galaxy clusters not pushed: the remote user may not edit galaxies (perm_galaxy_editor)", time.Time{}, 0)
		return nil
	}
	t0 := time.Now()
	type candidate struct {
		c    store.SyncCluster
		dist misp.Distribution
	}
	var cands []candidate
	var uuids []string
	for _, c := range list {
		d, dist := r.inst.PushCluster(r.psrv, misp.Distribution(c.Distribution))
		if d.Allowed && !r.pushGalaxyOf(c.Member) {
			continue
		}
		if d.Allowed {
			cands = append(cands, candidate{c, dist})
			uuids = append(uuids, c.UUID)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	theirs, err := r.client.GalaxyClusterIndex(ctx, uuids)
	if err != nil {
		r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, "galaxy clusters: "+err.Error(), t0, statusOf(err))
		return err
	}
	have := map[string]int64{}
	for _, row := range theirs {
		have[row.UUID] = max(have[row.UUID], int64(row.Version))
	}
	var send []jsontext.Value
	chk := gate.New(r.e.st).For(ctx, r.inst, gate.RemoteViewer(r.srv))
	for _, cd := range cands {
		if v, ok := have[cd.c.UUID]; ok && v >= cd.c.Version {
			continue
		}
		m := cd.c.Member
		m["distribution"] = strconv.Itoa(int(cd.dist))
		m["locked"] = true
		for _, k := range []string{"id", "galaxy_id", "org_id", "orgc_id"} {
			delete(m, k) // this instance's ids
		}
		// its relations each go by their own distribution
		d, err := chk.PushCluster(r.psrv, m)
		if err != nil {
			r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, fmt.Sprintf("galaxy cluster %s: %v", cd.c.UUID, err), t0, 0)
			continue
		}
		if changed := changes(d); changed != "" {
			r.step(ctx, store.LevelInfo, "", store.OutcomeClusters, fmt.Sprintf("galaxy cluster %s%s", cd.c.UUID, changed), t0, 0)
		}
		b, err := json.Marshal(m, json.Deterministic(true))
		if err != nil {
			r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, fmt.Sprintf("galaxy cluster %s: %v", cd.c.UUID, err), t0, 0)
			continue
		}
		send = append(send, b)
	}
	if len(send) == 0 {
		r.step(ctx, store.LevelInfo, "", store.OutcomeClusters, fmt.Sprintf("the remote has all %d galaxy clusters that may go", len(cands)), t0, 200)
		return nil
	}
	if err := r.client.PushGalaxyClusters(ctx, send); err != nil {
		r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, "galaxy clusters: "+err.Error(), t0, statusOf(err))
		return err
	}
	r.step(ctx, store.LevelInfo, "", store.OutcomeClusters, fmt.Sprintf("%d galaxy clusters pushed (%d may go)", len(send), len(cands)), t0, 200)
	return nil
}

// pullGalaxyOf decides on the galaxy a pulled cluster names (its Galaxy member): a
// library galaxy comes with its cluster; a custom one by policy.PullGalaxy, its
// distribution downgraded in m.
func (r *runContext) pullGalaxyOf(m map[string]jsontext.Value) (policy.Decision, error) {
	var g map[string]jsontext.Value
	if raw, ok := m["Galaxy"]; ok {
		if err := json.Unmarshal(raw, &g); err != nil {
			return policy.Decision{}, fmt.Errorf("its Galaxy member: %w", err)
		}
	}
	if def, ok := g["default"]; !ok || store.ClusterFlag(def) {
		return policy.Decision{Allowed: true}, nil
	}
	d, dist := r.inst.PullGalaxy(r.psrv, misp.Distribution(store.ClusterInt(g["distribution"])))
	if !d.Allowed {
		return d, nil
	}
	g["distribution"] = quoted(strconv.Itoa(int(dist)))
	b, err := json.Marshal(g, json.Deterministic(true))
	m["Galaxy"] = b
	return d, err
}

// pullRelationsOf applies the pull table to the relations of a pulled cluster (its
// GalaxyClusterRelation member, in m), as policy.PullClusterRelations says; the answer
// says what changed, for the run's log.
func (r *runContext) pullRelationsOf(m map[string]jsontext.Value) (string, error) {
	var mc misp.GalaxyCluster
	if raw, ok := m["GalaxyClusterRelation"]; ok {
		if err := json.Unmarshal(raw, &mc.GalaxyClusterRelation); err != nil {
			return "", fmt.Errorf("its GalaxyClusterRelation member: %w", err)
		}
	}
	d := r.inst.PullClusterRelations(r.psrv, &mc)
	delete(m, "TargetingClusterRelation")
	if mc.GalaxyClusterRelation != nil {
		b, err := json.Marshal(mc.GalaxyClusterRelation, json.Deterministic(true))
		if err != nil {
			return "", err
		}
		m["GalaxyClusterRelation"] = b
	}
	return changes(d), nil
}

// changes lists what a decision changed (its relations removed or downgraded), as a
// suffix of a log line: "" when nothing.
func changes(d policy.Decision) string {
	var out string
	for _, s := range d.Steps {
		if s.Outcome == policy.Changed {
			out += "; " + s.Reason
		}
	}
	return out
}

// pushGalaxyOf reports whether the galaxy of a cluster about to be pushed (its Galaxy
// member, store.GalaxyJSON) may go: a library galaxy always, a custom one by
// policy.PushGalaxy, its distribution set as it goes and this instance's ids dropped.
func (r *runContext) pushGalaxyOf(member map[string]any) bool {
	g, _ := member["Galaxy"].(map[string]any)
	if g == nil || store.ClusterFlag(g["default"]) {
		return true
	}
	d, dist := r.inst.PushGalaxy(r.psrv, misp.Distribution(store.ClusterInt(g["distribution"])))
	if !d.Allowed {
		return false
	}
	g["distribution"] = strconv.Itoa(int(dist))
	for _, k := range []string{"id", "org_id", "orgc_id", "sharing_group_id"} {
		delete(g, k)
	}
	return true
}

// clusterMember unwraps {"GalaxyCluster":{…}} into its members.
func clusterMember(raw jsontext.Value) (map[string]jsontext.Value, error) {
	var w struct {
		GalaxyCluster jsontext.Value `json:"GalaxyCluster"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, err
	}
	if w.GalaxyCluster.Kind() != '{' {
		return nil, fmt.Errorf("no GalaxyCluster object in the answer")
	}
	var m map[string]jsontext.Value
	if err := json.Unmarshal(w.GalaxyCluster, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func clusterOrgcUUID(m map[string]jsontext.Value) string {
	var o struct {
		UUID string `json:"uuid"`
	}
	if v, ok := m["Orgc"]; ok && json.Unmarshal(v, &o) == nil && misp.IsUUID(o.UUID) {
		return o.UUID
	}
	return ""
}

func sameUUID(v jsontext.Value, want string) bool {
	var s string
	return json.Unmarshal(v, &s) == nil && misp.IsUUID(s) && strings.EqualFold(s, want)
}

func quoted(s string) jsontext.Value {
	b, _ := json.Marshal(s)
	return b
}
