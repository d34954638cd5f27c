package store

// The instance setting naming the misp-galaxy checkout that galaxies/update reads: MISP
// reads its library from the copy it ships with, a node here ships none, so the site
// admin names one.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// SettingGalaxyLibraryDir is the path of a misp-galaxy checkout (empty: none).
const SettingGalaxyLibraryDir = "MISP.galaxy_library_dir"

// GalaxySettings are the galaxy library settings.
var GalaxySettings = []SettingDef{
	{Name: SettingGalaxyLibraryDir, Type: "string",
		Description: "The directory of a misp-galaxy checkout (holding galaxies/ and clusters/) that galaxies/update loads the galaxy library from; empty: none."},
}

// galaxyLibraryDirValue checks a value of MISP.galaxy_library_dir: empty, or a directory
// holding galaxies/ and clusters/. The path is stored cleaned, as given (relative paths
// are the server's working directory's).
func galaxyLibraryDirValue(d *SettingDef, value string) (string, error) {
	v, err := d.normalise(value)
	if err != nil || v == "" {
		return v, err
	}
	v = filepath.Clean(v)
	for _, p := range []string{v, filepath.Join(v, "galaxies"), filepath.Join(v, "clusters")} {
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			return "", invalidSetting("setting %s: %s is not a misp-galaxy checkout (%s is not a directory)", d.Name, v, p)
		}
	}
	return v, nil
}

// GalaxyLibraryDir is the value of MISP.galaxy_library_dir ("" when unset).
func (s *Store) GalaxyLibraryDir(ctx context.Context) (string, error) {
	v, err := s.setting(ctx, s.read, SettingGalaxyLibraryDir)
	if err != nil {
		return "", fmt.Errorf("read setting %s: %w", SettingGalaxyLibraryDir, err)
	}
	return v, nil
}
