package policy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"mispdesk/store/misp"
)

func TestParseRulesMISPExamples(t *testing.T) {
	cases := []struct {
		kind RulesKind
		text string
		want Rules
	}{
		// The book's example (its figure, written as MISP stores it).
		{PushRules, `{"tags":{"OR":[],"NOT":["tlp:red"]},"orgs":{"OR":[],"NOT":["Setec Astronomy"]},"url_params":""}`,
			Rules{Tags: Filter{OR: []string{}, NOT: []string{"tlp:red"}}, Orgs: Filter{OR: []string{}, NOT: []string{"Setec Astronomy"}}}},
		// MISP's push_rules and pull_rules (app/Model/Server.php): defaults and populated examples.
		{PushRules, `{"tags":{"OR":[],"NOT":[]},"orgs":{"OR":[],"NOT":[]}}`,
			Rules{Tags: Filter{OR: []string{}, NOT: []string{}}, Orgs: Filter{OR: []string{}, NOT: []string{}}}},
		{PushRules, `{"tags":{"OR":["12"],"NOT":[7]},"orgs":{"OR":[],"NOT":["4"]},"type_attributes":{"NOT":["comment"]},"type_objects":{"NOT":["688c46fb-5edb-40a3-8273-1af7923e2215"]}}`,
			Rules{Tags: Filter{OR: []string{"12"}, NOT: []string{"7"}}, Orgs: Filter{OR: []string{}, NOT: []string{"4"}}, TypeAttributes: Filter{NOT: []string{"comment"}}, TypeObjects: Filter{NOT: []string{"688c46fb-5edb-40a3-8273-1af7923e2215"}}}},
		{PullRules, `{"tags":{"OR":["tlp:green","tlp:white"],"NOT":["tlp:red"]},"orgs":{"OR":[],"NOT":["CIRCL"]},"type_attributes":{"NOT":["ip-src"]},"type_objects":{"NOT":[]},"url_params":"{\"timestamp\":\"30d\",\"threatlevel\":[1,2]}"}`,
			Rules{Tags: Filter{OR: []string{"tlp:green", "tlp:white"}, NOT: []string{"tlp:red"}}, Orgs: Filter{OR: []string{}, NOT: []string{"CIRCL"}}, TypeAttributes: Filter{NOT: []string{"ip-src"}}, TypeObjects: Filter{NOT: []string{}},
				URLParams: map[string]any{"timestamp": "30d", "threatlevel": []any{json.Number("1"), json.Number("2")}}}},
		// Shapes PHP and old UIs leave behind.
		{PullRules, ``, Rules{}},
		{PullRules, `null`, Rules{}},
		{PullRules, `[]`, Rules{}},
		{PullRules, `""`, Rules{}},
		{PullRules, `{"tags":[],"orgs":null,"url_params":null}`, Rules{}},
		{PullRules, `{"tags":{"OR":"tlp:green","NOT":""}}`, Rules{Tags: Filter{OR: []string{"tlp:green"}}}},
		{PullRules, `{"tags":{"OR":{"0":"a","1":"b"}}}`, Rules{Tags: Filter{OR: []string{"a", "b"}}}},
		{PullRules, `{"tags":{"OR":["a"]},"future_key":1}`, Rules{Tags: Filter{OR: []string{"a"}}, Ignored: []string{"future_key"}}},
	}
	for _, c := range cases {
		got, err := ParseRules(c.kind, c.text)
		if err != nil {
			t.Errorf("%s: %v", c.text, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %#v\nwant %#v", c.text, got, c.want)
		}
	}
}

func TestParseRulesRefusesNamingTheKey(t *testing.T) {
	cases := []struct {
		kind RulesKind
		text string
		want string
	}{
		{PushRules, `{"tags":{"OR":{"x":1}}}`, "push_rules.tags.OR: want a list of strings, got an object"},
		{PushRules, `{"tags":{"OR":[{"id":1}]}}`, "push_rules.tags.OR[0]: want a string or a number, got an object"},
		{PullRules, `{"orgs":"CIRCL"}`, "pull_rules.orgs: want an object, got a string"},
		{PullRules, `{"orgs":{"AND":[]}}`, "pull_rules.orgs.AND: unknown key"},
		{PullRules, `{"type_attributes":{"OR":["x"]}}`, "pull_rules.type_attributes.OR: unknown key"},
		{PullRules, `{"url_params":"{not json"}`, "pull_rules.url_params: the string is not JSON"},
		{PullRules, `{"url_params":"[1]"}`, "pull_rules.url_params: want an object, got a list"},
		{PullRules, `{"tags":{"NOT":true}}`, "pull_rules.tags.NOT: want a list of strings, got a boolean"},
		{PullRules, `{"tags":`, "pull_rules: not JSON"},
		{PullRules, `42`, "pull_rules: want an object, got a number"},
	}
	for _, c := range cases {
		_, err := ParseRules(c.kind, c.text)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.text, err, c.want)
		}
	}
}

