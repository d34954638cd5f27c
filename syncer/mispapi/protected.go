package mispapi

import (
	"net/http"

	"mispdesk/store/misp"
)

// refuseProtected answers a sync account's protected event (events/add or events/edit) as
// MISP's EventsController does when the signature does not validate: MISP takes it from
// a sync account other than a site admin only with an X-Pgp-Signature that validates
// against the event's cryptographic keys, and mispdesk does not validate PGP signatures
// (policy/protected.go). The request log says why.
func (c *call) refuseProtected(ev *misp.Event) error {
	role := &c.who.User.Role
	if !ev.Protected.Set || !ev.Protected.Value || !role.PermSync || role.PermSiteAdmin {
		return nil
	}
	msg := "Protected event failed signature validation as no key was provided."
	if c.r.Header.Get("X-Pgp-Signature") != "" {
		msg = "Protected event failed signature validation."
	}
	c.a.log.Warn("protected event refused", "event", ev.UUID, "by", c.who.User.Email,
		"reason", "mispdesk does not validate the PGP signature (X-Pgp-Signature) of a protected event against its cryptographic keys")
	return httpError(http.StatusMethodNotAllowed, msg)
}
