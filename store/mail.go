package store

// Mail: the instance's mail settings (MISP's names where MISP has them), the users' mail
// settings, the durable mail queue the daemon sends from, and the event alerts waiting
// to be written as mail. Mail is queued in the transaction that causes it (a post, a
// publish, an event stored from a peer), so a crash or a dead relay loses none.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Kinds of mail.
const (
	MailAlert   = "alert"   // an event published, pulled or pushed in (autoalert)
	MailDigest  = "digest"  // many such events in one mail
	MailContact = "contact" // a message to an event's reporter (events/contact)
	MailPost    = "post"    // a new post in a discussion or on an event
)

// Sources of an event alert.
const (
	AlertPublish = "publish" // a local user published it with an alert (events/alert)
	AlertSync    = "sync"    // it arrived published from a peer, pulled or pushed in
	AlertREST    = "rest"    // it was posted published over the API
)

// The instance's mail settings. MISP's own names where MISP has the setting; the SMTP
// relay, which MISP keeps in email.php, under mispdesk's names.
const (
	SettingEmail             = "MISP.email"
	SettingDisableEmailing   = "MISP.disable_emailing"
	SettingOnlyEncrypted     = "GnuPG.onlyencrypted"
	SettingBodyOnlyEncrypted = "GnuPG.bodyonlyencrypted"
	SettingSMTPHost          = "mispdesk.smtp_host"
	SettingSMTPPort          = "mispdesk.smtp_port"
	SettingSMTPSecurity      = "mispdesk.smtp_security"
	SettingSMTPUsername      = "mispdesk.smtp_username"
	SettingSMTPPassword      = "mispdesk.smtp_password"
)

// SMTP security modes (SettingSMTPSecurity).
const (
	SMTPPlain    = "none"     // no TLS (a relay on the same host)
	SMTPStartTLS = "starttls" // STARTTLS required
	SMTPTLS      = "tls"      // TLS from the first byte (port 465)
)

// ErrInvalidSetting marks a value a setting does not take; the error's text names the
// setting and the value.
var ErrInvalidSetting = errors.New("invalid setting value")

// settingError is a refused setting value: its message alone, and ErrInvalidSetting.
type settingError struct{ msg string }

func (e *settingError) Error() string { return e.msg }
func (e *settingError) Unwrap() error { return ErrInvalidSetting }

func invalidSetting(format string, args ...any) error {
	return &settingError{fmt.Sprintf(format, args...)}
}

// SettingDef describes one instance setting as MISP's serverSettings lists it.
type SettingDef struct {
	Name        string
	Type        string // "string", "numeric" or "boolean", as MISP types them
	Description string
	Default     string
	// Redacted settings are never shown (MISP answers "*****").
	Redacted bool
	// Options, when set, are the only values taken.
	Options []string
}

// MailSettings are the settings this instance keeps for mail, in MISP's order.
var MailSettings = []SettingDef{
	{Name: SettingEmail, Type: "string", Description: "The e-mail address that mispdesk uses for all notifications."},
	{Name: SettingDisableEmailing, Type: "boolean", Default: "false", Description: "When enabled, no outgoing e-mails are sent; mail already queued waits."},
	{Name: SettingOnlyEncrypted, Type: "boolean", Default: "false", Description: "Allow (false) unencrypted e-mails to be sent to users that have no OpenPGP key."},
	{Name: SettingBodyOnlyEncrypted, Type: "boolean", Default: "false", Description: "Allow (false) the body of unencrypted e-mails to contain details about the event."},
	{Name: SettingSMTPHost, Type: "string", Description: "The SMTP relay mail is sent through."},
	{Name: SettingSMTPPort, Type: "numeric", Default: "25", Description: "The SMTP relay's port."},
	{Name: SettingSMTPSecurity, Type: "string", Default: SMTPStartTLS, Options: []string{SMTPPlain, SMTPStartTLS, SMTPTLS}, Description: "How the connection to the relay is protected: none, starttls or tls."},
	{Name: SettingSMTPUsername, Type: "string", Description: "The user name to authenticate to the relay with (empty: no authentication)."},
	{Name: SettingSMTPPassword, Type: "string", Redacted: true, Description: "The password to authenticate to the relay with."},
}

