package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSettingsSetGetList(t *testing.T) {
	db, _ := initT(t)
	code, stdout, stderr := runT(t, "settings", "set", "--db", db, "mispdesk.smtp_host", "relay.example.org")
	if code != 0 || stderr != "" || stdout != "mispdesk.smtp_host = relay.example.org\n" {
		t.Fatalf("set: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// booleans take MISP's spellings and read back typed
	if code, _, stderr = runT(t, "settings", "set", "--db", db, "GnuPG.onlyencrypted", "1"); code != 0 {
		t.Fatalf("set GnuPG.onlyencrypted 1: exit %d, %q", code, stderr)
	}
	code, stdout, _ = runT(t, "settings", "get", "--db", db, "GnuPG.onlyencrypted", "--json")
	var one settingJSON
	if err := json.Unmarshal([]byte(stdout), &one); code != 0 || err != nil || one.Value != true || one.Type != "boolean" {
		t.Fatalf("get --json: exit %d, %q (%v)", code, stdout, err)
	}
	// the password is stored but never printed
	if code, _, _ = runT(t, "settings", "set", "--db", db, "mispdesk.smtp_password", "s3cret"); code != 0 {
		t.Fatalf("set password: exit %d", code)
	}
	code, stdout, _ = runT(t, "settings", "list", "--db", db, "--json")
	var all []settingJSON
	if err := json.Unmarshal([]byte(stdout), &all); code != 0 || err != nil {
		t.Fatalf("list --json: exit %d, %q (%v)", code, stdout, err)
	}
	got := map[string]any{}
	for _, s := range all {
		got[s.Name] = s.Value
	}
	if got["mispdesk.smtp_host"] != "relay.example.org" || got["mispdesk.smtp_password"] != "*****" || got["mispdesk.smtp_port"] != float64(25) ||
		got["MISP.disable_emailing"] != false {
		t.Errorf("list --json: %v", got)
	}
	if strings.Contains(stdout, "s3cret") {
		t.Error("list printed the relay password")
	}
	code, stdout, _ = runT(t, "settings", "list", "--db", db)
	if code != 0 || !strings.Contains(stdout, "MISP.disable_emailing") || strings.Contains(stdout, "s3cret") {
		t.Errorf("list: exit %d, %q", code, stdout)
	}
}

func TestSettingsBadInput(t *testing.T) {
	db, _ := initT(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"set", "mispdesk.smtp_port", "seventy"}, `setting mispdesk.smtp_port: "seventy" is not a port number`},
		{[]string{"set", "mispdesk.smtp_security", "ssl3"}, `"ssl3" is not one of none, starttls, tls`},
		{[]string{"set", "MISP.email", "not-an-address"}, `setting MISP.email: "not-an-address" is not an e-mail address`},
		{[]string{"set", "MISP.nosuch", "1"}, `unknown setting "MISP.nosuch"`},
		{[]string{"get", "MISP.nosuch"}, `unknown setting "MISP.nosuch"`},
		{[]string{"set", "MISP.email"}, "settings set takes NAME and VALUE"},
	} {
		code, stdout, stderr := runT(t, append([]string{"settings", "--db", db}, tc.args...)...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("settings %v: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
	// nothing was stored by the refused values
	_, stdout, _ := runT(t, "settings", "get", "--db", db, "mispdesk.smtp_port")
	if stdout != "25\n" {
		t.Errorf("port after refused sets: %q", stdout)
	}
}
