package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"mispdesk/internal/testsupport"
	"mispdesk/policy"
)

func rulesPaneOf(m *model) *rulesPane { return m.panes[2].(*rulesPane) }

func TestRulesPaneEditDryRunSave(t *testing.T) {
	st := eventsStore(t)
	addPushServer(t, st, "peer", "")
	addPushServer(t, st, "second", `{"tags":{"OR":[],"NOT":["tlp:red"]},"orgs":{"OR":[],"NOT":[]},"type_attributes":{"NOT":["malware-sample"]}}`)
	m := newTest(t, st, 80, 24)
	press(t, m, "3")
	p := rulesPaneOf(m)
	all := len(p.sample)
	// The dry run is the push's own decision: an event passes exactly when explain
	// (the decision a push makes) lets it go, unpublished and org-only events included.
	pass := 0
	for _, v := range p.verdicts {
		ex, err := m.c.Engine.ExplainPush(context.Background(), testsupport.LocalEvent(t, m.c.Store, v.EventUUID), testsupport.ServerID(m.c.Store, "peer"))
		if err != nil {
			t.Fatal(err)
		}
		if ex.Decision.Allowed != v.Decision.Allowed {
			t.Errorf("event %s: dry run says %v, explain %v (%s)", v.EventUUID, v.Decision.Allowed, ex.Decision.Allowed, ex.Decision.Reason())
		}
		if v.Decision.Allowed {
			pass++
		}
	}
	if all == 0 || len(p.verdicts) != all || pass == all || !strings.Contains(screen(m), fmt.Sprintf("%d pass", pass)) {
		t.Fatalf("dry run of no rules: %d verdicts of %d, %d pass\n%s", len(p.verdicts), all, pass, screen(m))
	}
	// Block the ESET tag: the dry run counts what it blocks, before saving.
	press(t, m, "j", "a") // the cursor on "Tags blocked (NOT)"'s add line
	f, ok := m.topScreen().(*ruleEntryForm)
	if !ok || f.list != 1 {
		t.Fatalf("a opens %T (list %v)", m.topScreen(), f)
	}
	press(t, m, "type:ESET", "enter")
	if !p.dirty || len(p.rules.Tags.NOT) != 1 {
		t.Fatalf("staged %+v dirty %v", p.rules.Tags, p.dirty)
	}
	blocked := p.blockCounts()[1]
	if blocked == 0 || !strings.Contains(screen(m), fmt.Sprintf("blocks %d", blocked)) || !strings.Contains(screen(m), "unsaved") {
		t.Fatalf("blocked %d\n%s", blocked, screen(m))
	}
	// switching servers with unsaved changes is refused
	press(t, m, "]")
	if p.current().Name != "peer" || !strings.Contains(m.flashText, "Unsaved") {
		t.Fatalf("switched to %s with unsaved changes", p.current().Name)
	}
	press(t, m, "w")
	sv, _ := st.Server(context.Background(), testsupport.ServerID(st, "peer"))
	r, err := policy.ParseRules(policy.PushRules, sv.PushRules)
	if err != nil || len(r.Tags.NOT) != 1 || r.Tags.NOT[0] != "ESET" || p.dirty {
		t.Fatalf("saved %q (%v), dirty %v", sv.PushRules, err, p.dirty)
	}
	// the other server's extra filters survive an edit
	press(t, m, "]")
	if p.current().Name != "second" || len(p.rules.Tags.NOT) != 1 {
		t.Fatalf("server %s rules %+v", p.current().Name, p.rules)
	}
	press(t, m, "j", "d") // remove tlp:red
	press(t, m, "w")
	sv, _ = st.Server(context.Background(), testsupport.ServerID(st, "second"))
	r, _ = policy.ParseRules(policy.PushRules, sv.PushRules)
	if len(r.Tags.NOT) != 0 || len(r.TypeAttributes.NOT) != 1 {
		t.Errorf("saved %q", sv.PushRules)
	}
	// pull rules
	press(t, m, "p")
	if !p.pull || !strings.Contains(screen(m), "Pull rules") {
		t.Errorf("p does not show the pull rules:\n%s", screen(m))
	}
	// u reverts
	press(t, m, "a", "type:tlp:red", "enter", "u")
	if p.dirty || len(p.rules.Tags.OR) != 0 {
		t.Errorf("u: dirty %v rules %+v", p.dirty, p.rules.Tags)
	}
}

func TestGoldenRules(t *testing.T) {
	st := eventsStore(t)
	addPushServer(t, st, "circl-misp", `{"tags":{"OR":[],"NOT":["tlp:red"]},"orgs":{"OR":[],"NOT":["CIRCL"]}}`)
	for _, sz := range goldenSizes {
		m := newTest(t, st, sz.w, sz.h)
		fixedInstance(m)
		press(t, m, "3", "j", "a", "type:osint:source-type=\"blog-post\"", "enter")
		goldenScreen(t, "rules", m)
	}
}
