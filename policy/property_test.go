package policy

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"mispdesk/store/misp"
)

// The property: over random topologies and random sequences of create, publish, push and
// pull, no organisation ever sees on any instance an element the originator's
// distribution did not allow, and nothing unpublished ever leaves its instance.
//
// Who the originator's distribution allows (the book's definitions, with MISP's
// "internal" links, which join instances run by one host organisation, counting as one):
//   - 'Your organisation only': the creator organisation;
//   - 'This community only': the local organisations of the instance (its own and those
//     of the sync users other instances use), and of instances internally linked to it;
//   - 'Connected communities': those, and the communities of every instance linked to
//     one of those (in either direction);
//   - 'All communities': everyone;
//   - a sharing group: its member organisations, and every local organisation of an
//     instance the group lists with "all orgs";
//   - a child: what its own distribution allows within what its ancestors allow.
//
// Besides, the creator organisation sees its whole event, and the origin's host
// organisation may (its site admins see everything there).

func TestPropertyNoOversharing(t *testing.T) {
	propertySequences := uint64(10000)
	if testing.Short() {
		propertySequences = 1000 // the race pass of make test; the non-race pass runs them all
	}
	start := time.Now()
	var slowest time.Duration
	slowestSeed := uint64(0)
	steps := 0
	judged := map[string]int{}
	for seed := uint64(1); seed <= propertySequences; seed++ {
		began := time.Now()
		w := newWorld(seed)
		n, err := w.run()
		steps += n
		for k, c := range w.judged {
			judged[k] += c
		}
		if err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, w.topology())
		}
		if d := time.Since(began); d > slowest {
			slowest, slowestSeed = d, seed
		}
	}
	t.Logf("%d sequences, %d steps in %v; slowest seed %d (%v); judged away from their origin: %v", propertySequences, steps,
		time.Since(start).Round(time.Millisecond), slowestSeed, slowest, judged)
	for _, kind := range []string{"event", "analyst data", "sighting", "galaxy cluster"} {
		if judged[kind] == 0 {
			t.Errorf("no %s was judged on an instance other than its origin: the property covers nothing of it", kind)
		}
	}
}

type simInstance struct {
	idx    int
	inst   *Instance
	host   misp.Org
	own    []misp.Org         // organisations with users here
	local  map[string]bool    // org UUID → local here (own + sync users' organisations)
	links  []*Server          // this instance's servers
	sync   map[string]*Viewer // sync user here, by the host org UUID of the instance using it
	events map[string]*misp.Event
}

type world struct {
	rng       *rand.Rand
	pool      []misp.Org
	insts     []*simInstance
	group     []int                      // internal group of each instance
	allowed   map[string]map[string]bool // element UUID → org UUIDs allowed
	published map[string]bool            // event UUID → published at its origin
	nextID    int
	log       []string
	// judged counts what check judged on an instance other than the event's origin, by
	// kind, so that the property is known to cover what travelled.
	judged map[string]int
	origin map[string]int // event UUID → the instance that created it
}

func newWorld(seed uint64) *world {
	w := &world{rng: rand.New(rand.NewPCG(seed, 0x5eed)), allowed: map[string]map[string]bool{}, published: map[string]bool{},
		judged: map[string]int{}, origin: map[string]int{}}
	for i := range 5 {
		w.pool = append(w.pool, misp.Org{ID: misp.Int(i + 1), UUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1), Name: fmt.Sprintf("Org%d", i+1)})
	}
	n := 2 + w.rng.IntN(3)
	for i := range n {
		host := w.pool[i]
		if i > 0 && w.rng.IntN(4) == 0 {
			host = w.insts[i-1].host // two instances run by one organisation
		}
		si := &simInstance{idx: i, host: host, inst: instance(host, url(i)), local: map[string]bool{}, sync: map[string]*Viewer{}, events: map[string]*misp.Event{}}
		si.own = []misp.Org{host}
		for _, o := range w.pool {
			if o.UUID != host.UUID && w.rng.IntN(3) == 0 {
				si.own = append(si.own, o)
			}
		}
		for _, o := range si.own {
			si.local[o.UUID] = true
		}
		w.insts = append(w.insts, si)
	}
	for _, a := range w.insts {
		for _, b := range w.insts {
			if a == b || w.rng.IntN(2) == 0 {
				continue
			}
			srv := link(int64(b.idx+1), url(b.idx), a.host, b.host, w.rng.IntN(3) == 0)
			srv.Name = fmt.Sprintf("i%d", b.idx)
			srv.UnpublishEvent = w.rng.IntN(5) == 0
			srv.PushAnalystData, srv.PullAnalystData = w.rng.IntN(2) == 0, w.rng.IntN(2) == 0
			srv.PushRules, srv.PullRules = w.randomRules(), w.randomRules()
			a.links = append(a.links, srv)
			b.sync[a.host.UUID] = syncUserOf(a.host)
			b.local[a.host.UUID] = true
		}
	}
	w.groupInternal()
	return w
}

