package policy

import (
	"strings"

	"mispdesk/store/misp"
)

// Instance is this mispdesk node as policy needs to know it.
type Instance struct {
	// HostOrg is the organisation running the instance (MISP.host_org_id). Internal links
	// only count when it is set (ID and UUID).
	HostOrg misp.Org
	// BaseURLs are the addresses peers know this instance by (MISP.baseurl and
	// MISP.external_baseurl); a sharing group's server entry with one of them is this
	// instance. The first one is sent in pushed sharing groups.
	BaseURLs []string
	// Sightings is the sightings policy (MISP's Plugin.Sightings_* settings).
	Sightings SightingsPolicy
}

// Server is a sync link as MISP's servers table has it (MISP's app/Model/Server.php).
type Server struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	URL      string `json:"url"`
	Internal bool   `json:"internal"`
	// Org is the local organisation owning the link (org_id): pulled events belong to it.
	Org misp.Org `json:"org"`
	// RemoteOrg is the remote instance's host organisation (remote_org_id): sharing-group
	// membership is checked against it on push.
	RemoteOrg misp.Org `json:"remote_org"`

	Push               bool `json:"push"`
	Pull               bool `json:"pull"`
	PushSightings      bool `json:"push_sightings"`
	PushGalaxyClusters bool `json:"push_galaxy_clusters"`
	PullGalaxyClusters bool `json:"pull_galaxy_clusters"`
	PushAnalystData    bool `json:"push_analyst_data"`
	PullAnalystData    bool `json:"pull_analyst_data"`
	UnpublishEvent     bool `json:"unpublish_event"`

	PushRules Rules `json:"push_rules"`
	PullRules Rules `json:"pull_rules"`
}

// RemoteViewer is the remote instance of the link as a viewer here: a sync account of its
// host organisation, as it sees this instance's data when it pulls and as what is pushed
// to it is judged (MISP's fakeSyncUser of Sighting::pushSightings).
func (s *Server) RemoteViewer() *Viewer {
	return &Viewer{OrgID: int64(s.RemoteOrg.ID), OrgUUID: s.RemoteOrg.UUID, PermSync: true}
}

// Viewer is a user asking to see data on this instance.
type Viewer struct {
	OrgID     int64  `json:"org_id"`
	OrgUUID   string `json:"org_uuid"`
	SiteAdmin bool   `json:"site_admin"`
	// PermSync marks a sync account: another instance acting through this user.
	PermSync bool `json:"perm_sync"`
	// Audit is MISP's perm_audit: with it a user sees the address of whoever created
	// an event of its own organisation (event_creator_email).
	Audit bool `json:"perm_audit"`
}

// Blocklists are MISP's event, organisation and analyst data blocklists (by UUID).
type Blocklists struct {
	Events UUIDSet
	Orgs   UUIDSet
	// AnalystData are notes, opinions and relationships deleted here, never taken back
	// (MISP's AnalystDataBlocklist).
	AnalystData UUIDSet
}

// UUIDSet is a set of UUIDs compared without regard to case.
type UUIDSet map[string]struct{}

// NewUUIDSet makes a set of the given UUIDs.
func NewUUIDSet(uuids ...string) UUIDSet {
	s := make(UUIDSet, len(uuids))
	for _, u := range uuids {
		s[strings.ToLower(strings.TrimSpace(u))] = struct{}{}
	}
	return s
}

// Has reports whether the set holds u; a nil set holds nothing.
func (s UUIDSet) Has(u string) bool {
	if len(s) == 0 || u == "" {
		return false
	}
	_, ok := s[strings.ToLower(u)]
	return ok
}

// isHostOrg reports whether org is this instance's host organisation. With no host org
// configured nothing is, so no link can be internal (as in MISP).
func (inst *Instance) isHostOrg(org misp.Org) bool {
	if inst.HostOrg.ID == 0 && inst.HostOrg.UUID == "" {
		return false
	}
	return sameOrg(&inst.HostOrg, org.ID, org.UUID)
}

// isOwnURL reports whether url is one of this instance's addresses.
func (inst *Instance) isOwnURL(url string) bool {
	url = normalURL(url)
	if url == "" {
		return false
	}
	for _, u := range inst.BaseURLs {
		if normalURL(u) == url {
			return true
		}
	}
	return false
}

func (inst *Instance) baseURL() string {
	if len(inst.BaseURLs) == 0 {
		return ""
	}
	return normalURL(inst.BaseURLs[0])
}

// normalURL compares addresses as MISP stores them: trailing "/" removed; scheme and host
// are not case-sensitive, so the whole address is lower-cased.
func normalURL(u string) string {
	return strings.ToLower(strings.TrimRight(strings.TrimSpace(u), "/"))
}

// sameOrg reports whether o is the organisation (id, uuid). Organisations are the same
// across instances only by UUID; a local numeric id is used only when a UUID is missing on
// either side, because an id from another instance means nothing here.
func sameOrg(o *misp.Org, id misp.Int, uuid string) bool {
	if o == nil {
		return false
	}
	if o.UUID != "" && uuid != "" {
		return strings.EqualFold(o.UUID, uuid)
	}
	return o.ID != 0 && o.ID == id
}
