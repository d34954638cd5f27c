package syncer

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
	"mispdesk/store/misp"
)

// A remote that saves a pushed event without some of its attributes (MISP drops what it
// refuses and still answers 200) makes the push a failure the summary and the log name,
// and a queued push of it is not retried.
func TestPushReportsAttributesTheRemoteDropped(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	connect(t, a, b, store.ServerOptions{Push: true})
	// B's API, behind a fault that takes the first attribute out of every event added.
	faultOnAdd(b, func(e *misp.Event) { e.Attribute = e.Attribute[1:] })
	sent := a.importFile(t, smallEvent, func(e *misp.Event) { e.Published = true })
	alive := 0
	for _, at := range sent.Attribute {
		if !bool(at.Deleted) {
			alive++
		}
	}
	for _, o := range sent.Object {
		for _, at := range o.Attribute {
			if !bool(at.Deleted) {
				alive++
			}
		}
	}

	sum, err := a.eng.Push(ctx, a.serverID("B"), RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const cause = "attributes dropped by the remote"
	wantDropFailure(t, a, sum, sent.UUID, cause,
		"1 attributes dropped by the remote: it kept "+strconv.Itoa(alive-1)+" of "+strconv.Itoa(alive))
	if b.count(t) != 1 {
		t.Errorf("B holds %d events; the fault keeps the event, without one attribute", b.count(t))
	}

	// At publication: the queued push is refused for good, not retried.
	const second = "00000000-0000-4000-8000-d00000000001"
	publishedEvent(a, t, second)
	if res, err := a.st.Publish(ctx, testsupport.LocalEvent(t, a.st, second)); err != nil || res.Queued != 1 {
		t.Fatalf("publish: %+v %v", res, err)
	}
	ds, err := a.eng.DeliverDue(ctx)
	if err != nil || len(ds) != 1 || ds[0].Outcome != store.OutcomeRefused || ds[0].Reason != cause {
		t.Fatalf("delivered %+v %v; want one refused as %q", ds, err, cause)
	}
	if q, _ := outboxQueued(t, a); q != 0 {
		t.Errorf("%d pushes still queued", q)
	}
}

// faultOnAdd puts target's API behind a fault that changes every event pushed to it by
// events/add (edit) before the API reads it, as a remote that drops what it refuses.
func faultOnAdd(target *node, edit func(*misp.Event)) {
	api := target.handler
	target.setHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/events/add") {
			body := io.Reader(r.Body)
			if r.Header.Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(r.Body)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				body = zr
			}
			raw, _ := io.ReadAll(body)
			e, err := misp.ParseEvent(raw)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			edit(e)
			out, _ := misp.MarshalEvent(e)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(out)), int64(len(out))
			r.Header.Del("Content-Encoding")
		}
		api.ServeHTTP(w, r)
	}))
}

// A remote that saves a pushed event without one of its event reports makes the push a
// failure the summary and the log name, as a dropped attribute does.
func TestPushReportsEventReportsTheRemoteDropped(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	connect(t, a, b, store.ServerOptions{Push: true})
	faultOnAdd(b, func(e *misp.Event) { e.EventReport = e.EventReport[1:] })
	sent := a.importFile(t, smallEvent, func(e *misp.Event) {
		e.Published = true
		e.EventReport = []misp.EventReport{
			{UUID: "00000000-0000-4000-8000-e00000000001", Name: "first", Content: "# one", Distribution: misp.InheritEvent},
			{UUID: "00000000-0000-4000-8000-e00000000002", Name: "second", Content: "# two", Distribution: misp.InheritEvent},
		}
	})
	sum, err := a.eng.Push(ctx, a.serverID("B"), RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantDropFailure(t, a, sum, sent.UUID, "event reports dropped by the remote",
		"1 event reports dropped by the remote: it kept 1 of 2")
	// without the fault, the same push keeps every report and is no failure
	c := newNode(t, "C")
	connect(t, a, c, store.ServerOptions{Push: true})
	if sum, err := a.eng.Push(ctx, a.serverID("C"), RunOptions{}); err != nil || sum.Failed != 0 || sum.Done != 1 {
		t.Errorf("push to C: %s %v", sum.Line(), err)
	}
}

// A remote that saves a pushed event but fails to list its event reports leaves the push
// unverified: it is counted as failed under its own cause, with one error line naming the
// server and the remote's error, and a queued push of it ends there (a retry would find
// the remote's copy current and check nothing).
func TestPushWhoseReportsCannotBeCheckedIsNoSuccess(t *testing.T) {
	a, b := newNode(t, "A"), newNode(t, "B")
	connect(t, a, b, store.ServerOptions{Push: true})
	faultOn(b, "/eventReports/index", func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"name":"An Internal Error Has Occurred.","message":"An Internal Error Has Occurred.","url":"/eventReports/index"}`)
	})
	withReports := func(e *misp.Event) {
		e.Published = true
		e.EventReport = []misp.EventReport{{UUID: misp.DerivedUUID(e.UUID, "report"), Name: "first", Content: "# one", Distribution: misp.InheritEvent}}
	}
	sent := a.importFile(t, smallEvent, withReports)
	sum, err := a.eng.Push(ctx, a.serverID("B"), RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const cause = "event reports not checked"
	wantDropFailure(t, a, sum, sent.UUID, cause,
		`event reports not checked: the remote saved the event, but listing its reports failed: HTTP 500: An Internal Error Has Occurred. (server "B" GET /eventReports/index/event_id:`)
	if b.count(t) != 1 {
		t.Errorf("B holds %d events; the push saved it there", b.count(t))
	}

	// At publication: the queued push fails under that cause and is not retried.
	const second = "00000000-0000-4000-8000-d00000000002"
	a.importFile(t, smallEvent, func(e *misp.Event) {
		e.UUID = second
		for i := range e.Attribute {
			e.Attribute[i].UUID = misp.DerivedUUID(second, e.Attribute[i].UUID)
		}
		withReports(e)
		e.Published = false
	})
	if res, err := a.st.Publish(ctx, testsupport.LocalEvent(t, a.st, second)); err != nil || res.Queued != 1 {
		t.Fatalf("publish: %+v %v", res, err)
	}
	ds, err := a.eng.DeliverDue(ctx)
	if err != nil || len(ds) != 1 || ds[0].Outcome != store.OutcomeFailed || ds[0].Reason != cause {
		t.Fatalf("delivered %+v %v; want one failed as %q", ds, err, cause)
	}
	if q, failing := outboxQueued(t, a); q != 0 || failing != 0 {
		t.Errorf("%d pushes still queued, %d failing", q, failing)
	}
	if b.count(t) != 2 {
		t.Errorf("B holds %d events, want both", b.count(t))
	}
}

// wantDropFailure checks that a push of one event the remote saved without some of its
// elements failed under cause, and that the push log has an error line for that event
// starting with want.
func wantDropFailure(t *testing.T, a *node, sum *RunSummary, eventUUID, cause, want string) {
	t.Helper()
	if sum.Failed != 1 || sum.Done != 0 || sum.FailCauses[cause] != 1 {
		t.Errorf("push: %s %v; want the event failed as %q", sum.Line(), sum.FailCauses, cause)
	}
	entries, _ := a.st.LogSince(context.Background(), 0, 1000, store.LogFilter{Direction: "push"})
	for _, e := range entries {
		if e.Level == store.LevelError && strings.HasPrefix(e.Message, want) && e.EventUUID == eventUUID {
			return
		}
	}
	t.Errorf("no error line %q in the push log: %+v", want, entries)
}
