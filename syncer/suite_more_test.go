package syncer

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
)

// attrs is the event's attributes on c (search(uuid=…)[0].Event.Attribute), or nil.
func attrs(c *pm, eventUUID string, extra map[string]any) []any {
	c.t.Helper()
	r := c.search(eventUUID, extra)
	if len(r) == 0 {
		return nil
	}
	return jl(r[0], "Event", "Attribute")
}

func hasValue(list []any, value string, also func(a any) bool) bool {
	for _, a := range list {
		if js(a, "value") == value && (also == nil || also(a)) {
			return true
		}
	}
	return false
}

func tagNames(c *pm, eventUUID string) map[string]bool {
	c.t.Helper()
	out := map[string]bool{}
	if r := c.search(eventUUID, nil); len(r) > 0 {
		for _, tg := range jl(r[0], "Event", "Tag") {
			out[js(tg, "name")] = true
		}
	}
	return out
}

func clusterUUIDs(c *pm, eventUUID string) map[string]bool {
	c.t.Helper()
	out := map[string]bool{}
	if r := c.search(eventUUID, nil); len(r) > 0 {
		for _, g := range jl(r[0], "Event", "Galaxy") {
			for _, cl := range jl(g, "GalaxyCluster") {
				out[js(cl, "uuid")] = true
			}
		}
	}
	return out
}

// each runs check on every instance instance i's servers name (pushed to), or on the
// pulling side of the unidirectional link after its pull.
type way struct {
	name string
	// deliver publishes ev on its source and moves it; it returns the instances to check.
	run func(b *bed, c *pm, ev map[string]any) []int
	src func(b *bed) *pm
}

func ways(b *bed) []way {
	return []way{
		{name: "OnPush", src: func(b *bed) *pm { return b.org[1] }, run: func(b *bed, c *pm, ev map[string]any) []int {
			b.publish(c, ev)
			b.pushAll(1, js(ev, "id"))
			return b.linked(1)
		}},
		{name: "OnPull", src: func(b *bed) *pm { s, _, _ := b.unidirectional(); return b.org[s] }, run: func(b *bed, c *pm, ev map[string]any) []int {
			_, d, server := b.unidirectional()
			b.publish(c, ev)
			b.admin[d].serverPull(server, "")
			b.settle()
			return []int{d}
		}},
	}
}

