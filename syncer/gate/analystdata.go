package gate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"

	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// AnalystItem is a stored note, opinion or relationship as policy reads it, with its
// creator organisation and, for distribution 4, its local sharing group.
func (c *Check) AnalystItem(d *store.AnalystData) (*misp.AnalystData, *misp.Org, error) {
	m := &misp.AnalystData{UUID: d.UUID, ObjectUUID: d.ObjectUUID, ObjectType: d.ObjectType, OrgUUID: d.OrgUUID,
		OrgcUUID: d.OrgcUUID, Distribution: misp.Distribution(d.Distribution), SharingGroupID: misp.Int(d.SharingGroupID)}
	if m.Distribution == misp.SharingGroupDist {
		sg, err := c.SharingGroup(d.SharingGroupID)
		if err != nil {
			return nil, nil, err
		}
		m.SharingGroup = sg
	}
	orgc := &misp.Org{UUID: d.OrgcUUID}
	if o, err := c.g.st.OrgByUUID(c.ctx, d.OrgcUUID); err == nil {
		orgc = &misp.Org{ID: misp.Int(o.ID), UUID: o.UUID, Name: o.Name}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, nil, err
	}
	return m, orgc, nil
}

// ArrivingAnalystData is one note, opinion or relationship that a peer sent (pushed, or
// answered to a pull), nested analyst data under it flattened out.
type ArrivingAnalystData struct {
	Kind string
	Item misp.AnalystData
}

// FlattenAnalystData lists an arriving item and the analyst data nested under it, each
// about the one it was nested under, children first (MISP saves from the leaves, so that
// children are kept even when their parent is not).
func FlattenAnalystData(kind string, a misp.AnalystData) []ArrivingAnalystData {
	var out []ArrivingAnalystData
	var walk func(kind string, a misp.AnalystData, depth int)
	walk = func(kind string, a misp.AnalystData, depth int) {
		if depth < maxAnalystDepth {
			for i, list := range a.Analyst.Kinds() {
				for _, child := range *list {
					if child.ObjectUUID == "" {
						child.ObjectUUID, child.ObjectType = a.UUID, kind
					}
					walk(misp.AnalystKinds[i], child, depth+1)
				}
			}
		}
		a.Analyst = misp.AnalystSet{}
		out = append(out, ArrivingAnalystData{Kind: kind, Item: a})
	}
	walk(kind, a, 0)
	return out
}

// Arrival is who an arriving item is stored for: the organisation that will own it
// (the pushing sync account's, or the link's on pull), the link it came by (nil when
// unknown), and the blocklists.
type Arrival struct {
	Owner store.Org
	From  *policy.Server
	Bl    policy.Blocklists
	// Internal lets a synced copy replace analyst data created here (an internal link).
	Internal bool
}

// analystColumns are the members of arriving analyst data that are columns or this
// instance's own view of it, never kept in its body.
var analystColumns = []string{"id", "uuid", "object_uuid", "object_type", "orgc_uuid", "org_uuid", "distribution",
	"sharing_group_id", "created", "modified", "locked", "Orgc", "Org", "SharingGroup", "note_type", "note_type_name", "_canEdit",
	"_max_depth_reached", misp.RelatedObject}

// ReceiveAnalystData decides with policy whether an arriving item may be stored and stores
// it as policy says (store.SaveSyncedAnalystData). A refusal by policy is returned as the
// decision with a nil record and no error.
func (g *Gate) ReceiveAnalystData(ctx context.Context, inst *policy.Instance, to Arrival, in ArrivingAnalystData) (*store.AnalystData, policy.Decision, error) {
	a := in.Item
	orgc := arrivingOrgc(&a)
	orgcUUID := to.Owner.UUID
	if orgc != nil {
		orgcUUID = orgc.UUID
	}
	res := inst.ReceiveAnalystData(Org(to.Owner), to.From, &a, orgcUUID, to.Bl)
	if !res.Allowed {
		return nil, res.Decision, nil
	}
	body := map[string]any{}
	for k, v := range a.Extra {
		body[k] = v
	}
	for _, k := range analystColumns {
		delete(body, k)
	}
	b, err := json.Marshal(body, json.Deterministic(true))
	if err != nil {
		return nil, res.Decision, fmt.Errorf("%s %s: %w", in.Kind, a.UUID, err)
	}
	created, modified := extraString(a.Extra, "created"), extraString(a.Extra, "modified")
	saved, err := g.st.SaveSyncedAnalystData(ctx, store.SyncedAnalystData{
		D: store.AnalystData{UUID: a.UUID, Kind: in.Kind, ObjectUUID: a.ObjectUUID, ObjectType: a.ObjectType,
			OrgUUID: to.Owner.UUID, Distribution: int64(res.Distribution), Created: created, Modified: modified, Body: b},
		Orgc: orgc, SharingGroup: res.SharingGroup, Internal: to.Internal,
	})
	return saved, res.Decision, err
}

