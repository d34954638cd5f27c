package syncer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-json-experiment/json"

	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/gate"
	"mispdesk/syncer/remote"
)

// pushAnalystData is the analyst data step of MISP's push (AnalystData::push), after the
// events of a full or incremental push when the server's push_analyst_data is set: every
// stored note, opinion and relationship that policy lets go to the server
// (PushAnalystData) and that the remote may see here is offered with its modified time;
// those the remote wants (filterAnalystDataForPush) are sent one by one, downgraded and
// locked.
func (r *runContext) pushAnalystData(ctx context.Context, ver *remote.Version) {
	if !ver.PermAnalystData {
		r.step(ctx, store.LevelInfo, "", store.OutcomeAnalystData, "analyst data not pushed: the remote user may not edit analyst data (perm_analyst_data)", time.Time{}, 0)
		return
	}
	t0 := time.Now()
	list, err := r.e.st.AnalystDataList(ctx, "", "")
	if err != nil {
		r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, "analyst data: "+err.Error(), t0, 0)
		return
	}
	chk := gate.New(r.e.st).For(ctx, r.inst, gate.RemoteViewer(r.srv))
	type candidate struct {
		d    *store.AnalystData
		dist misp.Distribution
		item *misp.AnalystData
	}
	cands := map[string]candidate{}
	offer := remote.AnalystVersions{}
	skipped := 0
	for i := range list {
		d := &list[i]
		item, orgc, err := chk.AnalystItem(d)
		if err != nil {
			r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, fmt.Sprintf("analyst data %s: %v", d.UUID, err), t0, 0)
			return
		}
		dec, dist := r.inst.PushAnalystData(r.psrv, item, orgc)
		if dec.Allowed {
			if err := chk.AnalystData(d); errors.Is(err, store.ErrNotFound) {
				dec.Allowed = false
			} else if err != nil {
				r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, fmt.Sprintf("analyst data %s: %v", d.UUID, err), t0, 0)
				return
			}
		}
		if !dec.Allowed {
			skipped++
			continue
		}
		cands[d.UUID] = candidate{d, dist, item}
		if offer[d.Kind] == nil {
			offer[d.Kind] = map[string]string{}
		}
		offer[d.Kind][d.UUID] = d.Modified
	}
	if len(cands) == 0 {
		r.step(ctx, store.LevelInfo, "", store.OutcomeAnalystData, fmt.Sprintf("no analyst data may go (%d stored)", len(list)), t0, 0)
		return
	}
	wanted, err := r.client.FilterAnalystDataForPush(ctx, offer)
	if err != nil {
		r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, "filterAnalystDataForPush: "+err.Error(), t0, statusOf(err))
		return
	}
	pushed, failed := 0, 0
	for _, kind := range misp.AnalystKinds {
		uuids := make([]string, 0, len(wanted[kind]))
		for u := range wanted[kind] {
			if _, ok := cands[u]; ok {
				uuids = append(uuids, u)
			}
		}
		slices.Sort(uuids)
		for _, u := range uuids {
			if ctx.Err() != nil {
				return
			}
			c := cands[u]
			c0 := time.Now()
			if err := r.sendAnalystData(ctx, chk, c.d, c.dist, c.item); err != nil {
				failed++
				r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, fmt.Sprintf("%s %s: %v", kind, u, err), c0, statusOf(err))
				continue
			}
			pushed++
		}
	}
	r.step(ctx, store.LevelInfo, "", store.OutcomeAnalystData, fmt.Sprintf("%d analyst data pushed, %d failed; %d may go, %d may not", pushed, failed, len(cands), skipped), t0, 200)
}

// sendAnalystData sends one item as MISP's updateAnalystDataForSync prepares it: the
// distribution policy decided, locked, without this instance's id, its sharing group
// addressed for the peer.
func (r *runContext) sendAnalystData(ctx context.Context, chk *gate.Check, d *store.AnalystData, dist misp.Distribution, item *misp.AnalystData) error {
	m, err := chk.AnalystJSON(d)
	if err != nil {
		return err
	}
	delete(m, "id")
	delete(m, "sharing_group_id")
	delete(m, "_canEdit") // this instance's pages, not the item
	delete(m, "_max_depth_reached")
	m["distribution"] = fmt.Sprint(int(dist))
	m["locked"] = true
	if dist == misp.SharingGroupDist {
		m["SharingGroup"] = r.inst.SendableGroup(item.SharingGroup)
	}
	b, err := json.Marshal(m, json.Deterministic(true))
	if err != nil {
		return err
	}
	return r.client.PushAnalystData(ctx, d.Kind, b)
}

