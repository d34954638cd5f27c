package store

// Field sizes: an event is stored only when each of its values fits the column MISP keeps
// it in (INSTALL/MYSQL.sql of MISP 2.5). A peer, a feed or a file that sends a 50 MB info
// or a tag name of a megabyte is refused, naming the field, before anything is written.

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"mispdesk/store/misp"
)

// column is the capacity of one of MISP's MySQL columns: TEXT types count bytes,
// VARCHAR(n) counts characters.
type column struct {
	max   int
	chars bool
}

var (
	colText       = column{max: 65_535}           // TEXT
	colMediumText = column{max: 16_777_215}       // MEDIUMTEXT
	colName       = column{max: 255, chars: true} // VARCHAR(255)
	colType       = column{max: 100, chars: true} // attributes.type VARCHAR(100)
	colUUID       = column{max: 40, chars: true}  // VARCHAR(40)
	colColour     = column{max: 7, chars: true}   // tags.colour VARCHAR(7)
)

// FieldSizeError is a value longer than MISP's column for it. Pointer is the JSON pointer
// of the member in the event document, e.g. /Event/Attribute/3/comment.
type FieldSizeError struct {
	Pointer string
	Size    int // bytes, or characters for a VARCHAR column
	Max     int
	Chars   bool
}

func (e *FieldSizeError) Error() string {
	unit := "bytes"
	if e.Chars {
		unit = "characters"
	}
	return fmt.Sprintf("%s is %d %s long; MISP stores at most %d %s there", e.Pointer, e.Size, unit, e.Max, unit)
}

// Unwrap makes a FieldSizeError an ErrInvalidEvent.
func (e *FieldSizeError) Unwrap() error { return ErrInvalidEvent }

// field is one member of an element: its JSON name, its value and its column.
type field struct {
	name, value string
	col         column
}

// fieldsFit returns a FieldSizeError (its pointer relative to the element) for the first
// field longer than its column, or nil.
func fieldsFit(fs ...field) *FieldSizeError {
	for _, f := range fs {
		if len(f.value) <= f.col.max {
			continue // fits in bytes, so in characters too
		}
		n := len(f.value)
		if f.col.chars {
			if n = utf8.RuneCountInString(f.value); n <= f.col.max {
				continue
			}
		}
		return &FieldSizeError{Pointer: "/" + f.name, Size: n, Max: f.col.max, Chars: f.col.chars}
	}
	return nil
}

// under prefixes err's pointer with the element's place: /Attribute/3.
func under(err *FieldSizeError, member string, i int) *FieldSizeError {
	if err != nil {
		err.Pointer = "/" + member + "/" + strconv.Itoa(i) + err.Pointer
	}
	return err
}

// checkFieldSizes refuses an event holding a value longer than MISP's column for it. It
// is the first step of every event write.
func checkFieldSizes(e *misp.Event) error {
	if err := eventFieldSizes(e); err != nil {
		err.Pointer = "/Event" + err.Pointer
		return err
	}
	return nil
}

func eventFieldSizes(e *misp.Event) *FieldSizeError {
	if err := fieldsFit(field{"info", e.Info, colText}, field{"extends_uuid", e.ExtendsUUID, colUUID}); err != nil {
		return err
	}
	for _, o := range []struct {
		member string
		org    *misp.Org
	}{{"Orgc", e.Orgc}, {"Org", e.Org}} {
		if o.org != nil {
			if err := fieldsFit(field{"name", o.org.Name, colName}); err != nil {
				err.Pointer = "/" + o.member + err.Pointer
				return err
			}
		}
	}
	if err := sharingGroupSizes(e.SharingGroup); err != nil {
		return err
	}
	if err := tagSizes(e.Tag); err != nil {
		return err
	}
	if err := galaxySizes(e.Galaxy); err != nil {
		return err
	}
	for i := range e.Attribute {
		if err := attributeSizes(&e.Attribute[i]); err != nil {
			return under(err, "Attribute", i)
		}
	}
	for i := range e.Object {
		if err := objectSizes(&e.Object[i]); err != nil {
			return under(err, "Object", i)
		}
	}
	for i := range e.EventReport {
		r := &e.EventReport[i]
		if err := fieldsFit(field{"name", r.Name, colName}, field{"content", r.Content, colMediumText}); err != nil {
			return under(err, "EventReport", i)
		}
		if err := sharingGroupSizes(r.SharingGroup); err != nil {
			return under(err, "EventReport", i)
		}
	}
	return proposalSizes(e.ShadowAttribute)
}

