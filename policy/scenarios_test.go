package policy

import (
	"testing"

	"mispdesk/store/misp"
)

// The four scenario tables of the book's "Syncing scenarios with communities
// distribution" (the MISP book's sharing page), each row at event, object and attribute level.

const (
	dOrg       = misp.OrgOnly
	dCommunity = misp.CommunityOnly
	dConnected = misp.ConnectedCommunity
	dAll       = misp.AllCommunities
)

// notSent marks a row whose element does not arrive.
const notSent misp.Distribution = -2

var levels = []string{"event", "object", "attribute"}

// scenario builds an event whose element at the given level has distribution d, and a
// probe that finds that element's distribution in a copy (notSent when absent).
func scenario(level string, owner misp.Org, d misp.Distribution) (*misp.Event, func(*misp.Event) misp.Distribution) {
	switch level {
	case "event":
		return event(owner, d), func(e *misp.Event) misp.Distribution {
			if e == nil {
				return notSent
			}
			return e.Distribution
		}
	case "object":
		ev := event(owner, dAll)
		ev.Attribute[0].Distribution = dAll
		ev.Object = []misp.Object{object("0b000000-0000-4000-8000-000000000001", d, attribute("a0000000-0000-4000-8000-000000000009", misp.InheritEvent))}
		return ev, func(e *misp.Event) misp.Distribution {
			if e == nil || findObject(e, "0b000000-0000-4000-8000-000000000001") == nil {
				return notSent
			}
			return findObject(e, "0b000000-0000-4000-8000-000000000001").Distribution
		}
	default:
		ev := event(owner, dAll)
		ev.Attribute[0].Distribution = dAll
		ev.Attribute = append(ev.Attribute, attribute("a0000000-0000-4000-8000-000000000001", d))
		return ev, func(e *misp.Event) misp.Distribution {
			if e == nil || findAttribute(e, "a0000000-0000-4000-8000-000000000001") == nil {
				return notSent
			}
			return findAttribute(e, "a0000000-0000-4000-8000-000000000001").Distribution
		}
	}
}

func label(d misp.Distribution) string {
	if d == notSent {
		return "not sent"
	}
	return d.String()
}

// Push from instance A to instance B - usual scenario.
func TestPushTableNotInternal(t *testing.T) {
	a := instance(orgA, "https://a.example")
	toB := link(1, "https://b.example", orgA, orgB, false)
	rows := []struct {
		name string
		dist misp.Distribution
		want misp.Distribution
	}{
		{"your organisation only is not pushed", dOrg, notSent},
		{"this community only is not pushed", dCommunity, notSent},
		{"connected communities is decreased to this community only", dConnected, dCommunity},
		{"all communities stays all communities", dAll, dAll},
	}
	for _, row := range rows {
		for _, level := range levels {
			t.Run(level+"/"+row.name, func(t *testing.T) {
				ev, probe := scenario(level, orgA, row.dist)
				// "Which organisation the remote sync user belongs to has no impact": the
				// answer is the same whoever the remote organisation is.
				for _, remote := range []misp.Org{orgB, orgX} {
					toB.RemoteOrg = remote
					for _, trig := range []Trigger{OnPublish, Scheduled} {
						res := a.Push(toB, ev, trig, Blocklists{})
						if got := probe(res.Event); got != row.want {
							t.Fatalf("remote %s, trigger %d: got %s, want %s\n%s", remote.Name, trig, label(got), label(row.want), res.Decision)
						}
					}
				}
			})
		}
	}
}

