package main

import (
	"errors"
	"net/mail"
	"strings"
)

// checkEmail accepts a bare address, name@domain.tld, as the store does; it is
// checked here so that a wrong one is bad usage (exit 2), not a failure.
func checkEmail(email string) error {
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email || !strings.Contains(email[strings.LastIndex(email, "@"):], ".") {
		return errors.New("not an e-mail address (want name@domain.tld)")
	}
	return nil
}
