package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// MISP's rules for a server added without any (ServersController::add): nothing filtered.
const (
	DefaultPushRules = `{"tags":{"OR":[],"NOT":[]},"orgs":{"OR":[],"NOT":[]}}`
	DefaultPullRules = `{"tags":{"OR":[],"NOT":[]},"orgs":{"OR":[],"NOT":[]},"type_attributes":{"NOT":[]},"type_objects":{"NOT":[]},"url_params":""}`
)

// ServerOptions are the settings of a sync link a person chooses on MISP's Add Server form
// beyond its name, URL, key and organisations.
type ServerOptions struct {
	Push                bool `json:"push"`
	Pull                bool `json:"pull"`
	PushSightings       bool `json:"push_sightings"`
	PushGalaxyClusters  bool `json:"push_galaxy_clusters"`
	PullGalaxyClusters  bool `json:"pull_galaxy_clusters"`
	PushAnalystData     bool `json:"push_analyst_data"`
	PullAnalystData     bool `json:"pull_analyst_data"`
	CachingEnabled      bool `json:"caching_enabled"`
	UnpublishEvent      bool `json:"unpublish_event"`
	PublishWithoutEmail bool `json:"publish_without_email"`
	SelfSigned          bool `json:"self_signed"`
	SkipProxy           bool `json:"skip_proxy"`
	// Internal marks a link between two instances of the same host organisation: no
	// distribution downgrade. Only allowed when the remote org is this instance's host org.
	Internal          bool `json:"internal"`
	RemoveMissingTags bool `json:"remove_missing_tags"`
	// CertFile is the PEM of a CA to trust for this server; ClientCertFile the PEM of a
	// client certificate and its key.
	CertFile       string `json:"cert_file"`
	ClientCertFile string `json:"client_cert_file"`
	// PushRules and PullRules are MISP's rule JSON objects; empty means the defaults.
	PushRules string `json:"push_rules"`
	PullRules string `json:"pull_rules"`
}

// Server is a sync link to another MISP instance: every column of the servers table, with
// the local organisation owning the link and the remote's host organisation.
type Server struct {
	ID   ServerID `json:"id"`
	Name string   `json:"name"`
	URL  string   `json:"url"`
	// Authkey is the remote's key for us; it never leaves through JSON.
	Authkey     string `json:"-"`
	OrgID       OrgID  `json:"org_id"`
	RemoteOrgID OrgID  `json:"remote_org_id"`
	ServerOptions
	Priority     int64   `json:"priority"`
	LastPushedID EventID `json:"lastpushedid"`
	LastPulledID int64   `json:"lastpulledid"`
	Created      int64   `json:"created"`
	Modified     int64   `json:"modified"`
	Organisation Org     `json:"Organisation"`
	RemoteOrg    Org     `json:"RemoteOrg"`
}

// ServerSpec is a sync link as AddServer and UpdateServer take it. Organisations are given
// by id, UUID or name. On update an empty Authkey, OrgRef or RemoteOrgRef keeps the
// current one.
type ServerSpec struct {
	Name         string
	URL          string
	Authkey      string
	OrgRef       string // the local org owning the link; empty on add: the host org
	RemoteOrgRef string // the remote instance's host org; required on add
	ServerOptions
}

// Spec is the server as a ServerSpec, to edit and pass to UpdateServer.
func (sv *Server) Spec() ServerSpec {
	return ServerSpec{
		Name: sv.Name, URL: sv.URL, Authkey: sv.Authkey,
		OrgRef: strconv.FormatInt(int64(sv.OrgID), 10), RemoteOrgRef: strconv.FormatInt(int64(sv.RemoteOrgID), 10),
		ServerOptions: sv.ServerOptions,
	}
}

const serverColumns = `id, name, url, authkey, org_id, remote_org_id, push, pull, push_sightings,
	push_galaxy_clusters, pull_galaxy_clusters, push_analyst_data, pull_analyst_data,
	caching_enabled, unpublish_event, publish_without_email, self_signed, skip_proxy, internal,
	remove_missing_tags, cert_file, client_cert_file, push_rules, pull_rules, priority,
	lastpushedid, lastpulledid, created, modified`

var serverSelect = `SELECT ` + qualify("s", serverColumns) + `, ` + qualify("o", orgColumns) + `, ` + qualify("ro", orgColumns) + `
	FROM servers s JOIN orgs o ON o.id = s.org_id JOIN orgs ro ON ro.id = s.remote_org_id`

func (sv *Server) dest() []any {
	o := &sv.ServerOptions
	d := []any{&sv.ID, &sv.Name, &sv.URL, &sv.Authkey, &sv.OrgID, &sv.RemoteOrgID, &o.Push, &o.Pull, &o.PushSightings,
		&o.PushGalaxyClusters, &o.PullGalaxyClusters, &o.PushAnalystData, &o.PullAnalystData,
		&o.CachingEnabled, &o.UnpublishEvent, &o.PublishWithoutEmail, &o.SelfSigned, &o.SkipProxy, &o.Internal,
		&o.RemoveMissingTags, &o.CertFile, &o.ClientCertFile, &o.PushRules, &o.PullRules, &sv.Priority,
		&sv.LastPushedID, &sv.LastPulledID, &sv.Created, &sv.Modified}
	d = append(d, sv.Organisation.dest()...)
	return append(d, sv.RemoteOrg.dest()...)
}

