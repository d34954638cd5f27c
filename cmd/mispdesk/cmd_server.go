package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"mispdesk/policy"
	"mispdesk/store"
	"mispdesk/syncer"
	"mispdesk/syncer/remote"
)

const (
	serverSynopsis      = "server add|list|show|edit|rm ..."
	serverFlagsSynopsis = "[--push] [--pull] [--internal] [--push-sightings] [--push-galaxy-clusters] [--pull-galaxy-clusters]" +
		" [--push-analyst-data] [--pull-analyst-data] [--caching] [--unpublish-event] [--publish-without-email]" +
		" [--remove-missing-tags] [--self-signed] [--skip-proxy] [--ca-file F] [--client-cert F]" +
		" [--push-rules JSON] [--pull-rules JSON] [--json]"
	serverAddSynopsis  = "server add --name NAME --url URL --org NAME|UUID --authkey KEY " + serverFlagsSynopsis
	serverListSynopsis = "server list [--json]"
	serverShowSynopsis = "server show SERVER [--json]"
	serverEditSynopsis = "server edit SERVER [--name NAME] [--url URL] [--org NAME|UUID] [--authkey KEY] " + serverFlagsSynopsis
	serverRmSynopsis   = "server rm SERVER [--yes]"
)

// serverCommands are server's sub-commands.
var serverCommands = []*command{
	{"add", serverAddSynopsis, "add a sync connection to a MISP server (or another mispdesk); --org is the remote's host organisation", runServerAdd},
	{"list", serverListSynopsis, "list the sync connections (never their keys)", runServerList},
	{"show", serverShowSynopsis, "show every field of a sync connection (its key as first4…last4)", runServerShow},
	{"edit", serverEditSynopsis, "change the fields given (booleans as --push=false), keep the others", runServerEdit},
	{"rm", serverRmSynopsis, "delete a sync connection and its queued pushes (asks on a terminal, else needs --yes)", runServerRm},
}

func runServer(ctx context.Context, env *Env, args []string) error {
	return group("server", serverSynopsis, serverCommands)(ctx, env, args)
}

// serverBool is one of a server's on/off settings, as a flag.
type serverBool struct {
	flag, usage string
	field       func(*store.ServerOptions) *bool
}

var serverBools = []serverBool{
	{"push", "push events to the server (on publish, and with mispdesk push)", func(o *store.ServerOptions) *bool { return &o.Push }},
	{"pull", "pull events from the server (mispdesk pull)", func(o *store.ServerOptions) *bool { return &o.Pull }},
	{"internal", "the remote belongs to this instance's host organisation: no distribution downgrade", func(o *store.ServerOptions) *bool { return &o.Internal }},
	{"push-sightings", "push sightings", func(o *store.ServerOptions) *bool { return &o.PushSightings }},
	{"push-galaxy-clusters", "push custom galaxy clusters", func(o *store.ServerOptions) *bool { return &o.PushGalaxyClusters }},
	{"pull-galaxy-clusters", "pull custom galaxy clusters", func(o *store.ServerOptions) *bool { return &o.PullGalaxyClusters }},
	{"push-analyst-data", "push analyst data (notes, opinions, relationships)", func(o *store.ServerOptions) *bool { return &o.PushAnalystData }},
	{"pull-analyst-data", "pull analyst data", func(o *store.ServerOptions) *bool { return &o.PullAnalystData }},
	{"caching", "cache the server's attributes for correlation (caching_enabled)", func(o *store.ServerOptions) *bool { return &o.CachingEnabled }},
	{"unpublish-event", "pushed events arrive unpublished on the remote", func(o *store.ServerOptions) *bool { return &o.UnpublishEvent }},
	{"publish-without-email", "pushed events are published on the remote without e-mail alerts", func(o *store.ServerOptions) *bool { return &o.PublishWithoutEmail }},
	{"remove-missing-tags", "on pull, remove local tags the remote's copy no longer has", func(o *store.ServerOptions) *bool { return &o.RemoveMissingTags }},
	{"self-signed", "accept the server's self-signed certificate", func(o *store.ServerOptions) *bool { return &o.SelfSigned }},
	{"skip-proxy", "connect directly, not through the configured proxy", func(o *store.ServerOptions) *bool { return &o.SkipProxy }},
}

// serverFlags are the flags add and edit share.
type serverFlags struct {
	fs                      *Flags
	name, url, org, authkey *string
	caFile, clientCert      *string
	pushRules, pullRules    *string
	bools                   map[string]*bool
	jsonOut                 *bool
}

