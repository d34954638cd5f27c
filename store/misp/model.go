package misp

import (
	"bytes"
	"fmt"
	"maps"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Extra holds the members of a JSON object that the model does not name, kept verbatim so
// they are written back out.
type Extra = map[string]jsontext.Value

// Org is an organisation as it appears inside events (Org, Orgc, Organisation).
type Org struct {
	ID    Int     `json:"id,omitzero"`
	Name  string  `json:"name"`
	UUID  string  `json:"uuid"`
	Local OptBool `json:"local,omitzero"`
	Extra Extra   `json:",embed"`
}

// Tag is a tag attached to an event or attribute.
type Tag struct {
	ID               Int     `json:"id,omitzero"`
	Name             string  `json:"name"`
	Colour           string  `json:"colour"`
	Exportable       OptBool `json:"exportable,omitzero"`
	UserID           Int     `json:"user_id"`
	HideTag          Bool    `json:"hide_tag"`
	NumericalValue   Text    `json:"numerical_value"`
	IsGalaxy         Bool    `json:"is_galaxy"`
	IsCustomGalaxy   Bool    `json:"is_custom_galaxy"`
	LocalOnly        Bool    `json:"local_only"`
	Local            Bool    `json:"local"`
	RelationshipType Text    `json:"relationship_type"`
	Extra            Extra   `json:",embed"`
}

// IsExportable reports whether the tag may leave this instance (MISP's default is yes).
func (t *Tag) IsExportable() bool { return t.Exportable.True(true) }

// SharingGroupOrg is one organisation's membership of a sharing group.
type SharingGroupOrg struct {
	ID             Int   `json:"id,omitzero"`
	SharingGroupID Int   `json:"sharing_group_id,omitzero"`
	OrgID          Int   `json:"org_id,omitzero"`
	Extend         Bool  `json:"extend"`
	Organisation   *Org  `json:"Organisation,omitzero"`
	Extra          Extra `json:",embed"`
}

// ServerRef is the server named by a sharing group's server entry. ID 0 with the sending
// instance's URL means "the instance that sent this".
type ServerRef struct {
	ID    Int    `json:"id"`
	URL   string `json:"url"`
	Name  string `json:"name,omitzero"`
	Extra Extra  `json:",embed"`
}

// SharingGroupServer is one server's membership of a sharing group. ServerID 0 is the
// instance holding the group.
type SharingGroupServer struct {
	ID             Int        `json:"id,omitzero"`
	SharingGroupID Int        `json:"sharing_group_id,omitzero"`
	ServerID       Int        `json:"server_id"`
	AllOrgs        Bool       `json:"all_orgs"`
	Server         *ServerRef `json:"Server,omitzero"`
	Extra          Extra      `json:",embed"`
}

// SharingGroup is a named list of organisations and servers that may receive an element
// whose distribution is 4.
type SharingGroup struct {
	ID                 Int                  `json:"id,omitzero"`
	UUID               string               `json:"uuid"`
	Name               string               `json:"name"`
	Releasability      string               `json:"releasability,omitzero"`
	Description        string               `json:"description,omitzero"`
	OrgID              Int                  `json:"org_id,omitzero"`
	OrganisationUUID   string               `json:"organisation_uuid,omitzero"`
	SyncUserID         Int                  `json:"sync_user_id,omitzero"`
	Active             OptBool              `json:"active,omitzero"`
	Local              Bool                 `json:"local"`
	Roaming            Bool                 `json:"roaming"`
	Created            string               `json:"created,omitzero"`
	Modified           string               `json:"modified,omitzero"`
	Organisation       *Org                 `json:"Organisation,omitzero"`
	SharingGroupOrg    []SharingGroupOrg    `json:"SharingGroupOrg"`
	SharingGroupServer []SharingGroupServer `json:"SharingGroupServer"`
	Extra              Extra                `json:",embed"`
}

// Sighting records that an organisation saw (type 0), judged false positive (1), or expired
// (2) an attribute.
type Sighting struct {
	ID            Int    `json:"id,omitzero"`
	AttributeID   Int    `json:"attribute_id,omitzero"`
	EventID       Int    `json:"event_id,omitzero"`
	OrgID         Int    `json:"org_id"`
	DateSighting  Int    `json:"date_sighting"`
	UUID          string `json:"uuid"`
	Source        string `json:"source"`
	Type          Int    `json:"type"`
	Value         string `json:"value,omitzero"`
	AttributeUUID string `json:"attribute_uuid,omitzero"`
	EventUUID     string `json:"event_uuid,omitzero"`
	Organisation  *Org   `json:"Organisation,omitzero"`
	Extra         Extra  `json:",embed"`
}

// ShadowAttribute is a proposal: a change to an attribute (or a new one) suggested by
// another organisation for the event owner to accept or discard.
type ShadowAttribute struct {
	ID                 Int    `json:"id,omitzero"`
	OldID              Int    `json:"old_id,omitzero"`
	EventID            Int    `json:"event_id,omitzero"`
	Type               string `json:"type"`
	Category           string `json:"category"`
	Value              string `json:"value"`
	ToIDs              Bool   `json:"to_ids"`
	UUID               string `json:"uuid,omitzero"`
	EventUUID          string `json:"event_uuid,omitzero"`
	OrgID              Int    `json:"org_id,omitzero"`
	Comment            string `json:"comment,omitzero"`
	Deleted            Bool   `json:"deleted,omitzero"`
	ProposalToDelete   Bool   `json:"proposal_to_delete,omitzero"`
	Timestamp          Int    `json:"timestamp,omitzero"`
	DisableCorrelation Bool   `json:"disable_correlation"`
	FirstSeen          Text   `json:"first_seen,omitzero"`
	LastSeen           Text   `json:"last_seen,omitzero"`
	Data               string `json:"data,omitzero"`
	Org                *Org   `json:"Org,omitzero"`
	Extra              Extra  `json:",embed"`
}

// GalaxyCluster is one cluster of a galaxy (a threat actor, a technique…) attached to an
// event or attribute. Its metadata, distribution and authorship travel in Extra; its
// relations, which have their own sharing, are modelled.
// Local and RelationshipType belong to the attachment, not to the cluster.
type GalaxyCluster struct {
	ID               Int    `json:"id,omitzero"`
	UUID             string `json:"uuid"`
	Type             string `json:"type"`
	Value            string `json:"value"`
	TagName          string `json:"tag_name"`
	Description      string `json:"description"`
	GalaxyID         Int    `json:"galaxy_id,omitzero"`
	Version          Int    `json:"version,omitzero"`
	Local            Bool   `json:"local"`             // always, as MISP shows an attached cluster
	RelationshipType Text   `json:"relationship_type"` // null when none
	// GalaxyClusterRelation are the cluster's relations to other clusters, each shared by
	// its own distribution.
	GalaxyClusterRelation ClusterRelations `json:"GalaxyClusterRelation,omitzero"`
	Extra                 Extra            `json:",embed"`
}

// Galaxy is a family of clusters; in an event it lists the clusters attached to it.
type Galaxy struct {
	ID            Int             `json:"id,omitzero"`
	UUID          string          `json:"uuid"`
	Name          string          `json:"name"`
	Type          string          `json:"type"`
	Description   string          `json:"description"`
	Version       Str             `json:"version"`
	Icon          string          `json:"icon,omitzero"`
	Namespace     string          `json:"namespace,omitzero"`
	GalaxyCluster []GalaxyCluster `json:"GalaxyCluster"`
	Extra         Extra           `json:",embed"`
}

// Attribute is one indicator or observable of an event or object.
type Attribute struct {
	ID                 Int               `json:"id,omitzero"`
	Type               string            `json:"type"`
	Category           string            `json:"category"`
	ToIDs              Bool              `json:"to_ids"`
	UUID               string            `json:"uuid"`
	EventID            Int               `json:"event_id,omitzero"`
	Distribution       Distribution      `json:"distribution"`
	Timestamp          Int               `json:"timestamp"`
	Comment            string            `json:"comment"`
	SharingGroupID     Int               `json:"sharing_group_id"`
	Deleted            Bool              `json:"deleted"`
	DisableCorrelation Bool              `json:"disable_correlation"`
	ObjectID           Int               `json:"object_id"` // "0" outside an object, as MISP shows it
	ObjectRelation     Text              `json:"object_relation"`
	FirstSeen          Text              `json:"first_seen"`
	LastSeen           Text              `json:"last_seen"`
	Value              string            `json:"value"`
	Data               string            `json:"data,omitzero"`
	SharingGroup       *SharingGroup     `json:"SharingGroup,omitzero"`
	Tag                []Tag             `json:"Tag,omitzero"`
	Galaxy             []Galaxy          `json:"Galaxy"`          // always, [] when none, as MISP shows it
	ShadowAttribute    []ShadowAttribute `json:"ShadowAttribute"` // always, [] when none, as MISP shows it
	Sighting           []Sighting        `json:"Sighting,omitzero"`
	Extra              Extra             `json:",embed"`
}

// ObjectReference links an object to another object or attribute of the same event.
// ReferencedType is 0 for an attribute and 1 for an object.
type ObjectReference struct {
	ID               Int    `json:"id,omitzero"`
	UUID             string `json:"uuid"`
	Timestamp        Int    `json:"timestamp"`
	ObjectID         Int    `json:"object_id,omitzero"`
	EventID          Int    `json:"event_id,omitzero"`
	SourceUUID       string `json:"source_uuid,omitzero"`
	ObjectUUID       string `json:"object_uuid,omitzero"`
	ReferencedUUID   string `json:"referenced_uuid"`
	ReferencedID     Int    `json:"referenced_id"`
	ReferencedType   Int    `json:"referenced_type"`
	RelationshipType string `json:"relationship_type"`
	Comment          string `json:"comment"`
	Deleted          Bool   `json:"deleted"`
	// Referenced is MISP's summary of the referenced element (its "Object" or "Attribute"
	// member). It is derived data: never stored, and never sent on, because it would carry a
	// value that distribution may have removed.
	Referenced jsontext.Value `json:"-"`
	Extra      Extra          `json:",embed"`
}

// Object is a MISP object: attributes grouped by a template (file, domain-ip…).
type Object struct {
	ID              Int               `json:"id,omitzero"`
	Name            string            `json:"name"`
	MetaCategory    string            `json:"meta-category"`
	Description     string            `json:"description,omitzero"` // absent when unknown: MISP refuses an empty one
	TemplateUUID    string            `json:"template_uuid"`
	TemplateVersion Int               `json:"template_version"`
	EventID         Int               `json:"event_id,omitzero"`
	UUID            string            `json:"uuid"`
	Timestamp       Int               `json:"timestamp"`
	Distribution    Distribution      `json:"distribution"`
	SharingGroupID  Int               `json:"sharing_group_id"`
	Comment         string            `json:"comment"`
	Deleted         Bool              `json:"deleted"`
	FirstSeen       Text              `json:"first_seen"`
	LastSeen        Text              `json:"last_seen"`
	SharingGroup    *SharingGroup     `json:"SharingGroup,omitzero"`
	ObjectReference []ObjectReference `json:"ObjectReference"`
	Attribute       []Attribute       `json:"Attribute"`
	Extra           Extra             `json:",embed"`
}

// EventReport is a markdown report attached to an event.
type EventReport struct {
	ID             Int           `json:"id,omitzero"`
	UUID           string        `json:"uuid"`
	EventID        Int           `json:"event_id,omitzero"`
	Name           string        `json:"name"`
	Content        string        `json:"content"`
	Distribution   Distribution  `json:"distribution"`
	SharingGroupID Int           `json:"sharing_group_id"`
	Timestamp      Int           `json:"timestamp"`
	Deleted        Bool          `json:"deleted"`
	SharingGroup   *SharingGroup `json:"SharingGroup,omitzero"`
	Extra          Extra         `json:",embed"`
}

// Event is a MISP event with everything attached to it.
type Event struct {
	ID                 Int               `json:"id,omitzero"`
	OrgcID             Int               `json:"orgc_id,omitzero"`
	OrgID              Int               `json:"org_id,omitzero"`
	Date               string            `json:"date"`
	ThreatLevelID      Int               `json:"threat_level_id"`
	Info               string            `json:"info"`
	Published          Bool              `json:"published"`
	UUID               string            `json:"uuid"`
	AttributeCount     Int               `json:"attribute_count,omitzero"`
	Analysis           Analysis          `json:"analysis"`
	Timestamp          Int               `json:"timestamp"`
	Distribution       Distribution      `json:"distribution"`
	ProposalEmailLock  Bool              `json:"proposal_email_lock"`
	Locked             Bool              `json:"locked"`
	PublishTimestamp   Int               `json:"publish_timestamp"`
	SightingTimestamp  Int               `json:"sighting_timestamp,omitzero"`
	SharingGroupID     Int               `json:"sharing_group_id"`
	DisableCorrelation Bool              `json:"disable_correlation"`
	ExtendsUUID        string            `json:"extends_uuid"`
	Protected          OptBool           `json:"protected"`
	EventCreatorEmail  string            `json:"event_creator_email,omitzero"`
	Org                *Org              `json:"Org,omitzero"`
	Orgc               *Org              `json:"Orgc,omitzero"`
	SharingGroup       *SharingGroup     `json:"SharingGroup,omitzero"`
	Tag                []Tag             `json:"Tag,omitzero"`
	Attribute          []Attribute       `json:"Attribute"`
	Object             []Object          `json:"Object"`
	EventReport        []EventReport     `json:"EventReport"`     // always, [] when none, as MISP shows it
	ShadowAttribute    []ShadowAttribute `json:"ShadowAttribute"` // always, [] when none, as MISP shows it
	Galaxy             []Galaxy          `json:"Galaxy"`          // always, [] when none, as MISP shows it
	// RelatedEvent lists the correlations the sending instance computed; it is that
	// instance's local view, so it is neither stored nor sent on.
	RelatedEvent jsontext.Value `json:"-"`
	// Dropped lists the attributes Normalize took out because MISP refuses them, for the
	// caller's log; it is neither stored nor sent.
	Dropped []DroppedAttribute `json:"-"`
	Extra   Extra              `json:",embed"`
}

// The defaults for absent members differ by element: an attribute, object or report
// without a distribution inherits the event's (MISP's default_attribute_distribution), an
// event without one is left for the importer to decide.
type (
	plainAttribute       Attribute
	plainObject          Object
	plainEventReport     EventReport
	plainEvent           Event
	plainObjectReference ObjectReference
)

// UnmarshalJSONFrom decodes an attribute whose absent distribution means "inherit".
func (a *Attribute) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*a = Attribute{Distribution: InheritEvent}
	return json.UnmarshalDecode(dec, (*plainAttribute)(a))
}