// Shown is a stored value as MISP's settings answers show it: a boolean as a boolean, a
// number as a number, a redacted setting that is set as "*****".
func (d *SettingDef) Shown(value string) any {
	switch {
	case d.Redacted && value != "":
		return "*****"
	case d.Type == "boolean":
		return value == "true"
	case d.Type == "numeric":
		n, _ := strconv.Atoi(value)
		return n
	}
	return value
}

// MailSettingDef finds a mail setting by name; nil when there is none.
func MailSettingDef(name string) *SettingDef {
	for i := range MailSettings {
		if MailSettings[i].Name == name {
			return &MailSettings[i]
		}
	}
	return nil
}

// Check reports whether the setting takes value (a mail setting's full check; the other
// settings' checks that need the database are SetInstanceSetting's).
func (d *SettingDef) Check(value string) error {
	_, err := d.normalise(value)
	return err
}

// normalise checks value against the setting's type and returns it as stored.
func (d *SettingDef) normalise(value string) (string, error) {
	value = strings.TrimSpace(value)
	switch d.Type {
	case "boolean":
		switch strings.ToLower(value) {
		case "1", "true", "yes", "on":
			return "true", nil
		case "0", "false", "no", "off", "":
			return "false", nil
		}
		return "", invalidSetting("setting %s: %q is not a boolean (true or false)", d.Name, value)
	case "numeric":
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 || n > 65535 {
			return "", invalidSetting("setting %s: %q is not a port number", d.Name, value)
		}
		return strconv.Itoa(n), nil
	}
	if len(d.Options) > 0 {
		if v := strings.ToLower(value); slices.Contains(d.Options, v) {
			return v, nil
		}
		return "", invalidSetting("setting %s: %q is not one of %s", d.Name, value, strings.Join(d.Options, ", "))
	}
	if d.Name == SettingEmail && value != "" {
		if _, err := mail.ParseAddress(value); err != nil {
			return "", invalidSetting("setting %s: %q is not an e-mail address", d.Name, value)
		}
	}
	if len(value) > 1024 || strings.ContainsAny(value, "\r\n") {
		return "", invalidSetting("setting %s: the value must be one line of at most 1024 bytes", d.Name)
	}
	return value, nil
}

// SetMailSetting stores a mail setting after checking its value; an unknown name is
// ErrNotFound.
func (s *Store) SetMailSetting(ctx context.Context, name, value string) error {
	d := MailSettingDef(name)
	if d == nil {
		return fmt.Errorf("setting %s: %w", name, ErrNotFound)
	}
	v, err := d.normalise(value)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := setSetting(ctx, tx, name, v); err != nil {
			return fmt.Errorf("save setting %s: %w", name, err)
		}
		return nil
	})
}

// MailSettingValues returns every mail setting's value (its default when unset).
func (s *Store) MailSettingValues(ctx context.Context) (map[string]string, error) {
	out := make(map[string]string, len(MailSettings))
	for _, d := range MailSettings {
		v, err := s.setting(ctx, s.read, d.Name)
		if err != nil {
			return nil, fmt.Errorf("read setting %s: %w", d.Name, err)
		}
		if v == "" {
			v = d.Default
		}
		out[d.Name] = v
	}
	return out, nil
}

// MailConfig is the instance's mail settings, typed.
type MailConfig struct {
	From              string
	Disabled          bool
	OnlyEncrypted     bool
	BodyOnlyEncrypted bool
	Host              string
	Port              int
	Security          string
	Username          string
	Password          string
}

// MailConfig reads the instance's mail settings.
func (s *Store) MailConfig(ctx context.Context) (*MailConfig, error) {
	v, err := s.MailSettingValues(ctx)
	if err != nil {
		return nil, err
	}
	port, _ := strconv.Atoi(v[SettingSMTPPort])
	return &MailConfig{
		From: v[SettingEmail], Disabled: v[SettingDisableEmailing] == "true",
		OnlyEncrypted: v[SettingOnlyEncrypted] == "true", BodyOnlyEncrypted: v[SettingBodyOnlyEncrypted] == "true",
		Host: v[SettingSMTPHost], Port: port, Security: v[SettingSMTPSecurity],
		Username: v[SettingSMTPUsername], Password: v[SettingSMTPPassword],
	}, nil
}

