package policy

import (
	"fmt"

	"mispdesk/store/misp"
)

// RuleVerdict is one event's result in a rules dry run.
type RuleVerdict struct {
	EventUUID string   `json:"event_uuid"`
	Info      string   `json:"info"`
	Decision  Decision `json:"decision"`
	// Stripped counts the attributes and objects the rules would remove from an event
	// that passes (push_rules.tags.NOT on attributes, type_attributes, type_objects).
	Stripped int `json:"stripped"`
}

// DryRun applies only a server's rules (not distribution, blocklists or publishing) to
// events, saying for each whether it passes and which rule blocked it. The console's rules
// pane and the explain command show this.
func DryRun(kind RulesKind, r *Rules, events []*misp.Event) []RuleVerdict {
	out := make([]RuleVerdict, 0, len(events))
	for _, ev := range events {
		d := newDecision("rules")
		checkEventRules(&d, kind, r, ev)
		v := RuleVerdict{EventUUID: ev.UUID, Info: ev.Info, Decision: d}
		if d.Allowed {
			v.Stripped = countStripped(&v.Decision, kind, r, ev)
		}
		out = append(out, v)
	}
	return out
}

// countStripped counts, without copying the event, the children the rules remove.
func countStripped(d *Decision, kind RulesKind, r *Rules, ev *misp.Event) int {
	var t tally
	attr := func(a *misp.Attribute) {
		switch {
		case kind == PushRules && firstTagMatch(r.Tags.NOT, a.Tag) != "":
			t.record("attribute", drop(string(kind)+".tags.NOT", "they carry a blocked tag"))
		case inList(r.TypeAttributes.NOT, a.Type):
			t.record("attribute", drop(string(kind)+".type_attributes.NOT", fmt.Sprintf("type %q is filtered out", a.Type)))
		}
	}
	for i := range ev.Attribute {
		attr(&ev.Attribute[i])
	}
	for i := range ev.Object {
		o := &ev.Object[i]
		if inList(r.TypeObjects.NOT, o.TemplateUUID) {
			t.record("object", drop(string(kind)+".type_objects.NOT", fmt.Sprintf("template %s is filtered out", o.TemplateUUID)))
			continue
		}
		for j := range o.Attribute {
			attr(&o.Attribute[j])
		}
	}
	t.steps(d)
	return t.removed()
}
