package mailer

import (
	"fmt"
	"strings"

	"mispdesk/store"
)

// Site is what every mail names: the instance's organisation (MISP.org, in subjects) and
// the base URL links point at.
type Site struct {
	Org     string
	BaseURL string
}

// digestLines bounds the events one digest lists; the rest are counted.
const digestLines = 500

var (
	threatLevels  = []string{"", "High", "Medium", "Low", "Undefined"}
	analysisNames = []string{"Initial", "Ongoing", "Completed"}
	distributions = []string{"Your organisation only", "This community only", "Connected communities", "All communities", "Sharing group", "Inherit event"}
)

func name(list []string, i int64) string {
	if i >= 0 && int(i) < len(list) && list[i] != "" {
		return list[i]
	}
	return fmt.Sprint(i)
}

func (s Site) subject(rest string) string {
	return oneLine(fmt.Sprintf("[%s MISP] %s", s.Org, rest))
}

func (s Site) eventURL(id store.EventID) string {
	return fmt.Sprintf("%s/events/view/%d", strings.TrimRight(s.BaseURL, "/"), id)
}

// oneLine folds line breaks and control characters into spaces (a subject is one line).
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// eventLines describes an event as an alert tells it: metadata only, as MISP's
// event_alert_metadata_only, so that a mail never carries more than the row's fields.
func (s Site) eventLines(b *strings.Builder, r *store.IndexRow) {
	fmt.Fprintf(b, "URL          : %s\n", s.eventURL(r.ID))
	fmt.Fprintf(b, "Event ID     : %d\n", r.ID)
	fmt.Fprintf(b, "UUID         : %s\n", r.UUID)
	fmt.Fprintf(b, "Date         : %s\n", r.Date)
	fmt.Fprintf(b, "Reported by  : %s\n", r.OrgcName)
	fmt.Fprintf(b, "Distribution : %s\n", name(distributions, int64(r.Distribution)))
	fmt.Fprintf(b, "Threat Level : %s\n", name(threatLevels, r.ThreatLevelID))
	fmt.Fprintf(b, "Analysis     : %s\n", name(analysisNames, r.Analysis))
	fmt.Fprintf(b, "Description  : %s\n", oneLine(r.Info))
}

// hidden is the body a recipient without a key gets when GnuPG.bodyonlyencrypted is on.
func (s Site) hidden(what, url string) string {
	return fmt.Sprintf("Hello,\n\n%s\n\nThe details are only sent encrypted; read them at:\n%s\n", what, url)
}

// Alert is the mail that tells u of one event (MISP's alert template).
func (s Site) Alert(u *store.User, r *store.IndexRow, source string, hideDetails bool) store.Mail {
	m := store.Mail{Kind: store.MailAlert, UserID: u.ID, Recipient: u.Email, EventUUID: r.UUID,
		Subject: s.subject(fmt.Sprintf("Event %d - %s - TLP:AMBER", r.ID, name(threatLevels, r.ThreatLevelID)))}
	what := map[string]string{
		store.AlertPublish: "An event was published on this instance.",
		store.AlertSync:    "An event was received from a connected server.",
		store.AlertREST:    "A published event was added to this instance.",
	}[source]
	if hideDetails {
		m.Body = s.hidden(what, s.eventURL(r.ID))
		return m
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hello,\n\n%s\n\n", what)
	s.eventLines(&b, r)
	b.WriteString("\nYou receive this mail as you asked for event alerts (autoalert) in your profile.\n")
	m.Body = b.String()
	return m
}

// Digest is one mail that tells u of many events at once, rather than one mail each.
func (s Site) Digest(u *store.User, rows []*store.IndexRow, hideDetails bool) store.Mail {
	m := store.Mail{Kind: store.MailDigest, UserID: u.ID, Recipient: u.Email,
		Subject: s.subject(fmt.Sprintf("%d new events - TLP:AMBER", len(rows)))}
	what := fmt.Sprintf("%d events were published on or received by this instance.", len(rows))
	if hideDetails {
		m.Body = s.hidden(what, strings.TrimRight(s.BaseURL, "/")+"/events/index")
		return m
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hello,\n\n%s\n\n", what)
	for i, r := range rows {
		if i == digestLines {
			fmt.Fprintf(&b, "… and %d more.\n", len(rows)-i)
			break
		}
		fmt.Fprintf(&b, "- Event %d (%s) by %s, threat level %s: %s\n  %s\n", r.ID, r.Date, r.OrgcName,
			name(threatLevels, r.ThreatLevelID), oneLine(r.Info), s.eventURL(r.ID))
	}
	b.WriteString("\nYou receive this mail as you asked for event alerts (autoalert) in your profile.\n")
	m.Body = b.String()
	return m
}

// ContactMail is a message from requestor to to about an event (MISP's alert_contact
// template); replies go to the requestor.
func (s Site) ContactMail(requestor, to *store.User, r *store.IndexRow, message string) store.Mail {
	var b strings.Builder
	fmt.Fprintf(&b, "Hello,\n\nSomeone wants to get in touch with you concerning a MISP event.\n\n")
	fmt.Fprintf(&b, "You can reach them at %s\n\n", requestor.Email)
	fmt.Fprintf(&b, "They wrote the following message:\n%s\n\n", message)
	b.WriteString("The event is the following:\n\n")
	s.eventLines(&b, r)
	return store.Mail{Kind: store.MailContact, UserID: to.ID, Recipient: to.Email, ReplyTo: requestor.Email,
		EventUUID: r.UUID, Body: b.String(),
		Subject: s.subject(fmt.Sprintf("Need info about event %d - TLP:AMBER", r.ID))}
}

// Post tells to of a new post in thread t (MISP's sendPostsEmail): the message itself
// only where details may go unencrypted.
func (s Site) Post(t *store.Thread, postID int64, message string, to *store.User, hideDetails bool) store.Mail {
	url := fmt.Sprintf("%s/threads/view/%d/post_id:%d", strings.TrimRight(s.BaseURL, "/"), t.ID, postID)
	var b strings.Builder
	if hideDetails {
		fmt.Fprintf(&b, "Hello,\n\nSomeone just posted to a MISP discussion you participated in.\n\nThe full discussion can be found at:\n%s\n", url)
	} else {
		fmt.Fprintf(&b, "Hello,\n\nSomeone just posted to a MISP discussion you participated in with title:\n%s\n\n", t.Title)
		fmt.Fprintf(&b, "The full discussion can be found at:\n%s\n\nThe following message was added:\n\n%s\n", url, message)
	}
	return store.Mail{Kind: store.MailPost, UserID: to.ID, Recipient: to.Email, Body: b.String(),
		Subject: s.subject(fmt.Sprintf("New post in discussion %d - TLP:AMBER", t.ID))}
}
