package syncer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	smtp "github.com/emersion/go-smtp"
	"github.com/google/uuid"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/feed"
	"mispdesk/syncer/mailer"
)

// relay is a real SMTP server on 127.0.0.1 that keeps what it receives.
type relay struct {
	mu   sync.Mutex
	msgs [][]byte
	srv  *smtp.Server
}

type relaySession struct{ r *relay }

func (s relaySession) Reset()                               {}
func (s relaySession) Logout() error                        { return nil }
func (s relaySession) Mail(string, *smtp.MailOptions) error { return nil }
func (s relaySession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s relaySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	s.r.msgs = append(s.r.msgs, b)
	s.r.mu.Unlock()
	return nil
}

// startRelay serves SMTP at addr until the test ends.
func startRelay(t *testing.T, addr string) *relay {
	t.Helper()
	r := &relay{}
	r.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return relaySession{r}, nil }))
	r.srv.Domain = "relay.test"
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go r.srv.Serve(l)
	t.Cleanup(func() { r.srv.Close() })
	return r
}

func (r *relay) received() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.msgs...)
}

// freeAddr is an address on 127.0.0.1 where nothing listens (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// call makes one REST request with key and returns the status and body.
func call(t *testing.T, n *node, key, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, n.http.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func mustCall(t *testing.T, n *node, key, method, path string, body any) []byte {
	t.Helper()
	status, b := call(t, n, key, method, path, body)
	if status != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, status, b)
	}
	return b
}

// addUser makes a user and returns it with its key.
func addUser(t *testing.T, n *node, email, org, role string) (*store.User, string) {
	t.Helper()
	u, key, err := n.st.AddUser(context.Background(), store.NewUser{Email: email, OrgRef: org, RoleRef: role})
	if err != nil {
		t.Fatal(err)
	}
	return u, key
}

func adminKey(t *testing.T, n *node) string {
	t.Helper()
	_, key := addUser(t, n, "root@"+strings.ToLower(n.name)+".test", n.host.UUID, "admin")
	return key
}

// ownEvent stores an event created on n by user u of the host organisation.
func ownEvent(t *testing.T, n *node, u *store.User, edit func(*misp.Event)) *misp.Event {
	t.Helper()
	raw, err := os.ReadFile(smallEvent)
	if err != nil {
		t.Fatal(err)
	}
	e, err := misp.ParseEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	e.Orgc = &misp.Org{UUID: n.host.UUID, Name: n.host.Name}
	e.Distribution = misp.AllCommunities
	if edit != nil {
		edit(e)
	}
	if _, err := n.st.UpsertEvent(context.Background(), e, store.UpsertOptions{UserID: u.ID, LocalIDs: true}); err != nil {
		t.Fatal(err)
	}
	return e
}

// freshUUIDs gives an event's attributes and objects new UUIDs, so that copies of one
// file are distinct events.
func freshUUIDs(e *misp.Event) {
	for i := range e.Attribute {
		e.Attribute[i].UUID = uuid.NewString()
	}
	for i := range e.Object {
		e.Object[i].UUID = uuid.NewString()
		for j := range e.Object[i].Attribute {
			e.Object[i].Attribute[j].UUID = uuid.NewString()
		}
	}
}

func eventID(t *testing.T, n *node, uuid string) string {
	return strconv.FormatInt(int64(testsupport.LocalEvent(t, n.st, uuid)), 10)
}

// useRelay points n's mail at a relay on addr, without TLS.
func useRelay(t *testing.T, n *node, key, addr string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	for k, v := range map[string]any{store.SettingEmail: "misp@" + n.name + ".test", store.SettingSMTPHost: host,
		store.SettingSMTPPort: port, store.SettingSMTPSecurity: "none"} {
		mustCall(t, n, key, "POST", "/servers/serverSettingsEdit/"+k, map[string]any{"value": v})
	}
}

