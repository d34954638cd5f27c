package syncer

// The seven-node test bed of MISP's synchronisation suite (MISP/misp-synchronisation):
// topology.conf and INSTALL.sh ported to real mispdesk instances, wired only through the
// REST calls INSTALL.sh makes, with its payloads, and a thin PyMISP-like client.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"mispdesk/internal/testsupport"
	"mispdesk/store"
)

// suiteTopologyConf is the suite's topology.conf: node=servers it holds.
const suiteTopologyConf = `
1=2 5
2=1 3
3=2 4
4=3
5=1 6
6=7
7=6
`

// pm is a PyMISP-like client of one instance: net/http and JSON, one key.
type pm struct {
	t   testing.TB
	n   *node
	key string
}

// do sends one request as PyMISP's _prepare_request does and returns the status and body.
func (c *pm) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatalf("%s %s: encode body: %v", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.n.http.URL+"/"+strings.TrimPrefix(path, "/"), rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", c.key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read answer: %v", method, path, err)
	}
	return resp.StatusCode, raw
}

// call is do that fails the test on anything but 200 or an answer carrying "errors"
// (check_response), and decodes the answer.
func (c *pm) call(method, path string, body any) any {
	c.t.Helper()
	status, raw := c.do(method, path, body)
	var out any
	if err := json.Unmarshal(raw, &out); err != nil && len(bytes.TrimSpace(raw)) > 0 {
		c.t.Fatalf("%s %s on %s: %d, not JSON: %.300s", method, path, c.n.name, status, raw)
	}
	if m, ok := out.(map[string]any); status != http.StatusOK || (ok && m["errors"] != nil) {
		c.t.Fatalf("%s %s on %s: %d %.400s", method, path, c.n.name, status, raw)
	}
	return out
}

func (c *pm) obj(method, path string, body any) map[string]any {
	c.t.Helper()
	m, _ := c.call(method, path, body).(map[string]any)
	return m
}

func (c *pm) list(method, path string, body any) []any {
	c.t.Helper()
	l, _ := c.call(method, path, body).([]any)
	return l
}