func attributeSizes(a *misp.Attribute) *FieldSizeError {
	value1, value2 := SplitValue(a.Type, a.Value)
	if err := fieldsFit(field{"type", a.Type, colType}, field{"category", a.Category, colName},
		field{"object_relation", string(a.ObjectRelation), colName}, field{"comment", a.Comment, colText}); err != nil {
		return err
	}
	// value is stored as value1 and value2, each a TEXT column.
	if err := fieldsFit(field{"value", value1, colText}, field{"value", value2, colText}); err != nil {
		return err
	}
	if err := sharingGroupSizes(a.SharingGroup); err != nil {
		return err
	}
	if err := tagSizes(a.Tag); err != nil {
		return err
	}
	if err := galaxySizes(a.Galaxy); err != nil {
		return err
	}
	for i := range a.Sighting {
		if err := fieldsFit(field{"source", a.Sighting[i].Source, colName}); err != nil {
			return under(err, "Sighting", i)
		}
	}
	return proposalSizes(a.ShadowAttribute)
}

func objectSizes(o *misp.Object) *FieldSizeError {
	if err := fieldsFit(field{"name", o.Name, colName}, field{"meta-category", o.MetaCategory, colName},
		field{"description", o.Description, colText}, field{"template_uuid", o.TemplateUUID, colUUID},
		field{"comment", o.Comment, colText}); err != nil {
		return err
	}
	if err := sharingGroupSizes(o.SharingGroup); err != nil {
		return err
	}
	for i := range o.Attribute {
		if err := attributeSizes(&o.Attribute[i]); err != nil {
			return under(err, "Attribute", i)
		}
	}
	for i := range o.ObjectReference {
		r := &o.ObjectReference[i]
		if err := fieldsFit(field{"relationship_type", r.RelationshipType, colName}, field{"comment", r.Comment, colText},
			field{"referenced_uuid", r.ReferencedUUID, colUUID}); err != nil {
			return under(err, "ObjectReference", i)
		}
	}
	return nil
}

func proposalSizes(ps []misp.ShadowAttribute) *FieldSizeError {
	for i := range ps {
		p := &ps[i]
		value1, value2 := SplitValue(p.Type, p.Value)
		if err := fieldsFit(field{"type", p.Type, colType}, field{"category", p.Category, colName},
			field{"value", value1, colText}, field{"value", value2, colText}, field{"comment", p.Comment, colText}); err != nil {
			return under(err, "ShadowAttribute", i)
		}
	}
	return nil
}

func tagSizes(tags []misp.Tag) *FieldSizeError {
	for i := range tags {
		if err := fieldsFit(field{"name", tags[i].Name, colName}, field{"colour", tags[i].Colour, colColour}); err != nil {
			return under(err, "Tag", i)
		}
	}
	return nil
}

func galaxySizes(gs []misp.Galaxy) *FieldSizeError {
	for i := range gs {
		g := &gs[i]
		if err := fieldsFit(field{"name", g.Name, colName}, field{"type", g.Type, colName},
			field{"namespace", g.Namespace, colName}, field{"description", g.Description, colText}); err != nil {
			return under(err, "Galaxy", i)
		}
		for j := range g.GalaxyCluster {
			c := &g.GalaxyCluster[j]
			if err := fieldsFit(field{"type", c.Type, colName}, field{"value", c.Value, colText},
				field{"tag_name", c.TagName, colName}, field{"description", c.Description, colText}); err != nil {
				return under(under(err, "GalaxyCluster", j), "Galaxy", i)
			}
		}
	}
	return nil
}

func sharingGroupSizes(sg *misp.SharingGroup) *FieldSizeError {
	if sg == nil {
		return nil
	}
	if err := fieldsFit(field{"name", sg.Name, colName}, field{"releasability", sg.Releasability, colText},
		field{"description", sg.Description, colText}); err != nil {
		err.Pointer = "/SharingGroup" + err.Pointer
		return err
	}
	return nil
}
