package remote

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mispdesk/store/misp"
)

// AnalystVersions is analyst data by kind, then UUID, with its modified time, as MISP's
// indexMinimal and filterAnalystDataForPush exchange it.
type AnalystVersions map[string]map[string]string

// AnalystDataIndexMinimal lists the analyst data the remote lets this side see (POST
// /analyst_data/indexMinimal), only that of the creator organisations orgcNames allows
// (names, '!' to leave out), as MISP's pull asks.
func (c *Client) AnalystDataIndexMinimal(ctx context.Context, orgcNames []string) (AnalystVersions, error) {
	if orgcNames == nil {
		orgcNames = []string{}
	}
	body, err := json.Marshal(map[string]any{"orgc_name": orgcNames})
	if err != nil {
		return nil, err
	}
	return c.analystVersions(ctx, request{method: http.MethodPost, path: "/analyst_data/indexMinimal", body: body})
}

// FilterAnalystDataForPush offers candidates to the remote and returns those it wants
// (POST /analyst_data/filterAnalystDataForPush).
func (c *Client) FilterAnalystDataForPush(ctx context.Context, cands AnalystVersions) (AnalystVersions, error) {
	body, err := json.Marshal(cands, json.Deterministic(true))
	if err != nil {
		return nil, err
	}
	return c.analystVersions(ctx, request{method: http.MethodPost, path: "/analyst_data/filterAnalystDataForPush", body: body})
}

// analystVersions runs rq and decodes {"<Kind>":{"<uuid>":"<modified>"}}, where MISP
// answers an empty kind, or nothing at all, as [] (a {"response":…} envelope is opened).
func (c *Client) analystVersions(ctx context.Context, rq request) (AnalystVersions, error) {
	var raw jsontext.Value
	resp, err := c.requestJSON(ctx, rq, &raw)
	if err != nil {
		return nil, err
	}
	var top map[string]jsontext.Value
	if raw.Kind() != '{' {
		return AnalystVersions{}, nil
	}
	if err := json.Unmarshal(raw, &top, lenient); err != nil {
		return nil, c.decodeError(rq, resp, err)
	}
	if r, ok := top["response"]; ok && r.Kind() == '{' {
		if err := json.Unmarshal(r, &top, lenient); err != nil {
			return nil, c.decodeError(rq, resp, err)
		}
	}
	out := AnalystVersions{}
	for _, kind := range misp.AnalystKinds {
		v, ok := top[kind]
		if !ok || v.Kind() != '{' {
			continue
		}
		var m map[string]string
		if err := json.Unmarshal(v, &m, lenient); err != nil {
			return nil, c.decodeError(rq, resp, fmt.Errorf("%s: %w", kind, err))
		}
		kept := map[string]string{}
		for u, mod := range m {
			if misp.IsUUID(u) {
				kept[strings.ToLower(u)] = mod
			}
		}
		out[kind] = kept
	}
	return out, nil
}

// AnalystDataChunk is how many items a pull asks for at a time, as MISP's pullInChunks.
const AnalystDataChunk = 100

// AnalystData fetches items of one kind by UUID (GET /analyst_data/index/<Kind>/uuid[]:….json),
// at most AnalystDataChunk per call.
func (c *Client) AnalystData(ctx context.Context, kind string, uuids []string) ([]misp.AnalystData, error) {
	if len(uuids) > AnalystDataChunk {
		return nil, fmt.Errorf("server %q: %d analyst data UUIDs asked at once, at most %d", c.cfg.Name, len(uuids), AnalystDataChunk)
	}
	var b strings.Builder
	b.WriteString("/analyst_data/index/" + kind)
	for _, u := range uuids {
		if !misp.IsUUID(u) {
			return nil, fmt.Errorf("server %q: analyst data %q is not a UUID", c.cfg.Name, escapeText(u, 60))
		}
		b.WriteString("/uuid[]:" + u)
	}
	b.WriteString(".json")
	return requestWrapped[misp.AnalystData](ctx, c, request{method: http.MethodGet, path: b.String()}, kind)
}

// PushAnalystData sends one item, {"<Kind>":{…}} (POST /analyst_data/pushAnalystData).
func (c *Client) PushAnalystData(ctx context.Context, kind string, item jsontext.Value) error {
	body, err := json.Marshal(map[string]jsontext.Value{kind: item})
	if err != nil {
		return err
	}
	_, err = c.doOK(ctx, request{method: http.MethodPost, path: "/analyst_data/pushAnalystData", body: body})
	return err
}
