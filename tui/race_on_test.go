//go:build race

package tui

// Under the race detector every command runs several times slower: give background work
// (a dry run, a page of events) longer to answer before a test looks at its result.
const settleWait = 1500_000_000 // 1.5 s
