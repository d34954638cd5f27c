package store

// TEMPORARY placeholder so the event store builds before sharing groups land.
// Whoever adds store/sharing_groups.go (captureSharingGroup and SharingGroup): delete this
// file in the same commit.

import (
	"context"
	"database/sql"
	"errors"

	"mispdesk/store/misp"
)

var errSharingGroupsPending = errors.New("sharing groups are not implemented yet")

func (s *Store) captureSharingGroup(ctx context.Context, tx *sql.Tx, sg *misp.SharingGroup, orgID int64) (int64, error) {
	return 0, errSharingGroupsPending
}

// SharingGroup is replaced by store/sharing_groups.go.
func (s *Store) SharingGroup(ctx context.Context, ref string) (*misp.SharingGroup, error) {
	return nil, errSharingGroupsPending
}
