package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewAuthKey(t *testing.T) {
	seen := map[string]bool{}
	counts := map[byte]int{}
	for range 500 {
		k := newAuthKey()
		if !IsAuthKey(k) || seen[k] {
			t.Fatalf("bad or repeated key %q", k)
		}
		seen[k] = true
		for i := range len(k) {
			counts[k[i]]++
		}
	}
	// 20,000 characters over 62 symbols: every symbol shows up.
	if len(counts) != len(keyAlphabet) {
		t.Errorf("keys use %d of %d symbols", len(counts), len(keyAlphabet))
	}
	for _, bad := range []string{"", strings.Repeat("a", 39), strings.Repeat("a", 41), strings.Repeat("a", 39) + "-", strings.Repeat("é", 20)} {
		if IsAuthKey(bad) {
			t.Errorf("IsAuthKey(%q) = true", bad)
		}
	}
}

// keyUser makes an org and a user of role and returns the user's email and first key.
func keyUser(t *testing.T, s *Store, role string) (string, string) {
	t.Helper()
	mustOrg(t, s, "ORG-"+role)
	email := role + "@org.test"
	_, key, err := s.AddUser(context.Background(), NewUser{Email: email, OrgRef: "ORG-" + role, RoleRef: role})
	if err != nil {
		t.Fatal(err)
	}
	return email, key
}

