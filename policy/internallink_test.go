package policy

import (
	"testing"

	"mispdesk/store/misp"
)

// A pull keeps local tags only over an internal link that joins two instances of the host
// organisation and is owned here by it too (MISP's Server::__updatePulledEventBeforeInsert:
// the flag and the link's organisation). With the flag but another owner, or another
// remote organisation, they are removed like from any server.
func TestPullLocalTagsNeedAnInternalLinkOfTheHostOrg(t *testing.T) {
	b := instance(orgB, "https://b.example")
	cases := []struct {
		name      string
		srv       *Server
		keepLocal bool
	}{
		{"internal, owned by the host organisation, remote run by it", link(4, "https://b2.example", orgB, orgB, true), true},
		{"internal flag, link owned by another organisation", link(4, "https://b2.example", orgX, orgB, true), false},
		{"internal flag, remote run by another organisation", link(4, "https://a.example", orgB, orgA, true), false},
		{"not internal", link(4, "https://b2.example", orgB, orgB, false), false},
	}
	for _, c := range cases {
		ev := event(orgB, dAll)
		ev.Tag = []misp.Tag{{Name: "event-local", Local: true}, {Name: "tlp:green"}}
		ev.Attribute[0].Tag = []misp.Tag{{Name: "attribute-local", Local: true}}
		res := b.Pull(c.srv, ev, nil, Blocklists{})
		if !res.Allowed {
			t.Fatalf("%s: refused\n%s", c.name, res.Decision)
		}
		want := 0
		if c.keepLocal {
			want = 1
		}
		local := 0
		for _, tag := range res.Event.Tag {
			if bool(tag.Local) {
				local++
			}
		}
		if local != want || len(res.Event.Attribute[0].Tag) != want {
			t.Errorf("%s: %d local event tags and %d attribute tags kept, want %d", c.name, local, len(res.Event.Attribute[0].Tag), want)
		}
	}
}
