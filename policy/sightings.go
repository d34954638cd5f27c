package policy

import "mispdesk/store/misp"

// SightingsRule is MISP's Plugin.Sightings_policy: whose sightings a user of another
// organisation than the event's owner sees (app/Model/Sighting.php, createConditions).
type SightingsRule int

// The rules, by MISP's numbers.
const (
	// SightingsEventOwner: the viewer's own organisation's sightings only (the default).
	SightingsEventOwner SightingsRule = 0
	// SightingsReporter: every sighting of the event, once the viewer's organisation has
	// sighted it; none before.
	SightingsReporter SightingsRule = 1
	// SightingsEveryone: every sighting.
	SightingsEveryone SightingsRule = 2
	// SightingsHostOrg: the viewer's own organisation's and the host organisation's.
	SightingsHostOrg SightingsRule = 3
)

// SightingsPolicy is this instance's sightings settings as MISP names them.
type SightingsPolicy struct {
	Rule SightingsRule
	// Anonymise hides the organisation of every sighting not the viewer's own
	// (Plugin.Sightings_anonymise), owners and site admins included, as MISP does.
	Anonymise bool
	// AnonymiseAs, when set, is the organisation such sightings are given to a sync
	// account as (Plugin.Sightings_anonymise_as); others see no organisation.
	AnonymiseAs *misp.Org
}

// reporter reports whether the viewer's organisation has sighted any attribute of the
// event (MISP's isReporter), all of the event's sightings counted.
func (v *Viewer) reporter(ev *misp.Event) bool {
	found := false
	ev.ForEachAttribute(func(a *misp.Attribute) {
		for i := range a.Sighting {
			found = found || v.made(a.Sighting[i].Organisation, a.Sighting[i].OrgID)
		}
	})
	return found
}

// visibleSightings keeps the sightings of one attribute the viewer may see by the
// sightings policy — all of them for the event's owner and site admins — and anonymises
// other organisations' as the settings say. reporter is whether the viewer's
// organisation has sighted the event.
func (inst *Instance) visibleSightings(v *Viewer, owner, reporter bool, ss []misp.Sighting) []misp.Sighting {
	if ss == nil {
		return nil
	}
	p := &inst.Sightings
	kept := ss[:0]
	for _, s := range ss {
		own := v.made(s.Organisation, s.OrgID)
		keep := owner || own
		if !keep {
			switch p.Rule {
			case SightingsReporter:
				keep = reporter
			case SightingsEveryone:
				keep = true
			case SightingsHostOrg:
				keep = inst.isHostOrg(sightingOrg(&s))
			}
		}
		if !keep {
			continue
		}
		if p.Anonymise && !own {
			if v.PermSync && p.AnonymiseAs != nil {
				org := *p.AnonymiseAs
				s.OrgID, s.Organisation = org.ID, &org
			} else {
				s.OrgID, s.Organisation = 0, nil
			}
		}
		kept = append(kept, s)
	}
	clear(ss[len(kept):])
	return kept
}

// sightingOrg is the organisation of a sighting as isHostOrg compares it.
func sightingOrg(s *misp.Sighting) misp.Org {
	if s.Organisation != nil {
		return *s.Organisation
	}
	return misp.Org{ID: s.OrgID}
}