// Push from instance A to instance B - internal flag set scenario.
func TestPushTableInternal(t *testing.T) {
	a := instance(orgA, "https://a.example")
	// Internal: both instances are run by OrgA.
	toB := link(1, "https://b.example", orgA, orgA, true)
	rows := []struct {
		name      string
		dist      misp.Distribution
		onPublish misp.Distribution
		later     misp.Distribution
	}{
		{"your organisation only is synced on publication, not by a later push", dOrg, dOrg, notSent},
		{"this community only stays this community only", dCommunity, dCommunity, dCommunity},
		{"connected communities stays connected communities", dConnected, dConnected, dConnected},
		{"all communities stays all communities", dAll, dAll, dAll},
	}
	for _, row := range rows {
		for _, level := range levels {
			t.Run(level+"/"+row.name, func(t *testing.T) {
				// "even if the organisation publishing is not the host organisation"
				ev, probe := scenario(level, orgX, row.dist)
				if got := probe(a.Push(toB, ev, OnPublish, Blocklists{}).Event); got != row.onPublish {
					t.Errorf("on publish: got %s, want %s", label(got), label(row.onPublish))
				}
				// The book's row holds at every level ("Event/object/attribute not pushed
				// if triggering push of already locally published event"); MISP's code
				// applies the trigger only to the event and would send org-only children
				// of a later push.
				res := a.Push(toB, ev, Scheduled, Blocklists{})
				if got := probe(res.Event); got != row.later {
					t.Errorf("later push: got %s, want %s\n%s", label(got), label(row.later), res.Decision)
				}
			})
		}
	}
}

// pullRow serves the event on A to B's sync user there (as A's REST API does), and pulls
// what it got into B.
func pullRow(a, b *Instance, syncUser *Viewer, bToA *Server, ev *misp.Event) (*misp.Event, Decision) {
	served, d := a.Visible(syncUser, ev)
	if served == nil {
		return nil, d
	}
	res := b.Pull(bToA, served, nil, Blocklists{})
	return res.Event, res.Decision
}

type pullTableRow struct {
	name string
	dist misp.Distribution
	// ownerIsSyncOrg: the event on A is owned by the sync user's organisation.
	ownerIsSyncOrg bool
	want           misp.Distribution
}

var pullRows = []pullTableRow{
	{"your organisation only is pulled when the sync user is of the owner organisation and stays", dOrg, true, dOrg},
	{"your organisation only is not pulled when the sync user is of another organisation", dOrg, false, notSent},
	{"this community only is decreased to your organisation only", dCommunity, false, dOrg},
	{"connected communities is decreased to this community only", dConnected, false, dCommunity},
	{"all communities stays all communities", dAll, false, dAll},
}

func runPullTable(t *testing.T, a, b *Instance, syncOrg misp.Org, bToA *Server) {
	for _, row := range pullRows {
		for _, level := range levels {
			t.Run(level+"/"+row.name, func(t *testing.T) {
				owner := orgX
				if row.ownerIsSyncOrg {
					owner = syncOrg
				}
				ev, probe := scenario(level, owner, row.dist)
				got, d := pullRow(a, b, syncUserOf(syncOrg), bToA, ev)
				if probe(got) != row.want {
					t.Fatalf("got %s, want %s\n%s", label(probe(got)), label(row.want), d)
				}
			})
		}
	}
}

// Pulling from instance A to instance B - usual scenario.
func TestPullTableNotInternal(t *testing.T) {
	a, b := instance(orgA, "https://a.example"), instance(orgB, "https://b.example")
	runPullTable(t, a, b, orgB, link(1, "https://a.example", orgB, orgA, false))
}

// Pulling from instance A to instance B - internal flag set scenario. The book's table
// downgrades as the usual one does, for every internal link, including one owned by the
// host organisation (MISP's code would keep distributions there; the table is the
// specification and the narrower choice).
func TestPullTableInternal(t *testing.T) {
	a, b := instance(orgA, "https://a.example"), instance(orgA, "https://b.example")
	runPullTable(t, a, b, orgA, link(1, "https://a.example", orgA, orgA, true))
	runPullTable(t, a, b, orgA, link(1, "https://a.example", orgX, orgA, true))
}

