package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/mattn/go-runewidth"

	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer"
	"mispdesk/syncer/remote"
)

const (
	testConnSynopsis = "test-connection SERVER [--json]"
	explainSynopsis  = "explain EVENT SERVER [--pull] [--json]"
)

// localRequestEncoding is what this instance's API accepts as request bodies
// (mispapi's getVersion says the same to peers).
var localRequestEncoding = []string{"gzip"}

func runTestConnection(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("test-connection", testConnSynopsis)
	jsonOut := fs.Bool("json", false, "print the connection test as a JSON object")
	s, inst, sv, err := openRecord(ctx, env, fs, args, serverRecord, findServer)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	eng := syncer.New(s, syncer.Options{})
	defer eng.Close()
	ct, err := eng.TestConnection(ctx, sv.ID)
	if err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return fmt.Errorf("%s: %w", safe(sv.Name), err)
	}
	if *jsonOut {
		err = printJSON(env, ct)
	} else {
		err = printConnectionTest(env.Stdout, inst, ct)
	}
	if err != nil {
		return err
	}
	if ct.Status != 1 {
		return errReported // the verdict says why
	}
	return nil
}

// printConnectionTest prints local and remote side by side, then the test's
// findings, in 79 columns.
func printConnectionTest(w io.Writer, inst *store.Instance, ct *remote.ConnectionTest) error {
	var b strings.Builder
	const label, col = 17, 30
	row := func(name, local, remote string) {
		fmt.Fprintf(&b, "%s %s %s\n", pad(name, label, false), pad(safe(local), col, false), fit(safe(remote), col))
	}
	field := func(name, value string) {
		for i, line := range wrapWords(safe(value), 79-label-1) {
			if i > 0 {
				name = ""
			} else {
				name += ":"
			}
			fmt.Fprintf(&b, "%s %s\n", pad(name, label, false), line)
		}
	}
	fmt.Fprintf(&b, "Server %s (%s)\n\n", fit(safe(ct.Server), 30), fit(safe(ct.URL), 40))

	rv, user := ct.Remote, ct.User
	rem := func(f func() string) string {
		if rv == nil && user == nil {
			return "-"
		}
		return f()
	}
	perm := func(fromVersion func(*remote.Version) bool, fromUser func(*remote.RemoteUser) bool) string {
		switch {
		case rv != nil:
			return yesNo(fromVersion(rv))
		case user != nil:
			return yesNo(fromUser(user))
		}
		return "-"
	}
	row("", "Local", "Remote")
	row("MISP version", ct.Local.MISPVersion, rem(func() string { return orDash(rv.Version) }))
	row("mispdesk version", ct.Local.AppVersion, rem(func() string {
		if rv.AppVersion == "" {
			return "- (not a mispdesk)"
		}
		return rv.AppVersion
	}))
	row("Org", inst.HostOrg.Name, rem(func() string {
		if user == nil {
			return "-"
		}
		return user.Org.Name
	}))
	row("User", "-", rem(func() string {
		if user == nil {
			return orDash(ct.UserError)
		}
		return fmt.Sprintf("%s (%s)", user.Email, user.Role)
	}))
	row("Sync", "-", perm(func(v *remote.Version) bool { return v.PermSync }, func(u *remote.RemoteUser) bool { return u.PermSync }))
	row("Sighting", "-", perm(func(v *remote.Version) bool { return v.PermSighting }, func(u *remote.RemoteUser) bool { return u.PermSighting }))
	row("Galaxy editor", "-", perm(func(v *remote.Version) bool { return v.PermGalaxyEditor }, func(u *remote.RemoteUser) bool { return u.PermGalaxyEditor }))
	row("Analyst data", "-", perm(func(v *remote.Version) bool { return v.PermAnalystData }, func(u *remote.RemoteUser) bool { return u.PermAnalystData }))
	encodings := ct.RequestEncoding
	if rv != nil && len(encodings) == 0 {
		encodings = rv.RequestEncoding
	}
	row("Request encodings", strings.Join(localRequestEncoding, ", "), orDash(strings.Join(encodings, ", ")))
	// A UUID is wider than a column: the two go one above the other.
	remoteUUID := "-"
	if rv != nil {
		remoteUUID = orDash(rv.UUID)
	}
	fmt.Fprintf(&b, "%s local  %s\n%s remote %s\n\n", pad("Instance uuid", label, false), safe(inst.UUID), pad("", label, false), fit(safe(remoteUUID), 40))

	field("Status", fmt.Sprintf("%d %s", ct.Status, ct.StatusText))
	if ct.Error != "" {
		field("Error", oneLine(ct.Error))
	}
	compat := ct.Compatibility
	if ct.Mismatch != "" {
		compat += fmt.Sprintf(" (%s version differs; %s is newer)", ct.Mismatch, orDash(ct.Newer))
	}
	field("Compatibility", compat)
	if ct.Post == 0 {
		field("POST test", "not run")
	} else {
		field("POST test", fmt.Sprintf("%d %s", ct.Post, ct.PostText))
	}
	if ct.TLS == nil {
		field("TLS", ct.TLSNone())
	} else {
		field("TLS", fmt.Sprintf("%s, %s", ct.TLS.Version, ct.TLS.CipherSuite))
		field("Verification", ct.TLS.Verification)
		if c := ct.TLS.PeerCertificate; c != nil {
			printCert(&b, label, c)
		}
	}
	field("Round trip", fmt.Sprintf("%.0f ms", ct.RTTMillis))
	field("Verdict", ct.Verdict)
	_, err := io.WriteString(w, b.String())
	return err
}