func TestAuthKeysStoredAsHash(t *testing.T) {
	ctx := context.Background()
	s, _ := openClocked(t)
	email, first := keyUser(t, s, "user")
	k, key, err := s.AddAuthKey(ctx, mustResolve(t, s.ResolveUser, email), AuthKeyOptions{Comment: "for PyMISP", AllowedIPs: []string{"10.0.0.0/8", "192.168.1.7", "2001:db8::/32"}})
	if err != nil {
		t.Fatal(err)
	}
	if key == first || k.AuthkeyStart != key[:4] || k.AuthkeyEnd != key[36:] {
		t.Errorf("key %+v does not match its clear text", k)
	}
	if got := strings.Join(k.AllowedIPs, ","); got != "10.0.0.0/8,192.168.1.7/32,2001:db8::/32" {
		t.Errorf("allowed IPs = %s", got)
	}
	var raw []byte
	var rows int
	s.read.QueryRowContext(ctx, `SELECT count(*) FROM auth_keys WHERE hex(key_hash) LIKE '%'||hex(?)||'%'`, key).Scan(&rows)
	if rows != 0 {
		t.Error("the clear key is stored")
	}
	s.read.QueryRowContext(ctx, `SELECT key_hash FROM auth_keys WHERE id = ?`, k.ID).Scan(&raw)
	if string(raw) != string(hashKey(key)) {
		t.Error("key_hash is not the key's SHA-256")
	}
	keys, err := s.AuthKeys(ctx, mustResolve(t, s.ResolveUser, email))
	if err != nil || len(keys) != 2 || keys[1].Comment != "for PyMISP" {
		t.Fatalf("AuthKeys = %+v, %v", keys, err)
	}
	b, _ := json.Marshal(keys)
	if strings.Contains(string(b), key) || strings.Contains(string(b), first) {
		t.Error("AuthKeys shows a clear key")
	}
	if _, err := s.AuthKeys(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("AuthKeys of unknown user: %v", err)
	}
	if _, _, err := s.AddAuthKey(ctx, 999, AuthKeyOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("AddAuthKey for unknown user: %v", err)
	}
	if _, _, err := s.AddAuthKey(ctx, mustResolve(t, s.ResolveUser, email), AuthKeyOptions{AllowedIPs: []string{"10.0.0.300"}}); err == nil || !strings.Contains(err.Error(), "10.0.0.300") {
		t.Errorf("bad allowed IP: %v", err)
	}
	if _, _, err := s.AddAuthKey(ctx, mustResolve(t, s.ResolveUser, email), AuthKeyOptions{Expiration: s.now().Add(-time.Hour)}); err == nil {
		t.Error("a key expiring in the past was accepted")
	}

	deleteByRef := func(ref string) error {
		id, err := s.ResolveAuthKey(ctx, ref)
		if err != nil {
			return err
		}
		return s.DeleteAuthKey(ctx, id)
	}
	if err := deleteByRef(strings.ToUpper(keys[1].UUID)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, key, "10.1.1.1"); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("deleted key authenticates: %v", err)
	}
	for _, ref := range []string{keys[1].UUID, "999", "nonsense"} {
		if err := deleteByRef(ref); !errors.Is(err, ErrNotFound) {
			t.Errorf("delete auth key %q: %v, want ErrNotFound", ref, err)
		}
	}
	if err := s.DeleteAuthKey(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteAuthKey of no key: %v", err)
	}
	if err := deleteByRef("1"); err != nil {
		t.Errorf("DeleteAuthKey by id: %v", err)
	}
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	s, clock := openClocked(t)
	email, key := keyUser(t, s, "publisher")

	p, err := s.Authenticate(ctx, key, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if p.User.Email != email || !p.User.Role.PermPublish || p.ReadOnly || !p.Expiration.IsZero() || p.User.Org.Name != "ORG-publisher" {
		t.Errorf("principal = %+v", p)
	}

	refused := func(what, key, ip string) {
		t.Helper()
		_, err := s.Authenticate(ctx, key, ip)
		if !errors.Is(err, ErrAuthFailed) {
			t.Errorf("%s: err = %v, want ErrAuthFailed", what, err)
			return
		}
		if key != "" && strings.Contains(err.Error(), key) {
			t.Errorf("%s: the error shows the key: %v", what, err)
		}
	}
	refused("39 characters", key[:39], "127.0.0.1")
	refused("41 characters", key+"a", "127.0.0.1")
	refused("a dash", key[:39]+"-", "127.0.0.1")
	refused("unknown key", newAuthKey(), "127.0.0.1")
	refused("empty key", "", "127.0.0.1")

	// Expiry: valid until the second it expires.
	exp, expKey, err := s.AddAuthKey(ctx, mustResolve(t, s.ResolveUser, email), AuthKeyOptions{Expiration: clock.now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	p, err = s.Authenticate(ctx, expKey, "127.0.0.1")
	if err != nil || p.Expiration.Unix() != exp.Expiration || p.KeyID != exp.ID {
		t.Fatalf("unexpired key: %+v, %v", p, err)
	}
	clock.advance(time.Hour)
	refused("expired key", expKey, "127.0.0.1")

	// Allowed IPs, with and without a port, IPv4 in IPv6.
	_, ipKey, err := s.AddAuthKey(ctx, mustResolve(t, s.ResolveUser, email), AuthKeyOptions{AllowedIPs: []string{"10.0.0.0/8", "2001:db8::1"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ip := range []string{"10.2.3.4", "10.2.3.4:5555", "::ffff:10.9.9.9", "[2001:db8::1]:443"} {
		if _, err := s.Authenticate(ctx, ipKey, ip); err != nil {
			t.Errorf("from %s: %v", ip, err)
		}
	}
	for _, ip := range []string{"11.0.0.1", "2001:db8::2", "", "not-an-ip"} {
		refused("from "+ip, ipKey, ip)
	}

	// Read-only: only perm_auth and perm_audit survive.
	_, roKey, err := s.AddAuthKey(ctx, mustResolve(t, s.ResolveUser, email), AuthKeyOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err = s.Authenticate(ctx, roKey, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	want := Role{ID: p.User.Role.ID, Name: "publisher", PermAuth: true, PermAudit: true}
	if !p.ReadOnly || p.User.Role != want {
		t.Errorf("read-only key role = %+v, want %+v", p.User.Role, want)
	}

	// A role without perm_auth, then a disabled user.
	if _, err := s.write.ExecContext(ctx, `UPDATE roles SET perm_auth = 0 WHERE name = 'publisher'`); err != nil {
		t.Fatal(err)
	}
	refused("role without perm_auth", key, "127.0.0.1")
	if _, err := s.write.ExecContext(ctx, `UPDATE roles SET perm_auth = 1 WHERE name = 'publisher'`); err != nil {
		t.Fatal(err)
	}
	disabled := true
	if _, err := s.UpdateUser(ctx, mustResolve(t, s.ResolveUser, email), UserChange{Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	refused("disabled user", key, "127.0.0.1")
}

func TestAuthenticateRecordsUseOncePerMinute(t *testing.T) {
	ctx := context.Background()
	s, clock := openClocked(t)
	email, key := keyUser(t, s, "user")
	lastUsed := func() int64 {
		keys, err := s.AuthKeys(ctx, mustResolve(t, s.ResolveUser, email))
		if err != nil {
			t.Fatal(err)
		}
		return keys[0].LastUsed
	}
	start := clock.now().Unix()
	for i, step := range []struct {
		advance time.Duration
		want    int64
	}{{0, start}, {30 * time.Second, start}, {30 * time.Second, start + 60}, {59 * time.Second, start + 60}} {
		clock.advance(step.advance)
		if _, err := s.Authenticate(ctx, key, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		if got := lastUsed(); got != step.want {
			t.Errorf("step %d: last_used = %d, want %d", i, got, step.want)
		}
	}
}
