package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"mispdesk/store"
	"mispdesk/syncer/mailer"
)

// The settings screen: the console user's alerts (MISP's autoalert, contactalert and
// OpenPGP key, as users/edit sets them) and the instance's mail settings (as
// servers/serverSettingsEdit sets them, by MISP's names), checked whole before any is
// written.

// noKey in the key file field removes the stored key.
const noKey = "none"

// settingLabels are the form's short labels of the mail settings (errors name the
// setting by MISP's name).
var settingLabels = map[string]string{
	store.SettingEmail: "From address", store.SettingDisableEmailing: "No e-mail", store.SettingOnlyEncrypted: "Enforce PGP",
	store.SettingBodyOnlyEncrypted: "PGP for body", store.SettingSMTPHost: "Relay host", store.SettingSMTPPort: "Relay port",
	store.SettingSMTPSecurity: "Relay TLS", store.SettingSMTPUsername: "Relay user", store.SettingSMTPPassword: "Relay secret",
}

// openSettings reads the values, then opens the form with them.
func openSettings(c *Context) tea.Cmd {
	ctx, st := c.Ctx, c.Store
	return func() tea.Msg {
		a, err := consoleActor(ctx, st)
		if err != nil {
			return flashMsg{store.LevelError, oneLine(err.Error())}
		}
		values, err := st.MailSettingValues(ctx)
		if err != nil {
			return flashMsg{store.LevelError, oneLine(err.Error())}
		}
		return openScreenMsg{newSettingsForm(c, a.user, values)}
	}
}

func newSettingsForm(c *Context, u *store.User, values map[string]string) *miniForm {
	auto := &formField{id: "autoalert", label: "Event alerts", kind: boolField, on: u.Autoalert}
	contact := &formField{id: "contactalert", label: "Contact mail", kind: boolField, on: u.Contactalert}
	keyState := "no key: mail to you goes unencrypted"
	if u.GPGKey != "" {
		keyState = "a key is set (" + noKey + " removes it)"
	}
	keyFile := textFormField(c, "keyfile", "PGP key file", keyState, 4096)
	fields := []*formField{auto, contact, keyFile}
	for i := range store.MailSettings {
		d := &store.MailSettings[i]
		v, label := values[d.Name], settingLabels[d.Name]
		if label == "" {
			label = d.Name
		}
		var fl *formField
		switch {
		case d.Type == "boolean":
			fl = &formField{id: d.Name, label: label, kind: boolField, on: v == "true"}
		case len(d.Options) > 0:
			fl = choiceFormField(d.Name, label, d.Options, max(slices.Index(d.Options, v), 0))
		case d.Redacted:
			hint := "not set"
			if v != "" {
				hint = "set; type to replace"
			}
			fl = textFormField(c, d.Name, label, hint, 1024)
		default:
			fl = textFormField(c, d.Name, label, d.Default, 1024)
			fl.input.SetValue(v)
		}
		fields = append(fields, fl)
	}
	f := newMiniForm(c, "Settings", "Your alerts as "+clean(u.Email)+", then the instance's mail (mispdesk settings list names them as MISP does).", fields)
	f.check = func(f *miniForm) map[string]string {
		errs := map[string]string{}
		for i := range store.MailSettings {
			d := &store.MailSettings[i]
			if v, ok := settingValue(f, d); ok {
				if err := d.Check(v); err != nil {
					errs[d.Name] = err.Error()
				}
			}
		}
		if len(errs) == 0 {
			return nil
		}
		return errs
	}
	f.save = func(f *miniForm) tea.Cmd {
		ch := store.UserMailChange{Autoalert: new(bool), Contactalert: new(bool)}
		*ch.Autoalert, *ch.Contactalert = f.field("autoalert").on, f.field("contactalert").on
		set := map[string]string{}
		for i := range store.MailSettings {
			d := &store.MailSettings[i]
			if v, ok := settingValue(f, d); ok && v != values[d.Name] {
				set[d.Name] = v
			}
		}
		return saveSettings(c.Ctx, c.Store, u.ID, ch, f.value("keyfile"), set, f)
	}
	return f
}

// settingValue is a mail setting's value in the form; a redacted one left empty keeps
// its value (ok false).
func settingValue(f *miniForm, d *store.SettingDef) (string, bool) {
	fl := f.field(d.Name)
	switch fl.kind {
	case boolField:
		return fmt.Sprint(fl.on), true
	case choiceField:
		return f.value(d.Name), true
	}
	v := f.value(d.Name)
	return v, !(d.Redacted && v == "")
}

// saveSettings reads the key file, checks the key as users/edit does, then writes the
// user's alerts and the changed instance settings.
func saveSettings(ctx context.Context, st *store.Store, userID store.UserID, ch store.UserMailChange, keyFile string, set map[string]string, f *miniForm) tea.Cmd {
	return func() tea.Msg {
		switch keyFile {
		case "":
		case noKey:
			empty := ""
			ch.GPGKey = &empty
		default:
			armored, err := readKeyFile(keyFile)
			if err == nil {
				err = mailer.CheckKey(armored)
			}
			if err != nil {
				return formDoneMsg{form: f, err: fmt.Errorf("PGP key file %s: %w", keyFile, err)}
			}
			ch.GPGKey = &armored
		}
		if err := st.SetUserMail(ctx, userID, ch); err != nil {
			return formDoneMsg{form: f, err: err}
		}
		for _, d := range store.MailSettings {
			if v, ok := set[d.Name]; ok {
				if err := st.SetInstanceSetting(ctx, d.Name, v); err != nil {
					return formDoneMsg{form: f, err: err}
				}
			}
		}
		return formDoneMsg{form: f, then: flash(store.LevelInfo, "Saved your alerts and %d mail settings", len(set))}
	}
}

// readKeyFile reads an armored public key, at most store.MaxGPGKeyBytes.
func readKeyFile(path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, store.MaxGPGKeyBytes+1))
	if err != nil {
		return "", err
	}
	if len(b) > store.MaxGPGKeyBytes {
		return "", errors.New("larger than a public key may be")
	}
	return strings.TrimSpace(string(b)), nil
}
