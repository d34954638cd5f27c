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
	id, err := s.ResolveEvent(ctx, ref)
	if err != nil {
		return storeErr(eventRecord.refErr(ref, err))
	}
	res, err := s.Publish(ctx, id)
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
	deliveries, delivered, err := eng.DeliverNow(ctx, deliverRounds)
	eng.Close()
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
	return printDeliveries(env, res.UUID, deliveries)
}

// printDeliveries prints what the outbox did with the event's pushes, one line per server,
// from the engine's own account. It fails when a push failed or is still waiting for its
// server (it stays queued, with backoff, for mispdesk serve or mispdesk push).
func printDeliveries(env *Env, uuid string, ds []syncer.Delivery) error {
	pending := 0
	for _, d := range ds {
		if d.EventUUID != uuid || d.Kind != store.OutboxPushEvent {
			continue // another event's push, queued before
		}
		line := fmt.Sprintf("  %s: %s", safe(d.Server), d.Outcome)
		if d.Reason != "" {
			line += ": " + safe(d.Reason)
		}
		fmt.Fprintln(env.Stdout, line)
		if d.Outcome == store.OutcomeFailed || d.Outcome == store.OutcomeQueued {
			pending++
		}
	}
	if pending > 0 {
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
	id, err := s.ResolveEvent(ctx, ref)
	if err != nil {
		return storeErr(eventRecord.refErr(ref, err))
	}
	if err := s.Unpublish(ctx, id); err != nil {
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
