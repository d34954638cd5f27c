// Package policy holds MISP's sharing model as pure decisions: who may see what on this
// instance, what may be pushed to which server and in what form, what a pulled event
// becomes here, and how push and pull rules match.
//
// Nothing here does I/O, reads a clock or keeps state: every function takes what it needs
// and returns a Decision that lists, in order, each rule it consulted and what that rule
// said, in words an operator can act on. Functions that produce an event (Push, Pull,
// Receive, Visible) return a deep copy and never change their input; PushOwned and
// PullOwned, for callers that hand a large event over, transform it in place instead.
//
// The specification is the MISP book's sharing page (repository MISP/misp-book,
// sharing/README.md); the details MISP's code adds are in app/Model/Server.php, Event.php
// and SharingGroup.php. Where this package differs from MISP it is narrower, never wider,
// and the comment says why; docs/decisions.md lists every such place.
package policy
