package remote

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"mispdesk/store/misp"
)

func testEvent(t *testing.T) *misp.Event {
	t.Helper()
	e, err := misp.ParseEvent([]byte(eventBody))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const (
	headKey = "HEAD /events/view/" + evUUID
	addKey  = "POST /events/add/metadata:1"
	editKey = "POST /events/edit/" + evUUID + "/metadata:1"
	saved   = `{"Event":{"id":"77","uuid":"` + evUUID + `","info":"non-blocked"}}`
)

func TestPushEvent(t *testing.T) {
	notNewer := `{"saved":false,"name":"Could not edit Event","message":"Could not edit Event","url":"/events/edit","errors":"` + NotNewerMessage + `"}`
	cases := []struct {
		name    string
		setup   func(p *peer)
		want    PushResult
		calls   []string
		wantErr string
	}{
		{"new event is added", func(p *peer) {
			p.json(headKey, 404, "")
			p.json(addKey, 200, saved)
		}, PushResult{Created, "77"}, []string{headKey, addKey}, ""},
		{"known event is edited", func(p *peer) {
			p.json(headKey, 200, "")
			p.json(editKey, 200, saved)
		}, PushResult{Updated, "77"}, []string{headKey, editKey}, ""},
		{"edit 404 falls back to add", func(p *peer) {
			p.json(headKey, 200, "")
			p.json(editKey, 404, `{"name":"Invalid event","message":"Invalid event","url":"/events/edit"}`)
			p.json(addKey, 200, saved)
		}, PushResult{Created, "77"}, []string{headKey, editKey, addKey}, ""},
		{"add 404 with Location becomes edit of that id", func(p *peer) {
			p.json(headKey, 404, "")
			p.handle(addKey, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", "https://misp-b.example/events/77")
				w.WriteHeader(404)
				io.WriteString(w, `{"name":"Event already exists, if you would like to edit it, use the url in the location header.","message":"Event already exists, if you would like to edit it, use the url in the location header.","url":"/events/add"}`)
			})
			p.json("POST /events/edit/77/metadata:1", 200, saved)
		}, PushResult{Updated, "77"}, []string{headKey, addKey, "POST /events/edit/77/metadata:1"}, ""},
		{"HEAD failure counts as absent", func(p *peer) {
			p.json(headKey, 400, "")
			p.json(addKey, 200, saved)
		}, PushResult{Created, "77"}, []string{headKey, addKey}, ""},
		{"not newer is quiet", func(p *peer) {
			p.json(headKey, 200, "")
			p.json(editKey, 403, notNewer)
		}, PushResult{Outcome: NotNewer}, []string{headKey, editKey}, ""},
		{"not newer after add→edit", func(p *peer) {
			p.json(headKey, 404, "")
			p.handle(addKey, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", "/events/"+evUUID)
				w.WriteHeader(404)
			})
			p.json(editKey, 403, `{"errors":{"Event":["`+NotNewerMessage+`"]}}`)
		}, PushResult{Outcome: NotNewer}, []string{headKey, addKey, editKey}, ""},
		{"blocklist is an error with the remote's words", func(p *peer) {
			p.json(headKey, 404, "")
			p.json(addKey, 403, `{"name":"Event blocked by event blocklist.","message":"Event blocked by event blocklist.","url":"\/events\/add\/metadata:1"}`)
		}, PushResult{}, []string{headKey, addKey}, `HTTP 403: Event blocked by event blocklist. (server "B" POST /events/add/metadata:1)`},
		{"validation errors are named", func(p *peer) {
			p.json(headKey, 404, "")
			p.json(addKey, 403, `{"saved":false,"name":"Could not add Event","message":"Could not add Event","url":"/events/add","errors":{"Event":{"info":["Info cannot be empty."]}}}`)
		}, PushResult{}, []string{headKey, addKey}, `HTTP 403: Could not add Event: Event: info: Info cannot be empty.`},
		{"add 404 without Location is an error", func(p *peer) {
			p.json(headKey, 404, "")
		}, PushResult{}, []string{headKey, addKey}, `HTTP 404: Not Found (server "B" POST /events/add/metadata:1)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPeer(t).start()
			tc.setup(p)
			res, err := p.client(t, nil).PushEvent(context.Background(), testEvent(t))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				var e *Error
				if !errors.As(err, &e) || e.Status == 0 {
					t.Errorf("not an *Error with a status: %#v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if res != tc.want {
				t.Errorf("result %+v, want %+v", res, tc.want)
			}
			var got []string
			for _, r := range p.requests() {
				got = append(got, r.Method+" "+r.RequestURI)
				if r.Method == "POST" {
					ev, err := misp.ParseEvent(r.Plain)
					if err != nil || ev.UUID != evUUID || !strings.HasPrefix(string(r.Plain), `{"Event":{`) {
						t.Errorf("pushed body: %v %s", err, r.Plain)
					}
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.calls, "\n") {
				t.Errorf("calls\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.calls, "\n"))
			}
		})
	}
}

func TestPushEventAuthFailureStops(t *testing.T) {
	p := newPeer(t).start()
	p.json(headKey, 403, `{"name":"Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.","message":"Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.","url":"/events/view"}`)
	_, err := p.client(t, nil).PushEvent(context.Background(), testEvent(t))
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("err %v, want ErrAuth", err)
	}
	if n := len(p.requests()); n != 1 {
		t.Errorf("%d requests after an auth failure", n)
	}
}

// An answer whose attribute_count is below the attributes sent alive is a DroppedError
// (the event is saved, without some of them); an equal count or none is success.
func TestPushEventDroppedAttributes(t *testing.T) {
	alive := 0
	for _, a := range testEvent(t).Attribute {
		if !bool(a.Deleted) {
			alive++
		}
	}
	if alive == 0 {
		t.Fatal("the test event has no attribute alive")
	}
	for _, tc := range []struct {
		answer  string
		dropped bool
	}{
		{`{"Event":{"id":"77","attribute_count":"0"}}`, true},
		{`{"Event":{"id":"77","attribute_count":"` + strconv.Itoa(alive) + `"}}`, false},
		{saved, false},
	} {
		p := newPeer(t).start()
		p.json(headKey, 404, "")
		p.json(addKey, 200, tc.answer)
		res, err := p.client(t, nil).PushEvent(context.Background(), testEvent(t))
		var d *DroppedError
		if got := errors.As(err, &d); got != tc.dropped || (!tc.dropped && err != nil) {
			t.Errorf("%s: err %v", tc.answer, err)
			continue
		}
		if tc.dropped && (d.Sent != alive || d.Kept != 0 || !errors.Is(err, ErrDropped) || Cause(err) != "attributes dropped by the remote") {
			t.Errorf("%s: %+v, cause %q", tc.answer, d, Cause(err))
		}
		if res != (PushResult{Created, "77"}) {
			t.Errorf("%s: result %+v", tc.answer, res)
		}
	}
}
