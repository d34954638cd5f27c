package policy

import (
	"fmt"

	"mispdesk/store/misp"
)

// verdict is what a sieve callback says about one child: drop it (with the rule and the
// reason), or keep it, possibly changed (also with a rule and reason, or empty).
type verdict struct {
	drop   bool
	rule   string
	reason string
}

func keep() verdict { return verdict{} }

func keepChanged(rule, reason string) verdict { return verdict{rule: rule, reason: reason} }

func drop(rule, reason string) verdict { return verdict{drop: true, rule: rule, reason: reason} }

// sieve walks the children of an event it owns (a copy), asking each callback about each
// child; a callback may change the child in place. Afterwards it drops object references
// to elements that are gone and objects left without attributes, because an object's
// meaning is its attributes and a reference would leak the removed element's UUID.
type sieve struct {
	attribute func(a *misp.Attribute, parent Reach) verdict
	object    func(o *misp.Object, parent Reach) verdict
	report    func(r *misp.EventReport, parent Reach) verdict
}

func (s *sieve) apply(ev *misp.Event, t *tally) {
	root := EventReach(ev)
	ev.Attribute = s.attributes(ev.Attribute, root, "attribute", t)
	objects := ev.Object[:0]
	for i := range ev.Object {
		o := &ev.Object[i]
		v := s.object(o, root)
		if t.record("object", v) {
			continue
		}
		o.Attribute = s.attributes(o.Attribute, root.Child(o.Distribution, o.SharingGroup), "object attribute", t)
		if len(o.Attribute) == 0 {
			t.record("object", drop("object", "no attribute of it may go"))
			continue
		}
		objects = append(objects, *o)
	}
	clear(ev.Object[len(objects):])
	ev.Object = objects
	if ev.EventReport != nil {
		reports := ev.EventReport[:0]
		for i := range ev.EventReport {
			if !t.record("event report", s.report(&ev.EventReport[i], root)) {
				reports = append(reports, ev.EventReport[i])
			}
		}
		clear(ev.EventReport[len(reports):])
		ev.EventReport = reports
	}
	dropDanglingReferences(ev, t)
}

func (s *sieve) attributes(attrs []misp.Attribute, parent Reach, kind string, t *tally) []misp.Attribute {
	kept := attrs[:0]
	for i := range attrs {
		if !t.record(kind, s.attribute(&attrs[i], parent)) {
			kept = append(kept, attrs[i])
		}
	}
	clear(attrs[len(kept):])
	return kept
}

// dropDanglingReferences removes references whose target is not among what remains, and
// MISP's derived summary of the target, which would carry its value.
func dropDanglingReferences(ev *misp.Event, t *tally) {
	present := make(map[string]struct{}, len(ev.Attribute)+len(ev.Object))
	for i := range ev.Attribute {
		present[ev.Attribute[i].UUID] = struct{}{}
	}
	for i := range ev.Object {
		o := &ev.Object[i]
		present[o.UUID] = struct{}{}
		for j := range o.Attribute {
			present[o.Attribute[j].UUID] = struct{}{}
		}
	}
	for i := range ev.Object {
		o := &ev.Object[i]
		refs := o.ObjectReference[:0]
		for _, r := range o.ObjectReference {
			if _, ok := present[r.ReferencedUUID]; !ok {
				t.record("object reference", drop("object_reference", "its target is not sent"))
				continue
			}
			r.Referenced = nil
			refs = append(refs, r)
		}
		clear(o.ObjectReference[len(refs):])
		o.ObjectReference = refs
	}
}

// tally counts removals and changes of children by reason, so a decision about an event
// with thousands of attributes reads as a few lines.
type tally struct {
	order  []tallyKey
	counts map[tallyKey]int
}

type tallyKey struct {
	kind, rule, reason string
	dropped            bool
}

// record notes v for a child of the given kind and reports whether the child is dropped.
func (t *tally) record(kind string, v verdict) bool {
	if v.rule == "" {
		return v.drop
	}
	if t.counts == nil {
		t.counts = make(map[tallyKey]int)
	}
	k := tallyKey{kind, v.rule, v.reason, v.drop}
	if _, seen := t.counts[k]; !seen {
		t.order = append(t.order, k)
	}
	t.counts[k]++
	return v.drop
}

// removed is how many children were dropped.
func (t *tally) removed() int {
	n := 0
	for k, c := range t.counts {
		if k.dropped {
			n += c
		}
	}
	return n
}

// steps writes the tally into the decision as Changed steps, in first-seen order.
func (t *tally) steps(d *Decision) {
	for _, k := range t.order {
		n := t.counts[k]
		what := "changed"
		if k.dropped {
			what = "removed"
		}
		d.change(k.rule, fmt.Sprintf("%d %s %s: %s", n, plural(k.kind, n), what, k.reason))
	}
}

func plural(kind string, n int) string {
	if n == 1 {
		return kind
	}
	return kind + "s"
}