func TestSuiteEventEnrichment(t *testing.T) {
	b := newBed(t)
	for _, w := range ways(b) {
		t.Run("SyncAttribute"+w.name, func(t *testing.T) {
			b.use(t)
			defer b.purge()
			c := w.src(b)
			ev := c.addEvent(suiteEvent("Event for attribute sync", 2, nil))
			c.call("POST", "attributes/add/"+js(ev, "id"), map[string]any{"value": "John", "type": "first-name", "category": "Person", "to_ids": false})
			for _, i := range w.run(b, c, ev) {
				if !hasValue(attrs(b.org[i], js(ev, "uuid"), nil), "John", nil) {
					t.Errorf("first-name John not on MISP_%d", i)
				}
			}
		})
		t.Run("SyncObject"+w.name, func(t *testing.T) {
			b.use(t)
			defer b.purge()
			c := w.src(b)
			ev := c.addEvent(suiteEvent("Event for object sync", 2, func(e map[string]any) {
				e["Object"] = []any{map[string]any{"name": "file", "meta-category": "file", "template_uuid": "688c46fb-5edb-40a3-8273-1af7923e2215",
					"template_version": "24", "uuid": uuid.NewString(), "Attribute": []any{map[string]any{"object_relation": "filename", "type": "filename", "category": "Payload delivery", "value": "foo.txt", "uuid": uuid.NewString()}}}}
			}))
			for _, i := range w.run(b, c, ev) {
				r := b.org[i].search(js(ev, "uuid"), nil)
				ok := false
				for _, o := range jl(jm(r, "0"), "Event", "Object") {
					ok = ok || (js(o, "name") == "file" && hasValue(jl(o, "Attribute"), "foo.txt", nil))
				}
				if !ok {
					t.Errorf("file object with filename foo.txt not on MISP_%d", i)
				}
			}
		})
		t.Run("SyncTag"+w.name, func(t *testing.T) {
			b.use(t)
			defer b.purge()
			c := w.src(b)
			ev := c.addEvent(suiteEvent("Event with a global tag", 2, nil))
			c.call("POST", "tags/add", map[string]any{"name": "This is a global tag"})
			c.call("POST", "tags/attachTagToObject", map[string]any{"uuid": js(ev, "uuid"), "tag": "This is a global tag"})
			for _, i := range w.run(b, c, ev) {
				if !tagNames(b.org[i], js(ev, "uuid"))["This is a global tag"] {
					t.Errorf("global tag not on MISP_%d", i)
				}
			}
		})
		t.Run("SyncLocalTag"+w.name, func(t *testing.T) {
			b.use(t)
			defer b.purge()
			c := w.src(b)
			ev := c.addEvent(suiteEvent("Event with a local tag", 2, nil))
			c.call("POST", "tags/add", map[string]any{"name": "This is a local tag", "local_only": true})
			c.call("POST", "tags/add", map[string]any{"name": "This is not a local tag"})
			c.call("POST", "tags/attachTagToObject", map[string]any{"uuid": js(ev, "uuid"), "tag": "This is a local tag", "local": true})
			c.call("POST", "tags/attachTagToObject", map[string]any{"uuid": js(ev, "uuid"), "tag": "This is not a local tag"})
			for _, i := range w.run(b, c, ev) {
				tags := tagNames(b.org[i], js(ev, "uuid"))
				if tags["This is a local tag"] || !tags["This is not a local tag"] {
					t.Errorf("MISP_%d tags %v: want the global tag and not the local one", i, tags)
				}
			}
		})
		t.Run("SyncEventReport"+w.name, func(t *testing.T) {
			b.use(t)
			defer b.purge()
			c := w.src(b)
			ev := c.addEvent(suiteEvent("Event with Event Report", 2, nil))
			c.call("POST", "eventReports/add/"+js(ev, "id"), map[string]any{"EventReport": map[string]any{"name": "Test Event Report", "content": "# Markdown Report Content", "distribution": 5}})
			for _, i := range w.run(b, c, ev) {
				r := b.org[i].search(js(ev, "uuid"), nil)
				ok := false
				for _, rep := range jl(jm(r, "0"), "Event", "EventReport") {
					ok = ok || (js(rep, "name") == "Test Event Report" && jm(rep, "deleted") != true)
				}
				if !ok {
					t.Errorf("event report not on MISP_%d", i)
				}
			}
		})
		t.Run("SyncGalaxyCluster"+w.name, func(t *testing.T) {
			b.use(t)
			defer b.purge()
			c := w.src(b)
			ev := c.addEvent(suiteEvent("Event with Galaxy Cluster", 2, nil))
			cl := customCluster(c, "Galaxy for "+w.name, 2)
			c.call("POST", "galaxies/attachCluster/"+js(ev, "id")+"/event/local:0", map[string]any{"Galaxy": map[string]any{"target_id": js(cl, "id")}})
			if got := len(jl(c.obj("GET", "events/view/"+js(ev, "id"), nil), "Event", "Galaxy")); got != 1 {
				t.Fatalf("event has %d galaxies after attachCluster, want 1", got)
			}
			for _, i := range w.run(b, c, ev) {
				if !clusterUUIDs(b.org[i], js(ev, "uuid"))[js(cl, "uuid")] {
					t.Errorf("cluster %s not on MISP_%d", js(cl, "uuid"), i)
				}
			}
		})
	}
}

// customCluster adds a galaxy (galaxies/add) and a published cluster in it, and returns
// the cluster as galaxies/view lists it.
func customCluster(c *pm, galaxyName string, dist int) map[string]any {
	c.t.Helper()
	c.call("POST", "/galaxies/add", map[string]any{"name": galaxyName, "namespace": "MISP Test", "distribution": dist, "description": galaxyName})
	gs := c.list("GET", "galaxies/index", nil)
	g := jm(gs[len(gs)-1], "Galaxy")
	id := uuid.NewString()
	c.call("POST", "galaxy_clusters/add/"+js(g, "id"), map[string]any{"GalaxyCluster": map[string]any{
		"uuid": id, "value": "Cluster for " + galaxyName, "authors": []string{"CIRCL"}, "distribution": dist, "description": "A cluster description"}})
	c.call("POST", "galaxy_clusters/publish/"+id, nil)
	for _, cl := range jl(c.obj("GET", "galaxies/view/"+js(g, "id"), nil), "GalaxyCluster") {
		if js(cl, "uuid") == id {
			return cl.(map[string]any)
		}
	}
	c.t.Fatalf("galaxies/view of %s does not list the cluster just added", galaxyName)
	return nil
}