func newServerFlags(env *Env, name, synopsis string) *serverFlags {
	fs := env.Flags(name, synopsis)
	f := &serverFlags{fs: fs, bools: map[string]*bool{}}
	f.name = fs.String("name", "", "the connection's `NAME` (unique)")
	f.url = fs.String("url", "", "the server's base `URL`, http:// or https://")
	f.org = fs.String("org", "", "the remote instance's host organisation: its `NAME`, UUID or id (remote_org_id)")
	f.authkey = fs.String("authkey", "", "the 40-character auth `KEY` of the sync user on the remote")
	f.caFile = fs.String("ca-file", "", "a PEM `FILE` of CA certificates to trust for this server (\"\" clears it)")
	f.clientCert = fs.String("client-cert", "", "a PEM `FILE` with a client certificate and its private key (\"\" clears it)")
	f.pushRules = fs.String("push-rules", "", "MISP's push rules as `JSON`, e.g. {\"tags\":{\"OR\":[],\"NOT\":[\"tlp:red\"]}}")
	f.pullRules = fs.String("pull-rules", "", "MISP's pull rules as `JSON`")
	for _, b := range serverBools {
		f.bools[b.flag] = fs.Bool(b.flag, false, b.usage)
	}
	f.jsonOut = fs.Bool("json", false, "print the server as JSON (its key as first4…last4)")
	return f
}

// apply writes the flags into spec: all of them (add), or only those given (edit).
func (f *serverFlags) apply(spec *store.ServerSpec, all bool) error {
	given := func(name string) bool { return all || f.fs.Given(name) }
	for _, b := range serverBools {
		if given(b.flag) {
			*b.field(&spec.ServerOptions) = *f.bools[b.flag]
		}
	}
	if given("name") {
		spec.Name = strings.TrimSpace(*f.name)
		if spec.Name == "" {
			return usagef("--name NAME is required and may not be blank")
		}
	}
	if given("url") {
		u := strings.TrimSpace(*f.url)
		if err := checkServerURL(u); err != nil {
			return err
		}
		spec.URL = u
	}
	if given("authkey") {
		k := strings.TrimSpace(*f.authkey)
		if !store.IsAuthKey(k) {
			return usagef("--authkey: want the remote sync user's 40-character MISP auth key (letters and digits)")
		}
		spec.Authkey = k
	}
	if given("org") {
		spec.RemoteOrgRef = strings.TrimSpace(*f.org)
		if spec.RemoteOrgRef == "" {
			return usagef("--org NAME|UUID is required: the remote instance's host organisation")
		}
	}
	if given("ca-file") {
		pemText, err := readPEM("--ca-file", *f.caFile, remote.ReadCAFile)
		if err != nil {
			return err
		}
		spec.CertFile = pemText
	}
	if given("client-cert") {
		pemText, err := readPEM("--client-cert", *f.clientCert, remote.ReadClientCertFile)
		if err != nil {
			return err
		}
		spec.ClientCertFile = pemText
	}
	for _, r := range []struct {
		flag string
		kind policy.RulesKind
		dst  *string
		val  string
	}{{"push-rules", policy.PushRules, &spec.PushRules, *f.pushRules}, {"pull-rules", policy.PullRules, &spec.PullRules, *f.pullRules}} {
		if !given(r.flag) {
			continue
		}
		text := strings.TrimSpace(r.val)
		rules, err := policy.ParseRules(r.kind, text)
		if err != nil {
			return inputf("--%s: %v", r.flag, err)
		}
		if len(rules.Ignored) > 0 {
			return inputf("--%s: unknown key %s (MISP's rules have tags, orgs, type_attributes, type_objects and url_params)",
				r.flag, strings.Join(quoteAll(rules.Ignored), ", "))
		}
		if !strings.HasPrefix(text, "{") {
			text = "" // null, "" or []: no rules, MISP's defaults
		}
		*r.dst = text
	}
	return nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// checkServerURL refuses anything but an http(s) URL with a host.
func checkServerURL(raw string) error {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return usagef("--url %q: want the server's http:// or https:// address, e.g. https://misp.example.org", raw)
	}
	return nil
}

