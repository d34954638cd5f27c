package store

// Event comments and discussions, as MISP models both: a thread of posts. An event's
// comments are the one thread whose event_id is that event (created with its first
// post, titled and distributed as the event); a discussion is a thread with no event.
// Neither is ever sent to another server: no sync path reads these tables.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Thread is a discussion, or the comments on an event (EventID set).
type Thread struct {
	ID             int64
	DateCreated    int64
	DateModified   int64
	UserID         UserID
	OrgID          OrgID
	OrgName        string
	EventID        EventID // 0: a discussion
	Title          string
	Distribution   int
	SharingGroupID SharingGroupID
	PostCount      int
}

// Post is one message of a thread, with its author as stored now (UserEmail empty and
// UserOrgID 0 when the account is gone).
type Post struct {
	ID           int64
	ThreadID     int64
	UserID       UserID
	PostID       int64 // the post it answers
	Contents     string
	DateCreated  int64
	DateModified int64
	UserEmail    string
	UserOrgID    OrgID
	UserOrgUUID  string
	UserOrgName  string
}

const threadSelect = `SELECT t.id, t.date_created, t.date_modified, t.user_id, t.org_id, ifnull(o.name, ''),
	ifnull(t.event_id, 0), t.title, t.distribution, t.sharing_group_id, t.post_count
	FROM threads t LEFT JOIN orgs o ON o.id = t.org_id`

func (t *Thread) dest() []any {
	return []any{&t.ID, &t.DateCreated, &t.DateModified, &t.UserID, &t.OrgID, &t.OrgName, &t.EventID, &t.Title,
		&t.Distribution, &t.SharingGroupID, &t.PostCount}
}

const postSelect = `SELECT p.id, p.thread_id, p.user_id, p.post_id, p.contents, p.date_created, p.date_modified,
	ifnull(u.email, ''), ifnull(o.id, 0), ifnull(o.uuid, ''), ifnull(o.name, '')
	FROM posts p LEFT JOIN users u ON u.id = p.user_id LEFT JOIN orgs o ON o.id = u.org_id`

func (p *Post) dest() []any {
	return []any{&p.ID, &p.ThreadID, &p.UserID, &p.PostID, &p.Contents, &p.DateCreated, &p.DateModified,
		&p.UserEmail, &p.UserOrgID, &p.UserOrgUUID, &p.UserOrgName}
}

// Threads lists the threads that have posts, most recently changed first, each with
// its latest post. Who may see which is the gate's question.
func (s *Store) Threads(ctx context.Context) ([]Thread, map[int64]Post, error) {
	ts, err := queryAll(ctx, s.read, threadSelect+` WHERE t.post_count > 0 ORDER BY t.date_modified DESC, t.id DESC`, nil, (*Thread).dest)
	if err != nil {
		return nil, nil, fmt.Errorf("list threads: %w", err)
	}
	ps, err := queryAll(ctx, s.read, postSelect+` WHERE p.id IN (SELECT max(id) FROM posts GROUP BY thread_id)`, nil, (*Post).dest)
	if err != nil {
		return nil, nil, fmt.Errorf("list threads: %w", err)
	}
	last := make(map[int64]Post, len(ps))
	for _, p := range ps {
		last[p.ThreadID] = p
	}
	return ts, last, nil
}

// Thread reads a thread by id.
func (s *Store) Thread(ctx context.Context, id int64) (*Thread, error) {
	return s.threadWhere(ctx, s.read, `t.id = ?`, id)
}

// EventThread reads the comments thread of an event; ErrNotFound when it has none.
func (s *Store) EventThread(ctx context.Context, eventID EventID) (*Thread, error) {
	return s.threadWhere(ctx, s.read, `t.event_id = ?`, int64(eventID))
}

