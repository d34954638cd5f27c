package policy

import (
	"testing"

	"mispdesk/store/misp"
)

// A protected event is neither pushed nor taken by a pull (mispdesk can neither sign nor
// validate its signature), with the reason; the same event unprotected goes both ways.
func TestProtectedEventsRefused(t *testing.T) {
	inst := instance(orgA, "https://a.example")
	srv := link(1, "https://b.example", orgA, orgB, false)
	for _, protected := range []bool{false, true} {
		ev := event(orgA, misp.AllCommunities)
		ev.Protected = misp.OptBool{Set: true, Value: protected}
		push := inst.PushCandidate(srv, ev, Scheduled, Blocklists{})
		pull := inst.Pull(srv, ev, nil, Blocklists{})
		if push.Allowed == protected || pull.Allowed == protected {
			t.Errorf("protected %v: push allowed %v, pull allowed %v", protected, push.Allowed, pull.Allowed)
		}
		if protected && (push.Code() != "protected" || push.Reason() != ReasonProtectedPush || pull.Reason() != ReasonProtectedPull) {
			t.Errorf("refusals without their reason: push %q (%s), pull %q", push.Reason(), push.Code(), pull.Reason())
		}
	}
}
