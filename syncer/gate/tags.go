package gate

import "mispdesk/store"

// TagEventCounts counts, for each tag (only tag, when not 0), the events carrying it that
// the viewer may see, as MISP counts them for tags/index (EventTag::countForTags, under the
// user's event conditions): a count of every event would tell how many the viewer may not
// see carry the tag.
func (c *Check) TagEventCounts(tag store.TagID) (map[store.TagID]int64, error) {
	shares, err := c.g.st.TagEventShares(c.ctx, tag)
	if err != nil {
		return nil, err
	}
	out := map[store.TagID]int64{}
	for i := range shares {
		ok, err := c.Row(&shares[i].Row)
		if err != nil {
			return nil, err
		}
		if ok {
			out[shares[i].Tag] += shares[i].Events
		}
	}
	return out, nil
}
