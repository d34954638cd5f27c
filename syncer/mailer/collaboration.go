package mailer

import (
	"context"
	"fmt"

	"mispdesk/store"
)

// The mail a post and a message to an event's reporter make, for every caller (the
// REST API and the console) alike.

// PostNotify is the store.PostMail of a post with contents: MISP's mail to each person
// of the thread, none while emailing is disabled, the message left out for a recipient
// without a key where details go only encrypted.
func (s Site) PostNotify(cfg *store.MailConfig, contents string) store.PostMail {
	return func(t *store.Thread, postID int64, to []store.User) []store.Mail {
		if cfg.Disabled {
			return nil
		}
		mails := make([]store.Mail, 0, len(to))
		for i := range to {
			mails = append(mails, s.Post(t, postID, contents, &to[i], cfg.BodyOnlyEncrypted && to[i].GPGKey == ""))
		}
		return mails
	}
}

// refusal is why a message was not queued, in MISP's words (sentences, as MISP's
// answers carry them).
type refusal string

func (r refusal) Error() string { return string(r) }

// Why a message to an event's reporter was not queued.
var (
	ErrEmailingDisabled error = refusal("Emailing is currently disabled on this instance.")
	ErrNobodyToContact  error = refusal("Nobody of the reporting organisation can be contacted on this instance.")
	ErrNoKey            error = refusal(MsgNoKey)
)

// ContactResult is what a message to an event's reporter did: queued for Sent people,
// and nothing for Skipped ones (no key while encryption is enforced).
type ContactResult struct{ Sent, Skipped int }

// Line is the result as one line for the person who wrote.
func (r ContactResult) Line() string {
	msg := "Email sent to the reporter."
	if r.Skipped > 0 {
		msg += fmt.Sprintf(" %d of %d recipients got nothing: %s", r.Skipped, r.Sent+r.Skipped, MsgNoKey)
	}
	return msg
}

// Contact queues a message from sender about the event of row, to its creator
// (creatorOnly) or to the creator organisation's users who asked for contact mail, as
// MISP's EventsController::contact: where encryption is enforced a recipient without a
// key gets nothing. The daemon sends the queued mail.
func (s Site) Contact(ctx context.Context, st *store.Store, sender *store.User, row *store.IndexRow, message string, creatorOnly bool) (ContactResult, error) {
	cfg, err := st.MailConfig(ctx)
	if err != nil {
		return ContactResult{}, fmt.Errorf("contact reporter: %w", err)
	}
	if cfg.Disabled {
		return ContactResult{}, ErrEmailingDisabled
	}
	to, err := st.ContactUsers(ctx, row.OrgcID, row.UserID, creatorOnly)
	if err != nil {
		return ContactResult{}, fmt.Errorf("contact reporter: %w", err)
	}
	if len(to) == 0 {
		return ContactResult{}, ErrNobodyToContact
	}
	var mails []store.Mail
	for i := range to {
		if cfg.OnlyEncrypted && to[i].GPGKey == "" {
			continue
		}
		mails = append(mails, s.ContactMail(sender, &to[i], row, message))
	}
	if len(mails) == 0 {
		return ContactResult{}, ErrNoKey
	}
	if err := st.QueueMail(ctx, nil, mails); err != nil {
		return ContactResult{}, fmt.Errorf("contact reporter: %w", err)
	}
	return ContactResult{Sent: len(mails), Skipped: len(to) - len(mails)}, nil
}
