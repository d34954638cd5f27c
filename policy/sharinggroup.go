package policy

import (
	"strings"

	"mispdesk/store/misp"
)

// hasOrg reports whether the organisation (id, uuid) is listed in the group's
// SharingGroupOrg. An entry with an embedded Organisation is matched by it (UUID first);
// a bare org_id only when the entry carries no organisation.
func hasOrg(sg *misp.SharingGroup, id misp.Int, uuid string) bool {
	for i := range sg.SharingGroupOrg {
		m := &sg.SharingGroupOrg[i]
		if m.Organisation != nil {
			if sameOrg(m.Organisation, id, uuid) {
				return true
			}
			continue
		}
		if m.OrgID != 0 && m.OrgID == id {
			return true
		}
	}
	return false
}

// localEntry finds the group's entry for this instance: server_id 0 (MISP's "this
// instance") unless its URL names another, or any entry whose URL is this instance's.
func (inst *Instance) localEntry(sg *misp.SharingGroup) *misp.SharingGroupServer {
	for i := range sg.SharingGroupServer {
		s := &sg.SharingGroupServer[i]
		url := ""
		if s.Server != nil {
			url = s.Server.URL
		}
		if inst.isOwnURL(url) || (s.ServerID == 0 && strings.TrimSpace(url) == "") {
			return s
		}
	}
	return nil
}

// serverEntry finds the group's entry for a sync link: by its local id, or by its URL.
func serverEntry(sg *misp.SharingGroup, srv *Server) *misp.SharingGroupServer {
	for i := range sg.SharingGroupServer {
		s := &sg.SharingGroupServer[i]
		if srv.ID != 0 && int64(s.ServerID) == srv.ID {
			return s
		}
		if s.Server != nil && normalURL(s.Server.URL) != "" && normalURL(s.Server.URL) == normalURL(srv.URL) {
			return s
		}
	}
	return nil
}

// viewerInGroup reports whether a viewer's organisation may see data of the group on this
// instance: listed in the group, or the group lists this instance with "all orgs".
func (inst *Instance) viewerInGroup(sg *misp.SharingGroup, v *Viewer) bool {
	if hasOrg(sg, misp.Int(v.OrgID), v.OrgUUID) {
		return true
	}
	e := inst.localEntry(sg)
	return e != nil && bool(e.AllOrgs)
}

func sgName(sg *misp.SharingGroup) string {
	if sg == nil {
		return "(missing)"
	}
	if sg.Name != "" {
		return "'" + sg.Name + "'"
	}
	return sg.UUID
}

// CanSeeSharingGroup reports whether a viewer may see a sharing group itself (list it, read
// its members), as MISP's fetchAllAuthorised: a site admin; the organisation that made it;
// a member organisation; or any organisation here when the group lists this instance with
// "all orgs".
func (inst *Instance) CanSeeSharingGroup(v *Viewer, sg *misp.SharingGroup) bool {
	if v.SiteAdmin {
		return true
	}
	if sg.Organisation != nil && sameOrg(sg.Organisation, misp.Int(v.OrgID), v.OrgUUID) {
		return true
	}
	if sg.OrgID != 0 && int64(sg.OrgID) == v.OrgID {
		return true
	}
	return inst.viewerInGroup(sg, v)
}
