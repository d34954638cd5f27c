package mispapi

// Event reports over REST: add, view, index, edit, delete.

import (
	"net/http"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/google/uuid"

	"mispdesk/store"
	"mispdesk/store/misp"
)

func (a *API) registerEventReports() {
	a.handleWrite("eventReports/add", methodsGetPost, permAdd, (*call).eventReportsAdd)
	a.handleWrite("eventReports/edit", methodsPost, permModify, (*call).eventReportsEdit)
	a.handleWrite("eventReports/delete", methodsDelete, permModify, (*call).eventReportsDelete)
	a.handle("eventReports/view", methodsGet, permAuth, (*call).eventReportsView)
	a.handle("eventReports/index", methodsGetPost, permAuth, (*call).eventReportsIndex)
}

func reportJSON(r *misp.EventReport, ev *misp.Event) map[string]any {
	m := map[string]any{}
	b, _ := json.Marshal(r)
	_ = json.Unmarshal(b, &m)
	m["event_id"] = itoa(int64(ev.ID))
	return m
}

func findReport(ev *misp.Event, u string) *misp.EventReport {
	for i := range ev.EventReport {
		if ev.EventReport[i].UUID == u {
			return &ev.EventReport[i]
		}
	}
	return nil
}

// eventReportsAdd is POST /eventReports/add/<event id|uuid>; GET describes the endpoint
// (sync pushers ask it before sending reports).
func (c *call) eventReportsAdd() error {
	if c.r.Method == http.MethodGet || c.r.Method == http.MethodHead {
		return c.eventReportsAddDescribe()
	}
	const failName = "Could not add EventReport"
	row, err := c.visibleRow(c.path.Arg(0))
	if err != nil {
		return err
	}
	f, err := c.fields("EventReport")
	if err != nil {
		return err
	}
	var ruuid string
	saved, err := c.changeEvent(row, failName, func(ev *misp.Event, now misp.Int) error {
		r := &misp.EventReport{Distribution: misp.InheritEvent}
		if err := overlay(r, f); err != nil {
			return saveFail(c, failName, nil, map[string][]string{"EventReport": {err.Error()}})
		}
		if strings.TrimSpace(r.Name) == "" {
			return saveFail(c, failName, nil, map[string][]string{"name": {"A report needs a name."}})
		}
		r.UUID = strings.ToLower(f.str("uuid"))
		if !misp.IsUUID(r.UUID) {
			r.UUID = uuid.NewString()
		}
		if findReport(ev, r.UUID) != nil {
			return saveFail(c, failName, nil, map[string][]string{"uuid": {"A report with this uuid already exists."}})
		}
		r.ID, r.EventID, r.Timestamp = 0, 0, now
		ruuid = r.UUID
		ev.EventReport = append(ev.EventReport, *r)
		return nil
	})
	if err != nil {
		return err
	}
	r := findReport(saved, ruuid)
	if r == nil {
		return saveFail(c, failName, nil, "The report could not be saved.")
	}
	return c.reply(http.StatusOK, map[string]any{"EventReport": reportJSON(r, saved)})
}

func (c *call) reportOf(ref string) (*store.ElementRef, *store.IndexRow, *misp.Event, *misp.EventReport, error) {
	el, row, err := c.element(store.ElemReport, ref, "Invalid Event Report")
	if err != nil {
		return nil, nil, nil, nil, err
	}
	ev, err := c.visibleEvent(row)
	if err != nil {
		return nil, nil, nil, nil, notFound("Invalid Event Report")
	}
	r := findReport(ev, el.UUID)
	if r == nil {
		return nil, nil, nil, nil, notFound("Invalid Event Report")
	}
	return el, row, ev, r, nil
}

func (c *call) eventReportsView() error {
	_, _, ev, r, err := c.reportOf(c.path.Arg(0))
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, map[string]any{"EventReport": reportJSON(r, ev)})
}

// eventReportsIndex is GET /eventReports/index[/event_id:<id>]: the reports the caller
// may see.
func (c *call) eventReportsIndex() error {
	params, err := c.indexParams()
	if err != nil {
		return err
	}
	var q store.SearchQuery
	if ev := scalar(params["event_id"]); ev != "" {
		q.Event.EventIDs = []string{ev}
	}
	out := []any{}
	s := &search{q: q, page: 1}
	err = c.searchEvents(s, func(ev *misp.Event) bool {
		for i := range ev.EventReport {
			if r := &ev.EventReport[i]; !bool(r.Deleted) || truthy(params["deleted"]) {
				out = append(out, map[string]any{"EventReport": reportJSON(r, ev)})
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, out)
}

func (c *call) eventReportsEdit() error {
	const failName = "Could not edit EventReport"
	el, row, _, _, err := c.reportOf(c.path.Arg(0))
	if err != nil {
		return err
	}
	f, err := c.fields("EventReport")
	if err != nil {
		return err
	}
	saved, err := c.changeEvent(row, failName, func(ev *misp.Event, now misp.Int) error {
		r := findReport(ev, el.UUID)
		if r == nil {
			return notFound("Invalid Event Report")
		}
		if err := overlay(r, f); err != nil {
			return saveFail(c, failName, itoa(el.ID), map[string][]string{"EventReport": {err.Error()}})
		}
		r.Timestamp = bump(r.Timestamp, now)
		return nil
	})
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, map[string]any{"EventReport": reportJSON(findReport(saved, el.UUID), saved)})
}

func (c *call) eventReportsDelete() error {
	el, row, _, _, err := c.reportOf(c.path.Arg(0))
	if err != nil {
		return err
	}
	if c.path.Arg(1) == "1" {
		if err := c.mayModify(row); err != nil {
			return err
		}
		if err := c.a.st.HardDeleteElement(c.ctx, store.ElemReport, el.ID); err != nil {
			return notFoundOr(err, "Invalid Event Report")
		}
	} else if _, err := c.changeEvent(row, "Could not delete EventReport", func(ev *misp.Event, now misp.Int) error {
		r := findReport(ev, el.UUID)
		if r == nil {
			return notFound("Invalid Event Report")
		}
		r.Deleted = true
		r.Timestamp = bump(r.Timestamp, now)
		return nil
	}); err != nil {
		return err
	}
	return c.reply(http.StatusOK, saveSuccess(c, "Event Report deleted.", "Event Report deleted.", itoa(el.ID)))
}