// readPEM reads a certificate file the way the sync client will use it; a bad file is bad
// input, named with its flag.
func readPEM(flag, path string, read func(string) (string, error)) (string, error) {
	text, err := read(path)
	if err != nil {
		return "", inputf("%s %v", flag, err)
	}
	return text, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkServerSpec checks what only the database can tell: the remote org
// exists, and internal goes only with this instance's host org.
func checkServerSpec(ctx context.Context, s *store.Store, inst *store.Instance, spec *store.ServerSpec) error {
	id, err := s.ResolveOrg(ctx, spec.RemoteOrgRef)
	if errors.Is(err, store.ErrNotFound) {
		return inputf("--org %q: no such organisation: add it first (mispdesk org add --external --name NAME --uuid UUID)", spec.RemoteOrgRef)
	} else if err != nil {
		return err
	}
	org, err := s.Org(ctx, id)
	if err != nil {
		return err
	}
	if spec.Internal && org.ID != inst.HostOrg.ID {
		return inputf("--internal: only for a server of this instance's own host organisation %q, not %q", safe(inst.HostOrg.Name), safe(org.Name))
	}
	return nil
}

func runServerAdd(ctx context.Context, env *Env, args []string) (err error) {
	f := newServerFlags(env, "server add", serverAddSynopsis)
	if err := f.fs.ParseNoArgs(args); err != nil {
		return err
	}
	for _, req := range []string{"name", "url", "org", "authkey"} {
		if !f.fs.Given(req) {
			return usagef("--name, --url, --org and --authkey are required (missing --%s); run 'mispdesk server add -h' for usage", req)
		}
	}
	var spec store.ServerSpec
	if err := f.apply(&spec, true); err != nil {
		return err
	}
	s, inst, err := openInitialised(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	if err := checkServerSpec(ctx, s, inst, &spec); err != nil {
		return err
	}
	sv, err := s.AddServer(ctx, spec)
	if err != nil {
		return storeErr(err)
	}
	if *f.jsonOut {
		return printJSON(env, newServerJSON(sv))
	}
	fmt.Fprintf(env.Stdout, "Added server %q (id %d): %s, remote org %q, %s\n", safe(sv.Name), sv.ID, safe(sv.URL), safe(sv.RemoteOrg.Name), direction(sv))
	return nil
}

func runServerEdit(ctx context.Context, env *Env, args []string) (err error) {
	f := newServerFlags(env, "server edit", serverEditSynopsis)
	s, inst, old, err := openRecord(ctx, env, f.fs, args, serverRecord, findServer)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	spec := old.Spec()
	if err := f.apply(&spec, false); err != nil {
		return err
	}
	if err := checkServerSpec(ctx, s, inst, &spec); err != nil {
		return err
	}
	sv, err := s.UpdateServer(ctx, old.ID, spec)
	if err != nil {
		return storeErr(err)
	}
	if *f.jsonOut {
		return printJSON(env, newServerJSON(sv))
	}
	fmt.Fprintf(env.Stdout, "Updated server %q (id %d): %s, remote org %q, %s\n", safe(sv.Name), sv.ID, safe(sv.URL), safe(sv.RemoteOrg.Name), direction(sv))
	return nil
}

// direction says which ways a server syncs.
func direction(sv *store.Server) string {
	switch {
	case sv.Push && sv.Pull:
		return "push and pull"
	case sv.Push:
		return "push only"
	case sv.Pull:
		return "pull only"
	}
	return "neither push nor pull"
}

// serverJSON is a server as the commands print it: MISP's server record,
// with the key as first4…last4 and the certificate files described, never
// their content (a client certificate file holds a private key).
type serverJSON struct {
	store.Server
	Authkey        string `json:"authkey"`
	CertFile       string `json:"cert_file"`
	ClientCertFile string `json:"client_cert_file"`
}

func newServerJSON(sv *store.Server) serverJSON {
	return serverJSON{Server: *sv, Authkey: maskKey(sv.Authkey), CertFile: describePEM(sv.CertFile), ClientCertFile: describePEM(sv.ClientCertFile)}
}

// serverListJSON is a server in server list --json: no key at all.
type serverListJSON struct {
	store.Server
	CertFile       string `json:"cert_file"`
	ClientCertFile string `json:"client_cert_file"`
	// Health is the server's state as the process running its sync last saw it.
	Health *syncer.PeerHealth `json:"health,omitempty"`
}

// serverHealth is a server's health for listing: "unknown" when nothing is known yet.
func serverHealth(ctx context.Context, s *store.Store, id store.ServerID) (syncer.PeerHealth, error) {
	h, err := syncer.ReadPeerHealth(ctx, s, id)
	if err != nil {
		return h, fmt.Errorf("server %d: %w", id, err)
	}
	return h, nil
}

// maskKey shows a key as its first and last four characters.
func maskKey(k string) string {
	if len(k) < 12 {
		return strings.Repeat("*", len(k))
	}
	return k[:4] + "…" + k[len(k)-4:]
}

// describePEM names what a stored PEM holds, "" when nothing.
func describePEM(text string) string {
	if text == "" {
		return ""
	}
	var parts []string
	rest := []byte(text)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch {
		case b.Type == "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				parts = append(parts, "unreadable certificate")
				continue
			}
			parts = append(parts, fmt.Sprintf("certificate %s (expires %s)", c.Subject.String(), c.NotAfter.UTC().Format(time.DateOnly)))
		case strings.Contains(b.Type, "PRIVATE KEY"):
			parts = append(parts, "private key")
		default:
			parts = append(parts, strings.ToLower(b.Type))
		}
	}
	if len(parts) == 0 {
		return "PEM: nothing readable"
	}
	return "PEM: " + strings.Join(parts, ", ")
}