// jm walks a decoded JSON value along keys (map members or list indexes).
func jm(v any, keys ...string) any {
	for _, k := range keys {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func js(v any, keys ...string) string {
	switch x := jm(v, keys...).(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

func jl(v any, keys ...string) []any {
	l, _ := jm(v, keys...).([]any)
	return l
}

// suiteEvent is what PyMISP's create_event makes: distribution 0, threat level low,
// analysis completed, one text attribute holding the event's UUID; edit changes it.
func suiteEvent(info string, distribution int, edit func(e map[string]any)) map[string]any {
	id := uuid.NewString()
	e := map[string]any{"info": info, "uuid": id, "distribution": distribution, "threat_level_id": 3, "analysis": 2,
		"Attribute": []any{map[string]any{"type": "text", "category": "Other", "value": id, "uuid": uuid.NewString(), "to_ids": false}}}
	if edit != nil {
		edit(e)
	}
	return e
}

// addEvent is add_event: the stored event's JSON.
func (c *pm) addEvent(e map[string]any) map[string]any {
	c.t.Helper()
	ev, _ := c.obj("POST", "events/add", map[string]any{"Event": e})["Event"].(map[string]any)
	if ev == nil || js(ev, "id") == "" {
		c.t.Fatalf("events/add on %s: no event in the answer", c.n.name)
	}
	return ev
}

// updateEvent is update_event on an event PyMISP edited: its JSON without the timestamp.
func (c *pm) updateEvent(ev map[string]any, set map[string]any) map[string]any {
	c.t.Helper()
	body := map[string]any{}
	for k, v := range ev {
		body[k] = v
	}
	delete(body, "timestamp")
	for k, v := range set {
		body[k] = v
	}
	out, _ := c.obj("POST", "events/edit/"+js(ev, "id"), map[string]any{"Event": body})["Event"].(map[string]any)
	return out
}

// publish is the suite's publish_immediately (events/publish, no background job).
func (c *pm) publish(ev map[string]any) {
	c.t.Helper()
	c.call("POST", "events/publish/"+js(ev, "id")+"/disable_background_processing:1", nil)
}

// search is search(uuid=…, **extra): events/restSearch's response list.
func (c *pm) search(eventUUID string, extra map[string]any) []any {
	c.t.Helper()
	body := map[string]any{"returnFormat": "json"}
	if eventUUID != "" {
		body["uuid"] = eventUUID
	}
	for k, v := range extra {
		body[k] = v
	}
	out := c.call("POST", "events/restSearch", body)
	if l, ok := out.([]any); ok {
		return l
	}
	return jl(out, "response")
}

// servers is servers(): servers/index.
func (c *pm) servers() []any { c.t.Helper(); return c.list("GET", "servers/index", nil) }

// serverPush and serverPull are server_push and server_pull (event: the source's id, or "").
func (c *pm) serverPush(serverID, event string) {
	c.t.Helper()
	c.call("GET", strings.TrimSuffix("servers/push/"+serverID+"/"+event, "/"), nil)
}

func (c *pm) serverPull(serverID, event string) {
	c.t.Helper()
	c.call("GET", strings.TrimSuffix("servers/pull/"+serverID+"/"+event, "/"), nil)
}

var trailingNumber = regexp.MustCompile(`\d+$`)

// serverNumbers is extract_server_numbers: the instance each server's name ends with.
func serverNumbers(servers []any) []int {
	var out []int
	for _, s := range servers {
		if m := trailingNumber.FindString(js(s, "Server", "name")); m != "" {
			n, _ := strconv.Atoi(m)
			out = append(out, n)
		}
	}
	return out
}

func serverIDs(servers []any) []string {
	var out []string
	for _, s := range servers {
		out = append(out, js(s, "Server", "id"))
	}
	return out
}

// bed is the suite's seven instances: admin[i] and org[i] are misps_site_admin and
// misps_org_admin of instance i (1-based).
type bed struct {
	t     testing.TB
	nodes []*node
	admin []*pm
	org   []*pm
	links map[int][]int
}

func (b *bed) size() int { return len(b.nodes) - 1 }

// newBed starts the instances topology.conf names and sets them up as INSTALL.sh does
// (with its default, the last two instances internal to one organisation).
func newBed(t testing.TB) *bed {
	t.Helper()
	ctx := context.Background()
	b := &bed{t: t, links: map[int][]int{}}
	num := 0
	for _, line := range strings.Split(suiteTopologyConf, "\n") {
		key, value, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.HasPrefix(key, "#") {
			continue
		}
		k, err := strconv.Atoi(key)
		if err != nil {
			t.Fatalf("topology.conf: bad node %q", key)
		}
		for _, f := range strings.Fields(value) {
			v, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("topology.conf: bad neighbour %q of %d", f, k)
			}
			b.links[k] = append(b.links[k], v)
		}
		num = max(num, k)
	}
	b.nodes = make([]*node, num+1)
	b.admin = make([]*pm, num+1)
	b.org = make([]*pm, num+1)
	// The containers: a fresh instance with MISP's default organisation and its admin,
	// whose key INSTALL.sh resets with `cake user change_authkey 1`.
	for i := 1; i <= num; i++ {
		n := newNodeWith(t, "MISP_"+strconv.Itoa(i), store.InitOptions{OrgName: "ORGNAME"})
		_, key, err := n.st.AddAuthKey(ctx, 1, store.AuthKeyOptions{Comment: "change_authkey 1"})
		if err != nil {
			t.Fatal(err)
		}
		b.nodes[i] = n
		b.admin[i] = &pm{t: t, n: n, key: key}
	}
	// The last two instances are internal: INSTALL.sh tests `[ $INTERNAL_LAST_TWO ]`,
	// which holds for "true" and "false" alike, so -no-internal changes nothing.
	const internalLastTwo = true
	orgUUID := map[int]string{}
	for i := 1; i <= num; i++ {
		orgUUID[i] = uuid.NewString()
	}
	for i := 1; i <= num; i++ {
		for o := 1; o <= num; o++ {
			// INSTALL.sh ignores the answer (>/dev/null).
			b.admin[i].do("POST", "admin/organisations/add", map[string]any{
				"name": fmt.Sprintf("ORG_%d", o), "uuid": orgUUID[o], "description": fmt.Sprintf("Owner organisation of instance %d", o)})
		}
	}
	orgID := func(instance, org int) string {
		for _, o := range b.admin[instance].list("GET", "organisations/index.json", nil) {
			if js(o, "Organisation", "name") == fmt.Sprintf("ORG_%d", org) {
				return js(o, "Organisation", "id")
			}
		}
		return ""
	}
	for i := 1; i <= num; i++ {
		host := i
		if internalLastTwo && i == num {
			host = i - 1
		}
		id := orgID(i, host)
		if id == "" {
			t.Fatalf("instance %d: no ORG_%d", i, host)
		}
		// `cake Admin setSetting MISP.host_org_id`: a console step, not REST.
		if err := b.nodes[i].st.SetHostOrg(ctx, testsupport.OrgID(b.nodes[i].st, id)); err != nil {
			t.Fatal(err)
		}
		u := b.admin[i].obj("POST", "admin/users/add", map[string]any{"email": fmt.Sprintf("org%d@admin.test", i), "org_id": json.Number(id), "role_id": 2})
		key := js(u, "User", "authkey")
		if js(u, "User", "id") == "" || key == "" {
			t.Fatalf("instance %d: org admin not created: %v", i, u)
		}
		b.org[i] = &pm{t: t, n: b.nodes[i], key: key}
	}
	syncKey := map[[2]int]string{}
	for source := 1; source <= num; source++ {
		for _, target := range b.links[source] {
			// create_sync_user
			var org string
			switch {
			case internalLastTwo && target == num-1:
				org = orgID(target, target)
			case internalLastTwo && target == num:
				org = orgID(source, source)
			default:
				org = orgID(target, source)
			}
			if org == "" {
				t.Fatalf("ORG_%d does not exist on instance %d", source, target)
			}
			u := b.admin[target].obj("POST", "admin/users/add", map[string]any{"email": fmt.Sprintf("sync%don%d@user.test", source, target),
				"org_id": json.Number(org), "role_id": 5, "external_auth_required": false, "autoalert": false, "disabled": false, "change_pw": false})
			userID := js(u, "User", "id")
			k := b.admin[target].obj("POST", "auth_keys/add/"+userID, map[string]any{"user_id": userID, "comment": fmt.Sprintf("Sync key for ORG_%d", source)})
			if syncKey[[2]int{source, target}] = js(k, "AuthKey", "authkey_raw"); syncKey[[2]int{source, target}] == "" {
				t.Fatalf("no sync key for user %s on instance %d: %v", userID, target, k)
			}
			// create_sync_server
			internal := false
			switch {
			case internalLastTwo && target == num-1:
				internal, org = true, orgID(target, target)
			case internalLastTwo && target == num:
				internal, org = true, orgID(source, source)
			case internalLastTwo:
				internal, org = true, orgID(source, target)
			default:
				org = orgID(source, target)
			}
			// INSTALL.sh keeps the answer in a variable it never reads.
			b.admin[source].do("POST", "servers/add", map[string]any{
				"name": fmt.Sprintf("MISP_%d", target), "url": b.nodes[target].http.URL, "remote_org_id": org,
				"authkey": syncKey[[2]int{source, target}], "pull": true, "push": true, "push_sightings": true,
				"push_galaxy_clusters": true, "pull_galaxy_clusters": true, "push_analyst_data": true, "pull_analyst_data": true,
				"internal": internal})
		}
	}
	// create_sharing_group, add_orgs_to_sharing_group, add_servers_to_sharing_group
	sg := b.admin[1].obj("POST", "sharing_groups/add", map[string]any{"uuid": uuid.NewString(), "name": "My Sharing Group",
		"description": "Sharing Group with X Banking Institutions", "releasability": "Banking Institutions"})
	sgID := js(sg, "SharingGroup", "id")
	if sgID == "" {
		t.Fatalf("sharing group creation failed: %v", sg)
	}
	b.admin[1].do("POST", "sharing_groups/addOrg/"+sgID+"/"+orgUUID[1], nil)
	if targets := b.links[1]; len(targets) > 0 {
		if id := orgID(1, targets[0]); id != "" {
			b.admin[1].do("POST", "sharing_groups/addOrg/"+sgID+"/"+id, nil)
		}
	}
	for _, target := range b.links[1] {
		for _, s := range b.admin[1].servers() {
			if js(s, "Server", "name") == fmt.Sprintf("MISP_%d", target) {
				b.admin[1].do("POST", "sharing_groups/addServer/"+sgID+"/"+js(s, "Server", "id"), nil)
			}
		}
	}
	return b
}

// settle delivers every push the instances queued (publishes, and events passed along)
// until none is left due: MISP's publish with disable_background_processing:1 pushes at
// once, and the suite sleeps after it.
func (b *bed) settle() {
	b.t.Helper()
	ctx := context.Background()
	for round := 0; ; round++ {
		if round > 50 {
			b.t.Fatal("the outboxes did not settle in 50 rounds")
		}
		total := 0
		for _, n := range b.nodes[1:] {
			d, err := n.eng.DeliverDue(ctx)
			if err != nil {
				b.t.Fatalf("%s: deliver: %v", n.name, err)
			}
			total += len(d)
		}
		if total == 0 {
			return
		}
	}
}

// publish is publish_immediately followed by the suite's sleep.
func (b *bed) publish(c *pm, ev map[string]any) {
	b.t.Helper()
	c.publish(ev)
	b.settle()
}

// use points the bed and its clients at t, the running subtest, so their failures are
// its own.
func (b *bed) use(t testing.TB) *bed {
	b.t = t
	for i := 1; i <= b.size(); i++ {
		b.admin[i].t, b.org[i].t = t, t
	}
	return b
}

// pushAll is server_push of each of instance i's servers (event: its id, or "" for all).
func (b *bed) pushAll(i int, event string) {
	b.t.Helper()
	for _, id := range serverIDs(b.admin[i].servers()) {
		b.admin[i].serverPush(id, event)
	}
	b.settle()
}

// linked is extract_server_numbers(misps_site_admin[i].servers()).
func (b *bed) linked(i int) []int { return serverNumbers(b.admin[i].servers()) }

// unidirectional is find_unidirectional_link: the source and target instance and the
// target's server towards the source.
func (b *bed) unidirectional() (source, target int, serverID string) {
	b.t.Helper()
	for i := 1; i <= b.size(); i++ {
		src := i
		sourceLinks := b.linked(i)
		for _, tgt := range sourceLinks {
			if slices.Contains(b.linked(tgt), src) {
				continue
			}
			s, d := src, tgt
			if !slices.Contains(sourceLinks, src) { // the suite's test, kept as written
				s, d = d, s
			}
			for _, srv := range b.admin[d].servers() {
				if strings.Contains(js(srv, "Server", "name"), strconv.Itoa(s)) {
					return s, d, js(srv, "Server", "id")
				}
			}
		}
	}
	b.t.Fatal("No unidirectional connection found between any instances.")
	return 0, 0, ""
}

// purge is purge_events_and_blocklists on every instance.
func (b *bed) purge() {
	b.t.Helper()
	for _, c := range b.admin[1:] {
		for _, ev := range c.search("", nil) {
			c.call("POST", "events/delete/"+js(ev, "Event", "id"), nil)
		}
		for _, bl := range c.list("GET", "eventBlocklists/index", nil) {
			id := js(bl, "id")
			if id == "" {
				id = js(bl, "EventBlocklist", "id")
			}
			c.call("POST", "eventBlocklists/delete/"+id, nil)
		}
	}
}

// found reports whether instance c finds the event (search(uuid=…)).
func found(c *pm, eventUUID string) bool { c.t.Helper(); return len(c.search(eventUUID, nil)) > 0 }

// distributionOf is the event's distribution on c, or -1 when c does not find it.
func distributionOf(c *pm, eventUUID string) int {
	c.t.Helper()
	r := c.search(eventUUID, nil)
	if len(r) == 0 {
		return -1
	}
	d, _ := strconv.Atoi(js(r[0], "Event", "distribution"))
	return d
}
