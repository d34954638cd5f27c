package syncer

import (
	"testing"
)

func TestSuiteModifyAttribute(t *testing.T) {
	b := newBed(t)
	for _, w := range ways(b) {
		t.Run("UpdatedAttribute"+w.name, func(t *testing.T) {
			b.use(t)
			defer b.purge()
			c := w.src(b)
			ev := c.addEvent(suiteEvent("Event for updated attribute", 2, func(e map[string]any) {
				e["Attribute"] = append(e["Attribute"].([]any), map[string]any{"type": "text", "category": "Other", "value": "initial_value"})
			}))
			for _, i := range w.run(b, c, ev) {
				if !hasValue(attrs(b.org[i], js(ev, "uuid"), nil), "initial_value", nil) {
					t.Fatalf("initial attribute not on MISP_%d", i)
				}
			}
			a := jm(ev, "Attribute", "1")
			c.call("POST", "attributes/edit/"+js(a, "id"), map[string]any{"Attribute": map[string]any{"value": "updated_value"}})
			for _, i := range w.run(b, c, ev) {
				if !hasValue(attrs(b.org[i], js(ev, "uuid"), nil), "updated_value", nil) {
					t.Errorf("updated attribute not on MISP_%d", i)
				}
			}
		})
		t.Run("SoftDeleteAttribute"+w.name, func(t *testing.T) {
			b.use(t)
			defer b.purge()
			c := w.src(b)
			ev := c.addEvent(suiteEvent("Event for soft delete attribute", 2, func(e map[string]any) {
				e["Attribute"] = append(e["Attribute"].([]any), map[string]any{"type": "text", "category": "Other", "value": "Gotta be deleted"})
			}))
			targets := w.run(b, c, ev)
			a := jm(ev, "Attribute", "1")
			c.call("POST", "attributes/edit/"+js(a, "id"), map[string]any{"Attribute": map[string]any{"deleted": true}})
			w.run(b, c, ev)
			for _, i := range targets {
				deleted := func(x any) bool { return jm(x, "deleted") == true }
				if !hasValue(attrs(b.admin[i], js(ev, "uuid"), map[string]any{"deleted": true}), "Gotta be deleted", deleted) {
					t.Errorf("soft-deleted attribute not on MISP_%d", i)
				}
			}
		})
		// The suite's second push and pull are made with the org admin's key, which MISP
		// refuses (servers/push and servers/pull are site admin's); the port makes them as
		// the site admin.
		t.Run("UpdatedProposalAttribute"+w.name, func(t *testing.T) {
			b.use(t)
			defer b.purge()
			c := w.src(b)
			ev := c.addEvent(suiteEvent("Event for updated proposal attribute", 2, nil))
			c.call("POST", "attributes/add/"+js(ev, "id"), map[string]any{"value": "John", "type": "first-name"})
			propose := func(value string) string {
				p := c.obj("POST", "shadowAttributes/add/"+js(ev, "id"), map[string]any{"value": value, "type": "last-name"})
				if js(p, "ShadowAttribute", "value") != value {
					t.Fatalf("shadowAttributes/add answered %v", p)
				}
				return js(p, "ShadowAttribute", "uuid")
			}
			first, second := propose("Doe"), propose("Dope")
			targets := w.run(b, c, ev)
			for _, i := range targets {
				// Another organisation's admin on the target sees the creator's proposals.
				if r := b.org[i].search(js(ev, "uuid"), nil); len(r) == 0 || !hasValue(jl(r[0], "Event", "ShadowAttribute"), "Doe", nil) {
					t.Errorf("proposal not on MISP_%d", i)
				}
			}
			c.call("POST", "shadowAttributes/accept/"+first, nil)
			c.call("POST", "shadowAttributes/discard/"+second, nil)
			if w.name == "OnPush" {
				b.publish(c, ev)
				b.pushAll(1, "")
			} else {
				w.run(b, c, ev)
			}
			for _, i := range targets {
				r := b.org[i].search(js(ev, "uuid"), nil)
				if len(r) == 0 {
					t.Fatalf("event not on MISP_%d after the proposals were decided", i)
				}
				if as := jl(r[0], "Event", "Attribute"); !hasValue(as, "Doe", nil) || hasValue(as, "Dope", nil) {
					t.Errorf("MISP_%d attributes %v: want the accepted Doe and not the discarded Dope", i, as)
				}
				if ps := jl(r[0], "Event", "ShadowAttribute"); len(ps) != 0 {
					t.Errorf("MISP_%d still lists decided proposals %v", i, ps)
				}
			}
		})
		t.Run("DeletedProposalAttribute"+w.name, func(t *testing.T) {
			b.use(t)
			defer b.purge()
			c := w.src(b)
			ev := c.addEvent(suiteEvent("Event for deleted proposal attribute", 2, nil))
			a := c.obj("POST", "attributes/add/"+js(ev, "id"), map[string]any{"value": "John", "type": "first-name"})
			c.call("POST", "shadowAttributes/delete/"+js(a, "Attribute", "id"), nil)
			var targets []int
			if w.name == "OnPush" { // the suite pushes in full: proposals go with a server push
				b.publish(c, ev)
				b.pushAll(1, "")
				targets = b.linked(1)
			} else {
				targets = w.run(b, c, ev)
			}
			for _, i := range targets {
				ok := false
				for _, x := range attrs(b.org[i], js(ev, "uuid"), nil) {
					if js(x, "value") == "John" {
						ok = ok || hasValue(jl(x, "ShadowAttribute"), "John", func(p any) bool { return jm(p, "proposal_to_delete") == true })
					}
				}
				if !ok {
					t.Errorf("proposal to delete John not on MISP_%d", i)
				}
			}
		})
	}
}

