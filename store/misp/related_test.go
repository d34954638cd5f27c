package misp

import "testing"

// The sender's correlations (RelatedEvent, RelatedAttribute, RelatedTags) are its own view:
// nothing of them is kept to be stored or sent on.
func TestDecodeDropsRelated(t *testing.T) {
	e, err := ParseEvent([]byte(`{"Event":{"uuid":"00000000-0000-4000-8000-000000000001","info":"x","RelatedEvent":[{"Event":{"id":"1"}}],
		"Attribute":[{"type":"domain","value":"evil.example","RelatedAttribute":[{"id":"3"}],"RelatedTags":[{"id":"1"}]}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Extra) != 0 || len(e.Attribute[0].Extra) != 0 {
		t.Fatalf("kept: %v %v", e.Extra, e.Attribute[0].Extra)
	}
}
