package policy

import (
	"fmt"
	"strconv"
	"strings"

	"mispdesk/store/misp"
)

// matchesTag reports whether a rule value names the tag: a number is a tag ID (MISP's
// push rules store local tag IDs), anything else a tag name, compared without case as
// MISP compares tag names.
func matchesTag(value string, t *misp.Tag) bool {
	if id, err := strconv.ParseInt(value, 10, 64); err == nil && t.ID != 0 && int64(t.ID) == id {
		return true
	}
	return strings.EqualFold(value, t.Name)
}

// matchesOrg reports whether a rule value names the organisation: a number is an org ID
// (push rules), anything else its UUID or its name.
func matchesOrg(value string, o *misp.Org) bool {
	if o == nil {
		return false
	}
	if id, err := strconv.ParseInt(value, 10, 64); err == nil && o.ID != 0 && int64(o.ID) == id {
		return true
	}
	return (o.UUID != "" && strings.EqualFold(value, o.UUID)) || (o.Name != "" && strings.EqualFold(value, o.Name))
}

// firstTagMatch returns the first rule value naming one of the tags, or "".
func firstTagMatch(values []string, tags []misp.Tag) string {
	for _, v := range values {
		for i := range tags {
			if matchesTag(v, &tags[i]) {
				return tags[i].Name
			}
		}
	}
	return ""
}

// checkEventRules applies the tags and orgs rules to an event, as MISP's
// Server::eventFilterPushableServers does for push and the remote's index filter does for
// pull: tags.OR needs one of the event's tags listed, tags.NOT none; orgs.OR needs the
// creator organisation (Orgc) listed, orgs.NOT needs it not listed.
func checkEventRules(d *Decision, kind RulesKind, r *Rules, ev *misp.Event) {
	if r.Tags.empty() && r.Orgs.empty() {
		d.skip(string(kind), "no tag or organisation rules set")
		return
	}
	k := string(kind)
	if len(r.Tags.OR) > 0 {
		if name := firstTagMatch(r.Tags.OR, ev.Tag); name != "" {
			d.pass(k+".tags.OR", fmt.Sprintf("the event carries the allowed tag %q", name))
		} else {
			d.blockCode(k+".tags.OR", k+".tags OR (none)", fmt.Sprintf("the event carries none of the allowed tags %s", quoteList(r.Tags.OR)))
			return
		}
	}
	if len(r.Tags.NOT) > 0 {
		if name := firstTagMatch(r.Tags.NOT, ev.Tag); name != "" {
			d.blockCode(k+".tags.NOT", k+".tags NOT "+name, fmt.Sprintf("the event carries the blocked tag %q", name))
			return
		}
		d.pass(k+".tags.NOT", "the event carries none of the blocked tags")
	}
	creator := orgLabel(ev.Orgc)
	if len(r.Orgs.OR) > 0 {
		if !anyOrgMatch(r.Orgs.OR, ev.Orgc) {
			d.blockCode(k+".orgs.OR", k+".orgs OR (not listed)", fmt.Sprintf("the creator organisation %s is not among the allowed organisations %s", creator, quoteList(r.Orgs.OR)))
			return
		}
		d.pass(k+".orgs.OR", fmt.Sprintf("the creator organisation %s is allowed", creator))
	}
	if len(r.Orgs.NOT) > 0 {
		if anyOrgMatch(r.Orgs.NOT, ev.Orgc) {
			d.blockCode(k+".orgs.NOT", k+".orgs NOT "+creator, fmt.Sprintf("the creator organisation %s is blocked", creator))
			return
		}
		d.pass(k+".orgs.NOT", fmt.Sprintf("the creator organisation %s is not blocked", creator))
	}
}

func anyOrgMatch(values []string, o *misp.Org) bool {
	for _, v := range values {
		if matchesOrg(v, o) {
			return true
		}
	}
	return false
}

// inList reports whether s (an attribute type, an object template UUID) is listed.
func inList(values []string, s string) bool {
	for _, v := range values {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func orgLabel(o *misp.Org) string {
	switch {
	case o == nil:
		return "(unknown)"
	case o.Name != "":
		return strconv.Quote(o.Name)
	case o.UUID != "":
		return o.UUID
	}
	return "#" + strconv.FormatInt(int64(o.ID), 10)
}

func quoteList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = strconv.Quote(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
