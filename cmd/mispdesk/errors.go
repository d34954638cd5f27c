package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// usageError is a wrong command line: unknown command or flag, missing or
// extra argument, a flag value out of range. Exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a usageError.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// inputError is bad input: a malformed or invalid file, an unknown record
// named on the command line, a database that refuses the request (e.g. init
// on an existing instance). Exit status 2. The message should name what was
// wrong and where (file, field, JSON offset).
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

// inputErr marks err as bad input (exit 2); nil stays nil.
func inputErr(err error) error {
	if err == nil {
		return nil
	}
	return &inputError{err: err}
}

// inputf returns an inputError.
func inputf(format string, args ...any) error {
	return &inputError{err: fmt.Errorf(format, args...)}
}

// errHelpShown is returned after -h printed a command's usage: exit 0.
var errHelpShown = errors.New("help shown")

// errReported is returned by a command that has already printed its errors
// (import's one line per failed file): run prints nothing more. Wrap it with
// inputErr for exit 2.
var errReported = errors.New("errors reported")

// exitCode maps an error to mispdesk's exit status: 0 none, 2 usage or
// input, 1 anything else (the work failed).
func exitCode(err error) int {
	var ue *usageError
	var ie *inputError
	switch {
	case err == nil, errors.Is(err, errHelpShown):
		return 0
	case errors.As(err, &ue), errors.As(err, &ie):
		return 2
	default:
		return 1
	}
}

// oneLine makes an error message fit one line of a terminal, safely: line
// breaks become "; " and other control characters are shown escaped, so that
// nothing from a file or a peer reaches the terminal as a control sequence.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for i, line := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if i > 0 {
			b.WriteString("; ")
		}
		for _, r := range line {
			if r == '\t' {
				b.WriteByte(' ')
			} else if !unicode.IsGraphic(r) || r == unicode.ReplacementChar {
				q := strconv.QuoteRuneToASCII(r)
				b.WriteString(q[1 : len(q)-1])
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}