// UnmarshalJSONFrom decodes an object whose absent distribution means "inherit".
func (o *Object) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*o = Object{Distribution: InheritEvent}
	return json.UnmarshalDecode(dec, (*plainObject)(o))
}

// UnmarshalJSONFrom decodes a report whose absent distribution means "inherit".
func (r *EventReport) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*r = EventReport{Distribution: InheritEvent}
	return json.UnmarshalDecode(dec, (*plainEventReport)(r))
}

// UnmarshalJSONFrom decodes an event; an absent distribution stays DistributionUnknown.
func (e *Event) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*e = Event{Distribution: DistributionUnknown}
	if err := json.UnmarshalDecode(dec, (*plainEvent)(e)); err != nil {
		return err
	}
	if v, ok := e.Extra["RelatedEvent"]; ok {
		e.RelatedEvent = v
		delete(e.Extra, "RelatedEvent")
	}
	return nil
}

// MarshalJSONTo writes the event as MISP does, with its CryptographicKey list ([] when it
// has none: the list lives in Extra, as the model does not read it).
func (e Event) MarshalJSONTo(enc *jsontext.Encoder) error {
	if _, ok := e.Extra["CryptographicKey"]; !ok {
		extra := make(Extra, len(e.Extra)+1)
		maps.Copy(extra, e.Extra)
		extra["CryptographicKey"] = jsontext.Value("[]")
		e.Extra = extra
	}
	return json.MarshalEncode(enc, (*plainEvent)(&e))
}

