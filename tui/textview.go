package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
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
// fit, says where it is on the last line. Its finder searches the text: a
// screen passes its keys to search first.
type scroller struct {
	off, h int
	find   finder
}

// search handles the finder's keys (see finder.key).
func (sc *scroller) search(s *Styles, msg tea.KeyPressMsg) (tea.Cmd, bool) {
	return sc.find.key(s, msg)
}

// Capturing: the search input has focus.
func (sc *scroller) Capturing() bool { return sc.find.typing }

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

func (sc *scroller) window(s *Styles, lines []string, w, h int) string {
	f := &sc.find
	var status string
	if f.active() {
		h-- // the finder's line
		plain := make([]string, len(lines))
		for i, l := range lines {
			plain[i] = ansi.Strip(l)
		}
		f.find(len(lines), func(i int) string { return plain[i] })
		if f.fresh { // the first hit from the top line in view
			f.fresh = false
			for i := len(f.hits) - 1; i >= 0 && f.hits[i] >= sc.off; i-- {
				f.at = i
			}
		}
		if cur := f.current(); f.seek && cur >= 0 {
			if cur < sc.off || cur >= sc.off+h-1 {
				sc.off = cur - h/3
			}
		}
		f.seek = false
		lines = append([]string(nil), lines...)
		for i, hit := range f.hits {
			lines[hit] = f.mark(s, plain[hit], i == f.at)
		}
		status = f.status(s, w)
	}
	sc.h = h
	sc.off = max(min(sc.off, len(lines)-h), 0)
	end := min(sc.off+h, len(lines))
	out := append([]string(nil), lines[sc.off:end]...)
	if len(lines) > h && h > 0 {
		more := fmt.Sprintf(" ── %d–%d of %d lines (j/k, pgdn) ", sc.off+1, end, len(lines))
		out[len(out)-1] = s.Dim.Render(more)
	}
	if f.active() {
		out = append(out, status)
	}
	return strings.Join(out, "\n")
}

// finder is a search in a text (less, lazygit): / opens a one-line input,
// enter finds the lines holding the words in any case, n and N step through
// them, esc clears. The view highlights the words and says "3/17".
type finder struct {
	input  textinput.Model
	typing bool
	query  string
	hits   []int // the lines that hold query, in order
	at     int   // index into hits
	seek   bool  // the view must bring hits[at] into sight
	fresh  bool  // a new search: the view picks the hit to start at
}

// active: the finder shows a line (its input, or where the search is).
func (f *finder) active() bool { return f.typing || f.query != "" }

// key handles a search key and reports whether it was one: while typing, every key.
func (f *finder) key(s *Styles, msg tea.KeyPressMsg) (tea.Cmd, bool) {
	if f.typing {
		switch msg.String() {
		case "esc":
			f.typing = false
			f.input.Blur()
			f.clear()
			return nil, true
		case "enter":
			f.typing = false
			f.input.Blur()
			f.query, f.at, f.seek, f.fresh = strings.TrimSpace(f.input.Value()), 0, true, true
			return nil, true
		}
		var cmd tea.Cmd
		f.input, cmd = f.input.Update(msg)
		return cmd, true
	}
	switch {
	case key.Matches(msg, keySearch):
		if f.input.Prompt == "" {
			f.input = newInput(s, "/", "words to find (any case)", 200)
		}
		f.typing = true
		f.input.SetValue(f.query)
		f.input.CursorEnd()
		return f.input.Focus(), true
	case f.query == "":
		return nil, false
	case key.Matches(msg, keyNextMatch):
		f.step(1)
	case key.Matches(msg, keyPrevMatch):
		f.step(-1)
	case key.Matches(msg, keyClearSearch):
		f.clear()
	default:
		return nil, false
	}
	return nil, true
}

func (f *finder) step(d int) {
	if n := len(f.hits); n > 0 {
		f.at = ((f.at+d)%n + n) % n
	}
	f.seek = true
}

func (f *finder) clear() { f.query, f.hits, f.at, f.seek, f.fresh = "", nil, 0, false, false }

// holds reports whether plain text holds the query, in any case.
func (f *finder) holds(plain string) bool { return f.query != "" && indexFold(plain, f.query) >= 0 }

// find sets the hits: the indexes of lines (plain text) that hold the query.
func (f *finder) find(n int, plain func(i int) string) {
	f.hits = f.hits[:0]
	for i := 0; i < n && f.query != ""; i++ {
		if f.holds(plain(i)) {
			f.hits = append(f.hits, i)
		}
	}
	f.at = max(min(f.at, len(f.hits)-1), 0)
}

// current is the line of the current hit, or -1.
func (f *finder) current() int {
	if f.at < len(f.hits) {
		return f.hits[f.at]
	}
	return -1
}

// mark draws a line's plain text with each occurrence of the query
// highlighted, the current hit's line more strongly.
func (f *finder) mark(s *Styles, plain string, current bool) string {
	st := s.Match
	if current {
		st = s.MatchCurrent
	}
	var b strings.Builder
	for f.query != "" {
		i := indexFold(plain, f.query)
		if i < 0 {
			break
		}
		b.WriteString(plain[:i])
		b.WriteString(st.Render(plain[i : i+len(f.query)]))
		plain = plain[i+len(f.query):]
	}
	b.WriteString(plain)
	return b.String()
}

// status is the finder's line: its input, or the query and where in its hits.
func (f *finder) status(s *Styles, w int) string {
	if f.typing {
		return " " + inputView(&f.input, w-2)
	}
	if len(f.hits) == 0 {
		return " " + s.Warn.Render("/"+clean(f.query)+": no match") + s.Dim.Render("  (esc clears)")
	}
	return " " + s.Info.Render("/"+clean(f.query)) + fmt.Sprintf(" %d/%d", f.at+1, len(f.hits)) + s.Dim.Render("  (n/N next/previous, esc clears)")
}

// indexFold is the byte index of q in s in any case, or -1.
func indexFold(s, q string) int {
	for i := range s {
		if len(s)-i < len(q) {
			break
		}
		if strings.EqualFold(s[i:i+len(q)], q) {
			return i
		}
	}
	return -1
}
