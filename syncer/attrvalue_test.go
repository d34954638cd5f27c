package syncer

import (
	"slices"
	"strings"
	"testing"

	"mispdesk/store"
	"mispdesk/store/misp"
)

// TestPullNormalisesAndDropsAsMISP: a pulled event arrives with its attribute values in
// MISP's form; an attribute MISP refuses is dropped as MISP drops it, the rest of the event
// stored, and the sync log says which attribute went and why.
func TestPullNormalisesAndDropsAsMISP(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	connect(t, b, a, store.ServerOptions{Pull: true})
	// On A as another tool might have written it: stored as given, without MISP's checks.
	attr := func(n, typ, value string) misp.Attribute {
		return misp.Attribute{UUID: "00000000-0000-4000-8000-00000000000" + n, Type: typ, Category: "Other", Value: value,
			Distribution: misp.InheritEvent, Timestamp: 1700000000}
	}
	ev := &misp.Event{UUID: "00000000-0000-4000-8000-0000000000f1", Info: "values from another tool", Published: true,
		Distribution: misp.AllCommunities, Timestamp: 1700000000, Date: "2023-11-14",
		Attribute: []misp.Attribute{
			attr("1", "ip-dst", "999.1.1.1"),
			attr("2", "md5", "D41D8CD98F00B204E9800998ECF8427E"),
			attr("3", "datetime", "2024-03-05T12:34:56Z"),
			attr("4", "ip-dst|port", "2001:DB8:0::1|443"),
		}}
	if _, err := a.st.UpsertEvent(ctx, ev, store.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	logFrom, err := b.st.LastLogID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	got := b.event(t, ev.UUID)
	if got == nil {
		t.Fatal("the event was not pulled")
	}
	var values []string
	for _, x := range got.Attribute {
		values = append(values, x.Type+"="+x.Value)
	}
	want := []string{"md5=d41d8cd98f00b204e9800998ecf8427e", "datetime=2024-03-05T12:34:56.000000+0000", "ip-dst|port=2001:db8::1|443"}
	if !slices.Equal(values, want) {
		t.Errorf("pulled %q, want %q", values, want)
	}
	entries, err := b.st.LogSince(ctx, logFrom, 100, store.LogFilter{Direction: "pull", Level: "warn"})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		if e.EventUUID == ev.UUID && e.Outcome == "pulled" && strings.Contains(e.Message, "1 attribute(s) dropped as MISP refuses them") &&
			strings.Contains(e.Message, `ip-dst "999.1.1.1": IP address has an invalid format.`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning in the sync log naming the dropped attribute: %+v", entries)
	}
}
