package mispapi

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/feed"
)

// The REST visibility matrix: random events with every child kind at mixed distributions,
// read back through every endpoint that returns MISP data by a viewer of each role in each
// relation to the data, and compared with an oracle written here from MISP's rules as the
// book states them — never policy's own helpers. Every piece of data carries a token
// (zq<kind><n>q) in a value, a name or a comment; an answer may hold only the tokens and
// UUIDs the oracle allows that viewer, and must hold those the endpoint is for.
//
// Replay a run with -matrix.seed=N or MISPDESK_MATRIX_SEED=N.

var matrixSeed = flag.Uint64("matrix.seed", 0, "seed of the visibility matrix corpus (0: random)")

// mxOrg is an organisation of the matrix.
type mxOrg struct {
	name string
	org  *store.Org
}

// mxGroup is a sharing group as the oracle knows it: its member organisations and
// whether it gives every organisation of this instance access (all orgs on its local
// server entry).
type mxGroup struct {
	sg      *misp.SharingGroup
	members map[string]bool // org names
	allOrgs bool
}

// mxItem is one piece of data and what its visibility hangs on.
type mxItem struct {
	kind   string // event attribute object report reference note sighting proposal ltag gtag cluster
	tok    string
	uuid   string // "" when the item has none of its own that the test knows
	ev     *mxEvent
	parent *mxItem // the element whose visibility this one needs (nil for an event)
	refTo  *mxItem // a reference: the element it points at
	dist   misp.Distribution
	sg     *mxGroup
	org    string // the organisation that made it (analyst data, sighting, proposal, cluster)
	cl     *mxCluster
	// standalone marks analyst data added through analyst_data/add.
	standalone bool
	// value is an attribute's value; attrs are an object's attributes.
	value string
	attrs []*mxItem
}

type mxEvent struct {
	item      *mxItem
	owner     string
	published bool
	ev        *misp.Event
}

// mxCluster is a galaxy cluster: library (default) or custom with its own sharing.
type mxCluster struct {
	uuid, tok string
	library   bool
	dist      misp.Distribution
	sg        *mxGroup
	org       string
	json      misp.GalaxyCluster
	// stored is set once an event embeds the cluster: the store learns a cluster only
	// from an event here, so one the events never picked does not exist
	stored bool
}

// mxViewer is one row of the matrix.
type mxViewer struct {
	role, org string
	key       string
	admin     bool
	sync      bool
}

func (v mxViewer) String() string { return v.role + "@" + v.org }

type matrix struct {
	t        *testing.T
	e        *env
	rng      *rand.Rand
	n        int
	orgs     map[string]*mxOrg
	groups   []*mxGroup
	clusters []*mxCluster
	events   []*mxEvent
	items    []*mxItem
	byTok    map[string]*mxItem
	universe map[string]*mxItem // UUID → item
	viewers  []mxViewer
	writers  map[string]mxViewer // org → its user-role viewer
	asserts  int
}

const (
	mxOwner    = "OWNER"    // owns most events
	mxLocal    = "LOCALORG" // another local organisation, in no group
	mxMember   = "MEMBER"   // member of the sharing groups; owns a few events
	mxOutsider = "OUTSIDER" // a known remote organisation, in no group
)

var mxOrgNames = []string{mxOwner, mxLocal, mxMember, mxOutsider}

func (m *matrix) token(kind byte) string {
	m.n++
	return "zq" + string(kind) + strconv.Itoa(m.n) + "q"
}

func (m *matrix) add(it *mxItem) *mxItem {
	m.items = append(m.items, it)
	m.byTok[it.tok] = it
	if it.uuid != "" {
		m.universe[it.uuid] = it
	}
	return it
}

func (m *matrix) dist(max int) misp.Distribution { return misp.Distribution(m.rng.IntN(max + 1)) }

func newUUID() string { return uuid.NewString() }

func rawJSON(t testing.TB, v any) jsontext.Value {
	b, err := json.Marshal(v, json.Deterministic(true))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newMatrix(t *testing.T) *matrix {
	seed := *matrixSeed
	if s := os.Getenv("MISPDESK_MATRIX_SEED"); seed == 0 && s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("MISPDESK_MATRIX_SEED=%q: %v", s, err)
		}
	}
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("visibility matrix seed %d (replay with -matrix.seed=%d)", seed, seed)
	m := &matrix{t: t, e: newEnv(t), rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		orgs: map[string]*mxOrg{}, byTok: map[string]*mxItem{}, universe: map[string]*mxItem{}, writers: map[string]mxViewer{}}
	m.setUp()
	return m
}