func (s *Store) threadWhere(ctx context.Context, q queryer, where string, arg int64) (*Thread, error) {
	var t Thread
	err := q.QueryRowContext(ctx, threadSelect+` WHERE `+where, arg).Scan(t.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("thread %d: %w", arg, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read thread %d: %w", arg, err)
	}
	return &t, nil
}

// Posts lists a thread's posts in the order they were written.
func (s *Store) Posts(ctx context.Context, threadID int64) ([]Post, error) {
	ps, err := queryAll(ctx, s.read, postSelect+` WHERE p.thread_id = ? ORDER BY p.id`, []any{threadID}, (*Post).dest)
	if err != nil {
		return nil, fmt.Errorf("list posts of thread %d: %w", threadID, err)
	}
	return ps, nil
}

// PostByID reads one post.
func (s *Store) PostByID(ctx context.Context, id int64) (*Post, error) {
	ps, err := queryAll(ctx, s.read, postSelect+` WHERE p.id = ?`, []any{id}, (*Post).dest)
	if err != nil {
		return nil, fmt.Errorf("read post %d: %w", id, err)
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("post %d: %w", id, ErrNotFound)
	}
	return &ps[0], nil
}

// NewPost is a post to write: into ThreadID, or into the comments of EventID (the
// thread made on the first comment), or into a new discussion titled Title.
type NewPost struct {
	UserID   UserID
	OrgID    OrgID
	ThreadID int64
	EventID  EventID
	ReplyTo  int64 // the post answered (0: none)
	// Title, Distribution and SharingGroupID shape a new thread (an event's thread takes
	// the event's distribution).
	Title          string
	Distribution   int
	SharingGroupID SharingGroupID
	Contents       string
}

// EventComment is a comment on the event of row by a user of an organisation: into the
// event's thread, made on the first comment with the event's distribution and MISP's title.
func EventComment(row *IndexRow, userID UserID, orgID OrgID, contents string) NewPost {
	return NewPost{UserID: userID, OrgID: orgID, EventID: row.ID, Distribution: int(row.Distribution), SharingGroupID: row.SharingGroupID,
		Title: fmt.Sprintf("Discussion about Event #%d (%s)", row.ID, row.Info), Contents: contents}
}

// MaxPostBytes bounds a post (MISP's contents column is TEXT).
const MaxPostBytes = 64 << 10

// maxTitleBytes bounds a thread's title (MISP's title column is varchar(255)).
const maxTitleBytes = 255

// PostMail writes the notifications of a new post for its recipients, as MISP's
// sendPostsEmail chooses them; the mail is queued with the post.
type PostMail func(t *Thread, postID int64, recipients []User) []Mail

// AddPost writes a post, creating its thread when needed, and queues in the same
// transaction the mail notify writes. It returns the thread.
func (s *Store) AddPost(ctx context.Context, p NewPost, notify PostMail) (*Thread, error) {
	p.Contents = strings.TrimSpace(p.Contents)
	if p.Contents == "" {
		return nil, fmt.Errorf("post: Cannot post an empty message")
	}
	if len(p.Contents) > MaxPostBytes || !utf8.ValidString(p.Contents) {
		return nil, fmt.Errorf("post: the message must be UTF-8 of at most %d bytes", MaxPostBytes)
	}
	if len(p.Title) > maxTitleBytes {
		p.Title = truncateUTF8(p.Title, maxTitleBytes)
	}
	var t *Thread
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now().Unix()
		id := p.ThreadID
		if id == 0 && p.EventID != 0 {
			err := tx.QueryRowContext(ctx, `SELECT id FROM threads WHERE event_id = ?`, p.EventID).Scan(&id)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		if id == 0 {
			if strings.TrimSpace(p.Title) == "" {
				return fmt.Errorf("post: a new discussion needs a title")
			}
			var event any
			if p.EventID != 0 {
				event = p.EventID
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO threads (date_created, date_modified, user_id, org_id, event_id, title,
				distribution, sharing_group_id, post_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)`,
				now, now, p.UserID, p.OrgID, event, p.Title, p.Distribution, p.SharingGroupID)
			if err != nil {
				return err
			}
			if id, err = res.LastInsertId(); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO posts (thread_id, user_id, post_id, contents, date_created, date_modified)
			VALUES (?, ?, ?, ?, ?, ?)`, id, p.UserID, p.ReplyTo, p.Contents, now, now)
		if err != nil {
			return err
		}
		postID, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE threads SET post_count = (SELECT count(*) FROM posts WHERE thread_id = ?1),
			date_modified = ?2 WHERE id = ?1`, id, now); err != nil {
			return err
		}
		if t, err = s.threadWhere(ctx, tx, `t.id = ?`, id); err != nil {
			return err
		}
		if notify == nil {
			return nil
		}
		recipients, err := postRecipients(ctx, tx, t, p.UserID)
		if err != nil {
			return err
		}
		return s.QueueMail(ctx, tx, notify(t, postID, recipients))
	})
	if err != nil {
		return nil, fmt.Errorf("add post: %w", err)
	}
	return t, nil
}

// postRecipients are who MISP tells of a new post (Post::sendPostsEmail), the poster
// and disabled accounts aside: for an event's comments, the users of the event's owner
// organisation who asked for contact mail and the event's creator; for a discussion,
// who started it; and in both, everyone who posted in the thread before.
func postRecipients(ctx context.Context, tx *sql.Tx, t *Thread, poster UserID) ([]User, error) {
	where := `u.disabled = 0 AND u.id <> ?1 AND (u.id IN (SELECT user_id FROM posts WHERE thread_id = ?2) OR `
	args := []any{poster, t.ID}
	if t.EventID != 0 {
		where += `u.id IN (SELECT id FROM users WHERE org_id = (SELECT org_id FROM events WHERE id = ?3)
			AND (contactalert = 1 OR id = (SELECT user_id FROM events WHERE id = ?3))))`
		args = append(args, t.EventID)
	} else {
		where += `u.id = ?3)`
		args = append(args, t.UserID)
	}
	us, err := queryAll(ctx, tx, userSelect+` WHERE `+where+` ORDER BY u.id`, args, (*User).dest)
	if err != nil {
		return nil, fmt.Errorf("who to tell of a post in thread %d: %w", t.ID, err)
	}
	return us, nil
}

// rowsQueryer is a pool or a transaction, for queries of many rows.
type rowsQueryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryAll scans every row of a query with the destinations dest gives for a new T.
func queryAll[T any](ctx context.Context, q rowsQueryer, query string, args []any, dest func(*T) []any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(dest(&v)...); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}
