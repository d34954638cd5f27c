package policy

import (
	"slices"

	"mispdesk/store/misp"
)

// Reach is who an element may reach once every ancestor is taken into account: MISP
// shows a child only when its event (and, for an object attribute, its object) is shown,
// so a child is never wider than its parent.
//
// Sharing groups do not sit on the 0–3 scale, so a reach keeps both: the narrowest level
// on the path, and every sharing group on the path. A viewer must pass the level and be in
// every group. This is exactly MISP's rule for the mixed cases:
//   - a sharing-group child of a community event: the event's level, narrowed to the group;
//   - a community child of a sharing-group event: the event's group, narrowed to the level
//     (on one instance levels 1–3 all mean "every organisation here", so it is the group).
type Reach struct {
	// Level is the narrowest of the levels 0–3 on the path; a sharing group counts as 3
	// here, its narrowing being in Groups. An unknown level counts as 0.
	Level misp.Distribution
	// Groups are the sharing groups on the path; a nil entry is a distribution 4 without
	// its group, which nobody but the owner may see.
	Groups []*misp.SharingGroup
}

// EventReach is the reach of an event.
func EventReach(e *misp.Event) Reach {
	return Reach{Level: misp.AllCommunities}.Child(e.Distribution, e.SharingGroup)
}

// Child is the reach of a child with distribution d (and sharing group sg when d is 4)
// under r. Distribution 5 inherits r unchanged.
func (r Reach) Child(d misp.Distribution, sg *misp.SharingGroup) Reach {
	switch {
	case d == misp.InheritEvent:
		return r
	case d == misp.SharingGroupDist:
		if sg == nil {
			return Reach{Level: misp.OrgOnly, Groups: r.Groups}
		}
		// Copy, so siblings never share (and overwrite) one backing array.
		groups := append(slices.Clip(r.Groups), sg)
		return Reach{Level: r.Level, Groups: groups}
	case d >= misp.OrgOnly && d <= misp.AllCommunities:
		return Reach{Level: min(r.Level, d), Groups: r.Groups}
	default:
		return Reach{Level: misp.OrgOnly, Groups: r.Groups}
	}
}

// Distribution is the reach as one MISP level, for display: 4 when groups narrow a
// community-wide level, else the level.
func (r Reach) Distribution() misp.Distribution {
	if r.Level > misp.OrgOnly && len(r.Groups) > 0 {
		return misp.SharingGroupDist
	}
	return r.Level
}
