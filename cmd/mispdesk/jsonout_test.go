package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// JSON printed for scripts carries C1 controls and bidirectional overrides as \uXXXX:
// no raw CSI (U+009B) or right-to-left override (U+202E) reaches a terminal, and the
// document decodes to the same data.
func TestJSONOutputEscapesTerminalControls(t *testing.T) {
	db, _ := initT(t)
	const info = "invoice\u202Efdp.exe \u009b2J \u2066iso\u2069 \u200e\u200f\u061c\u0085 café ok"
	doc := `{"Event":{"uuid":"9a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f","info":` + jsonString(t, info) + `,"date":"2024-01-02",
		"Orgc":{"name":"Org\u202e","uuid":"8a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f"},
		"Attribute":[{"type":"text","value":"v\u009b1m\u202a","to_ids":false}]}}`
	path := filepath.Join(t.TempDir(), "bidi.json")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := runT(t, "import", "--db", db, path); code != 0 {
		t.Fatalf("import: %s %s", stdout, stderr)
	}
	for _, args := range [][]string{
		{"event", "show", "9a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f", "--json"},
		{"event", "list", "--json"},
		{"org", "list", "--json"},
	} {
		code, stdout, stderr := runT(t, append(args, "--db", db)...)
		if code != 0 || stderr != "" {
			t.Fatalf("%v: exit %d, %q", args, code, stderr)
		}
		for _, r := range stdout {
			if isTerminalControl(r) {
				t.Errorf("%v prints the raw character %U", args, r)
			}
		}
		var v any
		if err := json.Unmarshal([]byte(stdout), &v); err != nil {
			t.Fatalf("%v: not JSON any more: %v", args, err)
		}
		if !strings.Contains(stdout, `\u202e`) {
			t.Errorf("%v: U+202E not shown escaped:\n%s", args, stdout)
		}
	}
	// The escaped document decodes to the very text stored.
	_, stdout, _ := runT(t, "event", "show", "9a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f", "--json", "--db", db)
	var got struct {
		Event struct {
			Info      string                   `json:"info"`
			Orgc      struct{ Name string }    `json:"Orgc"`
			Attribute []struct{ Value string } `json:"Attribute"`
		} `json:"Event"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.Event.Info != info || got.Event.Orgc.Name != "Org\u202e" || len(got.Event.Attribute) != 1 || got.Event.Attribute[0].Value != "v\u009b1m\u202a" {
		t.Errorf("decoded %+q, want the stored text back", got.Event)
	}
}

// escapeControls leaves a document without them as it is, and escapes each of them.
func TestEscapeControls(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":"plain ascii, é, 日本"}`:   `{"a":"plain ascii, é, 日本"}`,
		"[\"\u009b\u0080\u009f\"]":     `["\u009b\u0080\u009f"]`,
		"\"x\u202ay\u202ez\u2069\"":    `"x\u202ay\u202ez\u2069"`,
		"\"\u200e\u200f\u061c\u2028\"": `"\u200e\u200f\u061c\u2028"`,
		"\"\u00a0\u202f\u2065\"":       "\"\u00a0\u202f\u2065\"", // neighbours of the ranges stay
	} {
		got := string(escapeControls([]byte(in)))
		if got != want {
			t.Errorf("escapeControls(%q) = %q, want %q", in, got, want)
		}
		var a, b any
		if json.Unmarshal([]byte(in), &a) != nil || json.Unmarshal([]byte(got), &b) != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("%q: the escaped document does not decode to the same value", in)
		}
	}
}

func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
