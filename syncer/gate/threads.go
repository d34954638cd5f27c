package gate

import (
	"errors"

	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// Thread reports whether the viewer may read a thread and its posts: an event's
// comments when the viewer may see the event, a discussion as policy.CanSeeDiscussion
// says; a sync account neither (comments and discussions never leave this instance).
func (c *Check) Thread(t *store.Thread) (bool, error) {
	if t.EventID != 0 {
		if !c.inst.CanSeeComments(c.Viewer).Allowed {
			return false, nil
		}
		_, err := c.EventRow(t.EventID)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	d := &policy.Discussion{OrgID: int64(t.OrgID), Distribution: misp.Distribution(t.Distribution)}
	if d.Distribution == misp.SharingGroupDist {
		sg, err := c.SharingGroup(t.SharingGroupID)
		if err != nil {
			return false, err
		}
		d.SharingGroup = sg
	}
	return c.inst.CanSeeDiscussion(c.Viewer, d).Allowed, nil
}

// Comments reports whether the viewer may read or write the comments of an event it
// may see: anyone but a sync account.
func (c *Check) Comments() bool { return c.inst.CanSeeComments(c.Viewer).Allowed }