// Rule of thumb: if the user configured to pull from instance A can see the event on
// instance A, the event will be synced — over every distribution, sharing group shape and
// owner; unpublished events never.
func TestPullRuleOfThumb(t *testing.T) {
	a, b := instance(orgA, "https://a.example"), instance(orgB, "https://b.example")
	bToA := link(1, "https://a.example", orgB, orgA, false)
	syncUser := syncUserOf(orgB)
	groups := []*misp.SharingGroup{
		group("with-b-1", false, []misp.Org{orgA, orgB}),
		group("without-b-2", false, []misp.Org{orgA, orgC}),
		group("all-orgs-3", false, []misp.Org{orgA}, sgServer(0, "", true)),
		nil,
	}
	n := 0
	for _, owner := range []misp.Org{orgA, orgB, orgX} {
		for d := dOrg; d <= misp.SharingGroupDist; d++ {
			for _, sg := range groups {
				if d != misp.SharingGroupDist && sg != nil {
					continue
				}
				for _, published := range []bool{true, false} {
					ev := event(owner, d)
					ev.SharingGroup, ev.Published = sg, misp.Bool(published)
					// Only published events are synced, so the rule is about those; an
					// unpublished one is never pulled, even by its owner.
					sees := published && a.CanSeeEvent(syncUser, ev).Allowed
					got, dec := pullRow(a, b, syncUser, bToA, ev)
					if sees != (got != nil) {
						t.Errorf("owner %s, %s, group %s, published %v: sync user sees it: %v, pulled: %v\n%s", owner.Name, d, sgName(sg), published, sees, got != nil, dec)
					}
					n++
				}
			}
		}
	}
	t.Logf("%d cases", n)
}

// The book's figure: events e ("This community only") and e' ("Connected communities")
// created by OrgA on A, with B syncing from A and C syncing from B.
func TestPropagationAToBToC(t *testing.T) {
	a, b, c := instance(orgA, "https://a.example"), instance(orgB, "https://b.example"), instance(orgC, "https://c.example")
	bFromA := link(1, "https://a.example", orgB, orgA, false)
	aToB := link(1, "https://b.example", orgA, orgB, false)
	cFromB := link(1, "https://b.example", orgC, orgB, false)
	bToC := link(2, "https://c.example", orgB, orgC, false)

	for _, tc := range []struct {
		name                 string
		dist                 misp.Distribution
		pushedToB, pushedToC bool
		onB, onC             misp.Distribution
		seenOnC              map[string]bool
	}{
		{"e community", dCommunity, false, false, dOrg, notSent, nil},
		{"e' connected", dConnected, true, false, dCommunity, dOrg, map[string]bool{orgC.Name: true, orgX.Name: false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := event(orgA, tc.dist)
			pushed := a.Push(aToB, e, OnPublish, Blocklists{})
			if pushed.Allowed != tc.pushedToB {
				t.Fatalf("push A→B allowed %v\n%s", pushed.Allowed, pushed.Decision)
			}
			onB, _ := pullRow(a, b, syncUserOf(orgB), bFromA, e)
			if onB == nil || onB.Distribution != tc.onB {
				t.Fatalf("pulled into B: %v", onB)
			}
			if pushed.Allowed {
				recv := b.Receive(syncUserOf(orgA), nil, pushed.Event, nil, Blocklists{})
				if recv.Event.Distribution != tc.onB {
					t.Fatalf("pushed into B as %s, want %s", recv.Event.Distribution, tc.onB)
				}
			}
			if b.Push(bToC, onB, OnPublish, Blocklists{}).Allowed != tc.pushedToC {
				t.Fatalf("push B→C: want allowed %v", tc.pushedToC)
			}
			onC, _ := pullRow(b, c, syncUserOf(orgC), cFromB, onB)
			if got := distOf(onC); got != tc.onC {
				t.Fatalf("on C: got %s, want %s", label(got), label(tc.onC))
			}
			for _, org := range []misp.Org{orgC, orgX} {
				want, ok := tc.seenOnC[org.Name]
				if !ok {
					continue
				}
				if got := c.CanSeeEvent(viewerOf(org), onC).Allowed; got != want {
					t.Errorf("%s on C sees it: %v, want %v", org.Name, got, want)
				}
			}
		})
	}
}

func distOf(e *misp.Event) misp.Distribution {
	if e == nil {
		return notSent
	}
	return e.Distribution
}
