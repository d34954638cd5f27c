//go:build !race

package tui

// settleWait is how long a test waits for the commands one key press started.
const settleWait = 300_000_000 // 300 ms