// setUp makes the organisations, viewers and sharing groups.
func (m *matrix) setUp() {
	ctx, st := context.Background(), m.e.st
	for _, name := range mxOrgNames {
		o, err := st.AddOrg(ctx, store.Org{Name: name, Local: name != mxOutsider})
		if err != nil {
			m.t.Fatal(err)
		}
		m.orgs[name] = &mxOrg{name: name, org: o}
		for _, role := range []string{"admin", "org_admin", "user", "read_only", "sync"} {
			_, key, err := st.AddUser(ctx, store.NewUser{Email: role + "@" + strings.ToLower(name) + ".test", OrgRef: name, RoleRef: role})
			if err != nil {
				m.t.Fatal(err)
			}
			v := mxViewer{role: role, org: name, key: key, admin: role == "admin", sync: role == "sync"}
			m.viewers = append(m.viewers, v)
			if role == "user" {
				m.writers[name] = v
			}
		}
	}
	// sharing groups: members only; members and roaming; the owner and every
	// organisation here (all orgs); the owner alone
	specs := []struct {
		members []string
		roaming bool
		allOrgs bool
	}{
		{[]string{mxOwner, mxMember}, false, false},
		{[]string{mxOwner, mxMember}, true, false},
		{[]string{mxOwner}, false, true},
		{[]string{mxOwner}, false, false},
	}
	for i, s := range specs {
		sg, err := st.AddSharingGroup(ctx, store.NewSharingGroup{Name: fmt.Sprintf("mx group %d", i), OrgRef: mxOwner, Roaming: s.roaming})
		if err != nil {
			m.t.Fatal(err)
		}
		g := &mxGroup{members: map[string]bool{}, allOrgs: s.allOrgs}
		for _, o := range s.members {
			g.members[o] = true
			if o != mxOwner {
				if err := st.AddSharingGroupOrg(ctx, store.SharingGroupID(sg.ID), testsupport.OrgID(st, o), false); err != nil {
					m.t.Fatal(err)
				}
			}
		}
		if s.allOrgs {
			if err := st.AddSharingGroupServer(ctx, store.SharingGroupID(sg.ID), 0, true); err != nil {
				m.t.Fatal(err)
			}
		}
		if g.sg, err = st.SharingGroup(ctx, store.SharingGroupID(sg.ID)); err != nil {
			m.t.Fatal(err)
		}
		m.groups = append(m.groups, g)
	}
}

// sharing picks an element's distribution (0–maxDist) and, for 4, its group.
func (m *matrix) sharing(maxDist int) (misp.Distribution, *mxGroup) {
	d := m.dist(maxDist)
	if d == misp.SharingGroupDist {
		return d, m.groups[m.rng.IntN(len(m.groups))]
	}
	return d, nil
}

// clusterPool makes the galaxy clusters events pick from: two library clusters and custom
// ones of every distribution 0–4 by various organisations.
func (m *matrix) clusterPool() {
	for i := 0; i < 8; i++ {
		c := &mxCluster{uuid: newUUID(), tok: m.token('c'), library: i < 2}
		c.json = misp.GalaxyCluster{UUID: c.uuid, Type: "mx", Value: c.tok, TagName: `misp-galaxy:mx="` + c.uuid + `"`,
			Description: "matrix cluster", Version: 1, Extra: misp.Extra{}}
		if !c.library {
			c.dist = misp.Distribution((i - 2) % 5)
			if c.dist == misp.SharingGroupDist {
				c.sg = m.groups[m.rng.IntN(len(m.groups))]
				c.json.Extra["SharingGroup"] = rawJSON(m.t, map[string]string{"uuid": c.sg.sg.UUID, "name": c.sg.sg.Name})
			}
			c.org = []string{mxOwner, mxMember, mxLocal}[m.rng.IntN(3)]
			o := m.orgs[c.org].org
			c.json.Extra["default"] = jsontext.Value("false")
			c.json.Extra["distribution"] = rawJSON(m.t, strconv.Itoa(int(c.dist)))
			org := rawJSON(m.t, map[string]string{"name": o.Name, "uuid": o.UUID})
			c.json.Extra["Org"], c.json.Extra["Orgc"] = org, org
		}
		m.clusters = append(m.clusters, c)
		if !c.library {
			m.universe[c.uuid] = &mxItem{kind: "cluster", tok: c.tok, uuid: c.uuid, cl: c}
		}
	}
}

// galaxies attaches 0–2 clusters of the pool to an element, recording each link.
func (m *matrix) galaxies(parent *mxItem, max int) []misp.Galaxy {
	n := m.rng.IntN(max + 1)
	if n == 0 {
		return nil
	}
	g := misp.Galaxy{UUID: "c5f8b4d6-6f1a-4b1e-9d2a-3e2f8a6b7c01", Name: "matrix", Type: "mx", Description: "matrix galaxy", Version: "1"}
	seen := map[*mxCluster]bool{}
	for range n {
		c := m.clusters[m.rng.IntN(len(m.clusters))]
		if seen[c] {
			continue
		}
		seen[c] = true
		c.stored = true
		g.GalaxyCluster = append(g.GalaxyCluster, c.json)
		m.items = append(m.items, &mxItem{kind: "cluster", tok: c.tok, uuid: c.uuid, ev: parent.ev, parent: parent, cl: c})
	}
	return []misp.Galaxy{g}
}