// pgpKey makes an OpenPGP key pair: the armored public key and the entity to decrypt.
func pgpKey(t *testing.T, email string) (string, openpgp.EntityList) {
	t.Helper()
	ent, err := openpgp.NewEntity("recipient", "", email, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ent.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return buf.String(), openpgp.EntityList{ent}
}

// decrypt reads a PGP/MIME message and returns its decrypted text.
func decrypt(t *testing.T, raw []byte, keys openpgp.EntityList) (*mail.Message, string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/encrypted" || params["protocol"] != "application/pgp-encrypted" {
		t.Fatalf("content type %q (%v): not PGP/MIME", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var sealed []byte
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		if strings.HasPrefix(p.Header.Get("Content-Type"), "application/octet-stream") {
			sealed = b
		}
	}
	block, err := armor.Decode(bytes.NewReader(sealed))
	if err != nil {
		t.Fatalf("no armored message in the encrypted part: %v", err)
	}
	md, err := openpgp.ReadMessage(block.Body, keys, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		t.Fatal(err)
	}
	return msg, string(text)
}

// TestContactMailEncryptedThroughRelayDownThenUp: a message to an event's reporter is
// queued while the relay is down, delivered exactly once when it is up, encrypted to the
// reporter's key (decrypted here with the private key); with GnuPG.onlyencrypted on, a
// reporter without a key gets nothing and the sender is told why.
func TestContactMailEncryptedThroughRelayDownThenUp(t *testing.T) {
	ctx := context.Background()
	a := newNode(t, "A")
	admin := adminKey(t, a)
	reporter, reporterKey := addUser(t, a, "reporter@a.test", a.host.UUID, "publisher")
	pub, priv := pgpKey(t, reporter.Email)
	mustCall(t, a, reporterKey, "POST", "/users/edit", map[string]any{"User": map[string]any{"gpgkey": pub, "autoalert": true}})
	if u, _ := a.st.User(ctx, testsupport.UserID(a.st, reporter.Email)); u.GPGKey == "" || !u.Autoalert {
		t.Fatalf("users/edit did not keep gpgkey and autoalert: %+v", u)
	}
	if status, b := call(t, a, reporterKey, "POST", "/users/edit", map[string]any{"gpgkey": "not a key"}); status != http.StatusForbidden ||
		!strings.Contains(string(b), "The message could not be encrypted because the provided GPG key is invalid.") {
		t.Errorf("a bad key: %d %s", status, b)
	}
	other, err := a.st.AddOrg(ctx, store.Org{Name: "OrgOther", Local: true})
	if err != nil {
		t.Fatal(err)
	}
	_, askerKey := addUser(t, a, "asker@other.test", other.UUID, "user")
	ev := ownEvent(t, a, reporter, nil)

	addr := freeAddr(t)
	useRelay(t, a, admin, addr)
	body := mustCall(t, a, askerKey, "POST", "/events/contact/"+eventID(t, a, ev.UUID), map[string]any{"message": "Where does 8.8.8.8 come from?", "person": true})
	if !strings.Contains(string(body), "Email sent to the reporter.") {
		t.Fatalf("contact answered %s", body)
	}
	// the relay is down: the mail stays queued
	if n, err := a.eng.MailRound(ctx, 0); err != nil || n != 0 {
		t.Fatalf("relay down: sent %d, %v", n, err)
	}
	q, _ := a.st.MailQueue(ctx, 10)
	if len(q) != 1 || q[0].Attempts != 1 || q[0].LastError == "" {
		t.Fatalf("after a failed attempt the queue is %+v", q)
	}
	r := startRelay(t, addr)
	if _, err := a.st.RetryMailNow(ctx); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := a.eng.MailRound(ctx, 0); err != nil {
			t.Fatal(err)
		}
	}
	got := r.received()
	if len(got) != 1 {
		t.Fatalf("the relay received %d messages, want exactly 1", len(got))
	}
	msg, text := decrypt(t, got[0], priv)
	if to := msg.Header.Get("To"); !strings.Contains(to, reporter.Email) || !strings.Contains(msg.Header.Get("Reply-To"), "asker@other.test") {
		t.Errorf("To %q Reply-To %q", to, msg.Header.Get("Reply-To"))
	}
	if !strings.Contains(text, "Where does 8.8.8.8 come from?") || !strings.Contains(text, ev.UUID) {
		t.Errorf("decrypted body lacks the message or the event:\n%s", text)
	}
	if bytes.Contains(got[0], []byte("8.8.8.8")) {
		t.Error("the message travels in clear")
	}
	if q, _ := a.st.MailQueue(ctx, 10); len(q) != 0 {
		t.Errorf("sent mail still queued: %+v", q)
	}
	logs, err := a.st.LogSince(ctx, 0, 100, store.LogFilter{Direction: "mail"})
	if err != nil {
		t.Fatal(err)
	}
	var sent, failed int
	for _, l := range logs {
		switch l.Outcome {
		case "sent":
			sent++
		case "failed":
			failed++
		}
	}
	if sent != 1 || failed != 1 {
		t.Errorf("sync log: %d sent, %d failed lines, want 1 and 1", sent, failed)
	}

	// encryption enforced: a reporter without a key is not mailed, and the sender is told
	mustCall(t, a, admin, "POST", "/servers/serverSettingsEdit/GnuPG.onlyencrypted", map[string]any{"value": true})
	plain, _ := addUser(t, a, "plain@a.test", a.host.UUID, "publisher")
	ev2 := ownEvent(t, a, plain, func(e *misp.Event) { e.UUID = "5a0a9aa9-23a4-4607-b6df-41a9950d2100"; freshUUIDs(e) })
	status, b := call(t, a, askerKey, "POST", "/events/contact/"+eventID(t, a, ev2.UUID), map[string]any{"message": "hello", "person": true})
	if status != http.StatusForbidden || !strings.Contains(string(b), mailer.MsgNoKey) {
		t.Errorf("contact without a key under onlyencrypted: %d %s", status, b)
	}
	if q, _ := a.st.MailQueue(ctx, 10); len(q) != 0 {
		t.Errorf("a mail was queued for a recipient without a key: %+v", q)
	}
	var settings struct {
		FinalSettings []struct {
			Setting string `json:"setting"`
			Value   any    `json:"value"`
		} `json:"finalSettings"`
	}
	if err := json.Unmarshal(mustCall(t, a, admin, "GET", "/servers/serverSettings", nil), &settings); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range settings.FinalSettings {
		if s.Setting == store.SettingOnlyEncrypted {
			found = s.Value == true
		}
	}
	if !found {
		t.Errorf("serverSettings does not show %s on: %+v", store.SettingOnlyEncrypted, settings)
	}
}

