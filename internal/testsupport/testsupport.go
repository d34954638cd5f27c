// Package testsupport holds the helpers the tests of several packages share, so that each
// is written once.
package testsupport

import (
	"context"
	"testing"

	"mispdesk/store"
)

// LocalEvent is the local id of the event ref (a UUID or an id) names, which must exist in
// st: the test fails when it does not.
func LocalEvent(t testing.TB, st *store.Store, ref string) store.EventID {
	t.Helper()
	id, err := st.ResolveEvent(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// ServerID is the id of the sync link named name in st, or 0 (no server) when there is
// none, so that what a test does with it answers "not found" as for any unknown server.
func ServerID(st *store.Store, name string) store.ServerID {
	return orZero(st.ResolveServer, name)
}

// FeedID is the id of the feed named name in st, or 0 (no feed) when there is none.
func FeedID(st *store.Store, name string) store.FeedID {
	return orZero(st.ResolveFeed, name)
}

// UserID is the id of the user ref names (id or e-mail) in st, or 0 (no user) when there is
// none.
func UserID(st *store.Store, ref string) store.UserID {
	return orZero(st.ResolveUser, ref)
}

// OrgID is the id of the organisation ref names (id, UUID or name) in st, or 0 (none).
func OrgID(st *store.Store, ref string) store.OrgID {
	return orZero(st.ResolveOrg, ref)
}

// SharingGroupID is the id of the sharing group ref names (id, UUID or name) in st, or 0
// (none).
func SharingGroupID(st *store.Store, ref string) store.SharingGroupID {
	return orZero(st.ResolveSharingGroup, ref)
}

// ClusterJSON is the stored galaxy cluster ref (id or UUID) names, as GalaxyClusterJSON
// returns it.
func ClusterJSON(st *store.Store, ref string) (map[string]any, error) {
	return store.ReadByRef(context.Background(), st.ResolveCluster, st.GalaxyClusterJSON, ref)
}

// Galaxy is the stored galaxy ref (id or UUID) names.
func Galaxy(st *store.Store, ref string) (*store.GalaxyRow, error) {
	return store.ReadByRef(context.Background(), st.ResolveGalaxy, st.Galaxy, ref)
}

// orZero is the id resolve finds for ref, or 0 (no record) when it finds none.
func orZero[T ~int64](resolve func(context.Context, string) (T, error), ref string) T {
	id, err := resolve(context.Background(), ref)
	if err != nil {
		return 0
	}
	return id
}
