package remote

import "strings"

// testPayload is the text of the POST test: about 6 KB, so that it is compressed when the
// peer offers compression, of varied printable text so that a proxy that mangles bodies
// is caught. Written for mispdesk (MISP uses its own test_payload.txt; any text will do,
// the peer only echoes it).
var testPayload = func() string {
	const line = "mispdesk POST test: the quick brown fox jumps over the lazy dog 0123456789 " +
		"ÀÉÎÕÜ àéîõü ßæøå — “quotes” ‘single’ <tag attr=\"x\"> & %20 \\ / {json:[1,2]} tab\tend\n"
	var b strings.Builder
	for b.Len() < 6200 {
		b.WriteString(line)
	}
	return b.String()
}()
