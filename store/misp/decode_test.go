package misp

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const minimalEvent = `{"uuid":"5A3A5C56-0E1C-4DC2-9F8B-0E4A950D210F","info":"x","timestamp":"1500000000","Attribute":[{"type":"ip-dst","value":"198.51.100.7","uuid":"6b3e5c56-0e1c-4dc2-9f8b-0e4a950d2100"}]}`

func TestParseEventsShapes(t *testing.T) {
	cases := map[string]string{
		"wrapped":           `{"Event":` + minimalEvent + `}`,
		"response list":     `{"response":[{"Event":` + minimalEvent + `}]}`,
		"response object":   `{"response":{"Event":` + minimalEvent + `}}`,
		"bare":              minimalEvent,
		"list of wrapped":   `[{"Event":` + minimalEvent + `}]`,
		"leading BOM/space": "\ufeff \n" + `{"Event":` + minimalEvent + `}`,
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			evs, err := ParseEvents([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 {
				t.Fatalf("got %d events, want 1", len(evs))
			}
			e := evs[0]
			if e.UUID != "5a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f" {
				t.Errorf("uuid = %q, want it lower-cased", e.UUID)
			}
			if e.Timestamp != 1500000000 || e.Date != "2017-07-14" {
				t.Errorf("timestamp %d date %q; want 1500000000 and the date taken from it", e.Timestamp, e.Date)
			}
			if e.Distribution != DistributionUnknown {
				t.Errorf("absent event distribution = %v, want unknown", e.Distribution)
			}
			if a := e.Attribute[0]; a.Distribution != InheritEvent {
				t.Errorf("absent attribute distribution = %v, want inherit", a.Distribution)
			}
		})
	}
}

func TestFlexibleScalars(t *testing.T) {
	doc := `{"Event":{"uuid":"5a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f","info":"x","timestamp":1500000000,
		"published":"1","locked":1,"disable_correlation":"false","distribution":"3","analysis":"Ongoing",
		"threat_level_id":"2","protected":null,"sharing_group_id":"",
		"Attribute":[{"type":"ip-dst","value":"192.0.2.1","to_ids":"0","deleted":true,"timestamp":"1500000001","distribution":2,
		  "object_relation":false,"first_seen":null}],
		"Tag":[{"name":"tlp:green","local":"0","exportable":0,"relationship_type":false}]}}`
	e, err := ParseEvent([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if !e.Published || !e.Locked || e.DisableCorrelation {
		t.Errorf("flags published=%v locked=%v disable_correlation=%v", e.Published, e.Locked, e.DisableCorrelation)
	}
	if e.Distribution != AllCommunities || e.Analysis != 1 || e.ThreatLevelID != 2 || e.Protected.Set {
		t.Errorf("distribution %v analysis %v threat %v protected %+v", e.Distribution, e.Analysis, e.ThreatLevelID, e.Protected)
	}
	a := e.Attribute[0]
	if a.ToIDs || !a.Deleted || a.Timestamp != 1500000001 || a.Distribution != ConnectedCommunity || a.ObjectRelation != "" {
		t.Errorf("attribute %+v", a)
	}
	if tg := e.Tag[0]; bool(tg.Local) || tg.IsExportable() {
		t.Errorf("tag local=%v exportable=%v; want false, false", tg.Local, tg.IsExportable())
	}
	out, err := MarshalEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"published":true`, `"distribution":"3"`, `"timestamp":"1500000000"`, `"analysis":"1"`, `"protected":null`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("encoded event lacks %s:\n%s", want, out)
		}
	}
}

func TestUnknownMembersAreKept(t *testing.T) {
	doc := `{"Event":{"uuid":"5a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f","info":"x","future_field":{"a":[1,2]},
		"Attribute":[{"type":"text","value":"v","uuid":"6b3e5c56-0e1c-4dc2-9f8b-0e4a950d2100","x-custom":"kept"}],
		"CryptographicKey":[{"type":"pgp","key_data":"k"}]}}`
	e, err := ParseEvent([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	out, err := MarshalEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"future_field":{"a":[1,2]}`, `"x-custom":"kept"`, `"CryptographicKey":[{"type":"pgp","key_data":"k"}]`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("encoded event lost %s:\n%s", want, out)
		}
	}
}

