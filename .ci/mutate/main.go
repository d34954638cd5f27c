// Command mutate is the mutation check of the sharing rules (issue 10): it plants
// single-line bugs in policy and the gate, one at a time, runs the tests that must catch
// each, and reports which were caught. Every mutant must be caught: one that survives
// names a sharing rule no test holds.
//
// The checkout is never changed: each mutated file is written to a temporary directory
// and handed to the go command with -overlay. Each mutant names its file, an exact
// snippet that must occur there exactly once (so the list fails loudly when the code
// moves on), its replacement, and the test packages to run, in order, until one fails.
//
//	go run ./.ci/mutate [-run REGEXP] [-list] [-v] [-timeout DUR]
//
// It prints one line per mutant and ends with "N passed, M failed" (passed: caught);
// the exit status is 1 when any mutant survived or did not build, 2 on bad usage or a
// mutant whose snippet is not in its file exactly once.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// mutant is one planted bug.
type mutant struct {
	name string   // short and unique, for -run
	file string   // relative to the module root
	from string   // exact text, present exactly once in file
	to   string   // what it becomes
	what string   // the bug, as a reader of the report needs it
	pkgs []target // the tests that must catch it, tried in order
}

// target is one package's tests, all of them or those run matches (go test -run).
type target struct {
	pkg, run string
}

func (t target) String() string {
	if t.run == "" {
		return t.pkg
	}
	return t.pkg + " -run " + t.run
}

// outcome is what running a mutant's tests showed.
type outcome int

const (
	survived outcome = iota
	caught
	broken // did not build: the mutant itself is wrong
)

func (o outcome) String() string {
	return [...]string{"SURVIVED", "caught", "BROKEN"}[o]
}

