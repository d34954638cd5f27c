package policy

import "strings"

// Outcome is what one rule said about the data in front of it.
type Outcome string

const (
	// Passed: the rule allows the data through unchanged.
	Passed Outcome = "pass"
	// Blocked: the rule stops the whole event (or, for visibility, the element).
	Blocked Outcome = "block"
	// Changed: the rule lets the event through but changes it (a downgrade, a removal).
	Changed Outcome = "change"
	// Skipped: the rule does not apply here (no rules set, not a sharing group…).
	Skipped Outcome = "skip"
)

// Step is one rule consulted while making a decision.
type Step struct {
	Rule    string  `json:"rule"`    // a short stable name, e.g. "distribution", "push_rules.tags.NOT"
	Outcome Outcome `json:"outcome"` // what the rule said
	Reason  string  `json:"reason"`  // a sentence for the operator
	// Code, on a blocking step, is the refusal as a short stable text with no per-event
	// detail (timestamps, names of the event's own data), so runs can count events by it:
	// "distribution: org only", "push_rules.tags NOT tlp:red", "local copy newer".
	Code string `json:"code,omitempty"`
}

// Decision is the answer to "may this happen?" with every rule that led to it, in the
// order they were consulted. The first Blocked step, if any, is why it may not.
type Decision struct {
	Action  string `json:"action"` // "push", "pull", "receive", "view", "rules"
	Allowed bool   `json:"allowed"`
	Steps   []Step `json:"steps"`
}

func newDecision(action string) Decision {
	return Decision{Action: action, Allowed: true, Steps: make([]Step, 0, 8)}
}

func (d *Decision) pass(rule, reason string) { d.add(rule, Passed, reason) }

func (d *Decision) skip(rule, reason string) { d.add(rule, Skipped, reason) }

func (d *Decision) change(rule, reason string) { d.add(rule, Changed, reason) }

// block records a refusal; later steps are not consulted by callers, so the first block
// is the reason. Its code is the rule's name.
func (d *Decision) block(rule, reason string) { d.blockCode(rule, rule, reason) }

// blockCode records a refusal counted under code (see Step.Code).
func (d *Decision) blockCode(rule, code, reason string) {
	d.Steps = append(d.Steps, Step{Rule: rule, Outcome: Blocked, Reason: reason, Code: code})
	d.Allowed = false
}

func (d *Decision) add(rule string, o Outcome, reason string) {
	d.Steps = append(d.Steps, Step{Rule: rule, Outcome: o, Reason: reason})
}

// Reason is the sentence that decided: the first block, or the last step when allowed.
func (d Decision) Reason() string {
	for _, s := range d.Steps {
		if s.Outcome == Blocked {
			return s.Reason
		}
	}
	if len(d.Steps) == 0 {
		return ""
	}
	return d.Steps[len(d.Steps)-1].Reason
}

// BlockedBy is the step that refused, or nil when the decision allows.
func (d Decision) BlockedBy() *Step {
	for i := range d.Steps {
		if d.Steps[i].Outcome == Blocked {
			return &d.Steps[i]
		}
	}
	return nil
}

// Code is the blocking step's stable code ("" when the decision allows): what a run
// counts skipped events by.
func (d Decision) Code() string {
	if s := d.BlockedBy(); s != nil {
		return s.Code
	}
	return ""
}

// String prints one step per line, as the explain command shows it.
func (d Decision) String() string {
	var b strings.Builder
	verdict := "allowed"
	if !d.Allowed {
		verdict = "refused"
	}
	b.WriteString(d.Action + ": " + verdict + "\n")
	for _, s := range d.Steps {
		b.WriteString("  [" + string(s.Outcome) + "] " + s.Rule + ": " + s.Reason + "\n")
	}
	return b.String()
}