// analyst adds 0–max embedded notes, opinions and relationships (a note may carry a
// nested note) to an element's members.
func (m *matrix) analyst(parent *mxItem, x *misp.Extra, max int) {
	var set misp.AnalystSet
	var one func(parent *mxItem, depth int) misp.AnalystData
	one = func(parent *mxItem, depth int) misp.AnalystData {
		d, g := m.sharing(5)
		org := mxOrgNames[m.rng.IntN(len(mxOrgNames))]
		it := m.add(&mxItem{kind: "note", tok: m.token('n'), uuid: newUUID(), ev: parent.ev, parent: parent, dist: d, sg: g, org: org})
		o := m.orgs[org].org
		ad := misp.AnalystData{UUID: it.uuid, ObjectUUID: parent.uuid, ObjectType: "Attribute", OrgUUID: o.UUID, OrgcUUID: o.UUID,
			Distribution: d, Extra: misp.Extra{"note": rawJSON(m.t, it.tok), "authors": rawJSON(m.t, "mx")}}
		if g != nil {
			ad.SharingGroupID = g.sg.ID
			ad.SharingGroup = g.sg
		}
		if depth == 0 && m.rng.IntN(3) == 0 {
			ad.Analyst.Note = []misp.AnalystData{one(it, 1)}
			ad.Analyst.Note[0].ObjectType = "Note"
		}
		return ad
	}
	for range m.rng.IntN(max + 1) {
		ad := one(parent, 0)
		switch m.rng.IntN(3) {
		case 0:
			set.Note = append(set.Note, ad)
		case 1:
			ad.Extra = misp.Extra{"opinion": rawJSON(m.t, "50"), "comment": ad.Extra["note"]}
			set.Opinion = append(set.Opinion, ad)
		default:
			ad.Extra = misp.Extra{"relationship_type": rawJSON(m.t, "related-to"), "related_object_uuid": rawJSON(m.t, parent.uuid),
				"related_object_type": rawJSON(m.t, "Attribute"), "comment": ad.Extra["note"]}
			set.Relationship = append(set.Relationship, ad)
		}
	}
	if err := misp.PutAnalystSet(x, set); err != nil {
		m.t.Fatal(err)
	}
}

// tags adds a local and a global tag to an element, each at random.
func (m *matrix) tags(parent *mxItem) []misp.Tag {
	var out []misp.Tag
	if m.rng.IntN(2) == 0 {
		it := m.add(&mxItem{kind: "ltag", tok: m.token('t'), ev: parent.ev, parent: parent})
		out = append(out, misp.Tag{Name: it.tok, Local: true})
	}
	if m.rng.IntN(2) == 0 {
		it := m.add(&mxItem{kind: "gtag", tok: m.token('t'), ev: parent.ev, parent: parent})
		out = append(out, misp.Tag{Name: it.tok})
	}
	return out
}

// attribute makes an attribute (in an object when obj is set) with its tags, clusters,
// analyst data, and sightings and proposals by random organisations, as sync brings them.
func (m *matrix) attribute(mev *mxEvent, parent *mxItem, rel string) misp.Attribute {
	d, g := m.sharing(5)
	tok := m.token('a')
	types := [][2]string{{"text", "Other"}, {"other", "Other"}, {"comment", "Other"}, {"domain", "Network activity"}}
	ty := types[m.rng.IntN(len(types))]
	value := tok
	if ty[0] == "domain" {
		value = tok + ".example.org"
	}
	it := m.add(&mxItem{kind: "attribute", tok: tok, uuid: newUUID(), ev: mev, parent: parent, dist: d, sg: g, value: value})
	if parent.kind == "object" {
		parent.attrs = append(parent.attrs, it)
	}
	a := misp.Attribute{UUID: it.uuid, Type: ty[0], Category: ty[1], Value: value, Distribution: d, Timestamp: mev.ev.Timestamp,
		ObjectRelation: misp.Text(rel)}
	if g != nil {
		a.SharingGroupID = g.sg.ID
	}
	a.Tag = m.tags(it)
	a.Galaxy = m.galaxies(it, 1)
	m.analyst(it, &a.Extra, 1)
	for range m.rng.IntN(3) {
		org := mxOrgNames[m.rng.IntN(len(mxOrgNames))]
		s := m.add(&mxItem{kind: "sighting", tok: m.token('s'), uuid: newUUID(), ev: mev, parent: it, org: org})
		o := m.orgs[org].org
		a.Sighting = append(a.Sighting, misp.Sighting{UUID: s.uuid, Source: s.tok, DateSighting: mev.ev.Timestamp,
			Organisation: &misp.Org{Name: o.Name, UUID: o.UUID}})
	}
	if m.rng.IntN(3) == 0 {
		org := mxOrgNames[m.rng.IntN(len(mxOrgNames))]
		p := m.add(&mxItem{kind: "proposal", tok: m.token('p'), uuid: newUUID(), ev: mev, parent: it, org: org})
		o := m.orgs[org].org
		a.ShadowAttribute = append(a.ShadowAttribute, misp.ShadowAttribute{UUID: p.uuid, Type: "text", Category: "Other", Value: p.tok,
			EventUUID: mev.ev.UUID, Timestamp: mev.ev.Timestamp, Org: &misp.Org{Name: o.Name, UUID: o.UUID}})
	}
	return a
}

