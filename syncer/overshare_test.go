package syncer

import (
	"context"
	"errors"
	"strings"
	"testing"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// The leaks of issue 10 between real instances: B pulls from A (events, proposals, analyst
// data and galaxy clusters) as a sync user of B's organisation. A's community event carries things only A's organisation may see — an
// org-only note embedded in the event JSON and one stored on its own, a proposal on an
// attribute B's organisation may not see, an org-only custom cluster — next to their
// community-wide twins. The twins must arrive at B; nothing of A's own may.

const (
	osEvent       = "7c2e1a4d-0b6f-4e1a-8d3c-5f9a2b7e4c01"
	osPublicAttr  = "7c2e1a4d-0b6f-4e1a-8d3c-5f9a2b7e4c02"
	osHiddenAttr  = "7c2e1a4d-0b6f-4e1a-8d3c-5f9a2b7e4c03"
	osOrgNote     = "7c2e1a4d-0b6f-4e1a-8d3c-5f9a2b7e4c04"
	osPublicNote  = "7c2e1a4d-0b6f-4e1a-8d3c-5f9a2b7e4c05"
	osAttrNote    = "7c2e1a4d-0b6f-4e1a-8d3c-5f9a2b7e4c06"
	osOrgCluster  = "7c2e1a4d-0b6f-4e1a-8d3c-5f9a2b7e4c07"
	osComCluster  = "7c2e1a4d-0b6f-4e1a-8d3c-5f9a2b7e4c08"
	osStandalone  = "7c2e1a4d-0b6f-4e1a-8d3c-5f9a2b7e4c09"
	osHiddenValue = "secret-indicator.example"
)

// overshareFixture makes A and B, B pulling from A, and A's event.
func overshareFixture(t *testing.T) (a, b *node) {
	t.Helper()
	a, b = newNode(t, "A"), newNode(t, "B")
	connect(t, b, a, store.ServerOptions{Pull: true, PullGalaxyClusters: true, PullAnalystData: true})
	host := a.host.UUID
	body := `{"Event":{"uuid":"` + osEvent + `","info":"overshare","date":"2026-01-02","distribution":"1","published":true,
	  "timestamp":"1767312000","threat_level_id":"2","analysis":"1",
	  "Orgc":{"name":"` + a.host.Name + `","uuid":"` + host + `"},
	  "Note":[
	    {"uuid":"` + osOrgNote + `","object_uuid":"` + osEvent + `","object_type":"Event","note":"ours alone",
	     "orgc_uuid":"` + host + `","org_uuid":"` + host + `","distribution":"0"},
	    {"uuid":"` + osPublicNote + `","object_uuid":"` + osEvent + `","object_type":"Event","note":"for the community",
	     "orgc_uuid":"` + host + `","org_uuid":"` + host + `","distribution":"1"}],
	  "Galaxy":[{"uuid":"698774c7-8022-42c4-917f-8d6e4f06ada3","name":"Threat Actor","type":"threat-actor","description":"actors","version":"3",
	    "GalaxyCluster":[
	      {"uuid":"` + osOrgCluster + `","type":"threat-actor","value":"Our Own Actor","tag_name":"misp-galaxy:threat-actor=\"` + osOrgCluster + `\"",
	       "description":"ours","version":"1","default":false,"distribution":"0","published":true,
	       "Org":{"name":"` + a.host.Name + `","uuid":"` + host + `"},"Orgc":{"name":"` + a.host.Name + `","uuid":"` + host + `"}},
	      {"uuid":"` + osComCluster + `","type":"threat-actor","value":"Community Actor","tag_name":"misp-galaxy:threat-actor=\"` + osComCluster + `\"",
	       "description":"for all","version":"1","default":false,"distribution":"3","published":true,
	       "Org":{"name":"` + a.host.Name + `","uuid":"` + host + `"},"Orgc":{"name":"` + a.host.Name + `","uuid":"` + host + `"}}]}],
	  "Attribute":[
	    {"uuid":"` + osPublicAttr + `","type":"domain","category":"Network activity","value":"public.example","distribution":"5","timestamp":"1767312000",
	     "Note":[{"uuid":"` + osAttrNote + `","object_uuid":"` + osPublicAttr + `","object_type":"Attribute","note":"ours about it",
	       "orgc_uuid":"` + host + `","org_uuid":"` + host + `","distribution":"0"}]},
	    {"uuid":"` + osHiddenAttr + `","type":"domain","category":"Network activity","value":"` + osHiddenValue + `","distribution":"0","timestamp":"1767312000"}]}}`
	ev, err := misp.ParseEvent([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.st.UpsertEvent(ctx, ev, store.UpsertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// on its own: an org-only note about the event, and proposals by A's organisation on
	// the hidden attribute and by B's on the public one
	if _, err := a.st.AddAnalystData(ctx, store.AnalystData{UUID: osStandalone, Kind: "Note", ObjectUUID: osEvent, ObjectType: "Event",
		OrgcUUID: host, OrgUUID: host, Distribution: 0, Body: []byte(`{"note":"standalone, ours alone"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.st.AddProposal(ctx, res.EventID, osHiddenAttr, a.host.ID,
		misp.ShadowAttribute{Type: "domain", Category: "Network activity", Value: "hidden-proposal.example", Comment: "secret change", Timestamp: 1767312001}); err != nil {
		t.Fatal(err)
	}
	bOnA, err := a.st.OrgByUUID(ctx, b.host.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.st.AddProposal(ctx, res.EventID, osPublicAttr, bOnA.ID,
		misp.ShadowAttribute{Type: "domain", Category: "Network activity", Value: "public-proposal.example", Timestamp: 1767312001}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{Technique: "full"}); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// pulled is B's copy of the event as JSON.
func pulled(t *testing.T, b *node) string {
	t.Helper()
	ev := b.event(t, osEvent)
	if ev == nil {
		t.Fatal("the community event did not reach B")
	}
	raw, err := misp.MarshalEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func TestPullLeavesOrgOnlyNotesBehind(t *testing.T) {
	_, b := overshareFixture(t)
	got := pulled(t, b)
	for _, s := range []string{osOrgNote, "ours alone", osAttrNote, "ours about it"} {
		if strings.Contains(got, s) {
			t.Errorf("an org-only note of A reached B in the event: %s", s)
		}
	}
	if !strings.Contains(got, osPublicNote) {
		t.Errorf("the community note did not reach B: %s", got)
	}
	for _, kind := range []string{"Note", "Opinion", "Relationship"} {
		list, err := b.st.AnalystDataList(context.Background(), kind, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range list {
			if d.UUID == osStandalone || d.UUID == osOrgNote || d.UUID == osAttrNote {
				t.Errorf("A's org-only %s %s is stored on B", kind, d.UUID)
			}
		}
	}
}

func TestPullLeavesProposalsOnHiddenAttributesBehind(t *testing.T) {
	_, b := overshareFixture(t)
	got := pulled(t, b)
	for _, s := range []string{osHiddenAttr, osHiddenValue, "hidden-proposal.example", "secret change"} {
		if strings.Contains(got, s) {
			t.Errorf("B's copy of the event shows %s", s)
		}
	}
	rows, err := b.st.Proposals(ctx, 0, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	var public bool
	for _, r := range rows {
		if r.Proposal.Value == "hidden-proposal.example" || strings.EqualFold(r.Proposal.Comment, "secret change") {
			t.Errorf("a proposal on an attribute B's organisation may not see is stored on B: %+v", r.Proposal)
		}
		public = public || r.Proposal.Value == "public-proposal.example"
	}
	if !public {
		t.Errorf("B's own proposal on the public attribute did not arrive (%d proposals on B)", len(rows))
	}
}

func TestPullLeavesOrgOnlyClustersBehind(t *testing.T) {
	_, b := overshareFixture(t)
	got := pulled(t, b)
	if strings.Contains(got, osOrgCluster) || strings.Contains(got, "Our Own Actor") {
		t.Errorf("A's org-only cluster reached B inside the event: %s", got)
	}
	if _, err := testsupport.ClusterJSON(b.st, osOrgCluster); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("A's org-only cluster is stored on B (err %v)", err)
	}
	// the community cluster travels by cluster pull (events come with excludeGalaxy:1)
	if _, err := testsupport.ClusterJSON(b.st, osComCluster); err != nil {
		t.Errorf("A's community cluster did not reach B: %v", err)
	}
}