func url(i int) string { return fmt.Sprintf("https://i%d.example", i) }

func (w *world) randomRules() Rules {
	var r Rules
	if w.rng.IntN(5) == 0 {
		r.Tags.NOT = []string{"tlp:red"}
	}
	if w.rng.IntN(10) == 0 {
		r.Orgs.NOT = []string{w.pool[w.rng.IntN(len(w.pool))].Name}
	}
	if w.rng.IntN(10) == 0 {
		r.TypeAttributes.NOT = []string{"domain"}
	}
	return r
}

// groupInternal joins instances linked by an internal link that counts (same host).
func (w *world) groupInternal() {
	w.group = make([]int, len(w.insts))
	for i := range w.group {
		w.group[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		if w.group[i] != i {
			w.group[i] = find(w.group[i])
		}
		return w.group[i]
	}
	for _, a := range w.insts {
		for _, l := range a.links {
			if l.Internal && l.RemoteOrg.UUID == a.host.UUID {
				w.group[find(a.idx)] = find(int(l.ID) - 1)
			}
		}
	}
	for i := range w.group {
		w.group[i] = find(i)
	}
}

func (w *world) topology() string {
	s := ""
	for _, si := range w.insts {
		s += fmt.Sprintf("instance %d host %s own %d local %v\n", si.idx, si.host.Name, len(si.own), si.local)
		for _, l := range si.links {
			s += fmt.Sprintf("  link to %s internal %v unpublish %v push %+v pull %+v\n", l.Name, l.Internal, l.UnpublishEvent, l.PushRules, l.PullRules)
		}
	}
	for i, l := range w.log {
		s += fmt.Sprintf("step %d: %s\n", i, l)
	}
	return s
}

func (w *world) run() (int, error) {
	for range 1 + w.rng.IntN(2) {
		w.create()
	}
	n := 4 + w.rng.IntN(6)
	for range n {
		var err error
		switch r := w.rng.IntN(10); {
		case r < 1:
			w.create()
		case r < 4:
			err = w.publish()
		case r < 7:
			err = w.push()
		default:
			err = w.pull()
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// create makes an event at a random instance by one of its organisations, and records
// whom each of its elements may reach.
func (w *world) create() {
	si := w.insts[w.rng.IntN(len(w.insts))]
	creator := si.own[w.rng.IntN(len(si.own))]
	w.nextID++
	ev := &misp.Event{
		UUID: fmt.Sprintf("eeeeeeee-0000-4000-8000-%012d", w.nextID), Info: "sim", Timestamp: 1,
		OrgID: creator.ID, Org: orgPtr(creator), Orgc: orgPtr(creator),
	}
	ev.Distribution, ev.SharingGroup = w.randomDistribution(si, false)
	if w.rng.IntN(5) == 0 {
		ev.Tag = []misp.Tag{{Name: "tlp:red"}}
	}
	for range 1 + w.rng.IntN(3) {
		ev.Attribute = append(ev.Attribute, w.randomAttribute(si))
	}
	for range w.rng.IntN(3) {
		w.nextID++
		o := misp.Object{UUID: fmt.Sprintf("0b000000-0000-4000-8000-%012d", w.nextID), Name: "domain-ip", TemplateUUID: "43b3b146-77eb-4931-b4cc-b66c60f28734"}
		o.Distribution, o.SharingGroup = w.randomDistribution(si, true)
		for range 1 + w.rng.IntN(2) {
			o.Attribute = append(o.Attribute, w.randomAttribute(si))
		}
		ev.Object = append(ev.Object, o)
	}
	if w.rng.IntN(3) == 0 {
		w.nextID++
		r := misp.EventReport{UUID: fmt.Sprintf("0e000000-0000-4000-8000-%012d", w.nextID), Name: "report"}
		r.Distribution, r.SharingGroup = w.randomDistribution(si, true)
		ev.EventReport = append(ev.EventReport, r)
	}
	w.addAnalystData(si, &ev.Extra, ev.UUID, "Event")
	for i := range ev.Attribute {
		w.addAnalystData(si, &ev.Attribute[i].Extra, ev.Attribute[i].UUID, "Attribute")
		w.addSightings(si, &ev.Attribute[i])
	}
	if w.rng.IntN(2) == 0 {
		ev.Galaxy = []misp.Galaxy{{UUID: "9a000000-0000-4000-8000-000000000001", Name: "Threat Actor", Type: "threat-actor"}}
		for range 1 + w.rng.IntN(2) {
			w.nextID++
			c := misp.GalaxyCluster{UUID: fmt.Sprintf("c1000000-0000-4000-8000-%012d", w.nextID), Type: "threat-actor", Value: "actor"}
			c.TagName = `misp-galaxy:threat-actor="` + c.UUID + `"`
			if w.rng.IntN(4) > 0 { // a custom cluster of the creator's organisation
				d := w.rng.IntN(4)
				c.Extra = misp.Extra{"default": []byte("false"), "distribution": []byte(fmt.Sprintf("%q", fmt.Sprint(d))),
					"Orgc": []byte(fmt.Sprintf(`{"name":%q,"uuid":%q}`, creator.Name, creator.UUID))}
			}
			ev.Galaxy[0].GalaxyCluster = append(ev.Galaxy[0].GalaxyCluster, c)
		}
	}
	si.events[ev.UUID] = ev
	w.origin[ev.UUID] = si.idx
	w.record(si, creator, ev)
	w.log = append(w.log, fmt.Sprintf("create %s at %d by %s dist %s", ev.UUID[24:], si.idx, creator.Name, ev.Distribution))
}

func (w *world) randomAttribute(si *simInstance) misp.Attribute {
	w.nextID++
	a := misp.Attribute{UUID: fmt.Sprintf("a0000000-0000-4000-8000-%012d", w.nextID), Type: "ip-dst", Value: "198.51.100.1", Timestamp: 1}
	if w.rng.IntN(3) == 0 {
		a.Type = "domain"
	}
	a.Distribution, a.SharingGroup = w.randomDistribution(si, true)
	switch w.rng.IntN(6) {
	case 0:
		a.Tag = []misp.Tag{{Name: "tlp:red"}}
	case 1:
		a.Tag = []misp.Tag{{Name: "internal-note", Local: true}}
	}
	return a
}

// addAnalystData puts up to two notes on an element, by organisations of the instance,
// with random distributions, one of them with a nested note.
func (w *world) addAnalystData(si *simInstance, x *misp.Extra, uuid, kind string) {
	var set misp.AnalystSet
	for range w.rng.IntN(3) {
		set.Note = append(set.Note, w.note(si, uuid, kind))
		if w.rng.IntN(3) == 0 {
			n := &set.Note[len(set.Note)-1]
			n.Analyst.Opinion = append(n.Analyst.Opinion, w.note(si, n.UUID, "Note"))
		}
	}
	if err := misp.PutAnalystSet(x, set); err != nil {
		panic(err)
	}
}

func (w *world) note(si *simInstance, about, kind string) misp.AnalystData {
	w.nextID++
	by := si.own[w.rng.IntN(len(si.own))]
	n := misp.AnalystData{UUID: fmt.Sprintf("a7000000-0000-4000-8000-%012d", w.nextID), ObjectUUID: about, ObjectType: kind,
		OrgUUID: by.UUID, OrgcUUID: by.UUID}
	n.Distribution, n.SharingGroup = w.randomDistribution(si, false)
	return n
}

// addSightings has organisations of the instance sight an attribute.
func (w *world) addSightings(si *simInstance, a *misp.Attribute) {
	for range w.rng.IntN(3) {
		w.nextID++
		by := si.own[w.rng.IntN(len(si.own))]
		a.Sighting = append(a.Sighting, misp.Sighting{UUID: fmt.Sprintf("5e000000-0000-4000-8000-%012d", w.nextID), Organisation: orgPtr(by), OrgID: by.ID})
	}
}

func (w *world) randomDistribution(si *simInstance, child bool) (misp.Distribution, *misp.SharingGroup) {
	n := 5
	if child {
		n = 6
	}
	d := misp.Distribution(w.rng.IntN(n))
	if d != misp.SharingGroupDist {
		return d, nil
	}
	w.nextID++
	sg := &misp.SharingGroup{UUID: fmt.Sprintf("50000000-0000-4000-8000-%012d", w.nextID), Name: fmt.Sprintf("sg%d", w.nextID), Roaming: misp.Bool(w.rng.IntN(3) == 0)}
	for _, o := range w.pool {
		if w.rng.IntN(5) < 2 {
			sg.SharingGroupOrg = append(sg.SharingGroupOrg, misp.SharingGroupOrg{OrgID: o.ID, Organisation: orgPtr(o)})
		}
	}
	if w.rng.IntN(2) == 0 {
		sg.SharingGroupServer = append(sg.SharingGroupServer, misp.SharingGroupServer{ServerID: 0, AllOrgs: misp.Bool(w.rng.IntN(2) == 0)})
	}
	for _, l := range si.links {
		if w.rng.IntN(5) < 2 {
			sg.SharingGroupServer = append(sg.SharingGroupServer, sgServer(l.ID, l.URL, w.rng.IntN(2) == 0))
		}
	}
	return d, sg
}

// simPath is an element's sharing with its ancestors', as the book defines it (written
// here, not taken from the package): the narrowest level on the way (5 inherits, a sharing
// group counts as all communities narrowed to its members) and every group on the way.
type simPath struct {
	level  misp.Distribution
	groups []*misp.SharingGroup
}

func (p simPath) child(d misp.Distribution, sg *misp.SharingGroup) simPath {
	switch {
	case d == misp.InheritEvent:
		return p
	case d == misp.SharingGroupDist && sg != nil:
		return simPath{level: p.level, groups: append(append([]*misp.SharingGroup(nil), p.groups...), sg)}
	case d >= misp.OrgOnly && d <= misp.AllCommunities:
		return simPath{level: min(p.level, d), groups: p.groups}
	}
	return simPath{level: misp.OrgOnly, groups: p.groups}
}

// record computes, at creation, whom each element may reach.
func (w *world) record(si *simInstance, creator misp.Org, ev *misp.Event) {
	always := map[string]bool{creator.UUID: true, si.host.UUID: true}
	orgs := func(p simPath, also ...string) map[string]bool {
		allowed := w.levelOrgs(si.idx, p.level)
		for _, g := range p.groups {
			allowed = intersect(allowed, w.groupOrgs(si, g))
		}
		for o := range always {
			allowed[o] = true
		}
		for _, o := range also {
			allowed[o] = true
		}
		return allowed
	}
	set := func(uuid string, p simPath) { w.allowed[uuid] = orgs(p) }
	// analyst data: what its element may reach, narrowed by its own distribution; its
	// organisation and the element's creator see it
	var notes func(x misp.Extra, element string)
	notes = func(x misp.Extra, element string) {
		s, err := misp.TakeAnalystSet(maps.Clone(x))
		if err != nil {
			panic(err)
		}
		for _, list := range s.Kinds() {
			for _, n := range *list {
				own := orgs(simPath{level: misp.AllCommunities}.child(n.Distribution, n.SharingGroup), n.OrgUUID)
				w.allowed[n.UUID] = intersect(w.allowed[element], own)
				w.allowed[n.UUID][n.OrgUUID], w.allowed[n.UUID][si.host.UUID] = true, true
				var nested misp.Extra
				if err := misp.PutAnalystSet(&nested, n.Analyst); err != nil {
					panic(err)
				}
				notes(nested, n.UUID)
			}
		}
	}
	root := simPath{level: misp.AllCommunities}.child(ev.Distribution, ev.SharingGroup)
	set(ev.UUID, root)
	notes(ev.Extra, ev.UUID)
	for _, a := range ev.Attribute {
		set(a.UUID, root.child(a.Distribution, a.SharingGroup))
		notes(a.Extra, a.UUID)
	}
	for _, o := range ev.Object {
		or := root.child(o.Distribution, o.SharingGroup)
		set(o.UUID, or)
		for _, a := range o.Attribute {
			set(a.UUID, or.child(a.Distribution, a.SharingGroup))
		}
	}
	for _, r := range ev.EventReport {
		set(r.UUID, root.child(r.Distribution, r.SharingGroup))
	}
	// clusters: by their own distribution; library clusters are everyone's
	for _, g := range ev.Galaxy {
		for _, c := range g.GalaxyCluster {
			d := misp.AllCommunities
			if raw, custom := c.Extra["distribution"]; custom {
				var txt string
				if err := json.Unmarshal(raw, &txt); err != nil {
					panic(err)
				}
				d = misp.Distribution(txt[0] - '0')
			}
			set(c.UUID, simPath{level: d})
		}
	}
}

func (w *world) levelOrgs(origin int, level misp.Distribution) map[string]bool {
	out := map[string]bool{}
	switch level {
	case misp.OrgOnly:
		return out
	case misp.AllCommunities:
		for _, o := range w.pool {
			out[o.UUID] = true
		}
		return out
	}
	reach := w.internalGroup(origin)
	if level == misp.ConnectedCommunity {
		for i := range reach {
			for _, l := range w.insts[i].links {
				for j := range w.internalGroup(int(l.ID) - 1) {
					reach[j] = true
				}
			}
			for _, other := range w.insts {
				for _, l := range other.links {
					if int(l.ID)-1 == i {
						for j := range w.internalGroup(other.idx) {
							reach[j] = true
						}
					}
				}
			}
		}
	}
	for i := range reach {
		for o := range w.insts[i].local {
			out[o] = true
		}
	}
	return out
}

func (w *world) internalGroup(i int) map[int]bool {
	out := map[int]bool{}
	for j := range w.insts {
		if w.group[j] == w.group[i] {
			out[j] = true
		}
	}
	return out
}

func (w *world) groupOrgs(si *simInstance, g *misp.SharingGroup) map[string]bool {
	out := map[string]bool{}
	for _, m := range g.SharingGroupOrg {
		out[m.Organisation.UUID] = true
	}
	for _, s := range g.SharingGroupServer {
		if !bool(s.AllOrgs) {
			continue
		}
		target := si.idx
		if s.ServerID != 0 {
			target = int(s.ServerID) - 1
		}
		for o := range w.insts[target].local {
			out[o] = true
		}
	}
	return out
}

func intersect(a, b map[string]bool) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		if b[k] {
			out[k] = true
		}
	}
	return out
}

// publish publishes an unpublished event at its origin and pushes it at once to every
// server of that instance, as MISP's publish does.
func (w *world) publish() error {
	for _, si := range w.insts {
		for _, ev := range si.events {
			if bool(ev.Published) || bool(ev.Locked) {
				continue
			}
			ev.Published = true
			ev.Timestamp++
			w.published[ev.UUID] = true
			w.log = append(w.log, fmt.Sprintf("publish %s at %d", ev.UUID[24:], si.idx))
			for _, l := range si.links {
				if err := w.deliver(si, l, ev, OnPublish); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return nil
}

func (w *world) push() error {
	si := w.insts[w.rng.IntN(len(w.insts))]
	if len(si.links) == 0 || len(si.events) == 0 {
		return nil
	}
	ev := w.anyEvent(si)
	l := si.links[w.rng.IntN(len(si.links))]
	w.log = append(w.log, fmt.Sprintf("push %s from %d to %s", ev.UUID[24:], si.idx, l.Name))
	return w.deliver(si, l, ev, Scheduled)
}

func (w *world) deliver(from *simInstance, l *Server, ev *misp.Event, trig Trigger) error {
	res := from.inst.Push(l, ev, trig, Blocklists{})
	if !res.Allowed {
		return nil
	}
	to := w.insts[int(l.ID)-1]
	var back *Server
	for _, s := range to.links {
		if int(s.ID)-1 == from.idx {
			back = s
		}
	}
	got := to.inst.Receive(syncUserOf(from.host), back, res.Event, localCopy(to, ev.UUID), Blocklists{})
	if !got.Allowed {
		return nil
	}
	return w.store(to, got.Event, "push from "+fmt.Sprint(from.idx))
}

func (w *world) pull() error {
	si := w.insts[w.rng.IntN(len(w.insts))]
	if len(si.links) == 0 {
		return nil
	}
	l := si.links[w.rng.IntN(len(si.links))]
	remote := w.insts[int(l.ID)-1]
	syncUser := remote.sync[si.host.UUID]
	w.log = append(w.log, fmt.Sprintf("pull at %d from %s", si.idx, l.Name))
	for _, ev := range remote.events {
		served, _ := remote.inst.Visible(syncUser, ev)
		if served == nil {
			continue
		}
		local := localCopy(si, ev.UUID)
		if !si.inst.PullCandidate(l, IndexRow{UUID: served.UUID, Timestamp: int64(served.Timestamp), Published: bool(served.Published), OrgcUUID: orgUUID(served.Orgc)}, local, Blocklists{}).Allowed {
			continue
		}
		res := si.inst.Pull(l, served, local, Blocklists{})
		if !res.Allowed {
			continue
		}
		if err := w.store(si, res.Event, "pull from "+l.Name); err != nil {
			return err
		}
	}
	return nil
}

func localCopy(si *simInstance, uuid string) *LocalCopy {
	ev, ok := si.events[uuid]
	if !ok {
		return nil
	}
	return &LocalCopy{Timestamp: int64(ev.Timestamp), Locked: bool(ev.Locked)}
}

// store saves an arrived event and checks the property on that instance.
func (w *world) store(si *simInstance, ev *misp.Event, how string) error {
	if !w.published[ev.UUID] {
		return fmt.Errorf("event %s arrived at %d by %s but was never published at its origin", ev.UUID, si.idx, how)
	}
	si.events[ev.UUID] = ev
	return w.check(si, how)
}

// check asserts that what every organisation of the instance receives (policy.Visible, for
// its users and for the sync accounts of other instances) holds nothing the originator's
// distribution did not allow: no element, analyst data or cluster beyond it, no sighting of
// another organisation unless the viewer owns the event, and for sync accounts nothing
// unpublished and no local tag.
func (w *world) check(si *simInstance, how string) error {
	var viewers []*Viewer
	for org := range si.local {
		viewers = append(viewers, &Viewer{OrgUUID: org})
	}
	for _, v := range si.sync {
		viewers = append(viewers, v)
	}
	for _, ev := range si.events {
		for _, v := range viewers {
			out, _ := si.inst.Visible(v, ev)
			if out == nil {
				continue
			}
			if err := w.received(si, v, out, how); err != nil {
				return err
			}
		}
	}
	return nil
}

// received judges one viewer's copy of an event.
func (w *world) received(si *simInstance, v *Viewer, ev *misp.Event, how string) error {
	org := v.OrgUUID
	who := org[24:]
	// the organisation owning the event here sees all of it (its own unpublished copy too)
	owner := ev.Org != nil && ev.Org.UUID == org
	if v.PermSync {
		who += " (sync)"
		if !bool(ev.Published) && !owner {
			return fmt.Errorf("after %s: sync account of %s receives unpublished event %s on instance %d", how, who, ev.UUID, si.idx)
		}
	}
	var errs []error
	count := func(kind string) {
		if w.origin[ev.UUID] != si.idx {
			w.judged[kind]++
		}
	}
	reach := func(uuid string) {
		if !w.allowed[uuid][org] {
			errs = append(errs, fmt.Errorf("after %s: organisation %s receives %s on instance %d; allowed: %v", how, who, uuid, si.idx, w.allowed[uuid]))
		}
	}
	var notes func(x misp.Extra)
	notes = func(x misp.Extra) {
		s, err := misp.TakeAnalystSet(maps.Clone(x))
		if err != nil {
			errs = append(errs, err)
			return
		}
		for _, list := range s.Kinds() {
			for _, n := range *list {
				reach(n.UUID)
				count("analyst data")
				var nested misp.Extra
				_ = misp.PutAnalystSet(&nested, n.Analyst)
				notes(nested)
			}
		}
	}
	tags := func(ts []misp.Tag) {
		for _, t := range ts {
			if v.PermSync && bool(t.Local) {
				errs = append(errs, fmt.Errorf("after %s: sync account of %s receives local tag %q on instance %d", how, who, t.Name, si.idx))
			}
		}
	}
	attribute := func(a *misp.Attribute) {
		reach(a.UUID)
		notes(a.Extra)
		tags(a.Tag)
		for _, s := range a.Sighting {
			count("sighting")
			if !owner && (s.Organisation == nil || s.Organisation.UUID != org) {
				errs = append(errs, fmt.Errorf("after %s: organisation %s receives sighting %s of another organisation on instance %d", how, who, s.UUID, si.idx))
			}
		}
	}
	reach(ev.UUID)
	notes(ev.Extra)
	tags(ev.Tag)
	for i := range ev.Attribute {
		attribute(&ev.Attribute[i])
	}
	for _, o := range ev.Object {
		reach(o.UUID)
		for i := range o.Attribute {
			attribute(&o.Attribute[i])
		}
	}
	for _, r := range ev.EventReport {
		reach(r.UUID)
	}
	for _, g := range ev.Galaxy {
		for _, c := range g.GalaxyCluster {
			reach(c.UUID)
			count("galaxy cluster")
		}
	}
	count("event")
	return errors.Join(errs...)
}

func (w *world) anyEvent(si *simInstance) *misp.Event {
	k := w.rng.IntN(len(si.events))
	for _, ev := range si.events {
		if k == 0 {
			return ev
		}
		k--
	}
	return nil
}
