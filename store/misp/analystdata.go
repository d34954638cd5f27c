package misp

import (
	"fmt"

	"github.com/go-json-experiment/json"
)

// AnalystKinds are MISP's three kinds of analyst data, as they are named in event JSON
// (members of an event, object, attribute or report) and in the analyst_data API.
var AnalystKinds = [...]string{"Note", "Opinion", "Relationship"}

// RelatedObject is the member MISP puts on a relationship for whoever reads it: the element
// the relationship points to (related_object_uuid) as that reader may see it
// (Relationship::afterFind). It is one reader's view, not part of the relationship, so it
// is never kept nor passed on here: it would show the element to readers who may not see it.
const RelatedObject = "related_object"

// InboundRelationships is the member MISP puts on an element it shows on its own
// (AnalystDataParent::attachAnalystData): the relationships of other elements to it, each
// with that element as the reader may see it (RelatedObject).
const InboundRelationships = "RelationshipInbound"

// DropReaderMembers removes from a galaxy cluster's members what MISP shows with it to
// the one who reads it (galaxy_clusters/view, which a cluster pull reads): the notes,
// opinions and relationships about it and the relationships to it, and the reader's count
// of the events carrying its tag (tag_count, with the reader's tag_id). They are that
// reader's view, not the cluster: MISP's receivers keep none of it, as analyst data travels
// on its own, each item by its own distribution, and kept with the cluster it would go to
// every reader of the cluster here.
func DropReaderMembers(members Extra) {
	for _, k := range AnalystKinds {
		delete(members, k)
	}
	delete(members, InboundRelationships)
	delete(members, "tag_count")
	delete(members, "tag_id")
}

// AnalystData is a note, an opinion or a relationship about an element. Only what sharing
// decisions read is named; the text, the authors and the kind's own fields stay in Extra.
// Notes and opinions may be about other analyst data, nested under it in Analyst.
type AnalystData struct {
	UUID           string        `json:"uuid"`
	ObjectUUID     string        `json:"object_uuid,omitzero"`
	ObjectType     string        `json:"object_type,omitzero"`
	OrgUUID        string        `json:"org_uuid,omitzero"`
	OrgcUUID       string        `json:"orgc_uuid,omitzero"`
	Distribution   Distribution  `json:"distribution"`
	SharingGroupID Int           `json:"sharing_group_id"`
	SharingGroup   *SharingGroup `json:"SharingGroup,omitzero"`
	Analyst        AnalystSet    `json:",embed"`
	Extra          Extra         `json:",embed"`
}

// AnalystSet is the analyst data attached to one element, by kind.
type AnalystSet struct {
	Note         []AnalystData `json:"Note,omitzero"`
	Opinion      []AnalystData `json:"Opinion,omitzero"`
	Relationship []AnalystData `json:"Relationship,omitzero"`
}

// Kinds returns the set's three lists, in AnalystKinds order, for walking all of them.
func (s *AnalystSet) Kinds() [3]*[]AnalystData {
	return [3]*[]AnalystData{&s.Note, &s.Opinion, &s.Relationship}
}

// Len is how many elements the set holds at its top level.
func (s *AnalystSet) Len() int { return len(s.Note) + len(s.Opinion) + len(s.Relationship) }

// TakeAnalystSet removes the analyst data members (Note, Opinion, Relationship) from an
// element's unknown members and returns them decoded. A member that does not decode is
// removed all the same and reported: analyst data that cannot be judged is never handed on.
func TakeAnalystSet(x Extra) (AnalystSet, error) {
	var s AnalystSet
	var firstErr error
	for i, k := range AnalystKinds {
		v, ok := x[k]
		if !ok {
			continue
		}
		delete(x, k)
		if err := json.Unmarshal(v, s.Kinds()[i]); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("%s: %w", k, err)
		}
	}
	if firstErr != nil {
		return AnalystSet{}, firstErr
	}
	return s, nil
}

// PutAnalystSet writes the non-empty lists of s into an element's unknown members, where
// TakeAnalystSet found them, allocating x when needed.
func PutAnalystSet(x *Extra, s AnalystSet) error {
	for i, list := range s.Kinds() {
		if len(*list) == 0 {
			continue
		}
		b, err := json.Marshal(*list, json.Deterministic(true))
		if err != nil {
			return fmt.Errorf("%s: %w", AnalystKinds[i], err)
		}
		if *x == nil {
			*x = Extra{}
		}
		(*x)[AnalystKinds[i]] = b
	}
	return nil
}

// ForEachAttribute calls fn for every attribute of the event, those in objects included.
func (e *Event) ForEachAttribute(fn func(a *Attribute)) {
	for i := range e.Attribute {
		fn(&e.Attribute[i])
	}
	for i := range e.Object {
		for j := range e.Object[i].Attribute {
			fn(&e.Object[i].Attribute[j])
		}
	}
}