// printCert describes a certificate in lines that fit 79 columns; its SHA-256
// fingerprint (95 characters) goes on two lines.
func printCert(b *strings.Builder, label int, c *remote.CertInfo) {
	field := func(name, value string) {
		fmt.Fprintf(b, "%s %s\n", pad(name+":", label, false), fit(safe(value), 79-label-1))
	}
	field("Certificate", c.Subject)
	field("Issuer", c.Issuer)
	self := ""
	if c.SelfSigned {
		self = " (self-signed)"
	}
	field("Expires", c.NotAfter.UTC().Format("2006-01-02 15:04 UTC")+self)
	fp := c.SHA256
	if len(fp) > 48 {
		field("SHA-256", fp[:48])
		field("", fp[48:])
	} else {
		field("SHA-256", fp)
	}
}

// wrapWords breaks text into lines of at most width columns at spaces; a word
// wider than a line is cut with "…".
func wrapWords(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		w = fit(w, width)
		switch {
		case line == "":
			line = w
		case runewidth.StringWidth(line)+1+runewidth.StringWidth(w) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	return append(lines, line)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runExplain(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("explain", explainSynopsis)
	pull := fs.Bool("pull", false, "explain a pull of the event from SERVER (fetches it) instead of a push to it")
	jsonOut := fs.Bool("json", false, "print the explanation as a JSON object")
	args, err = fs.Parse(args)
	if err != nil {
		return err
	}
	switch {
	case len(args) < 2:
		return usagef("give EVENT (id or UUID) and SERVER (id or name); run 'mispdesk explain -h' for usage")
	case len(args) > 2:
		return usagef("unexpected argument %q: explain takes EVENT and SERVER", args[2])
	}
	eventRef := strings.TrimSpace(args[0])
	if *pull && !misp.IsUUID(eventRef) {
		return usagef("explain --pull: give the event's UUID (%q is not one): it is fetched from the server", eventRef)
	}
	s, _, err := openInitialised(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	sv, err := findServer(ctx, s, args[1])
	if err != nil {
		return err
	}
	eng := syncer.New(s, syncer.Options{})
	defer eng.Close()
	var ex *syncer.Explanation
	if *pull {
		ex, err = eng.ExplainPull(ctx, eventRef, sv.ID)
	} else {
		id, rerr := s.ResolveEvent(ctx, eventRef)
		if errors.Is(rerr, store.ErrNotFound) {
			return inputf("no event %q here: give its id or UUID (see mispdesk event list)", eventRef)
		} else if rerr != nil {
			return rerr
		}
		ex, err = eng.ExplainPush(ctx, id, sv.ID)
	}
	if err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		var re *remote.Error
		if *pull && errors.As(err, &re) && re.Status == http.StatusNotFound {
			return inputf("server %q has no event %q (or this link's user may not see it)", safe(sv.Name), eventRef)
		}
		return fmt.Errorf("%s: %w", safe(sv.Name), err)
	}
	if *jsonOut {
		return printJSON(env, ex)
	}
	verb := map[store.Direction]string{store.DirPush: "pushed", store.DirPull: "pulled"}[ex.Direction]
	target := "to " + ex.Server
	if ex.Direction == store.DirPull {
		target = "from " + ex.Server
	}
	if ex.Decision.Allowed {
		fmt.Fprintf(env.Stdout, "would be %s %s\n", verb, safe(target))
	} else {
		fmt.Fprintf(env.Stdout, "would not be %s %s: %s\n", verb, safe(target), safe(ex.Decision.Reason()))
	}
	for _, line := range strings.Split(strings.TrimRight(ex.Decision.String(), "\n"), "\n") {
		fmt.Fprintf(env.Stdout, "  %s\n", safe(line))
	}
	return nil
}