// pullAnalystData is the analyst data step of MISP's pull (AnalystData::pull), after the
// events of a full pull when the server's pull_analyst_data is set and the remote speaks
// analyst data (perm_analyst_data): the remote's minimal index (filtered by the pull
// rules' organisations), those this side lacks or holds older fetched 100 at a time,
// each decided by policy (PullAnalystData: downgraded unless internal) and stored owned by
// the link's organisation.
func (r *runContext) pullAnalystData(ctx context.Context, ver *remote.Version) {
	if !ver.PermAnalystData {
		r.step(ctx, store.LevelInfo, "", store.OutcomeAnalystData, "analyst data not pulled: the remote user may not use analyst data (perm_analyst_data)", time.Time{}, 0)
		return
	}
	t0 := time.Now()
	orgc := slices.Clone(r.psrv.PullRules.Orgs.OR)
	for _, n := range r.psrv.PullRules.Orgs.NOT {
		orgc = append(orgc, "!"+n)
	}
	theirs, err := r.client.AnalystDataIndexMinimal(ctx, orgc)
	if err != nil {
		r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, "analyst data index: "+err.Error(), t0, statusOf(err))
		return
	}
	to := gate.Arrival{Owner: r.srv.Organisation, From: r.psrv, Bl: r.bl, Internal: r.srv.Internal}
	g := gate.New(r.e.st)
	pulled, skipped, failed, listed := 0, 0, 0, 0
	for _, kind := range misp.AnalystKinds {
		uuids := make([]string, 0, len(theirs[kind]))
		for u := range theirs[kind] {
			uuids = append(uuids, u)
		}
		listed += len(uuids)
		slices.Sort(uuids)
		local, err := r.e.st.AnalystDataByUUIDs(ctx, kind, uuids)
		if err != nil {
			r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, "analyst data: "+err.Error(), t0, 0)
			return
		}
		have := make(map[string]string, len(local))
		for _, l := range local {
			have[l.UUID] = l.Modified
		}
		todo := uuids[:0]
		for _, u := range uuids {
			if mod, ok := have[u]; !ok || mod < theirs[kind][u] {
				todo = append(todo, u)
			}
		}
		for chunk := range slices.Chunk(todo, remote.AnalystDataChunk) {
			if ctx.Err() != nil {
				return
			}
			c0 := time.Now()
			items, err := r.client.AnalystData(ctx, kind, chunk)
			if err != nil {
				failed += len(chunk)
				r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, fmt.Sprintf("analyst data (%d %s): %v", len(chunk), kind, err), c0, statusOf(err))
				continue
			}
			for _, item := range items {
				for _, it := range gate.FlattenAnalystData(kind, item) {
					dec, dist := r.inst.PullAnalystData(r.psrv, it.Item.Distribution)
					if !dec.Allowed {
						skipped++
						continue
					}
					it.Item.Distribution = dist
					saved, dec, err := g.ReceiveAnalystData(ctx, r.inst, to, it)
					switch {
					case errors.Is(err, store.ErrNotNewer):
						skipped++
					case err != nil:
						failed++
						r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, fmt.Sprintf("%s %s: %v", it.Kind, it.Item.UUID, err), c0, 200)
					case saved == nil:
						skipped++
						r.step(ctx, store.LevelInfo, "", store.OutcomeSkipped, fmt.Sprintf("%s %s: %s", it.Kind, it.Item.UUID, dec.Reason()), c0, 200)
					default:
						pulled++
					}
				}
			}
		}
	}
	r.step(ctx, store.LevelInfo, "", store.OutcomeAnalystData, fmt.Sprintf("%d analyst data pulled or updated, %d not needed or not allowed, %d failed (%d listed)", pulled, skipped, failed, listed), t0, 200)
}