func TestTagLinksAndLegacyOrgc(t *testing.T) {
	doc := `{"Event":{"uuid":"5a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f","info":"x","orgc":"CIRCL",
		"EventTag":[{"local":1,"Tag":{"name":"tlp:amber"}}],
		"Attribute":[{"type":"text","value":"v","AttributeTag":[{"Tag":{"name":"PAP:RED"}}]}],
		"SharingGroup":[]}}`
	e, err := ParseEvent([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Tag) != 1 || e.Tag[0].Name != "tlp:amber" || !e.Tag[0].Local {
		t.Errorf("event tags = %+v, want local tlp:amber", e.Tag)
	}
	if a := e.Attribute[0]; len(a.Tag) != 1 || a.Tag[0].Name != "PAP:RED" || a.UUID == "" {
		t.Errorf("attribute = %+v, want PAP:RED and a derived uuid", a)
	}
	if e.Orgc == nil || e.Orgc.Name != "CIRCL" || e.SharingGroup != nil {
		t.Errorf("orgc = %+v, sharing group = %+v", e.Orgc, e.SharingGroup)
	}
	again, _ := ParseEvent([]byte(doc))
	if again.Attribute[0].UUID != e.Attribute[0].UUID {
		t.Error("derived attribute UUID differs between two parses of the same document")
	}
}

func TestParseErrorsNameWhatAndWhere(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"syntax", `{"Event":{"uuid":`, "byte"},
		{"bad integer", `{"Event":{"uuid":"5a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f","info":"x","timestamp":"soon"}}`, "/Event/timestamp"},
		{"bad distribution", `{"Event":{"uuid":"5a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f","info":"x","distribution":"9"}}`, "distribution 9"},
		{"bad flag", `{"Event":{"uuid":"5a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f","info":"x","published":"maybe"}}`, "/Event/published"},
		{"no uuid or info", `{"Event":{"date":"2020-01-01"}}`, "event has no uuid"},
		{"not a uuid", `{"Event":{"uuid":"nope","info":"x"}}`, `uuid "nope" (Event.uuid) is not a UUID`},
		{"inherit at event level", `{"Event":{"uuid":"5a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f","info":"x","distribution":5}}`, "only valid for children"},
		{"duplicate member", `{"Event":{"uuid":"5a3a5c56-0e1c-4dc2-9f8b-0e4a950d210f","info":"x","info":"y"}}`, "duplicate"},
		{"not an object", `42`, "not a JSON object"},
		{"nothing", `{"foo":1}`, `no "Event" member`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseEvents([]byte(c.doc))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q; want one line containing %q", err, c.want)
			}
		})
	}
}

func TestGalaxyDocumentIsRecognised(t *testing.T) {
	_, err := ParseEvents([]byte(`{"uuid":"c5f2dfb4-21a1-42d8-a452-1d3c36a204ff","name":"Tea","type":"tea","GalaxyCluster":[]}`))
	if !errors.Is(err, ErrGalaxyDocument) {
		t.Fatalf("err = %v, want ErrGalaxyDocument", err)
	}
}

func fixtureFiles(t testing.TB) []string {
	var files []string
	for _, p := range []string{"../../testdata/feeds/*/*.json", "../../testdata/events/*/*.json"} {
		m, _ := filepath.Glob(p)
		files = append(files, m...)
	}
	return files
}

// Decoding never panics, and whatever decodes encodes and decodes again to the same bytes.
func FuzzParseEvents(f *testing.F) {
	for _, file := range fixtureFiles(f) {
		b, err := os.ReadFile(file)
		if err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Add([]byte(minimalEvent))
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := ParseEvents(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		for _, e := range evs {
			out, err := MarshalEvent(e)
			if err != nil {
				t.Fatalf("encode a decoded event: %v", err)
			}
			again, err := ParseEvent(out)
			if err != nil {
				t.Fatalf("decode an encoded event: %v\n%.300s", err, out)
			}
			out2, err := MarshalEvent(again)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, out2) {
				t.Fatalf("encoding is not stable:\n%.300s\n%.300s", out, out2)
			}
		}
	})
}

func TestReadEventMatchesParseEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("every fixture file: the non-race pass of make test runs it")
	}
	for _, file := range fixtureFiles(t) {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		want, perr := ParseEvents(raw)
		got, rerr := ReadEvent(bytes.NewReader(raw))
		if perr != nil || len(want) != 1 {
			continue // not a single event: ReadEvent's callers read one event at a time
		}
		if rerr != nil {
			t.Errorf("%s: %v", file, rerr)
			continue
		}
		a, _ := MarshalEvent(want[0])
		b, _ := MarshalEvent(got)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: ReadEvent and ParseEvent disagree", file)
		}
	}
	if _, err := ReadEvent(strings.NewReader(`{"Event":{"uuid":"x","info":"y"}}`)); err == nil {
		t.Error("ReadEvent accepted a bad uuid")
	}
}
