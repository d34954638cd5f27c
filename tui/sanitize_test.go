package tui

import (
	"strings"
	"testing"
)

func TestClean(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"plain", "Turla Crutch", "Turla Crutch"},
		{"unicode kept", "Turla Crutch: Keeping the “back door” open – ü", "Turla Crutch: Keeping the “back door” open – ü"},
		{"ESC alone", "a\x1bb", "a^[b"},
		{"CSI colour", "\x1b[31mred\x1b[0m", "^[[31mred^[[0m"},
		{"CSI cursor move and clear", "\x1b[2J\x1b[H", "^[[2J^[[H"},
		{"OSC title BEL", "\x1b]0;pwned\x07", "^[]0;pwned^G"},
		{"OSC 52 clipboard ST", "\x1b]52;c;cm0gLXJmIH4=\x1b\\", "^[]52;c;cm0gLXJmIH4=^[\\"},
		{"OSC 8 hyperlink", "\x1b]8;;http://evil\x1b\\x\x1b]8;;\x1b\\", "^[]8;;http://evil^[\\x^[]8;;^[\\"},
		{"C1 CSI", "a\u009b31mb", "a<U+009B>31mb"},
		{"C1 OSC and ST", "\u009d0;t\u009c", "<U+009D>0;t<U+009C>"},
		{"bidi override", "invoice\u202Efdp.exe", "invoice<U+202E>fdp.exe"},
		{"bidi isolate", "\u2066x\u2069", "<U+2066>x<U+2069>"},
		{"newline tab CR", "a\nb\tc\rd", "a↵b c^Md"},
		{"NUL and DEL", "a\x00b\x7f", "a^@b^?"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
		{"raw C1 byte", "a\x9bb", "a\uFFFDb"},
	} {
		if got := clean(c.in); got != c.want {
			t.Errorf("%s: clean(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
		if strings.ContainsAny(clean(c.in), "\x1b\x07\u009b\u009d\u202e") {
			t.Errorf("%s: control left in %q", c.name, clean(c.in))
		}
	}
	if got := cleanBlock("a\nb\x1b[1m\r\n"); got != "a\nb^[[1m\n" {
		t.Errorf("cleanBlock = %q", got)
	}
}

func FuzzClean(f *testing.F) {
	f.Add("\x1b]52;c;AAAA\x07\u202e\u009b")
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range clean(s) {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || isBidiControl(r) {
				t.Fatalf("clean(%q) keeps control %U", s, r)
			}
		}
	})
}