func TestSuiteLocked(t *testing.T) {
	b := newBed(t)
	for _, w := range ways(b) {
		t.Run("LockedStatus"+w.name, func(t *testing.T) {
			b.use(t)
			defer b.purge()
			c := w.src(b)
			ev := c.addEvent(suiteEvent("\n Event for locked status", 2, nil))
			for _, i := range w.run(b, c, ev) {
				r := b.org[i].search(js(ev, "uuid"), nil)
				if len(r) == 0 || jm(r[0], "Event", "locked") != true {
					t.Fatalf("event on MISP_%d missing or not locked", i)
				}
				got := b.org[i].obj("GET", "events/view/"+js(ev, "uuid"), nil)
				e := jm(got, "Event").(map[string]any)
				e["Attribute"] = append(jl(e, "Attribute"), map[string]any{"type": "text", "category": "Other", "value": "This should not be allowed"})
				b.org[i].do("POST", "events/edit/"+js(e, "id"), map[string]any{"Event": e}) // refused; the suite ignores the answer
				if n := len(attrs(b.org[i], js(ev, "uuid"), nil)); n == 2 {
					t.Errorf("event on MISP_%d was modified despite being locked", i)
				}
			}
		})
	}
}

// sightingsPolicy sets Plugin.Sightings_policy on every instance, as its site admin does.
func (b *bed) sightingsPolicy(p int) {
	b.t.Helper()
	for i := 1; i <= b.size(); i++ {
		if status, body := b.admin[i].do("POST", "servers/serverSettingsEdit/Plugin.Sightings_policy", map[string]any{"value": p}); status != 200 {
			b.t.Fatalf("Sightings_policy on MISP_%d: %d %s", i, status, body)
		}
	}
}

func TestSuiteMethods(t *testing.T) {
	b := newBed(t)
	for _, w := range ways(b) {
		t.Run("SyncSightings"+w.name, func(t *testing.T) {
			b.use(t)
			defer b.purge()
			c := w.src(b)
			ev := c.addEvent(suiteEvent("Event for sightings sync", 2, nil))
			a := jm(ev, "Attribute", "0")
			s := c.obj("POST", "sightings/add/"+js(a, "id"), map[string]any{"value": js(a, "value"), "source": "SyncTest", "type": "0"})
			if js(s, "Sighting", "source") != "SyncTest" {
				t.Fatalf("sightings/add answered %v", s)
			}
			var targets []int
			if w.name == "OnPush" {
				// MISP pushes an event's sightings as a sync account of the remote
				// organisation may see them (Event::pushSightingsToServer's fakeSyncUser):
				// under Sightings_policy 0 none of ORG_1's go to another organisation's
				// instance. The suite's check, by ORG_n's admin, holds where every
				// organisation sees every sighting (policy 2), on every instance.
				b.sightingsPolicy(2)
				defer b.sightingsPolicy(0)
				b.publish(c, ev)
				b.pushAll(1, "")
				targets = b.linked(1)
			} else {
				targets = w.run(b, c, ev)
			}
			sighted := func(v *pm) bool {
				// The suite compares attribute ids across instances; the UUID is what they share.
				ok := false
				for _, x := range attrs(v, js(ev, "uuid"), map[string]any{"include_sightings": true}) {
					if js(x, "uuid") != js(a, "uuid") {
						continue
					}
					for _, sg := range jl(x, "Sighting") {
						ok = ok || (js(sg, "source") == "SyncTest" && js(sg, "attribute_id") == js(x, "id"))
					}
				}
				return ok
			}
			for _, i := range targets {
				// pulled, the event is owned by the puller's organisation, which sees every
				// sighting of it; pushed, every organisation sees every sighting (policy 2)
				if !sighted(b.org[i]) {
					t.Errorf("sighting not in Attribute/Sighting on MISP_%d", i)
				}
			}
		})
		t.Run("SyncAnalystData"+w.name, func(t *testing.T) {
			b.use(t)
			defer b.purge()
			c := w.src(b)
			ev := c.addEvent(suiteEvent("Event for analyst data sync", 2, nil))
			n := c.obj("POST", "analyst_data/add/Note/"+js(ev, "uuid")+"/Event", map[string]any{"Note": map[string]any{"object_type": "Event", "object_uuid": js(ev, "uuid"), "note": "Test analyst note", "distribution": 2}})
			if js(n, "Note", "object_uuid") != js(ev, "uuid") || js(n, "Note", "note") != "Test analyst note" {
				t.Fatalf("analyst_data/add answered %v", n)
			}
			var targets []int
			if w.name == "OnPush" {
				b.publish(c, ev)
				b.pushAll(1, "")
				targets = b.linked(1)
			} else {
				targets = w.run(b, c, ev)
			}
			for _, i := range targets {
				ok := false
				for _, x := range b.org[i].list("GET", "/analystData/index/Note", nil) {
					ok = ok || (js(x, "Note", "object_uuid") == js(ev, "uuid") && js(x, "Note", "note") == "Test analyst note")
				}
				if !ok {
					t.Errorf("analyst note not on MISP_%d", i)
				}
			}
		})
	}
}