// UserMailChange changes a user's mail settings; nil fields stay.
type UserMailChange struct {
	Autoalert    *bool
	Contactalert *bool
	GPGKey       *string
}

// MaxGPGKeyBytes bounds a stored public key (MISP's gpgkey is a TEXT column).
const MaxGPGKeyBytes = 64 << 10

// SetUserMail applies a change to a user's mail settings. The key is checked by the
// caller (it must parse as an OpenPGP public key); here only its size.
func (s *Store) SetUserMail(ctx context.Context, userID UserID, ch UserMailChange) error {
	if ch.GPGKey != nil && len(*ch.GPGKey) > MaxGPGKeyBytes {
		return fmt.Errorf("user %d: gpgkey is %d bytes, more than %d", userID, len(*ch.GPGKey), MaxGPGKeyBytes)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		set := func(col string, v any) error {
			res, err := tx.ExecContext(ctx, `UPDATE users SET `+col+` = ? WHERE id = ?`, v, userID)
			if err != nil {
				return fmt.Errorf("user %d: set %s: %w", userID, col, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("user %d: %w", userID, ErrNotFound)
			}
			return nil
		}
		if ch.Autoalert != nil {
			if err := set("autoalert", boolInt(*ch.Autoalert)); err != nil {
				return err
			}
		}
		if ch.Contactalert != nil {
			if err := set("contactalert", boolInt(*ch.Contactalert)); err != nil {
				return err
			}
		}
		if ch.GPGKey != nil {
			return set("gpgkey", strings.TrimSpace(*ch.GPGKey))
		}
		return nil
	})
}

// AlertUsers are the enabled users who asked for event alerts (MISP's autoalert).
func (s *Store) AlertUsers(ctx context.Context) ([]User, error) {
	return s.usersWhere(ctx, `u.autoalert = 1 AND u.disabled = 0`)
}

// ContactUsers are who a message to an event's reporter goes to, as MISP's
// sendContactEmail picks them: the event's creator alone (creatorOnly; only while that
// user is enabled and still in the creator organisation), or every enabled user of the
// creator organisation who asked for contact mail (contactalert), the creator always.
func (s *Store) ContactUsers(ctx context.Context, orgcID OrgID, creatorID UserID, creatorOnly bool) ([]User, error) {
	if creatorOnly {
		return s.usersWhere(ctx, `u.id = ? AND u.org_id = ? AND u.disabled = 0`, creatorID, orgcID)
	}
	return s.usersWhere(ctx, `u.org_id = ? AND u.disabled = 0 AND (u.contactalert = 1 OR u.id = ?)`, orgcID, creatorID)
}

func (s *Store) usersWhere(ctx context.Context, where string, args ...any) ([]User, error) {
	us, err := queryAll(ctx, s.read, userSelect+` WHERE `+where+` ORDER BY u.id`, args, (*User).dest)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return us, nil
}

// Mail is one message in the queue. Times are unix seconds.
type Mail struct {
	ID          int64  `json:"id"`
	MessageID   string `json:"message_id"` // set by QueueMail
	Kind        string `json:"kind"`
	UserID      UserID `json:"user_id"`
	Recipient   string `json:"recipient"`
	ReplyTo     string `json:"reply_to"`
	Subject     string `json:"subject"`
	Body        string `json:"body"`
	EventUUID   string `json:"event_uuid"`
	Created     int64  `json:"created"`
	Attempts    int    `json:"attempts"`
	NextAttempt int64  `json:"next_attempt"`
	LastError   string `json:"last_error"`
}

const mailColumns = `id, message_id, kind, user_id, recipient, reply_to, subject, body, event_uuid, created, attempts, next_attempt, last_error`

