package mispapi

// Protected events pushed in (MISP 2.4.156+): EventsController::add and ::edit take a
// protected event from a sync account other than a site admin only with an
// X-Pgp-Signature header — a base64 detached OpenPGP signature of the request body with
// every white space removed (CryptographicKey::verifySignature) — that validates against
// one of the event's cryptographic keys: those the pushed event lists for a new event,
// those stored here for one this instance holds. What validates is carried, protected and
// with its keys; mispdesk itself never pushes or pulls a protected event on
// (policy/protected.go), as it has no signing key.

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/go-json-experiment/json"

	"mispdesk/store"
	"mispdesk/store/misp"
)

const (
	msgProtectedNoKey   = "Protected event failed signature validation as no key was provided."
	msgProtectedInvalid = "Protected event failed signature validation."
	// maxSignatureBytes bounds the X-Pgp-Signature header's decoded signature.
	maxSignatureBytes = 16 << 10
)

// mustSign reports whether the caller's protected events must come signed.
func (c *call) mustSign() bool {
	role := &c.who.User.Role
	return role.PermSync && !role.PermSiteAdmin
}

// keepSigned returns the body to decode, copying it white space removed into c.signed
// when the request carries a signature that may have to be checked.
func (c *call) keepSigned(r io.Reader) io.Reader {
	if !c.mustSign() || c.r.Header.Get("X-Pgp-Signature") == "" {
		return r
	}
	c.signed = &bytes.Buffer{}
	return io.TeeReader(r, spaceStripper{c.signed})
}

// spaceStripper writes what it is given without PCRE's \s (space, \t, \n, \v, \f, \r),
// as MISP's preg_replace("/\s+/", "", $data) before signing and verifying.
type spaceStripper struct{ w *bytes.Buffer }

func (s spaceStripper) Write(p []byte) (int, error) {
	for _, b := range p {
		switch b {
		case ' ', '\t', '\n', '\v', '\f', '\r':
		default:
			s.w.WriteByte(b)
		}
	}
	return len(p), nil
}

// checkProtected answers a sync account's protected event as MISP does: 405 without a
// signature, or with one that does not validate against the event's keys (the stored
// event's when this instance holds it). The request log says why a signature failed.
func (c *call) checkProtected(ev *misp.Event, local *store.IndexRow) error {
	storedProtected := local != nil && local.Protected.Valid && local.Protected.Int64 != 0
	if !c.mustSign() || !(storedProtected || (ev.Protected.Set && ev.Protected.Value)) {
		return nil
	}
	sig := strings.TrimSpace(c.r.Header.Get("X-Pgp-Signature"))
	if sig == "" || c.signed == nil {
		return httpError(http.StatusMethodNotAllowed, msgProtectedNoKey)
	}
	keys := ev.Extra["CryptographicKey"]
	if storedProtected {
		stored, err := c.a.st.Event(c.ctx, local.ID)
		if err != nil {
			return err
		}
		keys = stored.Extra["CryptographicKey"]
	}
	if err := verifyProtected(c.signed.Bytes(), sig, keys); err != nil {
		c.a.log.Warn("protected event refused", "event", ev.UUID, "by", c.who.User.Email, "reason", err.Error())
		return httpError(http.StatusMethodNotAllowed, msgProtectedInvalid)
	}
	return nil
}

// verifyProtected checks a base64 detached OpenPGP signature of data against the
// armored public keys of an event's CryptographicKey list.
func verifyProtected(data []byte, sigB64 string, keys []byte) error {
	if len(sigB64) > base64.StdEncoding.EncodedLen(maxSignatureBytes) {
		return errors.New("X-Pgp-Signature: longer than a signature")
	}
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	if err != nil {
		return fmt.Errorf("X-Pgp-Signature: not base64: %w", err)
	}
	var list []struct {
		Type    string `json:"type"`
		KeyData string `json:"key_data"`
	}
	if len(keys) > 0 {
		if err := json.Unmarshal(keys, &list); err != nil {
			return fmt.Errorf("CryptographicKey: %w", err)
		}
	}
	var ring openpgp.EntityList
	for _, k := range list {
		if k.Type != "" && !strings.EqualFold(k.Type, "pgp") {
			continue
		}
		if el, err := openpgp.ReadArmoredKeyRing(strings.NewReader(k.KeyData)); err == nil {
			ring = append(ring, el...)
		}
	}
	if len(ring) == 0 {
		return errors.New("no valid signatures found for validating the signature: the event lists no PGP key")
	}
	if _, err := openpgp.CheckDetachedSignature(ring, bytes.NewReader(data), bytes.NewReader(sig), nil); err != nil {
		return fmt.Errorf("could not validate the signature: %w", err)
	}
	return nil
}
