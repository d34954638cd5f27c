package tui

// Collaboration from the console: proposals, event comments, discussions, a message to
// an event's reporter and the mail settings. The person at the console acts as the
// instance's site admin (the host organisation's first enabled one, made by init); what
// they see passes the gate as that user, and every write is the store call the REST
// API makes for the same verb.

import (
	"context"
	"errors"
	"fmt"

	tea "charm.land/bubbletea/v2"

	"mispdesk/store"
	"mispdesk/store/misp"
	"mispdesk/syncer/gate"
	"mispdesk/syncer/mailer"
)

// errNoConsoleUser: the console has nobody to act as.
var errNoConsoleUser = errors.New("no enabled site admin of the host organisation: add one with 'mispdesk user add --role admin'")

// actor is who the console acts as, and the gate's questions as that user.
type actor struct {
	user  *store.User
	inst  *store.Instance
	check *gate.Check
}

// consoleActor finds the console's user: the host organisation's first enabled site admin.
func consoleActor(ctx context.Context, st *store.Store) (*actor, error) {
	inst, err := st.Instance(ctx)
	if err != nil {
		return nil, fmt.Errorf("console user: %w", err)
	}
	users, err := st.Users(ctx)
	if err != nil {
		return nil, fmt.Errorf("console user: %w", err)
	}
	for i := range users {
		u := &users[i]
		if u.OrgID != inst.HostOrg.ID || u.Disabled || !u.Role.PermSiteAdmin {
			continue
		}
		pinst, err := gate.Instance(ctx, st)
		if err != nil {
			return nil, fmt.Errorf("console user: %w", err)
		}
		return &actor{user: u, inst: inst, check: gate.New(st).For(ctx, pinst, gate.Viewer(&store.Principal{User: *u}))}, nil
	}
	return nil, errNoConsoleUser
}

// site is what mail says of this instance.
func (a *actor) site() mailer.Site {
	return mailer.Site{Org: a.inst.HostOrg.Name, BaseURL: a.inst.BaseURL}
}

// collabDoneMsg says a collaboration write is done: reload what shows eventUUID (if
// any) and the proposals and threads.
type collabDoneMsg struct{ eventUUID string }

// collabDone reports a write: the status line says text, and what shows it reloads.
func collabDone(text, eventUUID string) tea.Msg {
	return tea.BatchMsg{flash(store.LevelInfo, "%s", text), func() tea.Msg { return collabDoneMsg{eventUUID: eventUUID} }}
}

// proposalsMsg carries the proposals the console's user may see: of one event
// (eventUUID), or of every event with reviewable true for those the host organisation
// owns (the ones it accepts or discards).
type proposalsMsg struct {
	eventUUID string
	rows      []store.ProposalRow
	hostOrgID store.OrgID
	err       error
}

func loadProposals(ctx context.Context, st *store.Store, eventUUID string) tea.Cmd {
	return func() tea.Msg {
		msg := proposalsMsg{eventUUID: eventUUID}
		a, err := consoleActor(ctx, st)
		if err != nil {
			msg.err = err
			return msg
		}
		msg.hostOrgID = a.inst.HostOrg.ID
		var id store.EventID // 0: every event's proposals
		if eventUUID != "" {
			id, err = st.ResolveEvent(ctx, eventUUID)
		}
		var rows []store.ProposalRow
		if err == nil {
			rows, err = st.Proposals(ctx, 0, false, id)
		}
		if err != nil {
			msg.err = err
			return msg
		}
		for i := range rows {
			if err := a.check.Proposal(&rows[i]); errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				msg.err = err
				return msg
			}
			msg.rows = append(msg.rows, rows[i])
		}
		return msg
	}
}

// acceptProposal takes a proposal into its event, as shadow_attributes/accept: an edit
// of the event (newer timestamps, unpublished) and the proposal retired.
func acceptProposal(ctx context.Context, st *store.Store, pr store.ProposalRow) tea.Cmd {
	return func() tea.Msg {
		a, err := consoleActor(ctx, st)
		if err != nil {
			return flashMsg{store.LevelError, oneLine(err.Error())}
		}
		if pr.Event.OrgID != a.user.OrgID {
			return flashMsg{"warn", "Only " + clean(pr.Event.OrgName) + ", the event's owner, accepts its proposals"}
		}
		p := pr.Proposal
		_, res, err := st.EditEvent(ctx, pr.Event.ID, a.user.ID, func(ev *misp.Event, now misp.Int) error {
			return store.ApplyProposal(ev, &p, pr.AttributeUUID(), now)
		})
		if err == nil && res.Outcome == store.Skipped {
			err = errors.New(res.Reason)
		}
		if err == nil {
			err = st.DeleteProposal(ctx, int64(p.ID))
		}
		if err != nil {
			return flashMsg{store.LevelError, "accept proposal: " + oneLine(err.Error())}
		}
		return collabDone("Accepted the proposal "+truncate(clean(p.Value), 40)+" into "+truncate(clean(pr.Event.Info), 30)+" (unpublished)", pr.Event.UUID)
	}
}

// discardProposal retires a proposal, as shadow_attributes/discard.
func discardProposal(ctx context.Context, st *store.Store, pr store.ProposalRow) tea.Cmd {
	return func() tea.Msg {
		if err := st.DeleteProposal(ctx, int64(pr.Proposal.ID)); err != nil {
			return flashMsg{store.LevelError, "discard proposal: " + oneLine(err.Error())}
		}
		return collabDone("Discarded the proposal "+truncate(clean(pr.Proposal.Value), 40), pr.Event.UUID)
	}
}