// Server::filterRuleToParameter (app/Model/Server.php): OR as-is, NOT with "!", key less its last letter, url_params merged.
func TestPullIndexFilter(t *testing.T) {
	r, err := ParseRules(PullRules, `{"tags":{"OR":["tlp:green"],"NOT":["tlp:red"]},"orgs":{"OR":[],"NOT":["5f6e0000-0000-4000-8000-000000000000"]},"type_attributes":{"NOT":["ip-src"]},"url_params":"{\"timestamp\":\"30d\",\"tag\":\"osint\",\"published\":0}"}`)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(PullIndexFilter(&r))
	want := `{"minimal":1,"org":["!5f6e0000-0000-4000-8000-000000000000"],"published":1,"tag":["tlp:green","!tlp:red","osint"],"timestamp":"30d","type_attribute":["!ip-src"]}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	empty, _ := json.Marshal(PullIndexFilter(&Rules{}))
	if string(empty) != `{"minimal":1,"published":1}` {
		t.Fatalf("no rules: %s", empty)
	}
}

func TestDryRun(t *testing.T) {
	r, err := ParseRules(PushRules, `{"tags":{"OR":[],"NOT":["tlp:red"]},"orgs":{"OR":[],"NOT":["Setec Astronomy"]},"type_attributes":{"NOT":["md5"]},"url_params":""}`)
	if err != nil {
		t.Fatal(err)
	}
	fixture := loadEvent(t, "eset-cloudmensis.misp.json")
	red := event(orgA, dAll)
	red.Tag = []misp.Tag{{Name: "tlp:red"}}
	setec := event(misp.Org{UUID: "5e000000-0000-4000-8000-000000000000", Name: "Setec Astronomy"}, dAll)
	out := DryRun(PushRules, &r, []*misp.Event{fixture, red, setec})
	if !out[0].Decision.Allowed || out[0].Stripped == 0 {
		t.Errorf("fixture: want passed with md5 attributes stripped: %+v", out[0])
	}
	if out[1].Decision.Allowed || out[1].Decision.BlockedBy().Rule != "push_rules.tags.NOT" {
		t.Errorf("tlp:red event: %s", out[1].Decision)
	}
	if out[2].Decision.Allowed || out[2].Decision.BlockedBy().Rule != "push_rules.orgs.NOT" {
		t.Errorf("Setec event: %s", out[2].Decision)
	}
	if b, err := json.Marshal(out[1]); err != nil || !strings.Contains(string(b), `"rule":"push_rules.tags.NOT","outcome":"block"`) {
		t.Errorf("JSON form: %s %v", b, err)
	}
}

func FuzzParseRules(f *testing.F) {
	for _, s := range []string{
		`{"tags":{"OR":[],"NOT":["tlp:red"]},"orgs":{"OR":[],"NOT":["Setec Astronomy"]},"url_params":""}`,
		`{"tags":{"OR":["12"],"NOT":[7]},"orgs":{"OR":[],"NOT":["4"]},"type_attributes":{"NOT":["comment"]},"type_objects":{"NOT":["x"]}}`,
		`{"url_params":"{\"timestamp\":\"30d\",\"threatlevel\":[1,2]}"}`,
		`{"tags":{"OR":{"0":"a"}}}`, `[]`, `null`, `""`, `{"tags":{"OR":[{}]}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, kind := range []RulesKind{PushRules, PullRules} {
			r, err := ParseRules(kind, text)
			if err != nil {
				if !strings.HasPrefix(err.Error(), string(kind)) {
					t.Fatalf("error does not name the key: %v", err)
				}
				continue
			}
			// Whatever parses must drive the rest without panicking.
			PullIndexFilter(&r)
			ev := event(orgA, dAll)
			ev.Tag = []misp.Tag{{ID: 7, Name: "tlp:red"}}
			DryRun(kind, &r, []*misp.Event{ev})
		}
	})
}