// arrivingOrgc is the creator an item names in its Orgc member; nil when it names none, as
// MISP's captureOrganisationAndSG then takes the owner's.
func arrivingOrgc(a *misp.AnalystData) *misp.Org {
	var o misp.Org
	if v, ok := a.Extra["Orgc"]; ok && json.Unmarshal(v, &o) == nil && misp.IsUUID(o.UUID) {
		o.UUID = strings.ToLower(o.UUID)
		return &misp.Org{UUID: o.UUID, Name: o.Name}
	}
	return nil
}

func extraString(x misp.Extra, k string) string {
	var s string
	if v, ok := x[k]; ok {
		_ = json.Unmarshal(v, &s)
	}
	return s
}

// AnalystJSON is a stored item as MISP's AnalystData::afterFind shows it: its columns, its
// creator and owner organisations (Orgc, Org) and, for distribution 4, its sharing group,
// which a peer captures from it; for the viewer's pages, whether the viewer may edit it
// (_canEdit) and _max_depth_reached false, which AnalystListJSON and EmbedAnalystData set
// where the items about it are left out.
func (c *Check) AnalystJSON(d *store.AnalystData) (map[string]any, error) {
	m := map[string]any{}
	_ = json.Unmarshal(d.Body, &m)
	delete(m, misp.RelatedObject) // kept before it was known to be a reader's view, or written by a local user
	id := strconv.FormatInt
	m["id"], m["uuid"], m["object_uuid"], m["object_type"] = id(int64(d.ID), 10), d.UUID, d.ObjectUUID, d.ObjectType
	m["orgc_uuid"], m["org_uuid"], m["distribution"] = d.OrgcUUID, d.OrgUUID, id(d.Distribution, 10)
	m["sharing_group_id"], m["created"], m["modified"], m["locked"] = id(int64(d.SharingGroupID), 10), d.Created, d.Modified, d.Locked
	m["note_type_name"], m["note_type"] = d.Kind, slices.Index(misp.AnalystKinds[:], d.Kind)
	m["_canEdit"], m["_max_depth_reached"] = c.Viewer.MayEditAnalystData(d.OrgcUUID), false
	// the organisations' members MISP's model names for them (its Org and Orgc
	// associations), which organisations/view shows any caller with a key; not the rest
	// of the record (contacts, e-mail domains, who made it and when), which MISP's
	// attribute and object notes do carry
	for key, uuid := range map[string]string{"Orgc": d.OrgcUUID, "Org": d.OrgUUID} {
		o, err := c.g.st.OrgByUUID(c.ctx, uuid)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		m[key] = map[string]any{"id": id(int64(o.ID), 10), "uuid": o.UUID, "name": o.Name, "type": o.Type,
			"description": o.Description, "sector": o.Sector, "nationality": o.Nationality, "local": o.Local}
	}
	if d.Distribution == int64(misp.SharingGroupDist) {
		sg, err := c.SharingGroup(d.SharingGroupID)
		if err != nil {
			return nil, err
		}
		if sg != nil {
			m["SharingGroup"] = sg
		}
	}
	return m, nil
}

// AnalystListJSON is AnalystJSON of each item, as a page shows items on their own: the
// items about them are not nested, so _max_depth_reached says where the viewer may see
// some (MISP's hasMoreNotesOrOpinions).
func (c *Check) AnalystListJSON(list []store.AnalystData) ([]map[string]any, error) {
	uuids := make([]string, len(list))
	for i := range list {
		uuids[i] = list[i].UUID
	}
	more, err := c.moreAnalystAbout(uuids)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(list))
	for i := range list {
		m, err := c.AnalystJSON(&list[i])
		if err != nil {
			return nil, err
		}
		m["_max_depth_reached"] = more[strings.ToLower(list[i].UUID)]
		out = append(out, m)
	}
	return out, nil
}

