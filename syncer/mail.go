package syncer

// The mail worker: the leader writes pending event alerts as mail (each user hears only
// of events the gate lets them see; many events in one round become one digest) and
// sends the queued mail through the relay, with retry and backoff. Every send, failure
// and refusal goes to the sync log.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"mispdesk/store"
	"mispdesk/syncer/gate"
	"mispdesk/syncer/mailer"
)

const (
	mailPoll         = 2 * time.Second
	mailLease        = 2 * time.Minute
	mailBatch        = 16
	mailFirstBackoff = 30 * time.Second
	// AlertSettle is how long alerts of events that arrived by sync wait for the sync to
	// bring no more, so that its events go out together (MailRound's default).
	AlertSettle = 10 * time.Second
	// digestAfter: a user with more alerts than this in one round gets one digest.
	digestAfter    = 3
	alertsPerRound = 20000
)

// runMail writes alerts and sends mail until ctx ends.
func (e *Engine) runMail(ctx context.Context) {
	tick := time.NewTicker(mailPoll)
	defer tick.Stop()
	for ctx.Err() == nil {
		if _, err := e.MailRound(ctx, AlertSettle); err != nil && ctx.Err() == nil {
			e.log.Error("mail round", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

// MailRound writes the pending alerts as mail (those of synced events once none arrived
// for settle) and sends the mail that is due. It returns how many messages were sent.
// The daemon's leader runs it continuously; commands and tests call it directly.
func (e *Engine) MailRound(ctx context.Context, settle time.Duration) (int, error) {
	defer e.flushLog()
	cfg, err := e.st.MailConfig(ctx)
	if err != nil {
		return 0, err
	}
	if err := e.writeAlerts(ctx, cfg, settle); err != nil {
		return 0, err
	}
	if cfg.Disabled {
		return 0, nil // queued mail waits for e-mailing to be enabled again
	}
	return e.sendDue(ctx, cfg)
}

func (e *Engine) mailLog(ctx context.Context, level store.Level, eventUUID string, outcome store.LogOutcome, msg string) {
	e.record(ctx, store.LogEntry{Direction: store.DirMail, Level: level, EventUUID: eventUUID, Outcome: outcome, Message: msg})
}

// site is what mail says of this instance.
func (e *Engine) site(ctx context.Context) (mailer.Site, error) {
	in, err := e.st.Instance(ctx)
	if err != nil {
		return mailer.Site{}, err
	}
	return mailer.Site{Org: in.HostOrg.Name, BaseURL: in.BaseURL}, nil
}

// writeAlerts turns pending alerts into mail for the users who asked for alerts, in one
// transaction. An alert of an event that arrived by sync waits until no synced event
// came for settle.
func (e *Engine) writeAlerts(ctx context.Context, cfg *store.MailConfig, settle time.Duration) error {
	alerts, err := e.st.PendingAlerts(ctx, alertsPerRound)
	if err != nil || len(alerts) == 0 {
		return err
	}
	var newestSync int64
	for _, a := range alerts {
		if a.Source == store.AlertSync {
			newestSync = max(newestSync, a.Created)
		}
	}
	syncSettled := e.now().Sub(time.Unix(newestSync, 0)) >= settle
	var take []store.Alert
	var ids []int64
	for _, a := range alerts {
		if a.Source != store.AlertSync || syncSettled {
			take = append(take, a)
			ids = append(ids, a.ID)
		}
	}
	if len(take) == 0 {
		return nil
	}
	if cfg.Disabled {
		e.mailLog(ctx, store.LevelWarn, "", store.OutcomeSkipped, fmt.Sprintf("E-mail alerts of %d events not sent out. Reason: Emailing is currently disabled on this instance.", len(take)))
		return e.st.AlertsWritten(ctx, ids, nil)
	}
	mails, err := e.alertMails(ctx, cfg, take)
	if err != nil {
		return err
	}
	if err := e.st.AlertsWritten(ctx, ids, mails); err != nil {
		return err
	}
	e.mailLog(ctx, store.LevelInfo, "", store.OutcomeQueued, fmt.Sprintf("alerts of %d events written as %d mails", len(take), len(mails)))
	return nil
}

// alertMails writes the mail of alerts for every user who asked for alerts: each hears
// only of the events the gate lets them see, never of their own publishing, and of many
// events in one digest.
func (e *Engine) alertMails(ctx context.Context, cfg *store.MailConfig, alerts []store.Alert) ([]store.Mail, error) {
	users, err := e.st.AlertUsers(ctx)
	if err != nil || len(users) == 0 {
		return nil, err
	}
	site, err := e.site(ctx)
	if err != nil {
		return nil, err
	}
	inst, err := gate.Instance(ctx, e.st)
	if err != nil {
		return nil, err
	}
	rows := make([]*store.IndexRow, len(alerts))
	for i, a := range alerts {
		id, err := e.st.ResolveEvent(ctx, a.EventUUID)
		var r *store.IndexRow
		if err == nil {
			r, err = e.st.EventRow(ctx, id)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		rows[i] = r // nil: the event is gone
	}
	g := gate.New(e.st)
	var mails []store.Mail
	for i := range users {
		u := &users[i]
		check := g.For(ctx, inst, gate.Viewer(&store.Principal{User: *u}))
		var seen []*store.IndexRow
		var sources []string
		for j, a := range alerts {
			if rows[j] == nil || a.SenderUserID == u.ID {
				continue
			}
			ok, err := check.Row(rows[j])
			if err != nil {
				return nil, err
			}
			if ok {
				seen = append(seen, rows[j])
				sources = append(sources, a.Source)
			}
		}
		hide := cfg.BodyOnlyEncrypted && u.GPGKey == ""
		if len(seen) > digestAfter {
			mails = append(mails, site.Digest(u, seen, hide))
			continue
		}
		for j, r := range seen {
			mails = append(mails, site.Alert(u, r, sources[j], hide))
		}
	}
	return mails, nil
}

// sendDue sends the mail that is due. A relay that cannot be reached fails the rest of
// the round, each message kept for its retry.
func (e *Engine) sendDue(ctx context.Context, cfg *store.MailConfig) (int, error) {
	items, err := e.st.ClaimMail(ctx, e.holder, mailLease, mailBatch)
	if err != nil || len(items) == 0 {
		return 0, err
	}
	client, err := mailer.Client(cfg)
	if err != nil {
		e.failMail(ctx, items, err)
		return 0, nil
	}
	sent := 0
	for i := range items {
		m := &items[i]
		key, send := e.recipientKey(ctx, m)
		if !send {
			e.mailDone(ctx, m)
			continue
		}
		msg, encrypted, err := mailer.Message(cfg, m, key)
		if errors.Is(err, mailer.ErrRefused) {
			e.mailLog(ctx, store.LevelError, m.EventUUID, store.OutcomeRefused, fmt.Sprintf("Email to %s, titled %q, not sent: %v", m.Recipient, m.Subject, err))
			e.mailDone(ctx, m)
			continue
		}
		if err == nil {
			err = mailer.Send(ctx, client, msg)
		}
		if err != nil {
			if ctx.Err() != nil {
				return sent, nil // the lease runs out and the message is tried again
			}
			e.failMail(ctx, items[i:], err)
			return sent, nil
		}
		what := "Email"
		if encrypted {
			what = "Encrypted email"
		}
		e.mailLog(ctx, store.LevelInfo, m.EventUUID, store.OutcomeSent, fmt.Sprintf("%s to %s sent, titled %q.", what, m.Recipient, m.Subject))
		e.mailDone(ctx, m)
		sent++
	}
	return sent, nil
}

// recipientKey is the public key of a message's recipient as it is now; send is false
// when the account was disabled or deleted since (MISP sends disabled users nothing).
func (e *Engine) recipientKey(ctx context.Context, m *store.Mail) (key string, send bool) {
	if m.UserID == 0 {
		return "", true
	}
	u, err := e.st.User(ctx, m.UserID)
	if err != nil || u.Disabled {
		e.mailLog(ctx, store.LevelWarn, m.EventUUID, store.OutcomeSkipped, fmt.Sprintf("Email to %s, titled %q, not sent: the account is disabled or gone.", m.Recipient, m.Subject))
		return "", false
	}
	return u.GPGKey, true
}

func (e *Engine) mailDone(ctx context.Context, m *store.Mail) {
	if err := e.st.MailDone(context.WithoutCancel(ctx), m.ID, e.holder); err != nil {
		e.log.Error("mail done", "id", m.ID, "err", err)
	}
}

// failMail keeps messages for a retry after a growing backoff.
func (e *Engine) failMail(ctx context.Context, items []store.Mail, cause error) {
	for i := range items {
		m := &items[i]
		backoff := min(mailFirstBackoff<<min(m.Attempts, 7), maxBackoff)
		backoff += time.Duration(rand.Int64N(int64(backoff / 5)))
		if err := e.st.MailFailed(context.WithoutCancel(ctx), m.ID, e.holder, cause.Error(), backoff); err != nil && !errors.Is(err, store.ErrLeaseLost) {
			e.log.Error("mail failed", "id", m.ID, "err", err)
		}
		e.mailLog(ctx, store.LevelWarn, m.EventUUID, store.OutcomeFailed, fmt.Sprintf("Email to %s, titled %q, not sent (attempt %d, retried in %s): %v",
			m.Recipient, m.Subject, m.Attempts+1, backoff.Round(time.Second), cause))
	}
}
