package remote

// Proposals as MISP's ServerSyncTool and Server::syncProposals move them: fetched with
// shadow_attributes/index on a pull, sent with events/pushProposals on a push.

import (
	"context"
	"fmt"
	"net/http"

	"github.com/go-json-experiment/json"

	"mispdesk/store/misp"
)

// Proposals fetches the remote's proposals changed since the unix time, page by page
// (1000 a page) until a short page.
func (c *Client) Proposals(ctx context.Context, since int64) ([]misp.ShadowAttribute, error) {
	var all []misp.ShadowAttribute
	for page := 1; page <= maxPages; page++ {
		path := fmt.Sprintf("/shadow_attributes/index/all:1/timestamp:%d/limit:%d/page:%d/deleted[]:0/deleted[]:1.json",
			since, proposalPage, page)
		rq := request{method: http.MethodGet, path: path}
		got, err := requestWrapped[misp.ShadowAttribute](ctx, c, rq, "ShadowAttribute")
		if err != nil {
			return nil, err
		}
		all = append(all, got...)
		if len(got) < proposalPage {
			return all, nil
		}
	}
	return nil, fmt.Errorf("server %q: proposals: more than %d pages", c.cfg.Name, maxPages)
}

// PushProposalsResult is the remote's answer to events/pushProposals.
type PushProposalsResult struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	Counter int    `json:"counter"`
}

// PushProposals sends the proposals of one event (POST /events/pushProposals/<uuid>) as
// a JSON list, as MISP's syncProposals does; the remote answers how many it took. A
// remote that could not save them (success false) is an error naming its message.
func (c *Client) PushProposals(ctx context.Context, eventUUID string, ps []misp.ShadowAttribute) (int, error) {
	if err := c.checkRef("event", eventUUID); err != nil {
		return 0, err
	}
	body, err := json.Marshal(ps, json.Deterministic(true))
	if err != nil {
		return 0, fmt.Errorf("server %q: proposals of event %s: %w", c.cfg.Name, eventUUID, err)
	}
	var res PushProposalsResult
	rq := request{method: http.MethodPost, path: "/events/pushProposals/" + eventUUID, body: body}
	if _, err := c.requestJSON(ctx, rq, &res); err != nil {
		return 0, err
	}
	if !res.Success {
		return 0, fmt.Errorf("server %q: proposals of event %s refused: %s", c.cfg.Name, eventUUID, res.Message)
	}
	return res.Counter, nil
}
