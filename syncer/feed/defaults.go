package feed

import (
	"strings"

	"mispdesk/store"
	"mispdesk/store/misp"
)

// DefaultFeed is one of the well-known public feeds in MISP's feed format that MISP
// offers out of the box (its "Load default feed metadata"), by name, provider and URL.
type DefaultFeed struct {
	Name, Provider, URL string
	Distribution        misp.Distribution
}

// DefaultFeeds lists the MISP-format feeds of MISP's default list. Only the MISP format is
// read so far, so the freetext and CSV defaults are not offered.
var DefaultFeeds = []DefaultFeed{
	{"CIRCL OSINT Feed", "CIRCL", "https://www.circl.lu/doc/misp/feed-osint", misp.AllCommunities},
	{"The Botvrij.eu Data", "Botvrij.eu", "https://www.botvrij.eu/data/feed-osint", misp.AllCommunities},
	{"DigitalSide Threat-Intel OSINT Feed", "osint.digitalside.it", "https://osint.digitalside.it/Threat-Intel/digitalside-misp-feed", misp.OrgOnly},
	{"Threatfox", "abuse.ch", "https://threatfox.abuse.ch/downloads/misp", misp.OrgOnly},
	{"MalwareBazaar", "abuse.ch", "https://bazaar.abuse.ch/downloads/misp", misp.OrgOnly},
	{"URLhaus", "abuse.ch", "https://urlhaus.abuse.ch/downloads/misp", misp.OrgOnly},
}

// LookupDefault finds a default feed by name, case-insensitively.
func LookupDefault(name string) (DefaultFeed, bool) {
	for _, d := range DefaultFeeds {
		if strings.EqualFold(strings.TrimSpace(name), d.Name) {
			return d, true
		}
	}
	return DefaultFeed{}, false
}

// Spec is the default feed as a new feed record: disabled, as MISP loads its defaults.
func (d DefaultFeed) Spec() store.FeedSpec {
	return store.FeedSpec{Name: d.Name, Provider: d.Provider, URL: d.URL, InputSource: store.FeedNetwork,
		SourceFormat: "misp", Distribution: d.Distribution, Default: true}
}
