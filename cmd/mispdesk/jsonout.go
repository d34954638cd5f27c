package main

// JSON on stdout: one document a line, and nothing in it a terminal would act on.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// printJSON writes v as one line of JSON on stdout.
func printJSON(env *Env, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	return writeJSON(env, bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// writeJSON writes one JSON document and a newline on stdout, its terminal controls
// escaped (see escapeControls).
func writeJSON(env *Env, doc []byte) error {
	_, err := env.Stdout.Write(append(escapeControls(doc), '\n'))
	return err
}

// escapeControls writes as \uXXXX, in a JSON document, the characters a terminal acts
// on or that reorder what it shows, which JSON encoders leave as they are: C1 controls
// (U+0080–U+009F, U+009B being CSI), bidirectional marks, embeddings, overrides and
// isolates (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) and the line and
// paragraph separators. Outside strings JSON holds only ASCII, so every one of them is
// inside a string, where the escape decodes to the same character: the document stays
// valid and means the same.
func escapeControls(doc []byte) []byte {
	var out []byte // nil until the first escape
	last := 0
	for i := 0; i < len(doc); {
		if doc[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(doc[i:])
		if isTerminalControl(r) {
			out = append(out, doc[last:i]...)
			out = fmt.Appendf(out, `\u%04x`, r)
			last = i + size
		}
		i += size
	}
	if out == nil {
		return doc
	}
	return append(out, doc[last:]...)
}

func isTerminalControl(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f,
		r == 0x061c, r == 0x200e, r == 0x200f,
		r >= 0x202a && r <= 0x202e,
		r >= 0x2066 && r <= 0x2069,
		r == 0x2028, r == 0x2029:
		return true
	}
	return false
}
