package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progressEvery is the least time between two updates of a progress line:
// about ten a second, enough to look live, cheap over SSH.
const progressEvery = 100 * time.Millisecond

// progressLine is a one-line live status on a terminal, rewritten in place
// with "\r". Off (nil writer), every call does nothing, so piped runs print
// no progress at all.
type progressLine struct {
	w     io.Writer // nil: off
	now   func() time.Time
	last  time.Time
	width int // of the line on screen, to clear it
}

// newProgress returns a progress line on w when on is true, else one that is off.
func newProgress(w io.Writer, on bool) *progressLine {
	p := &progressLine{now: time.Now}
	if on {
		p.w = w
	}
	return p
}

// update shows text, unless the last update was less than progressEvery ago
// and force is false.
func (p *progressLine) update(text string, force bool) {
	if p.w == nil {
		return
	}
	now := p.now()
	if !force && !p.last.IsZero() && now.Sub(p.last) < progressEvery {
		return
	}
	p.last = now
	text = safe(text)
	pad := max(p.width-len(text), 0)
	fmt.Fprintf(p.w, "\r%s%s", text, strings.Repeat(" ", pad))
	if pad > 0 {
		fmt.Fprintf(p.w, "\r%s", text)
	}
	p.width = len(text)
}

// clear removes the line, so that what follows starts on a clean line.
func (p *progressLine) clear() {
	if p.w == nil || p.width == 0 {
		return
	}
	fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
	p.width = 0
}

// rate is n per second over elapsed, for a progress line.
func rate(n int, elapsed time.Duration) string {
	if elapsed <= 0 {
		return "-"
	}
	r := float64(n) / elapsed.Seconds()
	if r >= 100 {
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.1f", r)
}