func TestSuiteModifyEvent(t *testing.T) {
	b := newBed(t)
	for _, w := range ways(b) {
		t.Run("UpdatedEvent"+w.name, func(t *testing.T) {
			b.use(t)
			defer b.purge()
			c := w.src(b)
			ev := c.addEvent(suiteEvent("Event before update", 2, nil))
			for _, i := range w.run(b, c, ev) {
				if r := b.org[i].search(js(ev, "uuid"), nil); len(r) == 0 || js(r[0], "Event", "info") != "Event before update" {
					t.Fatalf("MISP_%d: event missing or info not 'Event before update'", i)
				}
			}
			ev = c.updateEvent(ev, map[string]any{"info": "Event after update"})
			for _, i := range w.run(b, c, ev) {
				if r := b.org[i].search(js(ev, "uuid"), nil); len(r) == 0 || js(r[0], "Event", "info") != "Event after update" {
					t.Errorf("MISP_%d: updated info not there", i)
				}
			}
		})
	}
}

func TestSuitePublication(t *testing.T) {
	b := newBed(t)
	t.Run("PublicationOnPush", func(t *testing.T) {
		b.use(t)
		defer b.purge()
		c := b.org[1]
		ev := c.addEvent(suiteEvent("Event for push publication", 2, nil))
		b.pushAll(1, js(ev, "id"))
		b.wantOn(t, js(ev, "uuid"), b.linked(1), false, "before publication")
		b.publish(c, ev)
		b.pushAll(1, js(ev, "id"))
		b.wantOn(t, js(ev, "uuid"), b.linked(1), true, "after publication")
	})
	t.Run("PublicationOnPull", func(t *testing.T) {
		b.use(t)
		defer b.purge()
		s, d, server := b.unidirectional()
		c := b.org[s]
		ev := c.addEvent(suiteEvent(fmt.Sprintf("Event %d for pull on %d on publication", s, d), 2, nil))
		b.admin[d].serverPull(server, "")
		b.wantOn(t, js(ev, "uuid"), []int{d}, false, "pulled before publication")
		b.publish(c, ev)
		b.admin[d].serverPull(server, "")
		b.wantOn(t, js(ev, "uuid"), []int{d}, true, "pulled after publication")
	})
}

func TestSuiteSharingGroups(t *testing.T) {
	b := newBed(t)
	t.Run("SharingGroupsOnPush", func(t *testing.T) {
		b.use(t)
		defer b.purge()
		c := b.org[1]
		sgs := c.list("GET", "sharing_groups/index", nil)
		if len(sgs) == 0 {
			sgs = jl(c.obj("GET", "sharing_groups/index", nil), "response")
		}
		if len(sgs) == 0 {
			t.Fatal("No sharing group found on the first instance.")
		}
		ev := c.addEvent(suiteEvent("Event sharing group sync", 4, func(e map[string]any) { e["sharing_group_id"] = js(sgs[0], "SharingGroup", "id") }))
		b.publish(c, ev)
		b.pushAll(1, js(ev, "id"))
		if !found(b.admin[1], js(ev, "uuid")) {
			t.Error("the event is not on the first instance")
		}
		b.wantOn(t, js(ev, "uuid"), []int{3, 4, 5, 6, 7}, false, "sharing group of ORG_1 and ORG_2")
	})
}

func TestSuiteTopology(t *testing.T) {
	b := newBed(t)
	t.Run("PushForAllServers", func(t *testing.T) {
		b.use(t)
		defer b.purge()
		for i := 1; i <= b.size(); i++ {
			linked := b.linked(i)
			ev := b.org[i].addEvent(suiteEvent(fmt.Sprintf("Push Test Event %d", i), 2, nil))
			b.publish(b.org[i], ev)
			for j := 1; j <= b.size(); j++ {
				want := j == i || containsInt(linked, j)
				if got := found(b.org[j], js(ev, "uuid")); got != want && (want || j < b.size()-1) {
					t.Errorf("event of MISP_%d on MISP_%d: %v, want %v", i, j, got, want)
				}
			}
		}
	})
	t.Run("PullForAllServers", func(t *testing.T) {
		b.use(t)
		defer b.purge()
		s, d, server := b.unidirectional()
		ev := b.org[s].addEvent(suiteEvent(fmt.Sprintf("Event %d for pull on %d", s, d), 2, nil))
		b.publish(b.org[s], ev)
		b.admin[d].serverPull(server, js(ev, "id"))
		if !found(b.org[d], js(ev, "uuid")) {
			t.Errorf("event not on MISP_%d after pull", d)
		}
	})
}

func containsInt(l []int, v int) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}
