package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"mispdesk/store"
	"mispdesk/syncer"
)

const (
	eventPublishSynopsis   = "event publish EVENT [--queue-only]"
	eventUnpublishSynopsis = "event unpublish EVENT"
)

// deliverRounds bounds the outbox rounds publish runs (each claims a batch).
const deliverRounds = 64

func runEventPublish(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("event publish", eventPublishSynopsis)
	queueOnly := fs.Bool("queue-only", false, "only queue the pushes; leave them to mispdesk serve or mispdesk push")
	ref, err := fs.ParseRef(args, eventRecord)
	if err != nil {
		return err
	}
	s, _, err := openInitialised(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	startLog, err := s.LastLogID(ctx)
	if err != nil {
		return err
	}
	res, err := s.Publish(ctx, ref)
	if err != nil {
		return storeErr(eventRecord.refErr(ref, err))
	}
	fmt.Fprintf(env.Stdout, "Published event %s (id %d); push queued to %s\n", res.UUID, res.EventID, plural(res.Queued, "server"))
	if res.Queued == 0 || *queueOnly {
		return nil
	}

	// Deliver now, unless a daemon (mispdesk serve) holds the leader lease: then
	// it delivers within a second.
	host, _ := os.Hostname()
	eng := syncer.New(s, syncer.Options{Holder: fmt.Sprintf("%s-%d-publish", host, os.Getpid())})
	delivered, err := eng.DeliverNow(ctx, deliverRounds)
	eng.Close() // its log is written: the outcomes can be read back
	if err != nil && ctx.Err() == nil {
		return err
	}
	if !delivered {
		fmt.Fprintln(env.Stdout, "A running mispdesk serve holds the sync lease: it delivers the pushes (see mispdesk log --follow)")
		return nil
	}
	if ctx.Err() != nil {
		return errors.New("interrupted: the pushes not yet delivered stay queued")
	}
	return printPushOutcomes(ctx, env, s, res.UUID, startLog)
}

// printPushOutcomes prints what the outbox did with the event since the log
// entry after: one line per server. It fails when a push failed (it stays
// queued, with backoff, for mispdesk serve or mispdesk push).
func printPushOutcomes(ctx context.Context, env *Env, s *store.Store, uuid string, after int64) error {
	failed := 0
	for {
		page, err := s.LogSince(ctx, after, logPage, store.LogFilter{Direction: "push"})
		if err != nil {
			return err
		}
		for _, e := range page {
			after = e.ID
			if e.EventUUID != uuid && (e.EventUUID != "" || e.Level != "error") {
				continue // another event's push, or a step that says nothing of this one
			}
			if e.Outcome == "failed" || e.Level == "error" {
				failed++
			}
			fmt.Fprintf(env.Stdout, "  %s: %s: %s\n", safe(e.ServerName), safe(e.Outcome), safe(e.Message))
		}
		if len(page) < logPage {
			break
		}
	}
	if failed > 0 {
		fmt.Fprintln(env.Stdout, "Failed pushes stay queued and are retried by mispdesk serve (or mispdesk push SERVER)")
		return errReported
	}
	return nil
}

func runEventUnpublish(ctx context.Context, env *Env, args []string) (err error) {
	fs := env.Flags("event unpublish", eventUnpublishSynopsis)
	ref, err := fs.ParseRef(args, eventRecord)
	if err != nil {
		return err
	}
	s, _, err := openInitialised(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	if err := s.Unpublish(ctx, ref); err != nil {
		return storeErr(eventRecord.refErr(ref, err))
	}
	fmt.Fprintf(env.Stdout, "Unpublished event %s; pushes still queued for it were dropped\n", safe(ref))
	return nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
