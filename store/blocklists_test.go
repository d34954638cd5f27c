package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestBlocklists(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	const ev = "0b8e4a2a-2b2f-4c33-9d0a-0c1d2e3f4a5b"
	const org = "5d9a4d1e-8b1c-4a55-9a7e-6c1f1b2b3c4d"
	e, err := s.AddEventBlock(ctx, EventBlock{EventUUID: strings.ToUpper(ev), EventInfo: "spam", Comment: "noise"})
	if err != nil {
		t.Fatal(err)
	}
	if e.EventUUID != ev || e.ID == 0 || e.Created == 0 {
		t.Errorf("event block = %+v", e)
	}
	if _, err := s.AddEventBlock(ctx, EventBlock{EventUUID: ev}); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate event block: %v", err)
	}
	if _, err := s.AddEventBlock(ctx, EventBlock{EventUUID: "nope"}); err == nil {
		t.Error("a non-UUID was blocked")
	}
	o, err := s.AddOrgBlock(ctx, OrgBlock{OrgUUID: org, OrgName: "Evil Corp"})
	if err != nil || o.OrgUUID != org {
		t.Fatalf("org block = %+v, %v", o, err)
	}
	if _, err := s.AddOrgBlock(ctx, OrgBlock{OrgUUID: strings.ToUpper(org)}); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate org block: %v", err)
	}
	if _, err := s.AddOrgBlock(ctx, OrgBlock{OrgUUID: ""}); err == nil {
		t.Error("an empty UUID was blocked")
	}

	for _, c := range []struct {
		check func(context.Context, string) (bool, error)
		uuid  string
		want  bool
	}{
		{s.EventBlocked, ev, true}, {s.EventBlocked, strings.ToUpper(ev), true}, {s.EventBlocked, org, false},
		{s.OrgBlocked, org, true}, {s.OrgBlocked, ev, false},
	} {
		if got, err := c.check(ctx, c.uuid); err != nil || got != c.want {
			t.Errorf("blocked(%s) = %v, %v; want %v", c.uuid, got, err, c.want)
		}
	}
	sets, err := s.Blocklists(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sets.Events[ev]; !ok || len(sets.Events) != 1 || len(sets.Orgs) != 1 {
		t.Errorf("sets = %+v", sets)
	}
	if es, err := s.EventBlocks(ctx); err != nil || len(es) != 1 || es[0].EventInfo != "spam" {
		t.Errorf("EventBlocks = %+v, %v", es, err)
	}
	if os, err := s.OrgBlocks(ctx); err != nil || len(os) != 1 || os[0].OrgName != "Evil Corp" {
		t.Errorf("OrgBlocks = %+v, %v", os, err)
	}

	if err := s.DeleteEventBlock(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteEventBlock(ctx, ev); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	if err := s.DeleteOrgBlock(ctx, strings.ToUpper(org)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOrgBlock(ctx, org); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete org twice: %v", err)
	}
	if blocked, _ := s.EventBlocked(ctx, ev); blocked {
		t.Error("still blocked after delete")
	}
	if sets, _ := s.Blocklists(ctx); len(sets.Events)+len(sets.Orgs) != 0 {
		t.Errorf("sets after deletes = %+v", sets)
	}
}
