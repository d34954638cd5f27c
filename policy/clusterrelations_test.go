package policy

import (
	"slices"
	"strings"
	"testing"

	"mispdesk/store/misp"
)

// relationsCluster is a community cluster of orgA with one relation of each distribution:
// r0…r3, r4 shared with group G (orgA and orgB, server 1 listed), r4x with group H
// (orgB, no server listed), r4n at 4 without its group, r5 at 5 (no level a relation may
// have). r3 carries an exportable tag, a non-exportable one and a local one, and nested
// records MISP attaches.
func relationsCluster() *misp.GalaxyCluster {
	g := group("G", false, []misp.Org{orgA, orgB}, sgServer(1, "https://b.example", false))
	h := group("H", false, []misp.Org{orgB})
	rel := func(name string, d misp.Distribution, sg *misp.SharingGroup) misp.ClusterRelation {
		return misp.ClusterRelation{ReferencedUUID: name, ReferencedType: "similar", Distribution: d, SharingGroup: sg,
			Extra: misp.Extra{"id": []byte(`"7"`), "galaxy_cluster_id": []byte(`"9"`), "referenced_galaxy_cluster_id": []byte(`"11"`)}}
	}
	r3 := rel("r3", misp.AllCommunities, g) // a group on a relation not shared with one is dropped
	r3.Tag = []misp.Tag{{Name: "tlp:green"}, {Name: "secret", Exportable: misp.OptBool{Set: true}}, {Name: "mine", Local: true}}
	r3.Extra["TargetCluster"] = []byte(`{"uuid":"r3","value":"hidden"}`)
	return &misp.GalaxyCluster{UUID: "c1", Value: "Actor",
		GalaxyClusterRelation: misp.ClusterRelations{rel("r0", misp.OrgOnly, nil), rel("r1", misp.CommunityOnly, nil),
			rel("r2", misp.ConnectedCommunity, nil), r3, rel("r4", misp.SharingGroupDist, g), rel("r4x", misp.SharingGroupDist, h),
			rel("r4n", misp.SharingGroupDist, nil), rel("r5", misp.InheritEvent, nil)},
		Extra: misp.Extra{"default": []byte(`false`), "distribution": []byte(`"3"`), "Org": []byte(`{"uuid":"` + orgA.UUID + `","name":"OrgA"}`),
			"TargetingClusterRelation": []byte(`[{"galaxy_cluster_uuid":"c9","referenced_galaxy_cluster_uuid":"c1","distribution":"0"}]`)},
	}
}