func (m *Mail) dest() []any {
	return []any{&m.ID, &m.MessageID, &m.Kind, &m.UserID, &m.Recipient, &m.ReplyTo, &m.Subject, &m.Body,
		&m.EventUUID, &m.Created, &m.Attempts, &m.NextAttempt, &m.LastError}
}

// MaxMailBodyBytes bounds one queued message's body.
const MaxMailBodyBytes = 1 << 20

// QueueMail queues messages, due now. With a non-nil tx it joins that transaction (a
// post and its notifications commit together); with nil it runs on its own.
func (s *Store) QueueMail(ctx context.Context, tx *sql.Tx, mails []Mail) error {
	for i := range mails {
		m := &mails[i]
		if !slices.Contains([]string{MailAlert, MailDigest, MailContact, MailPost}, m.Kind) {
			return fmt.Errorf("queue mail to %s: unknown kind %q", m.Recipient, m.Kind)
		}
		if _, err := mail.ParseAddress(m.Recipient); err != nil {
			return fmt.Errorf("queue mail: recipient %q: %w", m.Recipient, err)
		}
		if strings.ContainsAny(m.Subject, "\r\n") {
			return fmt.Errorf("queue mail to %s: the subject must be one line", m.Recipient)
		}
		if len(m.Body) > MaxMailBodyBytes {
			return fmt.Errorf("queue mail to %s: body of %d bytes is over %d", m.Recipient, len(m.Body), MaxMailBodyBytes)
		}
	}
	run := func(tx *sql.Tx) error {
		now := s.now().Unix()
		for i := range mails {
			m := &mails[i]
			m.MessageID = uuid.NewString()
			m.Created, m.NextAttempt = now, now
			res, err := tx.ExecContext(ctx, `INSERT INTO mail_queue (message_id, kind, user_id, recipient, reply_to, subject, body,
				event_uuid, created, next_attempt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				m.MessageID, m.Kind, m.UserID, m.Recipient, m.ReplyTo, m.Subject, m.Body, strings.ToLower(m.EventUUID), now, now)
			if err != nil {
				return fmt.Errorf("queue mail to %s: %w", m.Recipient, err)
			}
			if m.ID, err = res.LastInsertId(); err != nil {
				return fmt.Errorf("queue mail to %s: %w", m.Recipient, err)
			}
		}
		return nil
	}
	if tx != nil {
		return run(tx)
	}
	return s.tx(ctx, run)
}

// ClaimMail leases up to limit due messages to owner, oldest due first; a leased message
// is due again when its lease ends, so a sender that dies frees it then.
func (s *Store) ClaimMail(ctx context.Context, owner string, lease time.Duration, limit int) ([]Mail, error) {
	if owner == "" || limit <= 0 {
		return nil, fmt.Errorf("claim mail: need an owner and a positive limit")
	}
	secs := max(int64((lease+time.Second-1)/time.Second), 1)
	var out []Mail
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now().Unix()
		rows, err := tx.QueryContext(ctx, `UPDATE mail_queue SET lease_owner = ?, lease_until = ?, next_attempt = ?
			WHERE id IN (SELECT id FROM mail_queue WHERE next_attempt <= ? AND (lease_owner = '' OR lease_until <= ?)
				ORDER BY next_attempt, id LIMIT ?)
			RETURNING `+mailColumns, owner, now+secs, now+secs, now, now, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m Mail
			if err := rows.Scan(m.dest()...); err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim mail for %s: %w", owner, err)
	}
	slices.SortFunc(out, func(a, b Mail) int { return int(a.ID - b.ID) })
	return out, nil
}

// MailDone removes a message its owner has sent, or will never send (refused for good).
func (s *Store) MailDone(ctx context.Context, id int64, owner string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM mail_queue WHERE id = ? AND lease_owner = ?`, id, owner)
		if err != nil {
			return fmt.Errorf("mail %d done: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("mail %d done by %s: %w", id, owner, ErrLeaseLost)
		}
		return nil
	})
}

// MailFailed records a failed attempt: the message stays, due again after backoff.
func (s *Store) MailFailed(ctx context.Context, id int64, owner, errMsg string, backoff time.Duration) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE mail_queue SET lease_owner = '', lease_until = 0, attempts = attempts + 1,
			last_error = ?, next_attempt = ? WHERE id = ? AND lease_owner = ?`, errMsg, s.now().Add(backoff).Unix(), id, owner)
		if err != nil {
			return fmt.Errorf("mail %d failed: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("mail %d failed by %s: %w", id, owner, ErrLeaseLost)
		}
		return nil
	})
}

// MailQueue lists the queued messages, oldest first, at most limit.
func (s *Store) MailQueue(ctx context.Context, limit int) ([]Mail, error) {
	ms, err := queryAll(ctx, s.read, `SELECT `+mailColumns+` FROM mail_queue ORDER BY id LIMIT ?`, []any{limit}, (*Mail).dest)
	if err != nil {
		return nil, fmt.Errorf("list mail queue: %w", err)
	}
	return ms, nil
}

// Alert is an event whose alert is still to be written as mail.
type Alert struct {
	ID           int64
	EventUUID    string
	Source       string // AlertPublish, AlertSync or AlertREST
	SenderUserID UserID
	ServerID     ServerID
	Created      int64
}

// queueAlert records, inside the caller's transaction, that an event needs an alert. An
// event arriving by a sync link that publishes without e-mail (MISP's
// publish_without_email) is not alerted about.
func queueAlert(ctx context.Context, tx *sql.Tx, now int64, a Alert) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO mail_alerts (event_uuid, source, sender_user_id, server_id, created)
		SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM servers WHERE id = ? AND publish_without_email = 1)
		ON CONFLICT (event_uuid, source) DO UPDATE SET sender_user_id = excluded.sender_user_id,
			server_id = excluded.server_id, created = excluded.created`,
		strings.ToLower(a.EventUUID), a.Source, a.SenderUserID, a.ServerID, now, a.ServerID)
	if err != nil {
		return fmt.Errorf("queue the alert of event %s: %w", a.EventUUID, err)
	}
	return nil
}