// The last instance (7, ORG_6's second instance) and its internal link to 6.
func TestSuiteWithInternalServer(t *testing.T) {
	b := newBed(t)
	last := b.size()
	target := b.linked(last)[0]
	toTarget := serverIDs(b.admin[last].servers())[0]
	fromTarget := serverIDs(b.admin[target].servers())[0]

	t.Run("LocalShareAndDowngradeOnPush", func(t *testing.T) {
		b.use(t)
		defer b.purge()
		for dist := range 4 {
			ev := b.org[last].addEvent(suiteEvent("Event for local share and downgrade on push", dist, nil))
			b.publish(b.org[last], ev)
			b.admin[last].serverPush(toTarget, js(ev, "id"))
			if got := distributionOf(b.org[target], js(ev, "uuid")); got != dist {
				t.Errorf("distribution %d pushed over the internal link: MISP_%d has %d", dist, target, got)
			}
		}
	})
	t.Run("LocalShareAndDowngradeOnPull", func(t *testing.T) {
		b.use(t)
		defer b.purge()
		// The suite wants 1→0 and 2→1; MISP's Server::__updatePulledEventBeforeInsert keeps
		// the distribution over an internal link of the host organisation: followed here.
		for dist, want := range map[int]int{0: 0, 1: 1, 2: 2, 3: 3} {
			ev := b.org[last].addEvent(suiteEvent("Event for local share and downgrade on pull", dist, nil))
			b.publish(b.org[last], ev)
			b.admin[target].serverPull(fromTarget, "")
			if got := distributionOf(b.admin[target], js(ev, "uuid")); got != want {
				t.Errorf("distribution %d pulled over the internal link: MISP_%d has %d, want %d (MISP's code)", dist, target, got, want)
			}
		}
	})
	t.Run("LockedFlag", func(t *testing.T) {
		b.use(t)
		defer b.purge()
		ev := b.org[last].addEvent(suiteEvent("Event for locked flag on push", 2, nil))
		if jm(b.org[last].obj("GET", "events/view/"+js(ev, "id"), nil), "Event", "locked") == true {
			t.Fatal("the event is locked on its source")
		}
		b.publish(b.org[last], ev)
		r := b.org[target].search(js(ev, "uuid"), nil)
		if len(r) == 0 || jm(r[0], "Event", "locked") != true {
			t.Errorf("event on MISP_%d missing or not locked", target)
		}
	})
	t.Run("LocalTagPropagation", func(t *testing.T) {
		b.use(t)
		defer b.purge()
		c := b.org[last]
		ev := c.addEvent(suiteEvent("Event with a local tag", 2, nil))
		c.call("POST", "tags/add", map[string]any{"name": "This is a local tag", "local_only": true})
		c.call("POST", "tags/add", map[string]any{"name": "This is not a local tag"})
		c.call("POST", "tags/attachTagToObject", map[string]any{"uuid": js(ev, "uuid"), "tag": "This is a local tag", "local": true})
		c.call("POST", "tags/attachTagToObject", map[string]any{"uuid": js(ev, "uuid"), "tag": "This is not a local tag"})
		b.publish(c, ev)
		tags := tagNames(b.org[target], js(ev, "uuid"))
		if !tags["This is a local tag"] || !tags["This is not a local tag"] {
			t.Errorf("MISP_%d tags %v: an internal link carries local and global tags", target, tags)
		}
	})
}