// UnmarshalJSONFrom decodes a reference, setting aside MISP's derived summary of its target.
func (r *ObjectReference) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*r = ObjectReference{}
	if err := json.UnmarshalDecode(dec, (*plainObjectReference)(r)); err != nil {
		return err
	}
	for _, k := range [...]string{"Object", "Attribute"} {
		if v, ok := r.Extra[k]; ok {
			r.Referenced = v
			delete(r.Extra, k)
		}
	}
	return nil
}

// PHP encodes an empty associative array as [], so MISP sends "SharingGroup":[] or
// "Org":[] for "none". Both decode to an empty value that Normalize turns into nil.
type (
	plainSharingGroup SharingGroup
	plainOrg          Org
)

// UnmarshalJSONFrom decodes a sharing group, taking PHP's [] as empty.
func (g *SharingGroup) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*g = SharingGroup{}
	if dec.PeekKind() == '[' {
		return skipEmptyArray(dec)
	}
	return json.UnmarshalDecode(dec, (*plainSharingGroup)(g))
}

// UnmarshalJSONFrom decodes an organisation, taking PHP's [] as empty.
func (o *Org) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*o = Org{}
	if dec.PeekKind() == '[' {
		return skipEmptyArray(dec)
	}
	return json.UnmarshalDecode(dec, (*plainOrg)(o))
}

func skipEmptyArray(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	if string(v) != "[]" && len(bytes.TrimSpace(v[1:len(v)-1])) != 0 {
		return fmt.Errorf("want an object, got a non-empty array")
	}
	return nil
}

// IsComposite reports whether values of an attribute type hold two parts joined by "|"
// ("filename|md5", "ip-dst|port", malware-sample's "filename|md5").
func IsComposite(typ string) bool {
	return typ == "malware-sample" || strings.Contains(typ, "|")
}