// PendingAlerts lists the alerts waiting, oldest first, at most limit.
func (s *Store) PendingAlerts(ctx context.Context, limit int) ([]Alert, error) {
	as, err := queryAll(ctx, s.read, `SELECT id, event_uuid, source, sender_user_id, server_id, created
		FROM mail_alerts ORDER BY id LIMIT ?`, []any{limit}, func(a *Alert) []any {
		return []any{&a.ID, &a.EventUUID, &a.Source, &a.SenderUserID, &a.ServerID, &a.Created}
	})
	if err != nil {
		return nil, fmt.Errorf("list pending alerts: %w", err)
	}
	return as, nil
}

// AlertsWritten replaces alerts by the mail written for them, in one transaction: each
// alert becomes its mail exactly once.
func (s *Store) AlertsWritten(ctx context.Context, alertIDs []int64, mails []Mail) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range alertIDs {
			if _, err := tx.ExecContext(ctx, `DELETE FROM mail_alerts WHERE id = ?`, id); err != nil {
				return fmt.Errorf("alert %d written: %w", id, err)
			}
		}
		return s.QueueMail(ctx, tx, mails)
	})
}

// PublishAlert is events/alert: Publish, and in the same transaction an alert of the
// event to the users who asked for alerts, sender aside.
func (s *Store) PublishAlert(ctx context.Context, id EventID, senderUserID UserID) (*PublishResult, error) {
	return s.publish(ctx, id, func(tx *sql.Tx, res *PublishResult) error {
		return queueAlert(ctx, tx, s.now().Unix(), Alert{EventUUID: res.UUID, Source: AlertPublish, SenderUserID: senderUserID})
	})
}

// RetryMailNow makes every queued message not being sent due now (the relay is back, or
// an operator asks), and returns how many.
func (s *Store) RetryMailNow(ctx context.Context) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now().Unix()
		res, err := tx.ExecContext(ctx, `UPDATE mail_queue SET next_attempt = ? WHERE next_attempt > ?
			AND (lease_owner = '' OR lease_until <= ?)`, now, now, now)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("retry mail now: %w", err)
	}
	return int(n), nil
}
