package misp

import (
	"bytes"
	"fmt"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// ClusterSharing is what sharing decisions read of a galaxy cluster. Clusters keep these
// members in Extra because MISP's shapes for them vary by version and endpoint.
type ClusterSharing struct {
	// Default marks a cluster of MISP's shared galaxy library (misp-galaxy), which every
	// instance has: it is visible to all.
	Default        bool
	Distribution   Distribution
	SharingGroupID Int
	SharingGroup   *SharingGroup
	// OrgUUID and OrgcUUID are the owning and creating organisations, when the cluster
	// names them (its Org and Orgc members, or org_uuid/orgc_uuid).
	OrgUUID, OrgcUUID string
}

// Sharing reads the cluster's sharing members. A cluster that says neither whether it is a
// default cluster nor its distribution is one of MISP's library clusters as older MISP
// versions embed them in events, and is taken as default. A member that does not decode
// makes the cluster organisation-only, so that it is never shared on a guess.
func (c *GalaxyCluster) Sharing() ClusterSharing {
	var s ClusterSharing
	_, hasDefault := c.Extra["default"]
	_, hasDist := c.Extra["distribution"]
	if !hasDefault && !hasDist {
		s.Default = true
		return s
	}
	var m struct {
		Default        Bool          `json:"default"`
		Distribution   Distribution  `json:"distribution"`
		SharingGroupID Int           `json:"sharing_group_id"`
		SharingGroup   *SharingGroup `json:"SharingGroup"`
		OrgUUID        string        `json:"org_uuid"`
		OrgcUUID       string        `json:"orgc_uuid"`
		Org            *Org          `json:"Org"`
		Orgc           *Org          `json:"Orgc"`
	}
	b, err := json.Marshal(c.Extra)
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		return ClusterSharing{Distribution: OrgOnly}
	}
	s = ClusterSharing{Default: bool(m.Default), Distribution: m.Distribution, SharingGroupID: m.SharingGroupID,
		SharingGroup: m.SharingGroup, OrgUUID: m.OrgUUID, OrgcUUID: m.OrgcUUID}
	if m.Org != nil && m.Org.UUID != "" {
		s.OrgUUID = m.Org.UUID
	}
	if m.Orgc != nil && m.Orgc.UUID != "" {
		s.OrgcUUID = m.Orgc.UUID
	}
	if s.SharingGroup != nil && s.SharingGroup.UUID == "" {
		s.SharingGroup = nil
	}
	return s
}

// SetClusterSharingGroup replaces the cluster's SharingGroup member with sg (this
// instance's group of that UUID), or removes it when sg is nil.
func SetClusterSharingGroup(c *GalaxyCluster, sg *SharingGroup) error {
	if sg == nil {
		delete(c.Extra, "SharingGroup")
		return nil
	}
	b, err := json.Marshal(sg, json.Deterministic(true))
	if err != nil {
		return err
	}
	if c.Extra == nil {
		c.Extra = Extra{}
	}
	c.Extra["SharingGroup"] = b
	return nil
}

// SetDistribution writes the cluster's distribution member, as MISP writes it (a string).
func (c *GalaxyCluster) SetDistribution(d Distribution) { setDistribution(&c.Extra, d) }

// SetDistribution writes the galaxy's distribution member, as MISP writes it (a string).
func (g *Galaxy) SetDistribution(d Distribution) { setDistribution(&g.Extra, d) }

func setDistribution(x *Extra, d Distribution) {
	if *x == nil {
		*x = Extra{}
	}
	(*x)["distribution"] = []byte(`"` + string(rune('0'+d)) + `"`)
}

// GalaxySharing is what a galaxy embedded in an event says of its own sharing (MISP's
// Galaxy members default and distribution).
type GalaxySharing struct {
	// Custom: the galaxy says it is not one of MISP's library galaxies ("default": false).
	Custom bool
	// Distribution is the galaxy's own, when Stated.
	Distribution Distribution
	Stated       bool
}

// Sharing reads the galaxy's default and distribution members. A galaxy that says nothing
// is taken as a library galaxy, as older MISP versions embed them; a default member that
// does not decode makes it custom, so that it is never shared on a guess.
func (g *Galaxy) Sharing() GalaxySharing {
	var s GalaxySharing
	if raw, ok := g.Extra["default"]; ok {
		var b Bool
		s.Custom = json.Unmarshal(raw, &b) != nil || !bool(b)
	}
	if raw, ok := g.Extra["distribution"]; ok {
		s.Stated = json.Unmarshal(raw, &s.Distribution) == nil
	}
	return s
}

// ClusterRelation is one relation of a galaxy cluster to another (MISP's
// GalaxyClusterRelation). It is shared by its own distribution and sharing group, not the
// cluster's. The members sharing decisions do not read (its ids, galaxy_cluster_uuid,
// sharing_group_id, default…) stay in Extra.
type ClusterRelation struct {
	ReferencedUUID string        `json:"referenced_galaxy_cluster_uuid"`
	ReferencedType string        `json:"referenced_galaxy_cluster_type"`
	Distribution   Distribution  `json:"distribution"`
	SharingGroup   *SharingGroup `json:"SharingGroup,omitzero"`
	Tag            []Tag         `json:"Tag,omitzero"`
	Extra          Extra         `json:",embed"`
}

// ClusterRelations is a cluster's list of relations. MISP writes it as a list, or as an
// object keyed by position when some were removed; both are read. A relation that does
// not decode (a distribution outside MISP's levels, a member of the wrong shape) is left
// out: its sharing cannot be judged, so it is never passed on.
type ClusterRelations []ClusterRelation

// UnmarshalJSONFrom reads a list, an object of relations, or null.
func (rs *ClusterRelations) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	var items []jsontext.Value
	switch v.Kind() {
	case 'n':
		*rs = nil
		return nil
	case '[':
		if err := json.Unmarshal(v, &items); err != nil {
			return err
		}
	case '{':
		d := jsontext.NewDecoder(bytes.NewReader(v))
		if _, err := d.ReadToken(); err != nil {
			return err
		}
		for d.PeekKind() != '}' {
			if _, err := d.ReadToken(); err != nil {
				return err
			}
			item, err := d.ReadValue()
			if err != nil {
				return err
			}
			items = append(items, item.Clone())
		}
	default:
		return fmt.Errorf("galaxy cluster relations: a list or an object, not %s", v.Kind())
	}
	out := make(ClusterRelations, 0, len(items))
	for _, item := range items {
		var r ClusterRelation
		if item.Kind() == '{' && json.Unmarshal(item, &r) == nil {
			out = append(out, r)
		}
	}
	*rs = out
	return nil
}