// addProposal stores a proposal on an event (attrUUID "": a new attribute) by the
// console's organisation, as shadow_attributes/add and edit.
func addProposal(ctx context.Context, st *store.Store, eventUUID, attrUUID string, p misp.ShadowAttribute, f *miniForm) tea.Cmd {
	return func() tea.Msg {
		a, err := consoleActor(ctx, st)
		if err != nil {
			return formDoneMsg{form: f, err: err}
		}
		row, err := eventRow(ctx, st, eventUUID)
		if err != nil {
			return formDoneMsg{form: f, err: err}
		}
		if _, err := st.AddProposal(ctx, row.ID, attrUUID, a.user.OrgID, p); err != nil {
			return formDoneMsg{form: f, err: err}
		}
		what := "a new attribute"
		if attrUUID != "" {
			what = "a change"
		}
		if p.ProposalToDelete {
			what = "a deletion"
		}
		return formDoneMsg{form: f, then: func() tea.Msg {
			return collabDone("Proposed "+what+" to "+truncate(clean(row.Info), 40)+"; its owner reviews it", eventUUID)
		}}
	}
}

// threadsMsg carries the threads the console's user may read, newest first, with the
// latest post of each.
type threadsMsg struct {
	threads []store.Thread
	last    map[int64]store.Post
	err     error
}

func loadThreads(ctx context.Context, st *store.Store) tea.Cmd {
	return func() tea.Msg {
		a, err := consoleActor(ctx, st)
		if err != nil {
			return threadsMsg{err: err}
		}
		all, last, err := st.Threads(ctx)
		if err != nil {
			return threadsMsg{err: err}
		}
		msg := threadsMsg{last: last}
		for i := range all {
			ok, err := a.check.Thread(&all[i])
			if err != nil {
				return threadsMsg{err: err}
			}
			if ok {
				msg.threads = append(msg.threads, all[i])
			}
		}
		return msg
	}
}

// postsMsg carries a thread and its posts: a discussion (threadID) or the comments of
// an event (eventUUID; thread nil while it has none).
type postsMsg struct {
	threadID  int64
	eventUUID string
	thread    *store.Thread
	posts     []store.Post
	err       error
}

func loadPosts(ctx context.Context, st *store.Store, threadID int64, eventUUID string) tea.Cmd {
	return func() tea.Msg {
		msg := postsMsg{threadID: threadID, eventUUID: eventUUID}
		var err error
		if eventUUID != "" {
			var row *store.IndexRow
			if row, err = eventRow(ctx, st, eventUUID); err == nil {
				msg.thread, err = st.EventThread(ctx, row.ID)
			}
			if errors.Is(err, store.ErrNotFound) {
				return msg
			}
		} else {
			msg.thread, err = st.Thread(ctx, threadID)
		}
		if err == nil {
			msg.posts, err = st.Posts(ctx, msg.thread.ID)
		}
		msg.err = err
		return msg
	}
}

// addPost writes a post as posts/add does, with the same mail to the thread's people:
// a reply (threadID), a comment on an event (eventUUID) or a new discussion (title).
func addPost(ctx context.Context, st *store.Store, threadID int64, eventUUID, title, contents string, f *miniForm) tea.Cmd {
	return func() tea.Msg {
		a, err := consoleActor(ctx, st)
		if err != nil {
			return formDoneMsg{form: f, err: err}
		}
		np := store.NewPost{UserID: a.user.ID, OrgID: a.user.OrgID, ThreadID: threadID, Title: title, Distribution: 1, Contents: contents}
		if eventUUID != "" {
			row, err := eventRow(ctx, st, eventUUID)
			if err != nil {
				return formDoneMsg{form: f, err: err}
			}
			np = store.EventComment(row, a.user.ID, a.user.OrgID, contents)
		}
		cfg, err := st.MailConfig(ctx)
		if err != nil {
			return formDoneMsg{form: f, err: err}
		}
		t, err := st.AddPost(ctx, np, a.site().PostNotify(cfg, contents))
		if err != nil {
			return formDoneMsg{form: f, err: err}
		}
		return formDoneMsg{form: f, then: func() tea.Msg {
			return collabDone("Posted in "+truncate(clean(t.Title), 50), eventUUID)
		}}
	}
}

// contactReporter queues a message to the event's reporter, as events/contact.
func contactReporter(ctx context.Context, st *store.Store, eventUUID, message string, creatorOnly bool, f *miniForm) tea.Cmd {
	return func() tea.Msg {
		a, err := consoleActor(ctx, st)
		if err != nil {
			return formDoneMsg{form: f, err: err}
		}
		row, err := eventRow(ctx, st, eventUUID)
		if err != nil {
			return formDoneMsg{form: f, err: err}
		}
		res, err := a.site().Contact(ctx, st, a.user, row, message, creatorOnly)
		if err != nil {
			return formDoneMsg{form: f, err: err}
		}
		return formDoneMsg{form: f, then: flash(store.LevelInfo, "%s (queued: the daemon sends it)", res.Line())}
	}
}

// eventRow is the index row of the event uuid names.
func eventRow(ctx context.Context, st *store.Store, uuid string) (*store.IndexRow, error) {
	id, err := st.ResolveEvent(ctx, uuid)
	if err != nil {
		return nil, err
	}
	return st.EventRow(ctx, id)
}
