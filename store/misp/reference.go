package misp

import (
	"fmt"
	"maps"
	"strings"

	"github.com/go-json-experiment/json"
)

// attributeSummary and objectSummary are what MISP's event views add to an object reference
// about its target (Event::__attachReferences): the target's sharing and UUID, and for an
// attribute its value, type, category and to_ids, for an object its name and meta-category.
type attributeSummary struct {
	Distribution   Distribution `json:"distribution"`
	SharingGroupID Int          `json:"sharing_group_id"`
	UUID           string       `json:"uuid"`
	Value          string       `json:"value"`
	Type           string       `json:"type"`
	Category       string       `json:"category"`
	ToIDs          Bool         `json:"to_ids"`
}

type objectSummary struct {
	Distribution   Distribution `json:"distribution"`
	SharingGroupID Int          `json:"sharing_group_id"`
	UUID           string       `json:"uuid"`
	Name           string       `json:"name"`
	MetaCategory   string       `json:"meta-category"`
}

// SummariseReferenceTargets gives each object reference whose target is among the event's
// own attributes and objects MISP's summary of that target, as its "Attribute" or "Object"
// member; a reference whose target the event does not hold gets none. The summary repeats
// the target's value, so it is only for an event already trimmed to what its reader may
// see, and only for answers to that reader: push payloads never carry it.
func (e *Event) SummariseReferenceTargets() error {
	targets := map[string]any{}
	e.ForEachAttribute(func(a *Attribute) {
		targets[strings.ToLower(a.UUID)] = attributeSummary{Distribution: a.Distribution, SharingGroupID: a.SharingGroupID,
			UUID: a.UUID, Value: a.Value, Type: a.Type, Category: a.Category, ToIDs: a.ToIDs}
	})
	for i := range e.Object {
		o := &e.Object[i]
		targets[strings.ToLower(o.UUID)] = objectSummary{Distribution: o.Distribution, SharingGroupID: o.SharingGroupID,
			UUID: o.UUID, Name: o.Name, MetaCategory: o.MetaCategory}
	}
	for i := range e.Object {
		for j := range e.Object[i].ObjectReference {
			r := &e.Object[i].ObjectReference[j]
			t, ok := targets[strings.ToLower(r.ReferencedUUID)]
			if !ok {
				continue
			}
			key := "Attribute"
			if _, isObject := t.(objectSummary); isObject {
				key = "Object"
			}
			b, err := json.Marshal(t)
			if err != nil {
				return fmt.Errorf("reference %s: %w", r.UUID, err)
			}
			r.Extra = maps.Clone(r.Extra) // the reference's members may be shared with the stored event
			if r.Extra == nil {
				r.Extra = Extra{}
			}
			r.Extra[key] = b
		}
	}
	return nil
}
