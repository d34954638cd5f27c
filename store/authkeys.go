package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ErrAuthFailed is returned by Authenticate for every refused key; the wrapped message says
// why, for the log, and never contains the key.
var ErrAuthFailed = errors.New("authentication failed")

// AuthKeyLen is the length of a MISP auth key.
const AuthKeyLen = 40

const keyAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// lastUsedEvery is how stale a key's last_used may get: Authenticate writes it at most
// this often, so most API requests only read.
const lastUsedEvery = time.Minute

// AuthKey is an advanced auth key as MISP lists it: never the key, only its first and last
// four characters.
type AuthKey struct {
	ID           AuthKeyID `json:"id"`
	UUID         string    `json:"uuid"`
	UserID       UserID    `json:"user_id"`
	AuthkeyStart string    `json:"authkey_start"`
	AuthkeyEnd   string    `json:"authkey_end"`
	Created      int64     `json:"created"`
	Expiration   int64     `json:"expiration"` // unix seconds; 0: never
	ReadOnly     bool      `json:"read_only"`
	Comment      string    `json:"comment"`
	AllowedIPs   []string  `json:"allowed_ips"`
	LastUsed     int64     `json:"last_used"`
}

// AuthKeyOptions are the settings of a new key.
type AuthKeyOptions struct {
	Comment string
	// Expiration is when the key stops working; zero: never.
	Expiration time.Time
	// ReadOnly keys carry only perm_auth and perm_audit.
	ReadOnly bool
	// AllowedIPs are the addresses or CIDR ranges the key may be used from; empty: anywhere.
	AllowedIPs []string
}

// Principal is who an auth key authenticates: the user, with the permissions the key
// actually grants.
type Principal struct {
	User     User
	KeyID    AuthKeyID
	ReadOnly bool
	// Expiration is when the key expires; zero: never (MISP's X-Auth-Key-Expiration).
	Expiration time.Time
}

// IsAuthKey reports whether s has the shape of a MISP auth key: 40 ASCII letters and digits.
func IsAuthKey(s string) bool {
	if len(s) != AuthKeyLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(keyAlphabet, rune(s[i])) {
			return false
		}
	}
	return true
}

// newAuthKey draws 40 characters uniformly from [a-zA-Z0-9] with crypto/rand.
func newAuthKey() string {
	const unbiased = 256 - 256%len(keyAlphabet) // bytes at or above are rejected
	key := make([]byte, 0, AuthKeyLen)
	buf := make([]byte, AuthKeyLen*2)
	for len(key) < AuthKeyLen {
		rand.Read(buf) // never fails (crypto/rand panics rather than return an error)
		for _, b := range buf {
			if int(b) < unbiased && len(key) < AuthKeyLen {
				key = append(key, keyAlphabet[int(b)%len(keyAlphabet)])
			}
		}
	}
	return string(key)
}

func hashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// parseAllowedIPs turns addresses and CIDR ranges into canonical prefixes.
func parseAllowedIPs(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.TrimSpace(s)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("allowed IP %q is neither an address nor a CIDR range", s)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked().String())
	}
	return out, nil
}