// moreAnalystAbout reports which of the items (by UUID) have notes or opinions about them
// that the viewer may see by their own distribution (MISP's hasMoreNotesOrOpinions counts
// those two kinds).
func (c *Check) moreAnalystAbout(uuids []string) (map[string]bool, error) {
	more := map[string]bool{}
	if len(uuids) == 0 {
		return more, nil
	}
	items, err := c.g.st.AnalystDataAbout(c.ctx, uuids)
	if err != nil {
		return nil, err
	}
	for i := range items {
		d := &items[i]
		if d.Kind == "Relationship" || more[strings.ToLower(d.ObjectUUID)] {
			continue
		}
		item, _, err := c.AnalystItem(d)
		if err != nil {
			return nil, err
		}
		if c.inst.CanSeeAnalystData(c.Viewer, item) {
			more[strings.ToLower(d.ObjectUUID)] = true
		}
	}
	return more, nil
}

// EmbedAnalystData puts the stored notes, opinions and relationships about the event and
// its attributes, objects and reports, with those about them nested under them, into
// those elements' members, as MISP's REST events/view shows them (fetchEvent with
// includeAnalystData). It goes on the stored event before Event: Visible then keeps of
// them only what the viewer may see, each by its own distribution and sharing group, and
// only on elements the viewer sees. Items the event already carries are not repeated.
func (c *Check) EmbedAnalystData(ev *misp.Event) error {
	hosts := map[string]*misp.Extra{strings.ToLower(ev.UUID): &ev.Extra}
	for i := range ev.Attribute {
		hosts[ev.Attribute[i].UUID] = &ev.Attribute[i].Extra
	}
	for i := range ev.Object {
		o := &ev.Object[i]
		hosts[o.UUID] = &o.Extra
		for j := range o.Attribute {
			hosts[o.Attribute[j].UUID] = &o.Attribute[j].Extra
		}
	}
	for i := range ev.EventReport {
		hosts[ev.EventReport[i].UUID] = &ev.EventReport[i].Extra
	}
	// level by level: the items about the elements, then the items about those
	var levels [][]store.AnalystData
	about := make([]string, 0, len(hosts))
	for u := range hosts {
		about = append(about, u)
	}
	seen := map[string]bool{}
	for depth := 0; len(about) > 0 && depth <= maxAnalystDepth; depth++ {
		items, err := c.g.st.AnalystDataAbout(c.ctx, about)
		if err != nil {
			return err
		}
		about = about[:0]
		var level []store.AnalystData
		for _, d := range items {
			if !seen[d.UUID] && slices.Contains(misp.AnalystKinds[:], d.Kind) {
				seen[d.UUID] = true
				level = append(level, d)
				about = append(about, d.UUID)
			}
		}
		levels = append(levels, level)
	}
	// the last level read, when the depth ran out, leaves out the items about it
	capped, err := c.moreAnalystAbout(about)
	if err != nil {
		return err
	}
	// from the leaves up, each item with the items about it
	nested := map[string]*misp.AnalystSet{}
	for i := len(levels) - 1; i >= 0; i-- {
		for _, d := range levels[i] {
			m, err := c.AnalystJSON(&d)
			if err != nil {
				return err
			}
			m["_max_depth_reached"] = capped[strings.ToLower(d.UUID)]
			b, err := json.Marshal(m)
			if err != nil {
				return fmt.Errorf("%s %s: %w", d.Kind, d.UUID, err)
			}
			var item misp.AnalystData
			if err := json.Unmarshal(b, &item); err != nil {
				return fmt.Errorf("%s %s: %w", d.Kind, d.UUID, err)
			}
			if s := nested[d.UUID]; s != nil {
				item.Analyst = *s
			}
			parent := nested[d.ObjectUUID]
			if parent == nil {
				parent = &misp.AnalystSet{}
				nested[d.ObjectUUID] = parent
			}
			k := slices.Index(misp.AnalystKinds[:], d.Kind)
			*parent.Kinds()[k] = append(*parent.Kinds()[k], item)
		}
	}
	for u, x := range hosts {
		add := nested[u]
		if add == nil {
			continue
		}
		have, err := misp.TakeAnalystSet(*x)
		if err != nil {
			have = misp.AnalystSet{} // what the event carries cannot be judged: Visible would drop it
		}
		for k, list := range add.Kinds() {
			for _, item := range *list {
				if !slices.ContainsFunc(*have.Kinds()[k], func(h misp.AnalystData) bool { return strings.EqualFold(h.UUID, item.UUID) }) {
					*have.Kinds()[k] = append(*have.Kinds()[k], item)
				}
			}
		}
		if err := misp.PutAnalystSet(x, have); err != nil {
			return fmt.Errorf("analyst data on %s: %w", u, err)
		}
	}
	return nil
}
