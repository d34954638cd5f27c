package store

import (
	"context"
	"sync"

	"mispdesk/store/misp"
)

// GroupWriter writes events that arrive concurrently (pushes received by the REST API)
// through one writer: the events waiting when the writer is free go into one transaction,
// each in its own savepoint (a store.Batch), and one commit makes them all durable. Each
// caller gets its own result once its event is committed; an event that fails is rolled
// back alone and never takes the others of its group down. One commit per group instead of
// one per event is most of what a receiving instance saves.
type GroupWriter struct {
	s        *Store
	maxGroup int

	mu      sync.Mutex
	queue   []*groupReq
	writing bool // a caller (or the goroutine it handed over to) is writing groups
}

type groupReq struct {
	ctx   context.Context
	event *misp.Event
	opts  UpsertOptions
	res   UpsertResult
	err   error
	done  chan struct{}
}

// NewGroupWriter makes a group writer of at most maxGroup events per transaction (0 takes
// 32). It holds no goroutine while idle: the first caller to find it idle writes, and
// hands on to one goroutine while others are still waiting.
func (s *Store) NewGroupWriter(maxGroup int) *GroupWriter {
	if maxGroup <= 0 {
		maxGroup = 32
	}
	return &GroupWriter{s: s, maxGroup: maxGroup}
}

// UpsertEvent stores one event as Store.UpsertEvent does and returns once it is committed
// (or has failed on its own). A caller whose ctx ends before the write starts gets
// ctx.Err() and nothing is written; once started, the event is written and the call waits
// for its commit.
func (g *GroupWriter) UpsertEvent(ctx context.Context, e *misp.Event, opts UpsertOptions) (UpsertResult, error) {
	r := &groupReq{ctx: ctx, event: e, opts: opts, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, r)
	if g.writing {
		g.mu.Unlock()
		<-r.done
		return r.res, r.err
	}
	g.writing = true
	g.mu.Unlock()
	// This caller writes until its own event is committed, then hands what is left over
	// to one goroutine so that its answer is not held up by others' events.
	for {
		if g.writeNext() {
			break
		}
		select {
		case <-r.done:
			go g.drain()
			return r.res, r.err
		default:
		}
	}
	<-r.done
	return r.res, r.err
}

// drain writes groups until the queue is empty.
func (g *GroupWriter) drain() {
	for !g.writeNext() {
	}
}

// writeNext writes the next group; it reports true, and stops being the writer, when
// there was nothing left to write.
func (g *GroupWriter) writeNext() bool {
	g.mu.Lock()
	n := min(len(g.queue), g.maxGroup)
	if n == 0 {
		g.writing = false
		g.mu.Unlock()
		return true
	}
	group := g.queue[:n:n]
	g.queue = g.queue[n:]
	if len(g.queue) == 0 {
		g.queue = nil
	}
	g.mu.Unlock()
	g.write(group)
	return false
}

// write stores one group in one transaction and answers each request after the commit.
func (g *GroupWriter) write(group []*groupReq) {
	// The batch must not die with the first caller's context: others share its commit.
	ctx := context.WithoutCancel(group[0].ctx)
	batch := &Batch{s: g.s, ctx: ctx, quiet: ctx, maxItems: len(group) + 1, maxAge: 1 << 62}
	var waiting []*groupReq // written, in the order the batch holds them
	batch.Committed = func(done []UpsertResult) {
		for i := range done {
			waiting[i].res = done[i]
			close(waiting[i].done)
		}
		waiting = waiting[len(done):]
	}
	batch.Lost = func(lost []UpsertResult, err error) {
		for i := range lost {
			waiting[i].res, waiting[i].err = UpsertResult{UUID: lost[i].UUID}, err
			close(waiting[i].done)
		}
		waiting = waiting[len(lost):]
	}
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.res, r.err = UpsertResult{UUID: r.event.UUID}, err
			close(r.done)
			continue
		}
		waiting = append(waiting, r)
		res, err := batch.UpsertEvent(r.event, r.opts)
		if err != nil {
			// Only this event failed (or, when the transaction broke, Lost has
			// answered those before it): it was not added to the batch.
			if n := len(waiting); n > 0 && waiting[n-1] == r {
				waiting = waiting[:len(waiting)-1]
			}
			r.res, r.err = res, err
			close(r.done)
		}
	}
	batch.Close()
}
