package policy

import "mispdesk/store/misp"

// Protected events (MISP 2.4.156+: "protected": true, with the keys allowed to sign it in
// Event.CryptographicKey) travel between instances only signed: a push carries an
// X-Pgp-Signature made with the sending instance's signing key, which the receiver checks
// against the event's keys (EventsController::add/edit), and a pull checks the signature
// of the remote's answer the same way (Server::__checkIfPulledEventExistsAndAddOrUpdate).
// mispdesk has no instance signing key, so it never pushes a protected event; it takes one
// pushed in when the signature validates (syncer/mispapi/protected.go), and refuses one a
// pull brings rather than store it unverified. The event and its keys stay as they are
// where they are.

// Reasons given when a protected event is refused.
const (
	ReasonProtectedPush = "the event is protected (PGP-signed): MISP takes a protected event only with a signature by the sending instance's signing key (X-Pgp-Signature), and mispdesk has no signing key, so it is not pushed"
	ReasonProtectedPull = "the event is protected (PGP-signed): MISP stores a pulled protected event only when the remote's signature (X-Pgp-Signature) validates against the event's cryptographic keys, and mispdesk cannot validate PGP signatures, so it is not pulled"
)

// checkNotProtected blocks a protected event with reason.
func checkNotProtected(d *Decision, ev *misp.Event, reason string) bool {
	if ev.Protected.Set && ev.Protected.Value {
		d.block("protected", reason)
		return false
	}
	return true
}
