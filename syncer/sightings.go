package syncer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/gate"
	"mispdesk/syncer/remote"
)

// pullSightings fetches the sightings of events held here whose remote copy was sighted
// since (the index's sighting_timestamp newer than the local one), as MISP's pull does
// after the events of a full or update pull. stamps are the local events as they were
// before this pull: an event the pull just brought came with the sightings it may have.
func (r *runContext) pullSightings(ctx context.Context, rows []remote.IndexRow, stamps map[string]store.EventStamp) {
	var uuids []string
	for _, row := range rows {
		if st, ok := stamps[row.UUID]; ok && row.SightingTimestamp > st.SightingTimestamp {
			uuids = append(uuids, row.UUID)
		}
	}
	if len(uuids) == 0 {
		return
	}
	t0 := time.Now()
	sightings, err := r.client.Sightings(ctx, uuids)
	if err != nil {
		r.step(ctx, store.LevelWarn, "", store.OutcomeFailed, "sightings: "+err.Error(), t0, statusOf(err))
		return
	}
	byEvent := map[string][]misp.Sighting{}
	for _, s := range sightings {
		byEvent[s.EventUUID] = append(byEvent[s.EventUUID], s)
	}
	added := 0
	for eventUUID, list := range byEvent {
		n, err := r.e.st.SaveSightings(ctx, eventUUID, list, true, 0)
		if err != nil {
			r.step(ctx, store.LevelWarn, eventUUID, store.OutcomeFailed, "sightings: "+err.Error(), time.Time{}, 0)
			continue
		}
		added += n
	}
	r.step(ctx, store.LevelInfo, "", store.OutcomeSightings, fmt.Sprintf("%d new sightings of %d events", added, len(byEvent)), t0, 200)
}

// errNoPermSighting is why sightings are not pushed to a remote whose user may not add
// them.
var errNoPermSighting = errors.New("sightings not pushed: the remote user's role lacks perm_sighting")

// maySight reports whether the remote user may receive sightings (perm_sighting, read
// from servers/getVersion), logging the refusal when it may not.
func (r *runContext) maySight(ctx context.Context, uuid string, ver *remote.Version) bool {
	if ver.PermSighting {
		return true
	}
	r.step(ctx, store.LevelWarn, uuid, store.OutcomeRefused, errNoPermSighting.Error(), time.Time{}, 0)
	return false
}

// pushSightings sends the server the sightings it lacks of the given events, as far as
// its organisation may see them (the gate's view of the remote organisation, which
// follows the sightings policy), when the server's push_sightings flag is set and the
// remote user may add sightings.
func (r *runContext) pushSightings(ctx context.Context, ver *remote.Version, uuids []string) {
	if !r.srv.PushSightings || len(uuids) == 0 || !r.maySight(ctx, "", ver) {
		return
	}
	sent := 0
	t0 := time.Now()
	for _, uuid := range uuids {
		if ctx.Err() != nil {
			return
		}
		n, err := r.pushEventSightings(ctx, uuid)
		if err != nil {
			r.step(ctx, store.LevelWarn, uuid, store.OutcomeFailed, "sightings: "+err.Error(), time.Time{}, statusOf(err))
			continue
		}
		sent += n
	}
	if sent > 0 {
		r.step(ctx, store.LevelInfo, "", store.OutcomeSightings, fmt.Sprintf("%d sightings pushed", sent), t0, 200)
	}
}

// pushEventSightings sends the sightings of one event that the remote lacks and its
// organisation may see; it returns how many were sent.
func (r *runContext) pushEventSightings(ctx context.Context, uuid string) (int, error) {
	id, err := r.e.st.ResolveEvent(ctx, uuid)
	if err != nil {
		return 0, nil
	}
	ev, err := r.e.st.Event(ctx, id)
	if err != nil || ev.SightingTimestamp == 0 {
		return 0, nil
	}
	visible, _, err := gate.New(r.e.st).For(ctx, r.inst, gate.RemoteViewer(r.srv)).Event(ev)
	if err != nil || visible == nil {
		return 0, err
	}
	byUUID := map[string]misp.Sighting{}
	collect := func(as []misp.Attribute) {
		for _, a := range as {
			for _, s := range a.Sighting {
				s.AttributeUUID, s.EventUUID = a.UUID, ev.UUID
				byUUID[s.UUID] = s
			}
		}
	}
	collect(visible.Attribute)
	for _, o := range visible.Object {
		collect(o.Attribute)
	}
	if len(byUUID) == 0 {
		return 0, nil
	}
	candidates := make([]string, 0, len(byUUID))
	for u := range byUUID {
		candidates = append(candidates, u)
	}
	have, err := r.client.FilterSightingUUIDsForPush(ctx, uuid, candidates)
	if err != nil {
		return 0, err
	}
	for _, u := range have {
		delete(byUUID, u)
	}
	missing := make([]misp.Sighting, 0, len(byUUID))
	for _, s := range byUUID {
		missing = append(missing, s)
	}
	if len(missing) == 0 {
		return 0, nil
	}
	if err := r.client.BulkSaveSightings(ctx, uuid, missing); err != nil {
		return 0, err
	}
	return len(missing), nil
}

// deliverSightings is an outbox push_sightings row: a sighting was added here to an event,
// and MISP's Event::publishSightings sends it to every server with push_sightings (no
// push flag needed, no distribution check) where the event exists.
func (r *runContext) deliverSightings(ctx context.Context, uuid string) error {
	if !r.srv.PushSightings {
		return nil // the flag went off since: nothing to do
	}
	t0 := time.Now()
	ver, err := r.client.GetVersion(ctx)
	if err != nil {
		r.step(ctx, store.LevelWarn, uuid, store.OutcomeFailed, err.Error()+" (at the version check of the sightings push)", t0, statusOf(err))
		return err
	}
	if !r.maySight(ctx, uuid, ver) {
		return nil // nothing a retry would change
	}
	exists, err := r.client.EventExists(ctx, uuid)
	if err != nil {
		r.step(ctx, store.LevelWarn, uuid, store.OutcomeFailed, "sightings: "+err.Error(), t0, statusOf(err))
		return err
	}
	if !exists {
		r.step(ctx, store.LevelInfo, uuid, store.OutcomeSkipped, "sightings not pushed: the remote does not have the event", t0, 404)
		return nil
	}
	n, err := r.pushEventSightings(ctx, uuid)
	if err != nil {
		r.step(ctx, store.LevelWarn, uuid, store.OutcomeFailed, "sightings: "+err.Error(), t0, statusOf(err))
		return err
	}
	r.step(ctx, store.LevelInfo, uuid, store.OutcomeSightings, fmt.Sprintf("%d sightings pushed on publication", n), t0, 200)
	return nil
}
