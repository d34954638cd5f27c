package mispapi

import (
	"context"
	"testing"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// TestIndexETagFollowsChanges: the index's ETag is known without reading the index, so it
// must change with every kind of change that could alter an answer (each checked here:
// the ETag given before is answered 200 with a new ETag), differ between viewers and
// filters, and stay when nothing the index reads changed.
func TestIndexETagFollowsChanges(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ev := e.importFile(fixtureExisting, func(ev *misp.Event) { ev.Published = true })
	filter := map[string]any{"minimal": 1, "published": 1}
	etagOf := func(key string, filter map[string]any) string {
		t.Helper()
		r := e.do("POST", "/events/index", key, filter)
		wantStatus(t, r, 200)
		if r.header.Get("ETag") == "" {
			t.Fatal("index answered without an ETag")
		}
		return r.header.Get("ETag")
	}
	etag := etagOf(e.syncKey, filter)
	wantStatus(t, e.do("POST", "/events/index", e.syncKey, filter, "If-None-Match", etag), 304)

	for _, other := range []struct {
		name   string
		key    string
		filter map[string]any
	}{
		{"another organisation", e.other, filter},
		{"a site admin", e.admin, filter},
		{"another filter", e.syncKey, map[string]any{"minimal": 1, "published": 0}},
		{"a full index", e.syncKey, map[string]any{"published": 1}},
		{"a page", e.syncKey, map[string]any{"minimal": 1, "published": 1, "limit": 1, "page": 2}},
	} {
		if got := etagOf(other.key, other.filter); got == etag {
			t.Errorf("%s has the same index ETag", other.name)
		}
	}

	// Nothing an index reads: a server state (kept among the settings) and a user.
	if err := e.st.SetServerState(ctx, 1, "index_etag", `"x"`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.st.AddUser(ctx, store.NewUser{Email: "late@other.test", OrgRef: "OTHERORG", RoleRef: "user"}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.do("POST", "/events/index", e.syncKey, filter, "If-None-Match", etag), 304)

	newer := testEvent("3f0e6c1e-64a4-4b69-9a34-7a6f1f9d2a01", misp.AllCommunities, true, 1700000000)
	var sgUUID string
	for _, step := range []struct {
		name   string
		change func() error
	}{
		{"event inserted", func() error {
			_, err := e.st.UpsertEvent(ctx, newer, store.UpsertOptions{})
			return err
		}},
		{"event updated", func() error {
			newer.Timestamp++
			newer.Info = "edited"
			_, err := e.st.UpsertEvent(ctx, newer, store.UpsertOptions{})
			return err
		}},
		{"event unpublished", func() error { return e.st.Unpublish(ctx, testsupport.LocalEvent(t, e.st, newer.UUID)) }},
		{"event published", func() error { _, err := e.st.Publish(ctx, testsupport.LocalEvent(t, e.st, newer.UUID)); return err }},
		{"event tagged", func() error {
			row, err := e.st.EventRow(ctx, testsupport.LocalEvent(t, e.st, ev.UUID))
			if err != nil {
				return err
			}
			_, err = e.st.SetLocalTag(ctx, row.ID, 0, "etag:test", true)
			return err
		}},
		{"sharing group added", func() error {
			sg, err := e.st.AddSharingGroup(ctx, store.NewSharingGroup{Name: "etag group"})
			if err == nil {
				sgUUID = sg.UUID
			}
			return err
		}},
		{"sharing group member added", func() error {
			return e.st.AddSharingGroupOrg(ctx, testsupport.SharingGroupID(e.st, sgUUID), testsupport.OrgID(e.st, "PEERORG"), false)
		}},
		{"organisation renamed", func() error {
			id, err := e.st.ResolveOrg(ctx, "OTHERORG")
			if err != nil {
				return err
			}
			_, err = e.st.UpdateOrg(ctx, id, store.Org{Name: "OTHERORG renamed"})
			return err
		}},
		{"event blocklisted", func() error {
			_, err := e.st.AddEventBlock(ctx, store.EventBlock{EventUUID: "0b4f1b0e-3d1c-4c4a-8a55-2f7f0c6d9e11"})
			return err
		}},
		{"base URL changed", func() error { return e.st.SetBaseURL(ctx, "https://misp-b2.example") }},
		{"event deleted", func() error { return e.st.DeleteEvent(ctx, testsupport.LocalEvent(t, e.st, newer.UUID), false, "") }},
		{"store opened again", func() error {
			other, err := store.Open(ctx, e.st.Path())
			if err != nil {
				return err
			}
			return other.Close()
		}},
	} {
		if err := step.change(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		r := e.do("POST", "/events/index", e.syncKey, filter, "If-None-Match", etag)
		if r.status != 200 || r.header.Get("ETag") == etag {
			t.Fatalf("%s: the index ETag from before answered %d with ETag %s", step.name, r.status, r.header.Get("ETag"))
		}
		etag = r.header.Get("ETag")
		wantStatus(t, e.do("POST", "/events/index", e.syncKey, filter, "If-None-Match", etag), 304)
	}
}