// Servers lists the sync links in MISP's order: by priority, then id.
func (s *Store) Servers(ctx context.Context) ([]Server, error) {
	rows, err := s.read.QueryContext(ctx, serverSelect+` ORDER BY s.priority, s.id`)
	if err != nil {
		return nil, fmt.Errorf("list servers: %w", err)
	}
	defer rows.Close()
	var out []Server
	for rows.Next() {
		var sv Server
		if err := rows.Scan(sv.dest()...); err != nil {
			return nil, fmt.Errorf("list servers: %w", err)
		}
		out = append(out, sv)
	}
	return out, rows.Err()
}

// ServerID is a sync link's local id.
type ServerID int64

// ResolveServer finds the sync link a person names by id or name (case-insensitive;
// ErrNotFound when there is none).
func (s *Store) ResolveServer(ctx context.Context, ref string) (ServerID, error) {
	return resolve[ServerID](ctx, s.read, serverRefs, ref)
}

// Server reads a sync link.
func (s *Store) Server(ctx context.Context, id ServerID) (*Server, error) {
	return findServer(ctx, s.read, id)
}

// ServerAuthKey is the key to send to the server.
func (s *Store) ServerAuthKey(ctx context.Context, id ServerID) (string, error) {
	sv, err := s.Server(ctx, id)
	if err != nil {
		return "", err
	}
	return sv.Authkey, nil
}

func findServer(ctx context.Context, q queryer, id ServerID) (*Server, error) {
	return readRow(ctx, q, "server", id, serverSelect+` WHERE s.id = ?`, scanDest[Server])
}

// AddServer creates a sync link. It gets the next priority (MISP: max+1).
func (s *Store) AddServer(ctx context.Context, spec ServerSpec) (*Server, error) {
	var id ServerID
	err := s.tx(ctx, func(tx *sql.Tx) error {
		sv, err := s.resolveServer(ctx, tx, spec, nil)
		if err != nil {
			return fmt.Errorf("add server %q: %w", strings.TrimSpace(spec.Name), err)
		}
		now := s.now().Unix()
		o := &sv.ServerOptions
		res, err := tx.ExecContext(ctx, `INSERT INTO servers (name, url, authkey, org_id, remote_org_id, push, pull,
			push_sightings, push_galaxy_clusters, pull_galaxy_clusters, push_analyst_data, pull_analyst_data,
			caching_enabled, unpublish_event, publish_without_email, self_signed, skip_proxy, internal,
			remove_missing_tags, cert_file, client_cert_file, push_rules, pull_rules, priority, created, modified)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
				(SELECT ifnull(max(priority), 0) + 1 FROM servers), ?, ?)`,
			sv.Name, sv.URL, sv.Authkey, sv.OrgID, sv.RemoteOrgID, o.Push, o.Pull,
			o.PushSightings, o.PushGalaxyClusters, o.PullGalaxyClusters, o.PushAnalystData, o.PullAnalystData,
			o.CachingEnabled, o.UnpublishEvent, o.PublishWithoutEmail, o.SelfSigned, o.SkipProxy, o.Internal,
			o.RemoveMissingTags, o.CertFile, o.ClientCertFile, o.PushRules, o.PullRules, now, now)
		if err != nil {
			return fmt.Errorf("add server %q: %w", sv.Name, err)
		}
		n, err := res.LastInsertId()
		id = ServerID(n)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Server(ctx, id)
}

// UpdateServer replaces a sync link's settings with spec.
func (s *Store) UpdateServer(ctx context.Context, id ServerID, spec ServerSpec) (*Server, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := findServer(ctx, tx, id)
		if err != nil {
			return fmt.Errorf("edit server: %w", err)
		}
		sv, err := s.resolveServer(ctx, tx, spec, old)
		if err != nil {
			return fmt.Errorf("edit server %q: %w", old.Name, err)
		}
		o := &sv.ServerOptions
		_, err = tx.ExecContext(ctx, `UPDATE servers SET name = ?, url = ?, authkey = ?, org_id = ?, remote_org_id = ?,
			push = ?, pull = ?, push_sightings = ?, push_galaxy_clusters = ?, pull_galaxy_clusters = ?,
			push_analyst_data = ?, pull_analyst_data = ?, caching_enabled = ?, unpublish_event = ?,
			publish_without_email = ?, self_signed = ?, skip_proxy = ?, internal = ?, remove_missing_tags = ?,
			cert_file = ?, client_cert_file = ?, push_rules = ?, pull_rules = ?, modified = ?
			WHERE id = ?`,
			sv.Name, sv.URL, sv.Authkey, sv.OrgID, sv.RemoteOrgID,
			o.Push, o.Pull, o.PushSightings, o.PushGalaxyClusters, o.PullGalaxyClusters,
			o.PushAnalystData, o.PullAnalystData, o.CachingEnabled, o.UnpublishEvent,
			o.PublishWithoutEmail, o.SelfSigned, o.SkipProxy, o.Internal, o.RemoveMissingTags,
			o.CertFile, o.ClientCertFile, o.PushRules, o.PullRules, s.now().Unix(), id)
		if err != nil {
			return fmt.Errorf("edit server %q: %w", old.Name, err)
		}
		return forgetServerState(ctx, tx, id)
	})
	if err != nil {
		return nil, err
	}
	return s.Server(ctx, id)
}

