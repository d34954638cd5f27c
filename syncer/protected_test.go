package syncer

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

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
	if _, err := a.eng.Push(ctx, "B", RunOptions{}); err != nil {
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
	if _, err := b.eng.Pull(ctx, "A", RunOptions{}); err != nil {
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

// A protected event pushed by a sync account is refused with MISP's answers (405; no
// X-Pgp-Signature, or one mispdesk cannot validate); a site admin's is stored, protected
// and with its cryptographic keys, as MISP stores it.
func TestProtectedEventPushedIn(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	srv := connect(t, b, a, store.ServerOptions{Push: true})
	src, err := os.ReadFile(smallEvent)
	if err != nil {
		t.Fatal(err)
	}
	e, err := misp.ParseEvent(src)
	if err != nil {
		t.Fatal(err)
	}
	protect(e)
	e.Locked = true
	raw, err := misp.MarshalEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	uuid := body["Event"].(map[string]any)["uuid"].(string)
	for _, c := range []struct{ sig, want string }{
		{"", "Protected event failed signature validation as no key was provided."},
		{"c2lnbmF0dXJl", "Protected event failed signature validation."},
	} {
		status, answer := restStatusHeader(t, a, srv.Authkey, "POST", "/events/add", body, c.sig)
		if status != http.StatusMethodNotAllowed || !strings.Contains(string(answer), c.want) {
			t.Errorf("a sync account's protected event (signature %q): %d %s, want 405 %q", c.sig, status, answer, c.want)
		}
		if a.event(t, uuid) != nil {
			t.Fatal("the refused protected event was stored")
		}
	}
	admin := userKey(t, a, "admin2@a.test", a.host.UUID, "admin")
	rest(t, a, admin, "POST", "/events/add", body)
	got := a.event(t, uuid)
	if got == nil || !got.Protected.Value || got.Extra["CryptographicKey"] == nil {
		t.Errorf("the site admin's protected event was not stored protected with its keys: %+v", got)
	}
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