// event makes one random event and stores it as its owner's.
func (m *matrix) event() {
	ts := misp.Int(1767312000 + m.rng.IntN(100000))
	d, g := m.sharing(4)
	owner := mxOwner
	if m.rng.IntN(5) == 0 {
		owner = mxMember
	}
	mev := &mxEvent{owner: owner, published: m.rng.IntN(4) != 0}
	it := m.add(&mxItem{kind: "event", tok: m.token('e'), uuid: newUUID(), dist: d, sg: g})
	it.ev, mev.item = mev, it
	o := m.orgs[owner].org
	ev := &misp.Event{UUID: it.uuid, Info: it.tok, Date: "2026-01-02", Distribution: d, Published: misp.Bool(mev.published),
		Timestamp: ts, ThreatLevelID: 2, Analysis: 1, Orgc: &misp.Org{Name: o.Name, UUID: o.UUID}}
	if g != nil {
		ev.SharingGroupID = g.sg.ID
	}
	mev.ev = ev
	ev.Tag = m.tags(it)
	ev.Galaxy = m.galaxies(it, 2)
	m.analyst(it, &ev.Extra, 2)
	var targets []*mxItem
	for range 2 + m.rng.IntN(3) {
		a := m.attribute(mev, it, "")
		targets = append(targets, m.universe[a.UUID])
		ev.Attribute = append(ev.Attribute, a)
	}
	for range m.rng.IntN(3) {
		od, og := m.sharing(5)
		oi := m.add(&mxItem{kind: "object", tok: m.token('o'), uuid: newUUID(), ev: mev, parent: it, dist: od, sg: og})
		obj := misp.Object{UUID: oi.uuid, Name: "mx-object", MetaCategory: "misc", TemplateUUID: "2c6b0b4e-7ab0-4f5b-9a0e-6f1d0c3b5a00",
			TemplateVersion: 1, Timestamp: ts, Distribution: od, Comment: oi.tok}
		if og != nil {
			obj.SharingGroupID = og.sg.ID
		}
		m.analyst(oi, &obj.Extra, 1)
		for j := range 1 + m.rng.IntN(2) {
			obj.Attribute = append(obj.Attribute, m.attribute(mev, oi, fmt.Sprintf("text-%d", j)))
		}
		if len(targets) > 0 && m.rng.IntN(2) == 0 {
			to := targets[m.rng.IntN(len(targets))]
			ri := m.add(&mxItem{kind: "reference", tok: m.token('f'), uuid: newUUID(), ev: mev, parent: oi, refTo: to})
			rt := misp.Int(0)
			if to.kind == "object" {
				rt = 1
			}
			obj.ObjectReference = append(obj.ObjectReference, misp.ObjectReference{UUID: ri.uuid, Timestamp: ts, ObjectUUID: oi.uuid,
				ReferencedUUID: to.uuid, ReferencedType: rt, RelationshipType: "related-to", Comment: ri.tok})
		}
		targets = append(targets, oi)
		ev.Object = append(ev.Object, obj)
	}
	for range m.rng.IntN(3) {
		rd, rg := m.sharing(5)
		ri := m.add(&mxItem{kind: "report", tok: m.token('r'), uuid: newUUID(), ev: mev, parent: it, dist: rd, sg: rg})
		r := misp.EventReport{UUID: ri.uuid, Name: ri.tok, Content: "report " + ri.tok, Distribution: rd, Timestamp: ts}
		if rg != nil {
			r.SharingGroupID = rg.sg.ID
		}
		m.analyst(ri, &r.Extra, 1)
		ev.EventReport = append(ev.EventReport, r)
	}
	if _, err := m.e.st.UpsertEvent(context.Background(), ev, store.UpsertOptions{OwnerOrgID: m.orgs[owner].org.ID, LocalIDs: true}); err != nil {
		m.t.Fatal(err)
	}
	m.events = append(m.events, mev)
}

// --- the oracle -------------------------------------------------------------------------

// inGroup is MISP's sharing-group rule: a member organisation, or any organisation here
// when the group gives this instance all orgs.
func inGroup(v mxViewer, g *mxGroup) bool { return g != nil && (g.members[v.org] || g.allOrgs) }

// levelAdmits is the book's rule for one element's own distribution, for a viewer who
// neither is a site admin nor owns the event: 0 nobody, 1–3 every organisation here, 4 the
// group's, 5 what the parent allows (checked by the caller).
func levelAdmits(v mxViewer, d misp.Distribution, g *mxGroup) bool {
	switch d {
	case misp.OrgOnly:
		return false
	case misp.CommunityOnly, misp.ConnectedCommunity, misp.AllCommunities, misp.InheritEvent:
		return true
	case misp.SharingGroupDist:
		return inGroup(v, g)
	}
	return false
}

func (v mxViewer) owns(ev *mxEvent) bool { return v.org == ev.owner }

// clusterSees is the rule for a galaxy cluster on its own: one no event embedded does not
// exist; library clusters are everyone's; a custom one its organisation's, a site admin's,
// and by its own distribution.
func clusterSees(v mxViewer, c *mxCluster) bool {
	return c.stored && (c.library || v.admin || v.org == c.org || (c.dist != misp.InheritEvent && levelAdmits(v, c.dist, c.sg)))
}

