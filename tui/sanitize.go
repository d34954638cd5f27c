package tui

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// clean makes text that came from data (an event's info, a tag, an org or
// server name, a remote's error, a log message) safe to put on the terminal,
// on one line: every control character is shown as visible text instead of
// acting. ESC becomes "^[", so a CSI colour change, an OSC title or clipboard
// write, or a cursor move arrives as the characters it is made of; other C0
// controls show in caret notation (^G), DEL as ^?, C1 controls (U+0080–U+009F,
// which some terminals treat as CSI, OSC…) and the bidirectional overrides
// and isolates (which reorder what follows: "Trojan Source") as <U+XXXX>.
// Newlines and tabs become "↵" and a space. Invalid UTF-8 becomes U+FFFD.
func clean(s string) string { return sanitize(s, false) }

// cleanBlock is clean for text shown over several lines: newlines are kept.
func cleanBlock(s string) string { return sanitize(s, true) }

func sanitize(s string, keepNewlines bool) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune('\uFFFD')
			i++
			continue
		}
		i += size
		switch {
		case r == '\n' && keepNewlines:
			b.WriteByte('\n')
		case r == '\n':
			b.WriteString("↵")
		case r == '\r':
			if !keepNewlines {
				b.WriteString("^M")
			}
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x20:
			b.WriteByte('^')
			b.WriteByte(byte(r) + '@')
		case r == 0x7f:
			b.WriteString("^?")
		case r >= 0x80 && r <= 0x9f, isBidiControl(r), r == '\uFEFF':
			fmt.Fprintf(&b, "<U+%04X>", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isPlain reports whether s is printable ASCII: the common case, returned as is.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// isBidiControl reports the characters that change the direction of the text
// around them: the embeddings and overrides (U+202A–U+202E), the isolates
// (U+2066–U+2069) and the marks (U+200E, U+200F, U+061C).
func isBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
		r == 0x200e || r == 0x200f || r == 0x061c
}
