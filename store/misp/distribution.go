package misp

import (
	"fmt"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// Distribution is MISP's distribution level of an event, object, attribute, event report or
// galaxy cluster.
type Distribution int8

// The levels, with MISP's numbers.
const (
	OrgOnly             Distribution = 0 // Your organisation only
	CommunityOnly       Distribution = 1 // This community only
	ConnectedCommunity  Distribution = 2 // Connected communities
	AllCommunities      Distribution = 3 // All communities
	SharingGroupDist    Distribution = 4 // Sharing group
	InheritEvent        Distribution = 5 // Inherit event (children only)
	DistributionUnknown Distribution = -1
)

var distributionNames = [...]string{
	"Your organisation only",
	"This community only",
	"Connected communities",
	"All communities",
	"Sharing group",
	"Inherit event",
}

// String is MISP's own label for the level.
func (d Distribution) String() string {
	if d >= 0 && int(d) < len(distributionNames) {
		return distributionNames[d]
	}
	return "unknown distribution " + strconv.Itoa(int(d))
}

// Abbrev names the level in a few letters, for a table column: org, comm, conn,
// all, sg, inh; "?" for an unknown level.
func (d Distribution) Abbrev() string {
	if d >= 0 && int(d) < len(distributionAbbrevs) {
		return distributionAbbrevs[d]
	}
	return "?"
}

var distributionAbbrevs = [...]string{"org", "comm", "conn", "all", "sg", "inh"}

// Valid reports whether d is one of MISP's six levels.
func (d Distribution) Valid() bool { return d >= OrgOnly && d <= InheritEvent }

// UnmarshalJSONFrom accepts the level as a number or numeric string; anything outside 0–5
// is refused, because an unknown level cannot be shared safely.
func (d *Distribution) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	if v.Kind() == 'n' {
		return nil // absent: the element's default stands
	}
	n, err := parseFlexInt(v)
	if err != nil {
		return err
	}
	if n < 0 || n > int64(InheritEvent) {
		return fmt.Errorf("distribution %d is not one of MISP's levels 0-5", n)
	}
	*d = Distribution(n)
	return nil
}

// MarshalJSONTo writes the level as a string, as MISP does, and an unknown level (an event
// that arrived without one) as null.
func (d Distribution) MarshalJSONTo(enc *jsontext.Encoder) error {
	if !d.Valid() {
		return enc.WriteToken(jsontext.Null)
	}
	return enc.WriteToken(jsontext.String(strconv.Itoa(int(d))))
}

// Analysis is an event's analysis state: 0 initial, 1 ongoing, 2 completed. MISP also
// accepts the words on input.
type Analysis int8

// UnmarshalJSONFrom accepts 0–2 as number or string, or "Initial", "Ongoing", "Completed".
func (a *Analysis) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	if v.Kind() == '"' {
		s, err := unquote(v)
		if err != nil {
			return err
		}
		switch s {
		case "Initial", "initial":
			*a = 0
			return nil
		case "Ongoing", "ongoing":
			*a = 1
			return nil
		case "Completed", "completed":
			*a = 2
			return nil
		}
	}
	n, err := parseFlexInt(v)
	if err != nil {
		return err
	}
	if n < 0 || n > 2 {
		return fmt.Errorf("analysis %d is not 0, 1 or 2", n)
	}
	*a = Analysis(n)
	return nil
}

// Name is the state in a word: initial, ongoing or completed; the number when
// it is none of those.
func (a Analysis) Name() string {
	if a >= 0 && int(a) < len(analysisNames) {
		return analysisNames[a]
	}
	return strconv.Itoa(int(a))
}

var analysisNames = [...]string{"initial", "ongoing", "completed"}

// ThreatLevelName is an event's threat level (threat_level_id) in a word: 1
// high, 2 medium, 3 low, 4 undefined; the number when it is none of those.
func ThreatLevelName(n int64) string {
	switch n {
	case 1:
		return "high"
	case 2:
		return "medium"
	case 3:
		return "low"
	case 4:
		return "undefined"
	}
	return strconv.FormatInt(n, 10)
}

// MarshalJSONTo writes the state as a string, as MISP does.
func (a Analysis) MarshalJSONTo(enc *jsontext.Encoder) error {
	return enc.WriteToken(jsontext.String(strconv.Itoa(int(a))))
}
