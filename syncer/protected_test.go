package syncer

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"mispdesk/store"
	"mispdesk/store/misp"
)

// signingKey is the public key a protected event names as allowed to sign it (MISP's
// Event.CryptographicKey); its content is never checked here.
var signingKey = json.RawMessage(`[{"type":"pgp","fingerprint":"0123456789ABCDEF0123456789ABCDEF01234567","key_data":"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxjMEZ\n-----END PGP PUBLIC KEY BLOCK-----","parent_type":"Event"}]`)

func protect(e *misp.Event) {
	e.Distribution, e.Published = misp.AllCommunities, true
	e.Protected = misp.OptBool{Set: true, Value: true}
	if e.Extra == nil {
		e.Extra = misp.Extra{}
	}
	e.Extra["CryptographicKey"] = []byte(signingKey)
}

// A protected event never leaves unsigned: A's push refuses it and its sync log says
// why, while A's unprotected event goes; B's pull does not find it in A's index (MISP
// lists a protected event only where it can be signed); and A keeps it protected with its
// keys.
func TestProtectedEventsNeverLeaveUnsigned(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	ev := a.importFile(t, smallEvent, protect)
	plain := a.importFile(t, objEvent, func(e *misp.Event) { e.Distribution, e.Published = misp.AllCommunities, true })
	connect(t, a, b, store.ServerOptions{Push: true})
	if _, err := a.eng.Push(ctx, a.serverID("B"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if b.event(t, ev.UUID) != nil {
		t.Error("A pushed a protected event it cannot sign")
	}
	if b.event(t, plain.UUID) == nil {
		t.Error("A's unprotected event did not go")
	}
	logged, _ := a.st.LogSince(ctx, 0, 200, store.LogFilter{Direction: "push"})
	said := false
	for _, e := range logged {
		said = said || (e.EventUUID == ev.UUID && e.Outcome == "refused" && strings.Contains(e.Message, "protected"))
	}
	if !said {
		t.Error("A's sync log does not say why the protected event was not pushed")
	}

	srv := connect(t, b, a, store.ServerOptions{Pull: true})
	for _, filter := range []map[string]any{{"minimal": 1, "published": 1}, {}} {
		status, index := restStatus(t, a, srv.Authkey, "POST", "/events/index", filter)
		if status != http.StatusOK || !strings.Contains(string(index), plain.UUID) || strings.Contains(string(index), ev.UUID) {
			t.Errorf("A's index %v for B's sync user (%d) should list the plain event and not the protected one: %.300s", filter, status, index)
		}
	}
	if _, err := b.eng.Pull(ctx, b.serverID("A"), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if b.event(t, ev.UUID) != nil {
		t.Error("B pulled a protected event from an instance that cannot sign it")
	}
	kept := a.event(t, ev.UUID)
	if kept == nil || !kept.Protected.Value || kept.Extra["CryptographicKey"] == nil {
		t.Errorf("A's protected event lost its protection or keys: %+v", kept)
	}
}

// A protected event pushed by a sync account is taken as MISP takes it: with an
// X-Pgp-Signature of the body (white space removed) by one of the event's keys; without
// one, or with one that does not validate (garbage, or another key's), it is refused
// with MISP's 405 messages. A site admin's is stored without a signature. Either way it
// is kept protected and with its keys.
func TestProtectedEventPushedIn(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	srv := connect(t, b, a, store.ServerOptions{Push: true})
	signer, other := newSigner(t, "signer"), newSigner(t, "other")
	body := func(path string) map[string]any {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		e, err := misp.ParseEvent(src)
		if err != nil {
			t.Fatal(err)
		}
		protect(e)
		e.Extra["CryptographicKey"] = []byte(`[{"type":"pgp","parent_type":"Event","key_data":` + jsonString(armoredPublic(t, signer)) + `}]`)
		e.Locked = true
		raw, err := misp.MarshalEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	pushed := body(smallEvent)
	uuid := pushed["Event"].(map[string]any)["uuid"].(string)
	for _, c := range []struct{ name, sig, want string }{
		{"none", "", "Protected event failed signature validation as no key was provided."},
		{"garbage", "c2lnbmF0dXJl", "Protected event failed signature validation."},
		{"another key's", sign(t, other, pushed), "Protected event failed signature validation."},
	} {
		status, answer := restStatusHeader(t, a, srv.Authkey, "POST", "/events/add", pushed, c.sig)
		if status != http.StatusMethodNotAllowed || !strings.Contains(string(answer), c.want) {
			t.Errorf("a sync account's protected event, signature %s: %d %s, want 405 %q", c.name, status, answer, c.want)
		}
		if a.event(t, uuid) != nil {
			t.Fatalf("the protected event with signature %s was stored", c.name)
		}
	}
	status, answer := restStatusHeader(t, a, srv.Authkey, "POST", "/events/add", pushed, sign(t, signer, pushed))
	if status != http.StatusOK {
		t.Fatalf("a protected event signed by its key: %d %s", status, answer)
	}
	if got := a.event(t, uuid); got == nil || !got.Protected.Value || got.Extra["CryptographicKey"] == nil {
		t.Errorf("the signed protected event was not stored protected with its keys: %+v", got)
	}

	adminEvent := body(objEvent)
	adminUUID := adminEvent["Event"].(map[string]any)["uuid"].(string)
	admin := userKey(t, a, "admin2@a.test", a.host.UUID, "admin")
	rest(t, a, admin, "POST", "/events/add", adminEvent)
	if got := a.event(t, adminUUID); got == nil || !got.Protected.Value || got.Extra["CryptographicKey"] == nil {
		t.Errorf("the site admin's protected event was not stored protected with its keys: %+v", got)
	}
}

func newSigner(t *testing.T, name string) *openpgp.Entity {
	t.Helper()
	e, err := openpgp.NewEntity(name, "", name+"@example.test", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func armoredPublic(t *testing.T, e *openpgp.Entity) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return buf.String()
}

// sign is the X-Pgp-Signature MISP's ServerSyncTool sends for body: a binary detached
// signature of the JSON with every white space removed, in base64.
func sign(t *testing.T, e *openpgp.Entity, body any) string {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	stripped := strings.Map(func(r rune) rune {
		if strings.ContainsRune(" \t\n\v\f\r", r) {
			return -1
		}
		return r
	}, string(raw))
	var sig bytes.Buffer
	if err := openpgp.DetachSign(&sig, e, strings.NewReader(stripped), nil); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig.Bytes())
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// restStatusHeader calls a node's REST API as restStatus does, with an X-Pgp-Signature
// header when sig is set.
func restStatusHeader(t *testing.T, n *node, key, method, path string, body any, sig string) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, n.http.URL+path, bytes.NewReader(b))
	req.Header.Set("Authorization", key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set("X-Pgp-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}