func runServerList(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("server list", serverListSynopsis)
	jsonOut := fs.Bool("json", false, "print a JSON array of servers (never their keys)")
	s, _, err := openNoArgs(ctx, env, fs, args)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	servers, err := s.Servers(ctx)
	if err != nil {
		return err
	}
	health := make([]syncer.PeerHealth, len(servers))
	for i, sv := range servers {
		if health[i], err = serverHealth(ctx, s, sv.ID); err != nil {
			return err
		}
	}
	if *jsonOut {
		out := make([]serverListJSON, len(servers))
		for i, sv := range servers {
			out[i] = serverListJSON{Server: sv, CertFile: describePEM(sv.CertFile), ClientCertFile: describePEM(sv.ClientCertFile)}
			if health[i].State != "" {
				out[i].Health = &health[i]
			}
		}
		return printJSON(env, out)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tURL\tREMOTE ORG\tPUSH\tPULL\tINTERNAL\tHEALTH")
	for i, sv := range servers {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sv.ID, fit(safe(sv.Name), 20), fit(safe(sv.URL), 32), fit(safe(sv.RemoteOrg.Name), 20),
			yesNo(sv.Push), yesNo(sv.Pull), yesNo(sv.Internal), safe(health[i].String()))
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func runServerShow(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("server show", serverShowSynopsis)
	jsonOut := fs.Bool("json", false, "print the server as JSON (MISP's field names; the key as first4…last4)")
	s, _, sv, err := openRecord(ctx, env, fs, args, serverRecord, findServer)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	if *jsonOut {
		return printJSON(env, newServerJSON(sv))
	}
	var b strings.Builder
	field := func(name, value string) { fmt.Fprintf(&b, "%-23s%s\n", name+":", value) }
	field("Server", fmt.Sprintf("%d  %s", sv.ID, safe(sv.Name)))
	field("URL", safe(sv.URL))
	field("Authkey", maskKey(sv.Authkey))
	field("Local org (owner)", fmt.Sprintf("%s (%s)", safe(sv.Organisation.Name), safe(sv.Organisation.UUID)))
	field("Remote org", fmt.Sprintf("%s (%s)", safe(sv.RemoteOrg.Name), safe(sv.RemoteOrg.UUID)))
	field("Priority", fmt.Sprint(sv.Priority))
	for _, bf := range serverBools {
		field(bf.flag, yesNo(*bf.field(&sv.ServerOptions)))
	}
	field("ca-file", orNone(describePEM(sv.CertFile)))
	field("client-cert", orNone(describePEM(sv.ClientCertFile)))
	field("push-rules", safe(sv.PushRules))
	field("pull-rules", safe(sv.PullRules))
	h, err := serverHealth(ctx, s, sv.ID)
	if err != nil {
		return err
	}
	field("Health", safe(h.String()))
	field("Last pushed event id", fmt.Sprint(sv.LastPushedID))
	field("Last pulled event id", fmt.Sprint(sv.LastPulledID))
	field("Created", time.Unix(sv.Created, 0).UTC().Format("2006-01-02 15:04 UTC"))
	field("Modified", time.Unix(sv.Modified, 0).UTC().Format("2006-01-02 15:04 UTC"))
	_, err = fmt.Fprint(env.Stdout, b.String())
	return err
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return safe(s)
}

func runServerRm(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("server rm", serverRmSynopsis)
	yes := fs.Bool("yes", false, "delete without asking (required when not on a terminal)")
	s, _, sv, err := openRecord(ctx, env, fs, args, serverRecord, findServer)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	question := fmt.Sprintf("Delete server %q (id %d, %s) and its queued pushes?", safe(sv.Name), sv.ID, safe(sv.URL))
	if err := confirmDelete(env, *yes, serverRecord, sv.Name, question); err != nil {
		return err
	}
	if err := s.DeleteServer(ctx, sv.ID); err != nil {
		return storeErr(err)
	}
	fmt.Fprintf(env.Stdout, "Deleted server %q (id %d)\n", safe(sv.Name), sv.ID)
	return nil
}
