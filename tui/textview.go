package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// hang wraps a styled line to w cells at spaces; the lines after the first
// are indented by indent cells, so a label's value stays in its column.
func hang(line string, w, indent int) []string {
	if w <= indent+4 || widthOf(line) <= w {
		return []string{line}
	}
	first := strings.Split(ansi.Wrap(line, w, ""), "\n")[0]
	out := []string{first}
	rest := ansi.Cut(line, widthOf(first), widthOf(line))
	for strings.HasPrefix(ansi.Strip(rest), " ") { // the break's space, maybe behind a style
		rest = ansi.Cut(rest, 1, widthOf(rest))
	}
	for _, l := range strings.Split(ansi.Wrap(rest, w-indent, ""), "\n") {
		out = append(out, strings.Repeat(" ", indent)+l)
	}
	return out
}

// hangAll wraps every line, each with the same indent.
func hangAll(lines []string, w, indent int) []string {
	var out []string
	for _, l := range lines {
		out = append(out, hang(l, w, indent)...)
	}
	return out
}

// scroller is the position in a text taller than its screen: j/k, pgup/pgdn
// and g/G move it; window draws the part in view and, when the text does not
// fit, says where it is on the last line.
type scroller struct{ off, h int }

// key moves by a movement key and reports whether it was one.
func (sc *scroller) key(msg tea.KeyPressMsg) bool {
	page := max(sc.h-2, 1)
	switch {
	case key.Matches(msg, keyUp):
		sc.off = max(sc.off-1, 0)
	case key.Matches(msg, keyDown):
		sc.off++
	case key.Matches(msg, keyPgUp):
		sc.off = max(sc.off-page, 0)
	case key.Matches(msg, keyPgDown):
		sc.off += page
	case key.Matches(msg, keyTop):
		sc.off = 0
	case key.Matches(msg, keyBottom):
		sc.off = 1 << 30
	default:
		return false
	}
	return true
}

func (sc *scroller) window(s *Styles, lines []string, h int) string {
	sc.h = h
	sc.off = max(min(sc.off, len(lines)-h), 0)
	end := min(sc.off+h, len(lines))
	out := append([]string(nil), lines[sc.off:end]...)
	if len(lines) > h && h > 0 {
		more := fmt.Sprintf(" ── %d–%d of %d lines (j/k, pgdn) ", sc.off+1, end, len(lines))
		out[len(out)-1] = s.Dim.Render(more)
	}
	return strings.Join(out, "\n")
}