// TestAlertsGateAndDigest: events/alert mails the autoalert users who may see the event
// (not an organisation the event is not shared with, not the publisher); events pushed in
// together become one digest per user; a sync link that publishes without e-mail
// alerts nobody.
func TestAlertsGateAndDigest(t *testing.T) {
	ctx := context.Background()
	a, b := newNode(t, "A"), newNode(t, "B")
	adminA := adminKey(t, a)
	publisher, pubKey := addUser(t, a, "publisher@a.test", a.host.UUID, "publisher")
	_, watcherKey := addUser(t, a, "watcher@a.test", a.host.UUID, "user")
	other, err := a.st.AddOrg(ctx, store.Org{Name: "OrgOther", Local: true})
	if err != nil {
		t.Fatal(err)
	}
	_, outsiderKey := addUser(t, a, "outsider@other.test", other.UUID, "user")
	for _, k := range []string{pubKey, watcherKey, outsiderKey} {
		mustCall(t, a, k, "POST", "/users/edit", map[string]any{"autoalert": 1})
	}
	addr := freeAddr(t)
	r := startRelay(t, addr)
	useRelay(t, a, adminA, addr)

	ev := ownEvent(t, a, publisher, func(e *misp.Event) { e.Distribution = misp.OrgOnly })
	mustCall(t, a, pubKey, "POST", "/events/alert/"+eventID(t, a, ev.UUID), nil)
	if _, err := a.eng.MailRound(ctx, 0); err != nil {
		t.Fatal(err)
	}
	got := r.received()
	if len(got) != 1 || !bytes.Contains(got[0], []byte("watcher@a.test")) {
		t.Fatalf("alert of an org-only event went to %d recipients, want the watcher alone:\n%s", len(got), bytes.Join(got, []byte("\n----\n")))
	}

	// B pushes five published events to A: each user hears of them in one digest
	srvOnB := connect(t, b, a, store.ServerOptions{Push: true})
	bUser, _ := addUser(t, b, "author@b.test", b.host.UUID, "publisher")
	for i := range 5 {
		ownEvent(t, b, bUser, func(e *misp.Event) {
			e.UUID = "6a0a9aa9-23a4-4607-b6df-41a9950d21" + strconv.Itoa(10+i)
			e.Published = true
			freshUUIDs(e)
		})
	}
	if _, err := b.eng.Push(ctx, b.serverID(srvOnB.Name), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.eng.MailRound(ctx, 0); err != nil {
		t.Fatal(err)
	}
	digests := r.received()[1:]
	if len(digests) != 3 {
		t.Fatalf("%d mails after a push of 5 events, want one digest for each of 3 users", len(digests))
	}
	for _, m := range digests {
		if !bytes.Contains(m, []byte("5 new events")) {
			t.Errorf("not a digest of 5 events:\n%s", m)
		}
	}

	// a link that publishes without e-mail: nothing is alerted
	c := newNode(t, "C")
	cUser, _ := addUser(t, c, "author@c.test", c.host.UUID, "publisher")
	ownEvent(t, c, cUser, func(e *misp.Event) {
		e.UUID = "7a0a9aa9-23a4-4607-b6df-41a9950d2100"
		e.Published = true
		freshUUIDs(e)
	})
	link := connect(t, a, c, store.ServerOptions{Pull: true, PublishWithoutEmail: true})
	if _, err := a.eng.Pull(ctx, a.serverID(link.Name), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if a.event(t, "7a0a9aa9-23a4-4607-b6df-41a9950d2100") == nil {
		t.Fatal("the pull brought nothing")
	}
	if pending, _ := a.st.PendingAlerts(ctx, 10); len(pending) != 0 {
		t.Errorf("a pull from a link that publishes without e-mail left alerts: %+v", pending)
	}
}

// TestCommentsAndDiscussionsNeverLeave: an event's comments and a discussion on A reach
// no other instance by push, pull or feed export, and no REST answer to a sync account.
func TestCommentsAndDiscussionsNeverLeave(t *testing.T) {
	ctx := context.Background()
	a, b, c := newNode(t, "A"), newNode(t, "B"), newNode(t, "C")
	author, key := addUser(t, a, "author@a.test", a.host.UUID, "publisher")
	ev := ownEvent(t, a, author, func(e *misp.Event) { e.Published = true })
	id := eventID(t, a, ev.UUID)
	const token = "zqcommenttokenzq"
	mustCall(t, a, key, "POST", "/posts/add/event/"+id, map[string]any{"message": "comment " + token})
	view := mustCall(t, a, key, "POST", "/posts/add", map[string]any{"Post": map[string]any{"title": "topic " + token, "message": "discussion " + token}})
	var thread struct {
		Thread struct {
			ID   string `json:"id"`
			Post []struct {
				Contents string `json:"contents"`
			} `json:"Post"`
		} `json:"Thread"`
	}
	if err := json.Unmarshal(view, &thread); err != nil || len(thread.Thread.Post) != 1 {
		t.Fatalf("posts/add answered %s (%v)", view, err)
	}
	index := mustCall(t, a, key, "GET", "/threads/index", nil)
	if bytes.Count(index, []byte(`"Thread"`)) != 2 {
		t.Fatalf("threads/index for the author: %s", index)
	}

	// push A → B, pull C ← A
	toB := connect(t, a, b, store.ServerOptions{Push: true})
	if _, err := a.eng.Push(ctx, a.serverID(toB.Name), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	fromA := connect(t, c, a, store.ServerOptions{Pull: true})
	if _, err := c.eng.Pull(ctx, c.serverID(fromA.Name), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*node{b, c} {
		got := n.event(t, ev.UUID)
		if got == nil {
			t.Fatalf("%s did not get the event", n.name)
		}
		raw, _ := json.Marshal(got)
		if bytes.Contains(raw, []byte(token)) {
			t.Errorf("%s's copy of the event carries the comment", n.name)
		}
		if threads, _, _ := n.st.Threads(ctx); len(threads) != 0 {
			t.Errorf("%s has threads: %+v", n.name, threads)
		}
	}
	// feed export
	dir := t.TempDir()
	if _, err := feed.Export(ctx, a.st, dir, feed.ExportOptions{Feed: true}); err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(token)) {
				t.Errorf("feed file %s carries a comment", p)
			}
		}
		return nil
	})
	// every REST answer to the sync account C uses on A
	syncKey := fromA.Authkey
	for _, path := range []string{"/threads/index", "/threads/view/" + thread.Thread.ID, "/threads/view/1", "/events/view/" + ev.UUID,
		"/events/index", "/events/restSearch", "/events/view/" + id} {
		status, body := call(t, a, syncKey, "GET", path, nil)
		if bytes.Contains(body, []byte(token)) {
			t.Errorf("sync account: GET %s (%d) carries a comment", path, status)
		}
		if strings.HasPrefix(path, "/threads/view") && status != http.StatusNotFound {
			t.Errorf("sync account: GET %s = %d, want 404", path, status)
		}
		if path == "/threads/index" && strings.TrimSpace(string(body)) != "[]" {
			t.Errorf("sync account: threads/index = %s", body)
		}
	}
	if status, _ := call(t, a, syncKey, "POST", "/posts/add/event/"+id, map[string]any{"message": "from a peer"}); status != http.StatusNotFound {
		t.Errorf("a sync account commented: %d", status)
	}
}
