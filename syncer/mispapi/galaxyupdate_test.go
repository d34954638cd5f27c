package mispapi

import (
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"mispdesk/store"
)

// galaxyLibrary is the misp-galaxy excerpt the galaxylib tests read too.
const galaxyLibrary = "../../testdata/galaxy-library"

// indexedGalaxies is galaxies/index as "uuid name" lines, sorted.
func (e *env) indexedGalaxies() []string {
	e.t.Helper()
	r := e.do("GET", "/galaxies/index", e.admin, nil)
	wantStatus(e.t, r, http.StatusOK)
	var out []string
	for _, row := range r.json(e.t).([]any) {
		g := row.(map[string]any)["Galaxy"].(map[string]any)
		out = append(out, g["uuid"].(string)+" "+g["name"].(string))
	}
	slices.Sort(out)
	return out
}

// galaxies/update loads the checkout MISP.galaxy_library_dir names and answers MISP's
// save response; a second call changes nothing.
func TestGalaxiesUpdateLoadsLibrary(t *testing.T) {
	e := newEnv(t)
	wantStatus(t, e.do("POST", "/servers/serverSettingsEdit/"+store.SettingGalaxyLibraryDir, e.admin, map[string]any{"value": galaxyLibrary}), http.StatusOK)
	if got := e.indexedGalaxies(); len(got) != 0 {
		t.Fatalf("galaxies before the update: %v", got)
	}
	want := map[string]any{"saved": true, "success": true, "name": "Galaxies updated.", "message": "Galaxies updated.", "url": "/galaxies/update"}
	r := e.do("POST", "/galaxies/update", e.admin, nil)
	wantStatus(t, r, http.StatusOK)
	if got := r.obj(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("answer %v, want %v", got, want)
	}
	wantGalaxies := []string{
		"698774c7-8022-42c4-917f-8d6e4f06ada3 Threat Actor",
		"9b8037f7-bc8f-4de1-a797-37266619bc0b Tool",
		"c4e851fa-775f-11e7-8163-b774922098cd Attack Pattern",
	}
	if got := e.indexedGalaxies(); !reflect.DeepEqual(got, wantGalaxies) {
		t.Fatalf("galaxies %v, want %v", got, wantGalaxies)
	}
	clusters := e.do("POST", "/galaxy_clusters/restSearch", e.admin, map[string]any{}).body

	r = e.do("POST", "/galaxies/update", e.admin, nil)
	wantStatus(t, r, http.StatusOK)
	if got := r.obj(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("second answer %v, want %v", got, want)
	}
	if got := e.indexedGalaxies(); !reflect.DeepEqual(got, wantGalaxies) {
		t.Fatalf("galaxies after a second update %v, want %v", got, wantGalaxies)
	}
	if again := e.do("POST", "/galaxy_clusters/restSearch", e.admin, map[string]any{}).body; string(again) != string(clusters) {
		t.Fatalf("a second update changed the clusters:\n%s\nwas\n%s", again, clusters)
	}
}

// Only a site admin updates the library; others get MISP's refusal and nothing loads.
func TestGalaxiesUpdateSiteAdminOnly(t *testing.T) {
	e := newEnv(t)
	wantStatus(t, e.do("POST", "/servers/serverSettingsEdit/"+store.SettingGalaxyLibraryDir, e.admin, map[string]any{"value": galaxyLibrary}), http.StatusOK)
	wantEnvelope(t, e.do("POST", "/galaxies/update", e.other, nil), http.StatusForbidden, msgNoPerm)
	wantStatus(t, e.do("GET", "/galaxies/update", e.admin, nil), http.StatusMethodNotAllowed)
	if got := e.indexedGalaxies(); len(got) != 0 {
		t.Fatalf("galaxies after refused updates: %v", got)
	}
}

// With the setting empty the answer names it; a path that is not a checkout is refused
// when set.
func TestGalaxiesUpdateSetting(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/galaxies/update", e.admin, nil)
	wantStatus(t, r, http.StatusForbidden)
	want := map[string]any{"saved": false, "name": "Galaxies could not be updated.", "message": "Galaxies could not be updated.", "url": "/galaxies/update",
		"errors": "The setting MISP.galaxy_library_dir is empty: set it to the directory of a misp-galaxy checkout."}
	if got := r.obj(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("answer %v, want %v", got, want)
	}

	file := filepath.Join(t.TempDir(), "library.json")
	if err := os.WriteFile(file, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	noClusters := t.TempDir()
	if err := os.Mkdir(filepath.Join(noClusters, "galaxies"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{file, noClusters, filepath.Join(noClusters, "missing")} {
		r := e.do("POST", "/servers/serverSettingsEdit/"+store.SettingGalaxyLibraryDir, e.admin, map[string]any{"value": v})
		wantStatus(t, r, http.StatusForbidden)
		if got := r.obj(t)["saved"]; got != false {
			t.Fatalf("%s: saved %v", v, got)
		}
	}
	r = e.do("GET", "/servers/serverSettingsEdit/"+store.SettingGalaxyLibraryDir, e.admin, nil)
	if got := r.obj(t)[store.SettingGalaxyLibraryDir]; got != "" {
		t.Fatalf("setting after refused values: %v", got)
	}
}

// A library file that cannot be stored is counted in the message, with its path; the
// rest of the library still comes in.
func TestGalaxiesUpdateReportsFailedFile(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	for _, sub := range []string{"galaxies", "clusters"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"threat-actor.json", "tool.json"} {
			b, err := os.ReadFile(filepath.Join(galaxyLibrary, sub, name))
			if err != nil {
				t.Fatal(err)
			}
			if sub == "clusters" && name == "tool.json" {
				b = []byte(`{"values": [`)
			}
			if err := os.WriteFile(filepath.Join(dir, sub, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	wantStatus(t, e.do("POST", "/servers/serverSettingsEdit/"+store.SettingGalaxyLibraryDir, e.admin, map[string]any{"value": dir}), http.StatusOK)
	r := e.do("POST", "/galaxies/update", e.admin, nil)
	wantStatus(t, r, http.StatusOK)
	prefix := "Galaxies updated. 1 of 4 files could not be stored; the first: " + filepath.Join(dir, "clusters", "tool.json") + ": "
	if msg, _ := r.obj(t)["message"].(string); !strings.HasPrefix(msg, prefix) {
		t.Fatalf("message %q, want it to start %q", msg, prefix)
	}
	want := []string{"698774c7-8022-42c4-917f-8d6e4f06ada3 Threat Actor", "9b8037f7-bc8f-4de1-a797-37266619bc0b Tool"}
	if got := e.indexedGalaxies(); !reflect.DeepEqual(got, want) {
		t.Fatalf("galaxies %v, want %v", got, want)
	}
}