// resolveServer checks spec and turns it into the row to write; old is the server being
// edited, or nil on add.
func (s *Store) resolveServer(ctx context.Context, tx *sql.Tx, spec ServerSpec, old *Server) (*Server, error) {
	sv := &Server{Name: strings.TrimSpace(spec.Name), Authkey: strings.TrimSpace(spec.Authkey), ServerOptions: spec.ServerOptions}
	if sv.Name == "" {
		return nil, errors.New("name is empty")
	}
	var clash ServerID
	err := tx.QueryRowContext(ctx, `SELECT id FROM servers WHERE name = ? COLLATE NOCASE`, sv.Name).Scan(&clash)
	if err == nil && (old == nil || clash != old.ID) {
		return nil, fmt.Errorf("%w: another server is named %q", ErrConflict, sv.Name)
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if sv.URL, err = serverURL(spec.URL); err != nil {
		return nil, err
	}
	if sv.Authkey == "" && old != nil {
		sv.Authkey = old.Authkey
	}
	if !IsAuthKey(sv.Authkey) {
		return nil, errors.New("authkey must be the remote's 40-character MISP auth key (letters and digits)")
	}
	hostID, err := s.hostOrgID(ctx, tx)
	if err != nil && !errors.Is(err, ErrNotInitialised) {
		return nil, err
	}
	switch {
	case spec.OrgRef != "":
		org, err := findOrg(ctx, tx, spec.OrgRef)
		if err != nil {
			return nil, fmt.Errorf("org: %w", err)
		}
		sv.OrgID = org.ID
	case old != nil:
		sv.OrgID = old.OrgID
	case hostID != 0:
		sv.OrgID = hostID
	default:
		return nil, errors.New("no local organisation given and the instance has no host organisation (run mispdesk init)")
	}
	switch {
	case spec.RemoteOrgRef != "":
		org, err := findOrg(ctx, tx, spec.RemoteOrgRef)
		if err != nil {
			return nil, fmt.Errorf("remote org: %w", err)
		}
		sv.RemoteOrgID = org.ID
	case old != nil:
		sv.RemoteOrgID = old.RemoteOrgID
	default:
		return nil, errors.New("the remote instance's host organisation (remote org) is required")
	}
	if sv.Internal && (hostID == 0 || sv.RemoteOrgID != hostID) {
		return nil, errors.New("internal is only allowed when the remote org is this instance's host organisation (both instances run by the same org)")
	}
	if sv.PushRules, err = rulesObject("push_rules", sv.PushRules, DefaultPushRules); err != nil {
		return nil, err
	}
	if sv.PullRules, err = rulesObject("pull_rules", sv.PullRules, DefaultPullRules); err != nil {
		return nil, err
	}
	return sv, nil
}

// serverURL checks a server's base URL and strips trailing slashes, as MISP does.
func serverURL(raw string) (string, error) {
	raw = strings.TrimRight(strings.TrimSpace(raw), "/")
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("url %q must be an http:// or https:// address with a host", raw)
	}
	return raw, nil
}

// rulesObject checks that rules is a JSON object (the policy package reads what is in it);
// empty means def.
func rulesObject(field, rules, def string) (string, error) {
	rules = strings.TrimSpace(rules)
	if rules == "" {
		return def, nil
	}
	if v := jsontext.Value(rules); !v.IsValid() || v.Kind() != '{' {
		return "", fmt.Errorf("%s must be a JSON object, got %.60q", field, rules)
	}
	return rules, nil
}

// DeleteServer removes a sync link with its queued work and its sharing-group memberships;
// users tied to it are untied.
func (s *Store) DeleteServer(ctx context.Context, id ServerID) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		sv, err := findServer(ctx, tx, id)
		if err != nil {
			return fmt.Errorf("delete server: %w", err)
		}
		for _, q := range []string{
			`DELETE FROM sharing_group_servers WHERE server_id = ?`,
			`UPDATE users SET server_id = 0 WHERE server_id = ?`,
			`DELETE FROM servers WHERE id = ?`, // the outbox follows (ON DELETE CASCADE)
		} {
			if _, err := tx.ExecContext(ctx, q, sv.ID); err != nil {
				return fmt.Errorf("delete server %q: %w", sv.Name, err)
			}
		}
		return forgetServerState(ctx, tx, sv.ID)
	})
}