// AddAuthKey creates a new key for a user and returns it with the key in clear: the only
// time it exists.
func (s *Store) AddAuthKey(ctx context.Context, user UserID, opts AuthKeyOptions) (*AuthKey, string, error) {
	var (
		k   *AuthKey
		key string
	)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		u, err := userByID(ctx, tx, user)
		if err != nil {
			return fmt.Errorf("add auth key: %w", err)
		}
		k, key, err = s.insertAuthKey(ctx, tx, u.ID, opts)
		if err != nil {
			return fmt.Errorf("add auth key for %q: %w", u.Email, err)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return k, key, nil
}

func (s *Store) insertAuthKey(ctx context.Context, tx *sql.Tx, userID UserID, opts AuthKeyOptions) (*AuthKey, string, error) {
	now := s.now()
	k := &AuthKey{UUID: uuid.NewString(), UserID: userID, Created: now.Unix(), ReadOnly: opts.ReadOnly, Comment: opts.Comment}
	if !opts.Expiration.IsZero() {
		if !opts.Expiration.After(now) {
			return nil, "", fmt.Errorf("expiration %s is not in the future", opts.Expiration.UTC().Format(time.RFC3339))
		}
		k.Expiration = opts.Expiration.Unix()
	}
	var err error
	if k.AllowedIPs, err = parseAllowedIPs(opts.AllowedIPs); err != nil {
		return nil, "", err
	}
	ips, err := json.Marshal(k.AllowedIPs)
	if err != nil {
		return nil, "", err
	}
	key := newAuthKey()
	k.AuthkeyStart, k.AuthkeyEnd = key[:4], key[len(key)-4:]
	res, err := tx.ExecContext(ctx, `INSERT INTO auth_keys (uuid, user_id, key_hash, authkey_start, authkey_end, created, expiration, read_only, comment, allowed_ips)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.UUID, k.UserID, hashKey(key), k.AuthkeyStart, k.AuthkeyEnd, k.Created, k.Expiration, boolInt(k.ReadOnly), k.Comment, string(ips))
	if err != nil {
		return nil, "", err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, "", err
	}
	k.ID = AuthKeyID(id)
	return k, key, nil
}

const authKeyColumns = `id, uuid, user_id, authkey_start, authkey_end, created, expiration, read_only, comment, allowed_ips, last_used`

func scanAuthKey(row interface{ Scan(...any) error }) (*AuthKey, error) {
	var (
		k   AuthKey
		ips string
	)
	err := row.Scan(&k.ID, &k.UUID, &k.UserID, &k.AuthkeyStart, &k.AuthkeyEnd, &k.Created, &k.Expiration, &k.ReadOnly, &k.Comment, &ips, &k.LastUsed)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(ips), &k.AllowedIPs); err != nil {
		return nil, fmt.Errorf("auth key %s: allowed_ips: %w", k.UUID, err)
	}
	return &k, nil
}

// AuthKeyID is an auth key's local id.
type AuthKeyID int64

// ResolveAuthKey finds the auth key a person names by id or UUID (ErrNotFound when there
// is none).
func (s *Store) ResolveAuthKey(ctx context.Context, ref string) (AuthKeyID, error) {
	return resolve[AuthKeyID](ctx, s.read, authKeyRefs, ref)
}

// AuthKey reads an auth key (never the key itself).
func (s *Store) AuthKey(ctx context.Context, id AuthKeyID) (*AuthKey, error) {
	return readRow(ctx, s.read, "auth key", id, `SELECT `+authKeyColumns+` FROM auth_keys WHERE id = ?`, scanAuthKey)
}

// AuthKeys lists a user's keys, oldest first.
func (s *Store) AuthKeys(ctx context.Context, user UserID) ([]AuthKey, error) {
	u, err := s.User(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("list auth keys: %w", err)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+authKeyColumns+` FROM auth_keys WHERE user_id = ? ORDER BY id`, u.ID)
	if err != nil {
		return nil, fmt.Errorf("list auth keys of %q: %w", u.Email, err)
	}
	defer rows.Close()
	var out []AuthKey
	for rows.Next() {
		k, err := scanAuthKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list auth keys of %q: %w", u.Email, err)
		}
		out = append(out, *k)
	}
	return out, rows.Err()
}

// DeleteAuthKey removes a key.
func (s *Store) DeleteAuthKey(ctx context.Context, id AuthKeyID) error {
	return deleteByID(ctx, s, "auth key", "auth_keys", id)
}

// Authenticate finds who key belongs to and checks that it may be used now from remoteIP
// (an address, with or without a port): not expired, allowed from that address, its user
// enabled and its role holding perm_auth. A read-only key keeps only perm_auth and
// perm_audit. Every refusal wraps ErrAuthFailed and never repeats the key.
func (s *Store) Authenticate(ctx context.Context, key, remoteIP string) (*Principal, error) {
	if !IsAuthKey(key) {
		return nil, fmt.Errorf("%w: the key is not 40 letters and digits", ErrAuthFailed)
	}
	hash := hashKey(key)
	var (
		p      Principal
		stored []byte
		k      AuthKey
		ips    string
	)
	dest := append([]any{&stored, &k.ID, &k.UUID, &k.Expiration, &k.ReadOnly, &ips, &k.LastUsed}, p.User.dest()...)
	err := s.read.QueryRowContext(ctx, `SELECT k.key_hash, k.id, k.uuid, k.expiration, k.read_only, k.allowed_ips, k.last_used, `+
		strings.TrimPrefix(userSelect, "SELECT ")+` JOIN auth_keys k ON k.user_id = u.id WHERE k.key_hash = ?`, hash).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && subtle.ConstantTimeCompare(stored, hash) != 1) {
		return nil, fmt.Errorf("%w: unknown key", ErrAuthFailed)
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	now := s.now()
	if k.Expiration != 0 && k.Expiration <= now.Unix() {
		return nil, fmt.Errorf("%w: key %s of %q expired at %s", ErrAuthFailed, k.UUID, p.User.Email, time.Unix(k.Expiration, 0).UTC().Format(time.RFC3339))
	}
	if err := json.Unmarshal([]byte(ips), &k.AllowedIPs); err != nil {
		return nil, fmt.Errorf("authenticate: key %s: allowed_ips: %w", k.UUID, err)
	}
	if len(k.AllowedIPs) > 0 && !ipAllowed(remoteIP, k.AllowedIPs) {
		return nil, fmt.Errorf("%w: key %s of %q may not be used from %q", ErrAuthFailed, k.UUID, p.User.Email, remoteIP)
	}
	if p.User.Disabled {
		return nil, fmt.Errorf("%w: user %q is disabled", ErrAuthFailed, p.User.Email)
	}
	if !p.User.Role.PermAuth {
		return nil, fmt.Errorf("%w: role %q of user %q may not use auth keys (no perm_auth)", ErrAuthFailed, p.User.Role.Name, p.User.Email)
	}
	if k.ReadOnly {
		p.User.Role.readOnly()
	}
	p.KeyID, p.ReadOnly = k.ID, k.ReadOnly
	if k.Expiration != 0 {
		p.Expiration = time.Unix(k.Expiration, 0)
	}
	if now.Sub(time.Unix(k.LastUsed, 0)) >= lastUsedEvery {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE auth_keys SET last_used = ? WHERE id = ? AND last_used < ?`,
				now.Unix(), k.ID, now.Add(-lastUsedEvery).Unix()+1)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("authenticate: record use of key %s: %w", k.UUID, err)
		}
	}
	return &p, nil
}

func ipAllowed(remote string, allowed []string) bool {
	addr, err := netip.ParseAddr(remote)
	if err != nil {
		ap, perr := netip.ParseAddrPort(remote)
		if perr != nil {
			return false
		}
		addr = ap.Addr()
	}
	addr = addr.Unmap().WithZone("")
	for _, a := range allowed {
		if p, err := netip.ParsePrefix(a); err == nil && p.Contains(addr) {
			return true
		}
	}
	return false
}
