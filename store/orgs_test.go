package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// A person or a peer names an organisation by id, UUID (any case) or name; it is resolved
// once, then read, edited and deleted by its typed id.
func TestResolveOrg(t *testing.T) {
	s, _ := initTest(t)
	ctx := context.Background()
	o, err := s.AddOrg(ctx, Org{Name: "Peer", UUID: "5bad1b96-53bc-4148-87eb-50d50a016201"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"Peer", " " + strings.ToUpper(o.UUID) + " ", strconv.FormatInt(int64(o.ID), 10)} {
		if id, err := s.ResolveOrg(ctx, ref); err != nil || id != o.ID {
			t.Errorf("ResolveOrg(%q) = %d, %v; want %d", ref, id, err, o.ID)
		}
	}
	if _, err := s.ResolveOrg(ctx, "Nobody"); !errors.Is(err, ErrNotFound) || err.Error() != `organisation "Nobody": not found` {
		t.Errorf("unknown organisation: %v", err)
	}
	if got, err := s.OrgByUUID(ctx, strings.ToUpper(o.UUID)); err != nil || got.Name != "Peer" {
		t.Errorf("OrgByUUID = %+v, %v", got, err)
	}
	if got, err := s.UpdateOrg(ctx, OrgID(o.ID), Org{Name: "Peer renamed"}); err != nil || got.Name != "Peer renamed" || got.ID != o.ID {
		t.Errorf("UpdateOrg = %+v, %v", got, err)
	}
	if err := s.DeleteOrg(ctx, OrgID(o.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Org(ctx, OrgID(o.ID)); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted organisation read: %v", err)
	}
}
