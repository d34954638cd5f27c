// Package mailer writes and sends mispdesk's mail: the texts of alerts, digests, contact
// messages and post notifications, OpenPGP encryption to the recipient's key (PGP/MIME,
// RFC 3156), and delivery through the configured SMTP relay. What is sent, to whom and
// when is decided by its callers; the queue is the store's.
package mailer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	gomail "github.com/wneessen/go-mail"

	"mispdesk/store"
)

// ErrRefused wraps a message that will never be sent as it stands: retrying changes
// nothing (encryption enforced and no key, a key that cannot encrypt).
var ErrRefused = errors.New("mail refused")

// MISP's words, kept where operators and tools match on them.
const (
	MsgNoKey      = "Encrypted messages are enforced and the message could not be encrypted for this user as no valid encryption key was found."
	MsgInvalidKey = "The message could not be encrypted because the provided GPG key is invalid."
	MsgKeyUnfit   = "The message could not be encrypted because the provided GPG key is either expired or cannot be used for encryption."
)

// sendTimeout bounds one delivery to the relay.
const sendTimeout = time.Minute

// CheckKey reports whether armored is an OpenPGP public key that mail can be encrypted
// to, with MISP's message when it is not. An empty key is fine (no encryption).
func CheckKey(armored string) error {
	if strings.TrimSpace(armored) == "" {
		return nil
	}
	_, err := encrypt(armored, []byte("test"))
	return err
}

// encrypt encrypts body to the keys in armored, ASCII-armored.
func encrypt(armored string, body []byte) ([]byte, error) {
	ents, err := openpgp.ReadArmoredKeyRing(strings.NewReader(armored))
	if err != nil || len(ents) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrRefused, MsgInvalidKey)
	}
	var buf bytes.Buffer
	aw, err := armor.Encode(&buf, "PGP MESSAGE", nil)
	if err != nil {
		return nil, fmt.Errorf("encrypt mail: %w", err)
	}
	pw, err := openpgp.Encrypt(aw, ents, nil, &openpgp.FileHints{IsBinary: false}, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrRefused, MsgKeyUnfit)
	}
	if _, err := pw.Write(body); err != nil {
		return nil, fmt.Errorf("encrypt mail: %w", err)
	}
	if err := pw.Close(); err != nil {
		return nil, fmt.Errorf("encrypt mail: %w", err)
	}
	if err := aw.Close(); err != nil {
		return nil, fmt.Errorf("encrypt mail: %w", err)
	}
	return buf.Bytes(), nil
}

// Message builds the message for m to a recipient whose public key is key (empty: none):
// encrypted when there is a key, refused when encryption is enforced and there is none.
// It reports whether the message is encrypted.
func Message(cfg *store.MailConfig, m *store.Mail, key string) (*gomail.Msg, bool, error) {
	if cfg.From == "" {
		return nil, false, fmt.Errorf("mail %d: no sender address: set %s", m.ID, store.SettingEmail)
	}
	if strings.TrimSpace(key) == "" && cfg.OnlyEncrypted {
		return nil, false, fmt.Errorf("%w: %s", ErrRefused, MsgNoKey)
	}
	msg := gomail.NewMsg()
	if err := msg.From(cfg.From); err != nil {
		return nil, false, fmt.Errorf("mail %d: sender %q: %w", m.ID, cfg.From, err)
	}
	if err := msg.To(m.Recipient); err != nil {
		return nil, false, fmt.Errorf("%w: recipient %q: %v", ErrRefused, m.Recipient, err)
	}
	if m.ReplyTo != "" {
		if err := msg.ReplyTo(m.ReplyTo); err != nil {
			return nil, false, fmt.Errorf("%w: reply-to %q: %v", ErrRefused, m.ReplyTo, err)
		}
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.MessageID + "@mispdesk")
	msg.SetDate()
	if strings.TrimSpace(key) == "" {
		msg.SetBodyString(gomail.TypeTextPlain, m.Body)
		return msg, false, nil
	}
	sealed, err := encrypt(key, []byte(m.Body))
	if err != nil {
		return nil, false, err
	}
	// PGP/MIME: the version part, then the encrypted body (RFC 3156 section 4).
	msg.SetPGPType(gomail.PGPEncrypt)
	msg.SetBodyString(gomail.TypePGPEncrypted, "Version: 1", gomail.WithPartEncoding(gomail.NoEncoding))
	msg.AddAlternativeString(gomail.TypeAppOctetStream, string(sealed), gomail.WithPartEncoding(gomail.NoEncoding))
	return msg, true, nil
}

// Client connects to the relay cfg names.
func Client(cfg *store.MailConfig) (*gomail.Client, error) {
	if cfg.Host == "" {
		return nil, fmt.Errorf("no SMTP relay: set %s", store.SettingSMTPHost)
	}
	opts := []gomail.Option{gomail.WithPort(cfg.Port), gomail.WithTimeout(sendTimeout)}
	switch cfg.Security {
	case store.SMTPTLS:
		opts = append(opts, gomail.WithSSL())
	case store.SMTPPlain:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	c, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("SMTP relay %s:%d: %w", cfg.Host, cfg.Port, err)
	}
	return c, nil
}

// Send delivers one message through c.
func Send(ctx context.Context, c *gomail.Client, msg *gomail.Msg) error {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("send through the SMTP relay: %w", err)
	}
	return nil
}
