package assets

import (
	"embed"
	"io/fs"
	"sort"
)

//go:embed samples/*.json
var samples embed.FS

// SampleEvents returns the bundled sample events (real OSINT events, see
// ATTRIBUTION.md) as MISP JSON documents ({"Event":…}), by file name.
func SampleEvents() map[string][]byte {
	names, _ := fs.Glob(samples, "samples/*.json")
	sort.Strings(names)
	out := make(map[string][]byte, len(names))
	for _, n := range names {
		b, err := samples.ReadFile(n)
		if err != nil { // embedded at build time: cannot happen
			panic(err)
		}
		out[n[len("samples/"):]] = b
	}
	return out
}
