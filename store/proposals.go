package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"mispdesk/store/misp"
)

// SaveProposals stores proposals pulled from a peer (MISP's pullProposals): each attached
// to its event here by event_uuid — proposals of events this instance does not hold are
// left out — a new one added, a known one replaced when newer. It returns how many
// proposals belonged to events held here.
func (s *Store) SaveProposals(ctx context.Context, proposals []misp.ShadowAttribute) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		events := map[string]int64{}
		for i := range proposals {
			p := &proposals[i]
			eventUUID := strings.ToLower(p.EventUUID)
			id, known := events[eventUUID]
			if !known {
				err := tx.QueryRowContext(ctx, `SELECT id FROM events WHERE uuid = ?`, eventUUID).Scan(&id)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return err
				}
				events[eventUUID] = id
			}
			if id == 0 {
				continue
			}
			res := UpsertResult{UUID: eventUUID, EventID: id}
			w := &eventWriter{txStmts: txStmts{s: s, ctx: ctx, tx: tx}, res: &res, eventID: id, tags: map[string]int64{}}
			if err := w.proposal(p, ""); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