// sees is the oracle: whether viewer v may see it.
func sees(v mxViewer, it *mxItem) bool {
	switch it.kind {
	case "event":
		if v.admin || v.owns(it.ev) {
			return true
		}
		if v.sync && !it.ev.published {
			return false // only published events leave by sync
		}
		return levelAdmits(v, it.dist, it.sg)
	case "attribute", "report":
		return reaches(v, it)
	case "object":
		// an object none of whose attributes the viewer may see is left out whole: its
		// meaning is its attributes (a decision of this project; MISP shows it empty)
		return reaches(v, it) && slices.ContainsFunc(it.attrs, func(a *mxItem) bool { return reaches(v, a) })
	case "reference":
		return sees(v, it.parent) && sees(v, it.refTo)
	case "note":
		// analyst data by its own distribution (MISP's AnalystData::buildConditions, where
		// 5 names no one but its organisation), and the element it is about
		return sees(v, it.parent) && (v.admin || v.org == it.org || (it.dist != misp.InheritEvent && levelAdmits(v, it.dist, it.sg)))
	case "sighting":
		return sees(v, it.parent) && (v.admin || v.owns(it.ev) || v.org == it.org)
	case "proposal":
		// every organisation's, to whoever sees the attribute (MISP's fetchEvent and
		// ShadowAttribute::buildConditions)
		return sees(v, it.parent)
	case "ltag":
		return sees(v, it.parent) && (!v.sync || v.admin)
	case "gtag":
		return sees(v, it.parent)
	case "cluster":
		return (it.parent == nil || sees(v, it.parent)) && clusterSees(v, it.cl)
	}
	panic("unknown kind " + it.kind)
}

// reaches is the book's rule for an element on its path: every ancestor visible, and its
// own distribution admitting the viewer unless the viewer is a site admin or owns the event.
func reaches(v mxViewer, it *mxItem) bool {
	var parent bool
	if it.parent.kind == "object" {
		parent = reaches(v, it.parent)
	} else {
		parent = sees(v, it.parent)
	}
	return parent && (v.admin || v.owns(it.ev) || levelAdmits(v, it.dist, it.sg))
}

// --- reading answers --------------------------------------------------------------------

var (
	mxTokenRE = regexp.MustCompile(`zq[a-z][0-9]+q`)
	mxUUIDRE  = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
)

// tokens are the matrix tokens in an answer, of the given kinds ("" all).
func tokens(body []byte, kinds string) map[string]bool {
	out := map[string]bool{}
	for _, t := range mxTokenRE.FindAllString(string(body), -1) {
		if kinds == "" || strings.IndexByte(kinds, t[2]) >= 0 {
			out[t] = true
		}
	}
	return out
}

// nothingBeyond fails for every token or known UUID in the answer that the oracle does not
// allow the viewer.
func (m *matrix) nothingBeyond(v mxViewer, what string, body []byte) {
	m.t.Helper()
	for tok := range tokens(body, "") {
		m.asserts++
		if c := m.clusterByTok(tok); c != nil {
			if !clusterSees(v, c) {
				m.t.Errorf("%s: %s shows cluster %s (distribution %d by %s) the viewer may not see", v, what, tok, c.dist, c.org)
			}
			continue
		}
		it := m.byTok[tok]
		if it == nil {
			m.t.Errorf("%s: %s holds token %s the test never made", v, what, tok)
			continue
		}
		if !sees(v, it) {
			m.t.Errorf("%s: %s shows %s %s (%s) the viewer may not see", v, what, it.kind, tok, m.describe(it))
		}
	}
	for _, u := range mxUUIDRE.FindAllString(string(body), -1) {
		u = strings.ToLower(u)
		it := m.universe[u]
		if it == nil {
			continue
		}
		m.asserts++
		if !m.uuidAllowed(v, u) {
			m.t.Errorf("%s: %s shows the UUID of %s %s (%s) the viewer may not see", v, what, it.kind, it.tok, m.describe(it))
		}
	}
}

func (m *matrix) clusterByTok(tok string) *mxCluster {
	for _, c := range m.clusters {
		if c.tok == tok {
			return c
		}
	}
	return nil
}

func (m *matrix) uuidAllowed(v mxViewer, u string) bool {
	it := m.universe[u]
	if it.kind == "cluster" {
		return clusterSees(v, it.cl)
	}
	return sees(v, it)
}