// describeRelations is each relation as "uuid:distribution[tags]{members}", for a literal
// comparison: tags by name, the sharing group by name, the Extra members by key.
func describeRelations(c *misp.GalaxyCluster) string {
	var out []string
	for _, r := range c.GalaxyClusterRelation {
		s := r.ReferencedUUID + ":" + string(rune('0'+r.Distribution))
		if r.SharingGroup != nil {
			s += "/" + r.SharingGroup.Name
		}
		var tags []string
		for _, t := range r.Tag {
			tags = append(tags, t.Name)
		}
		if len(tags) > 0 {
			s += "[" + strings.Join(tags, ",") + "]"
		}
		var keys []string
		for k := range r.Extra {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		s += "{" + strings.Join(keys, ",") + "}"
		out = append(out, s)
	}
	if _, ok := c.Extra["TargetingClusterRelation"]; ok {
		out = append(out, "TargetingClusterRelation")
	}
	return strings.Join(out, " ")
}

// Each viewer sees the relations MISP's GalaxyClusterRelation::buildConditions shows it:
// the owner and the site admin all, anyone else 1–3 and the groups it is in; a sync account
// no local tags; nobody the records MISP nests or a copy of TargetingClusterRelation.
func TestTrimClusterRelations(t *testing.T) {
	inst := instance(orgA, "https://a.example")
	const ids = "{galaxy_cluster_id,id,referenced_galaxy_cluster_id}"
	for _, tc := range []struct {
		who  string
		v    *Viewer
		want string
	}{
		// the owner is not in H: it sees the relation, not the group
		{"owner", viewerOf(orgA), "r0:0" + ids + " r1:1" + ids + " r2:2" + ids + " r3:3[tlp:green,secret,mine]" + ids + " r4:4/G" + ids +
			" r4x:4" + ids + " r4n:4" + ids + " r5:5" + ids},
		{"site admin", &Viewer{OrgID: int64(orgC.ID), OrgUUID: orgC.UUID, SiteAdmin: true}, "r0:0" + ids + " r1:1" + ids + " r2:2" + ids +
			" r3:3[tlp:green,secret,mine]" + ids + " r4:4/G" + ids + " r4x:4/H" + ids + " r4n:4" + ids + " r5:5" + ids},
		{"group member", viewerOf(orgB), "r1:1" + ids + " r2:2" + ids + " r3:3[tlp:green,secret,mine]" + ids + " r4:4/G" + ids + " r4x:4/H" + ids},
		{"group member's sync account", syncUserOf(orgB), "r1:1" + ids + " r2:2" + ids + " r3:3[tlp:green]" + ids + " r4:4/G" + ids + " r4x:4/H" + ids},
		{"outsider", viewerOf(orgC), "r1:1" + ids + " r2:2" + ids + " r3:3[tlp:green,secret,mine]" + ids},
	} {
		c := relationsCluster()
		inst.TrimClusterRelations(tc.v, c)
		if got := describeRelations(c); got != tc.want {
			t.Errorf("%s sees\n  %s\nwant\n  %s", tc.who, got, tc.want)
		}
	}
}

// A push sends what GalaxyCluster::__prepareRelationsForSync sends: on a link that is not
// internal 0 and 1 stay, 2 goes as 1, a group only to a server it lists; on an internal
// link every level but 5 (a group to a member organisation). Never this instance's ids, a non-exportable tag, or a local tag
// to a link that is not internal.
func TestPushClusterRelations(t *testing.T) {
	inst := instance(orgA, "https://a.example")
	for _, tc := range []struct {
		name     string
		internal bool
		want     string
	}{
		{"not internal", false, "r2:1{} r3:3[tlp:green]{} r4:4/G{}"},
		// H does not list orgA, the internal link's remote: as for events, a group goes only
		// to a member organisation, even over an internal link
		{"internal", true, "r0:0{} r1:1{} r2:2{} r3:3[tlp:green,mine]{} r4:4/G{}"},
	} {
		remote := orgB
		if tc.internal {
			remote = orgA
		}
		c := relationsCluster()
		inst.PushClusterRelations(link(1, "https://b.example", orgA, remote, tc.internal), c)
		if got := describeRelations(c); got != tc.want {
			t.Errorf("%s: pushes\n  %s\nwant\n  %s", tc.name, got, tc.want)
		}
	}
}

// A pull downgrades relations as GalaxyCluster::updatePulledClusterBeforeInsert does (1
// becomes 0 and 2 becomes 1 unless the link is internal), and refuses one that names no
// referenced cluster or has distribution 5.
func TestPullClusterRelations(t *testing.T) {
	inst := instance(orgA, "https://a.example")
	const ids = "{galaxy_cluster_id,id,referenced_galaxy_cluster_id}"
	for _, tc := range []struct {
		name     string
		internal bool
		want     string
	}{
		{"not internal", false, "r0:0" + ids + " r1:0" + ids + " r2:1" + ids + " r3:3[tlp:green,secret,mine]" + ids + " r4:4/G" + ids + " r4x:4/H" + ids + " r4n:4" + ids},
		{"internal", true, "r0:0" + ids + " r1:1" + ids + " r2:2" + ids + " r3:3[tlp:green,secret,mine]" + ids + " r4:4/G" + ids + " r4x:4/H" + ids + " r4n:4" + ids},
	} {
		remote := orgB
		if tc.internal {
			remote = orgA
		}
		c := relationsCluster()
		c.GalaxyClusterRelation = append(c.GalaxyClusterRelation, misp.ClusterRelation{ReferencedType: "similar", Distribution: misp.AllCommunities})
		inst.PullClusterRelations(link(1, "https://b.example", orgA, remote, tc.internal), c)
		if got := describeRelations(c); got != tc.want {
			t.Errorf("%s: keeps\n  %s\nwant\n  %s", tc.name, got, tc.want)
		}
	}
}

// The relations of a cluster an event embeds follow the event: a feed takes those as wide
// as itself, never a group's, with only the tags that may leave and without this
// instance's ids; a pull downgrades them.
func TestEmbeddedClusterRelations(t *testing.T) {
	inst := instance(orgA, "https://a.example")
	withCluster := func() *misp.Event {
		ev := event(orgA, misp.AllCommunities)
		ev.Galaxy = []misp.Galaxy{{UUID: "9a000000-0000-4000-8000-000000000001", Name: "G", GalaxyCluster: []misp.GalaxyCluster{*relationsCluster()}}}
		return ev
	}
	clusterOf := func(ev *misp.Event) *misp.GalaxyCluster {
		if ev == nil || len(ev.Galaxy) != 1 || len(ev.Galaxy[0].GalaxyCluster) != 1 {
			t.Fatalf("the cluster is gone: %+v", ev)
		}
		return &ev.Galaxy[0].GalaxyCluster[0]
	}
	const ids = "{galaxy_cluster_id,id,referenced_galaxy_cluster_id}"
	for _, tc := range []struct {
		min  misp.Distribution
		want string
	}{
		{misp.AllCommunities, "r3:3[tlp:green]{}"},
		{misp.CommunityOnly, "r1:1{} r2:2{} r3:3[tlp:green]{}"},
	} {
		out, d := FeedPayload(withCluster(), tc.min)
		if got := describeRelations(clusterOf(out)); got != tc.want {
			t.Errorf("feed at %s carries\n  %s\nwant\n  %s\n%s", tc.min, got, tc.want, d)
		}
	}
	res := inst.Pull(link(1, "https://b.example", orgA, orgB, false), withCluster(), nil, Blocklists{})
	if got, want := describeRelations(clusterOf(res.Event)), "r0:0"+ids+" r1:0"+ids+" r2:1"+ids+" r3:3[tlp:green,secret,mine]"+ids+
		" r4:4/G"+ids+" r4x:4/H"+ids+" r4n:4"+ids; got != want {
		t.Errorf("a pulled event's cluster keeps\n  %s\nwant\n  %s", got, want)
	}
}