func main() {
	run := flag.String("run", "", "only mutants whose name matches this regular expression")
	list := flag.Bool("list", false, "check every mutant's snippet and list the mutants, without running tests")
	verbose := flag.Bool("v", false, "print the test output of mutants that survive or do not build")
	timeout := flag.Duration("timeout", 5*time.Minute, "time limit of one package's tests under one mutant")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "mutate: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	var pick *regexp.Regexp
	if *run != "" {
		var err error
		if pick, err = regexp.Compile(*run); err != nil {
			fmt.Fprintf(os.Stderr, "mutate: -run: %v\n", err)
			os.Exit(2)
		}
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "mutate: %v\n", err)
		os.Exit(2)
	}
	ms, err := prepare(root, mutants, pick)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mutate: %v\n", err)
		os.Exit(2)
	}
	if *list {
		for _, p := range ms {
			fmt.Printf("%-30s %-26s %s\n", p.name, p.file, p.what)
		}
		fmt.Printf("%d mutants, every snippet found exactly once\n", len(ms))
		return
	}
	ctx := context.Background()
	if err := baseline(ctx, root, ms, *timeout); err != nil {
		fmt.Fprintf(os.Stderr, "mutate: %v\n", err)
		os.Exit(1)
	}
	tmp, err := os.MkdirTemp("", "mutate-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "mutate: %v\n", err)
		os.Exit(1)
	}
	defer os.RemoveAll(tmp)

	start := time.Now()
	passed, failed := 0, 0
	fmt.Printf("%-8s %-30s %-22s %6s  %s\n", "result", "mutant", "by", "time", "bug planted")
	for i, p := range ms {
		began := time.Now()
		res, by, out, err := p.test(ctx, root, filepath.Join(tmp, fmt.Sprint(i)), *timeout)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mutate: %s: %v\n", p.name, err)
			os.Exit(1)
		}
		if res == caught {
			passed++
		} else {
			failed++
		}
		fmt.Printf("%-8s %-30s %-22s %5.1fs  %s: %s\n", res, p.name, by, time.Since(began).Seconds(), p.file, p.what)
		if *verbose && res != caught {
			fmt.Printf("%s\n", indent(out))
		}
	}
	fmt.Printf("%d mutants in %s\n", len(ms), time.Since(start).Round(time.Second))
	fmt.Printf("%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}

// prepared is a mutant with its file read and its replacement made.
type prepared struct {
	mutant
	path    string // absolute
	mutated []byte
}

// prepare checks every mutant before any test runs: names unique, the snippet in its
// file exactly once, the replacement different.
func prepare(root string, all []mutant, pick *regexp.Regexp) ([]prepared, error) {
	var problems []string
	seen := map[string]bool{}
	var out []prepared
	for _, m := range all {
		if seen[m.name] {
			problems = append(problems, fmt.Sprintf("%s: name used twice", m.name))
		}
		seen[m.name] = true
		if len(m.pkgs) == 0 || !oneLineChanged(m.from, m.to) {
			problems = append(problems, fmt.Sprintf("%s: needs test packages, and a replacement that changes exactly one line of the snippet", m.name))
			continue
		}
		path := filepath.Join(root, filepath.FromSlash(m.file))
		src, err := os.ReadFile(path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", m.name, err))
			continue
		}
		if n := bytes.Count(src, []byte(m.from)); n != 1 {
			problems = append(problems, fmt.Sprintf("%s: %s holds %q %d times, not once: update the mutant to the code", m.name, m.file, m.from, n))
			continue
		}
		if pick != nil && !pick.MatchString(m.name) {
			continue
		}
		out = append(out, prepared{mutant: m, path: path, mutated: bytes.Replace(src, []byte(m.from), []byte(m.to), 1)})
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%d mutants do not fit the code:\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	if len(out) == 0 {
		return nil, errors.New("no mutant matches -run")
	}
	return out, nil
}

// baseline runs, unmutated, every package the mutants use: a package whose tests already
// fail would "catch" every mutant.
func baseline(ctx context.Context, root string, ms []prepared, timeout time.Duration) error {
	var targets []target
	seen := map[target]bool{}
	for _, p := range ms {
		for _, t := range p.pkgs {
			if !seen[t] {
				seen[t] = true
				targets = append(targets, t)
			}
		}
	}
	for _, t := range targets {
		out, err := goTest(ctx, root, "", t, timeout)
		if err != nil {
			return fmt.Errorf("the tests of %s fail without any mutant, so they can judge none:\n%s", t, indent(out))
		}
	}
	return nil
}

// test plants the mutant in an overlay under dir and runs its packages' tests until one
// fails.
func (p *prepared) test(ctx context.Context, root, dir string, timeout time.Duration) (outcome, string, []byte, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, "", nil, err
	}
	file := filepath.Join(dir, filepath.Base(p.path))
	if err := os.WriteFile(file, p.mutated, 0o644); err != nil {
		return 0, "", nil, err
	}
	overlay, err := json.Marshal(map[string]map[string]string{"Replace": {p.path: file}})
	if err != nil {
		return 0, "", nil, err
	}
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		return 0, "", nil, err
	}
	var all []byte
	for _, t := range p.pkgs {
		out, err := goTest(ctx, root, overlayFile, t, timeout)
		all = append(all, out...)
		if err == nil {
			continue
		}
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return 0, "", all, fmt.Errorf("go test %s: %w", t, err)
		}
		if buildFailed.Match(out) {
			return broken, t.pkg, all, nil
		}
		return caught, t.pkg, all, nil
	}
	return survived, "-", all, nil
}

var buildFailed = regexp.MustCompile(`\[(build|setup) failed\]`)

// goTest runs one package's tests, with the overlay when one is given. vet is off: a
// mutant must be caught by a test, not by a vet check. The test cache stays on: it keys on
// the overlaid content, and only passing runs (survivors) are cached.
func goTest(ctx context.Context, root, overlay string, t target, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout+30*time.Second)
	defer cancel()
	args := []string{"test", "-vet=off", "-failfast", "-timeout", timeout.String()}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	if t.run != "" {
		args = append(args, "-run", t.run)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, t.pkg)...)
	cmd.Dir = root
	return cmd.CombinedOutput()
}

// oneLineChanged reports whether to differs from from in exactly one line: a snippet may
// carry a line of context to be unique, but a mutant is a single-line bug.
func oneLineChanged(from, to string) bool {
	a, b := strings.Split(from, "\n"), strings.Split(to, "\n")
	if len(a) != len(b) {
		return false
	}
	changed := 0
	for i := range a {
		if a[i] != b[i] {
			changed++
		}
	}
	return changed == 1
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the mispdesk module: run from the checkout")
	}
	return filepath.Dir(mod), nil
}

func indent(b []byte) string {
	s := strings.TrimRight(string(b), "\n")
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