func (m *matrix) describe(it *mxItem) string {
	var parts []string
	for p := it; p != nil; p = p.parent {
		s := fmt.Sprintf("%s dist %d", p.kind, p.dist)
		if p.sg != nil {
			s += " " + p.sg.sg.Name
		}
		if p.org != "" {
			s += " by " + p.org
		}
		if p.kind == "event" {
			s += fmt.Sprintf(" owner %s published %v", p.ev.owner, p.ev.published)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " < ")
}

// want fails for each item the viewer may see, of those listed, that the answer lacks.
func (m *matrix) want(v mxViewer, what string, body []byte, items []*mxItem) {
	m.t.Helper()
	got := tokens(body, "")
	for _, it := range items {
		if !sees(v, it) {
			continue
		}
		m.asserts++
		if !got[it.tok] {
			m.t.Errorf("%s: %s lacks %s %s (%s) the viewer may see", v, what, it.kind, it.tok, m.describe(it))
		}
	}
}

func (m *matrix) kind(kinds ...string) []*mxItem {
	var out []*mxItem
	for _, it := range m.items {
		if slices.Contains(kinds, it.kind) {
			out = append(out, it)
		}
	}
	return out
}

// under lists the items of the given kinds whose ancestors include top.
func under(items []*mxItem, top *mxItem) []*mxItem {
	var out []*mxItem
	for _, it := range items {
		for p := it; p != nil; p = p.parent {
			if p == top {
				out = append(out, it)
				break
			}
		}
	}
	return out
}

// embedded leaves out the analyst data added through analyst_data/add, which event JSON
// carries only in events/view (restSearch leaves it out, as MISP's does without
// includeAnalystData).
func embedded(items []*mxItem) []*mxItem {
	return slices.DeleteFunc(slices.Clone(items), func(it *mxItem) bool { return it.standalone })
}

// sample is at most n of items, picked at random: every viewer reads a different sample
// of the elements one by one, the lists read them all.
func (m *matrix) sample(items []*mxItem, n int) []*mxItem {
	if len(items) <= n {
		return items
	}
	out := slices.Clone(items)
	m.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out[:n]
}

func (m *matrix) read(v mxViewer, method, path string, body any) resp {
	m.t.Helper()
	r := m.e.do(method, path, v.key, body)
	if r.status >= 500 {
		m.t.Fatalf("%s: %s %s answered %d: %.300s", v, method, path, r.status, r.body)
	}
	return r
}

// found checks an answer about one item: 200 when the viewer may see it, else 404
// (never 403, which would confirm it exists).
func (m *matrix) found(v mxViewer, what string, r resp, visible bool) bool {
	m.t.Helper()
	m.asserts++
	want := 404
	if visible {
		want = 200
	}
	if r.status != want {
		m.t.Errorf("%s: %s answered %d, the oracle says %d: %.200s", v, what, r.status, want, r.body)
		return false
	}
	return visible
}

// --- writes by users: standalone analyst data, proposals and sightings -------------------

// writes has each organisation's user add notes, proposals and sightings on random
// elements through the API: each write succeeds exactly when the oracle lets that user see
// its target, and is then data of the matrix like the rest.
func (m *matrix) writes() {
	elements := m.kind("event", "attribute", "object", "report")
	attrs := m.kind("attribute")
	for _, org := range mxOrgNames {
		w := m.writers[org]
		for range 6 {
			target := elements[m.rng.IntN(len(elements))]
			d, g := m.sharing(5)
			kind := misp.AnalystKinds[m.rng.IntN(2)] // Note or Opinion: both carry a text
			tok := m.token('n')
			body := map[string]any{"distribution": d, "note": tok, "comment": tok, "opinion": 50}
			if g != nil {
				body["sharing_group_id"] = g.sg.ID
			}
			objType := map[string]string{"event": "Event", "attribute": "Attribute", "object": "Object", "report": "EventReport"}[target.kind]
			r := m.read(w, "POST", "/analyst_data/add/"+kind+"/"+target.uuid+"/"+objType, body)
			if !m.found(w, "analyst_data/add on "+target.kind+" "+target.tok, r, sees(w, target)) {
				continue
			}
			u := get[string](m.t, r.obj(m.t), kind, "uuid")
			m.add(&mxItem{kind: "note", tok: tok, uuid: strings.ToLower(u), ev: target.ev, parent: target, dist: d, sg: g, org: org, standalone: true})
		}
		for range 4 {
			target := attrs[m.rng.IntN(len(attrs))]
			tok := m.token('p')
			r := m.read(w, "POST", "/shadow_attributes/add/"+target.uuid, map[string]any{"ShadowAttribute": map[string]any{"value": tok, "type": "text", "category": "Other"}})
			if m.found(w, "shadow_attributes/add on "+target.tok, r, sees(w, target)) {
				m.add(&mxItem{kind: "proposal", tok: tok, ev: target.ev, parent: target, org: org})
			}
		}
		for range 4 {
			target := attrs[m.rng.IntN(len(attrs))]
			tok := m.token('s')
			r := m.read(w, "POST", "/sightings/add/"+target.uuid, map[string]any{"source": tok})
			if m.found(w, "sightings/add on "+target.tok, r, sees(w, target)) {
				m.add(&mxItem{kind: "sighting", tok: tok, ev: target.ev, parent: target, org: org})
			}
		}
	}
}

// --- the reads ----------------------------------------------------------------------------

// mxEndpoints names every endpoint the matrix reads, for the report.
var mxEndpoints = []string{"events/view", "events/index", "events/restSearch", "events/restSearch includeAnalystData",
	"events/restSearch metadata", "attributes/view",
	"attributes/restSearch", "objects/view", "eventReports/view", "eventReports/index", "analyst_data/index", "analyst_data/view",
	"shadow_attributes/index", "sightings/restSearch", "sightings/listSightings", "galaxy_clusters/view",
	"galaxy_clusters/restSearch", "galaxies/view"}

func (m *matrix) reads(v mxViewer) {
	allEvents := m.kind("event")
	// events/view: the event and everything under it the viewer may see, nothing more;
	// the analyst data added through analyst_data/add included, as MISP's REST view
	// embeds it
	for _, mev := range m.events {
		it := mev.item
		r := m.read(v, "GET", "/events/view/"+it.uuid, nil)
		if m.found(v, "events/view "+it.tok, r, sees(v, it)) {
			m.nothingBeyond(v, "events/view "+it.tok, r.body)
			m.want(v, "events/view "+it.tok, r.body, under(m.items, it))
		}
	}
	// the lists of events: exactly the visible ones; with includeAnalystData, the analyst
	// data added through analyst_data/add too, as events/view
	for _, q := range []struct {
		what, method, path string
		body               any
		full, analyst      bool
	}{
		{"events/index", "GET", "/events/index", nil, false, false},
		{"events/restSearch", "POST", "/events/restSearch", map[string]any{"returnFormat": "json"}, true, false},
		{"events/restSearch includeAnalystData", "POST", "/events/restSearch", map[string]any{"returnFormat": "json", "includeAnalystData": 1}, true, true},
		{"events/restSearch metadata", "POST", "/events/restSearch", map[string]any{"returnFormat": "json", "metadata": 1}, false, false},
	} {
		r := m.read(v, q.method, q.path, q.body)
		wantStatus(m.t, r, 200)
		m.nothingBeyond(v, q.what, r.body)
		if q.analyst {
			m.want(v, q.what, r.body, m.items)
		} else if q.full {
			m.want(v, q.what, r.body, embedded(m.items))
		} else {
			m.want(v, q.what, r.body, allEvents)
		}
	}
	// a metadata search by value finds an event exactly when the viewer may see the
	// attribute: it must not confirm a hidden indicator
	attrs := m.kind("attribute")
	for range 4 {
		a := attrs[m.rng.IntN(len(attrs))]
		r := m.read(v, "POST", "/events/restSearch", map[string]any{"returnFormat": "json", "metadata": 1, "value": a.value})
		wantStatus(m.t, r, 200)
		m.asserts++
		if got := tokens(r.body, "e")[a.ev.item.tok]; got != sees(v, a) {
			m.t.Errorf("%s: restSearch metadata by the value of %s (%s) finds its event: %v, the oracle says %v", v, a.tok, m.describe(a), got, sees(v, a))
		}
		m.nothingBeyond(v, "events/restSearch metadata value", r.body)
	}
	// elements one by one
	for _, k := range []struct{ kind, path string }{{"attribute", "/attributes/view/"}, {"object", "/objects/view/"}, {"report", "/eventReports/view/"}} {
		for _, it := range m.sample(m.kind(k.kind), 16) {
			r := m.read(v, "GET", k.path+it.uuid, nil)
			if m.found(v, k.path+it.tok, r, sees(v, it)) {
				m.nothingBeyond(v, k.path+it.tok, r.body)
				m.want(v, k.path+it.tok, r.body, []*mxItem{it})
			}
		}
	}
	r := m.read(v, "POST", "/attributes/restSearch", map[string]any{"returnFormat": "json"})
	wantStatus(m.t, r, 200)
	m.nothingBeyond(v, "attributes/restSearch", r.body)
	m.want(v, "attributes/restSearch", r.body, attrs)
	r = m.read(v, "GET", "/eventReports/index", nil)
	wantStatus(m.t, r, 200)
	m.nothingBeyond(v, "eventReports/index", r.body)
	m.want(v, "eventReports/index", r.body, m.kind("report"))
	// analyst data, proposals, sightings
	for _, k := range []string{"Note", "Opinion"} {
		r := m.read(v, "GET", "/analyst_data/index/"+k, nil)
		wantStatus(m.t, r, 200)
		m.nothingBeyond(v, "analyst_data/index/"+k, r.body)
	}
	for _, it := range m.kind("note") {
		if !it.standalone {
			continue
		}
		r := m.read(v, "GET", "/analyst_data/view/Note/"+it.uuid, nil)
		if r.status == 404 {
			r = m.read(v, "GET", "/analyst_data/view/Opinion/"+it.uuid, nil)
		}
		if m.found(v, "analyst_data/view "+it.tok, r, sees(v, it)) {
			m.nothingBeyond(v, "analyst_data/view "+it.tok, r.body)
			m.want(v, "analyst_data/view "+it.tok, r.body, []*mxItem{it})
		}
	}
	r = m.read(v, "GET", "/shadow_attributes/index", nil)
	wantStatus(m.t, r, 200)
	m.nothingBeyond(v, "shadow_attributes/index", r.body)
	m.want(v, "shadow_attributes/index", r.body, m.kind("proposal"))
	uuids := make([]string, 0, len(m.events))
	for _, mev := range m.events {
		uuids = append(uuids, mev.item.uuid)
	}
	r = m.read(v, "POST", "/sightings/restSearch", map[string]any{"uuid": uuids})
	wantStatus(m.t, r, 200)
	m.nothingBeyond(v, "sightings/restSearch", r.body)
	m.want(v, "sightings/restSearch", r.body, m.kind("sighting"))
	for _, mev := range m.events {
		r := m.read(v, "GET", "/sightings/listSightings/"+mev.item.uuid+"/event", nil)
		if m.found(v, "sightings/listSightings "+mev.item.tok, r, sees(v, mev.item)) {
			m.nothingBeyond(v, "sightings/listSightings "+mev.item.tok, r.body)
			m.want(v, "sightings/listSightings "+mev.item.tok, r.body, under(m.kind("sighting"), mev.item))
		}
	}
	// clusters on their own
	for _, c := range m.clusters {
		r := m.read(v, "GET", "/galaxy_clusters/view/"+c.uuid, nil)
		if m.found(v, "galaxy_clusters/view "+c.tok, r, clusterSees(v, c)) {
			m.nothingBeyond(v, "galaxy_clusters/view "+c.tok, r.body)
		}
	}
	for _, path := range []string{"/galaxy_clusters/restSearch", "/galaxies/view/c5f8b4d6-6f1a-4b1e-9d2a-3e2f8a6b7c01"} {
		r := m.read(v, "POST", path, map[string]any{})
		if path != "/galaxy_clusters/restSearch" {
			r = m.read(v, "GET", path, nil)
		}
		wantStatus(m.t, r, 200)
		m.nothingBeyond(v, path, r.body)
		got := tokens(r.body, "c")
		for _, c := range m.clusters {
			m.asserts++
			if clusterSees(v, c) && !got[c.tok] {
				m.t.Errorf("%s: %s lacks cluster %s it may see", v, path, c.tok)
			}
		}
	}
}

// --- feed export ----------------------------------------------------------------------------

// feedAdmits is the feed's rule for one own distribution: a feed of narrowest distribution
// min carries what is at least min and not shared with a group (a feed cannot keep data to
// a group's members); min 0 is the whole instance.
func feedAdmits(min, d misp.Distribution) bool {
	return min == misp.OrgOnly || d == misp.InheritEvent || (d != misp.SharingGroupDist && d >= min && d <= misp.AllCommunities)
}

// inFeed is the oracle of a feed export: published events only, every level of an
// element's path admitted, no local tags; sightings and proposals go with their attribute.
func inFeed(min misp.Distribution, it *mxItem) bool {
	switch it.kind {
	case "event":
		return it.ev.published && feedAdmits(min, it.dist) && it.dist != misp.InheritEvent
	case "note":
		return inFeed(min, it.parent) && (min == misp.OrgOnly || (it.dist != misp.InheritEvent && feedAdmits(min, it.dist)))
	case "attribute", "report":
		var parent bool
		if it.parent.kind == "object" {
			parent = feedReaches(min, it.parent)
		} else {
			parent = inFeed(min, it.parent)
		}
		return parent && feedAdmits(min, it.dist)
	case "object":
		return feedReaches(min, it) && slices.ContainsFunc(it.attrs, func(a *mxItem) bool { return inFeed(min, a) })
	case "reference":
		return inFeed(min, it.parent) && inFeed(min, it.refTo)
	case "sighting", "proposal":
		// organisations' reports: only the admin's export of everything carries them
		return min == misp.OrgOnly && inFeed(min, it.parent)
	case "gtag":
		return inFeed(min, it.parent)
	case "ltag":
		return false
	case "cluster":
		c := it.cl
		return (it.parent == nil || inFeed(min, it.parent)) && (c.library || (c.dist != misp.InheritEvent && feedAdmits(min, c.dist)))
	}
	panic("unknown kind " + it.kind)
}

// feedReaches is an object's path in a feed, before its attributes are looked at.
func feedReaches(min misp.Distribution, o *mxItem) bool {
	return inFeed(min, o.parent) && feedAdmits(min, o.dist)
}

func (m *matrix) feeds() {
	ctx := context.Background()
	for min := misp.OrgOnly; min <= misp.AllCommunities; min++ {
		dir := filepath.Join(m.t.TempDir(), "feed")
		if _, err := feed.Export(ctx, m.e.st, dir, feed.ExportOptions{Feed: true, Distribution: min}); err != nil {
			m.t.Fatal(err)
		}
		what := fmt.Sprintf("feed of distribution %d", min)
		for _, mev := range m.events {
			b, err := os.ReadFile(filepath.Join(dir, mev.item.uuid+".json"))
			m.asserts++
			if os.IsNotExist(err) {
				if inFeed(min, mev.item) {
					m.t.Errorf("%s lacks event %s (%s)", what, mev.item.tok, m.describe(mev.item))
				}
				continue
			}
			if err != nil {
				m.t.Fatal(err)
			}
			if !inFeed(min, mev.item) {
				m.t.Errorf("%s holds event %s (%s)", what, mev.item.tok, m.describe(mev.item))
				continue
			}
			for tok := range tokens(b, "") {
				m.asserts++
				var allowed bool
				if tok[2] == 'c' {
					allowed = m.clusterInFeed(min, tok, mev)
				} else if it := m.byTok[tok]; it != nil {
					allowed = inFeed(min, it)
				}
				if !allowed {
					m.t.Errorf("%s: event %s holds %s the feed may not carry", what, mev.item.tok, tok)
				}
			}
			got := tokens(b, "")
			for _, it := range embedded(under(m.items, mev.item)) {
				if it.kind == "cluster" || !inFeed(min, it) {
					continue
				}
				m.asserts++
				if !got[it.tok] {
					m.t.Errorf("%s: event %s lacks %s %s (%s)", what, mev.item.tok, it.kind, it.tok, m.describe(it))
				}
			}
		}
	}
}

// clusterInFeed reports whether a cluster token may be in an event's feed file: one of
// its links under that event is.
func (m *matrix) clusterInFeed(min misp.Distribution, tok string, mev *mxEvent) bool {
	for _, it := range under(m.kind("cluster"), mev.item) {
		if it.tok == tok && inFeed(min, it) {
			return true
		}
	}
	return false
}

func TestVisibilityMatrix(t *testing.T) {
	m := newMatrix(t)
	m.clusterPool()
	events := 10
	if testing.Short() {
		events = 4 // the race pass of make test; the non-race pass reads 10 events' worth
	}
	for range events {
		m.event()
	}
	m.writes()
	for _, v := range m.viewers {
		m.reads(v)
	}
	m.feeds()
	counts := map[string]int{}
	for _, it := range m.items {
		counts[it.kind]++
	}
	t.Logf("matrix: %d events, %d elements %v, %d viewers (5 roles × 4 organisations), %d endpoints, %d assertions",
		len(m.events), len(m.items)-counts["event"], counts, len(m.viewers), len(mxEndpoints)+1, m.asserts)
}
