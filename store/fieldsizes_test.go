package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"mispdesk/store/misp"
)

// A value longer than MISP's column is refused naming its JSON pointer, and nothing of the
// event is written: neither a new event nor an update of a stored one. A value that just
// fits is stored whole.
func TestFieldSizesAsMISPColumns(t *testing.T) {
	s := openTest(t)
	initHost(t, s)
	ctx := context.Background()
	path := "../testdata/feeds/osint-mixed/5a0a9aa9-23a4-4607-b6df-41a9950d210f.json"
	base := loadEvent(t, path)
	if len(base.Attribute) < 2 || len(base.Tag) == 0 {
		t.Fatal("fixture changed: want two attributes and a tag")
	}
	cases := []struct {
		name, pointer string
		change        func(e *misp.Event)
	}{
		{"info", "/Event/info", func(e *misp.Event) { e.Info = strings.Repeat("i", 65_536) }},
		{"attribute comment", "/Event/Attribute/1/comment", func(e *misp.Event) { e.Attribute[1].Comment = strings.Repeat("c", 65_536) }},
		{"attribute value", "/Event/Attribute/0/value", func(e *misp.Event) { e.Attribute[0].Value = strings.Repeat("v", 65_536) }},
		{"attribute type", "/Event/Attribute/0/type", func(e *misp.Event) { e.Attribute[0].Type = strings.Repeat("t", 101) }},
		{"event tag", "/Event/Tag/0/name", func(e *misp.Event) { e.Tag[0].Name = strings.Repeat("é", 256) }},
		{"attribute tag", "/Event/Attribute/1/Tag/0/name", func(e *misp.Event) {
			e.Attribute[1].Tag = []misp.Tag{{Name: strings.Repeat("x", 256)}}
		}},
		{"object attribute", "/Event/Object/0/Attribute/0/comment", func(e *misp.Event) {
			e.Object = []misp.Object{{Name: "file", UUID: "8f9e1c52-5b47-4e8d-9a0a-d1e1f5a7c001", Distribution: misp.InheritEvent,
				Attribute: []misp.Attribute{{Type: "filename", Category: "Payload delivery", Value: "a.exe",
					UUID: "8f9e1c52-5b47-4e8d-9a0a-d1e1f5a7c002", Comment: strings.Repeat("c", 70_000)}}}}
		}},
		{"report name", "/Event/EventReport/0/name", func(e *misp.Event) {
			e.EventReport = []misp.EventReport{{UUID: "8f9e1c52-5b47-4e8d-9a0a-d1e1f5a7c003", Name: strings.Repeat("r", 256)}}
		}},
		{"creator org", "/Event/Orgc/name", func(e *misp.Event) { e.Orgc = &misp.Org{Name: strings.Repeat("o", 256)} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := loadEvent(t, path)
			tc.change(e)
			_, err := s.UpsertEvent(ctx, e, UpsertOptions{})
			var fe *FieldSizeError
			if !errors.As(err, &fe) || fe.Pointer != tc.pointer || !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("err = %v, want a FieldSizeError at %s", err, tc.pointer)
			}
			if !strings.Contains(err.Error(), tc.pointer) || strings.Contains(err.Error(), "\n") {
				t.Errorf("message %q: want one line naming %s", err, tc.pointer)
			}
			if n := count(t, s, "SELECT count(*) FROM events"); n != 0 {
				t.Errorf("%d events stored", n)
			}
		})
	}

	// Values that just fit are stored; an update with an over-long value leaves the
	// stored event as it was.
	fits := loadEvent(t, path)
	fits.Info = strings.Repeat("i", 65_535)
	fits.Tag[0].Name = strings.Repeat("é", 255)
	if _, err := s.UpsertEvent(ctx, fits, UpsertOptions{}); err != nil {
		t.Fatalf("values at MISP's limits: %v", err)
	}
	over := loadEvent(t, path)
	over.Timestamp++
	over.Info = "newer"
	over.Attribute[0].Comment = strings.Repeat("c", 65_536)
	if _, err := s.UpsertEvent(ctx, over, UpsertOptions{}); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("update with an over-long comment: %v", err)
	}
	got, err := s.Event(ctx, mustResolve(t, s.ResolveEvent, fits.UUID))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Info) != 65_535 || got.Timestamp != fits.Timestamp {
		t.Errorf("stored event changed by a refused update: info %d bytes, timestamp %d", len(got.Info), got.Timestamp)
	}
}
