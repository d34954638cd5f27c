package tui

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"mispdesk/store"
	"mispdesk/syncer"
	"mispdesk/syncer/remote"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestMain(m *testing.M) {
	time.Local = time.UTC // log times in goldens
	// Timers off: tests deliver what a tick would start themselves.
	tick = func(time.Duration, func(time.Time) tea.Msg) tea.Cmd { return nil }
	os.Exit(m.Run())
}

// fixedNow is the clock of golden tests.
var fixedNow = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// openStore opens a new store in t.TempDir, initialised when org is given.
func openStore(t testing.TB, org string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if org != "" {
		if _, err := st.Init(context.Background(), store.InitOptions{OrgName: org}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// newTest makes a console model over st (and an engine over it), sized w x h,
// and lets it load.
func newTest(t testing.TB, st *store.Store, w, h int) *model {
	t.Helper()
	var eng *syncer.Engine
	if st != nil {
		eng = syncer.New(st, syncer.Options{Holder: "test-console", ClientConfig: func(c *remote.Config) {
			c.Timeout = 5 * time.Second
			c.Retries = 0
		}})
		t.Cleanup(eng.Close)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := newModel(ctx, st, eng, Options{})
	m.c.Now = func() time.Time { return fixedNow }
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	if st != nil {
		settle(t, m, m.Init())
	}
	t.Cleanup(m.shutdown)
	return m
}

// isLoop reports messages that only re-arm themselves (ticks): settle does not
// feed them back, or it would never end.
func isLoop(msg tea.Msg) bool {
	switch msg.(type) {
	case refreshTickMsg, tailTickMsg, spinner.TickMsg, flashClearMsg, nil:
		return true
	}
	return false
}

// run executes a command and everything batched in it, concurrently, and
// returns the messages that came back within wait. Commands still blocked
// then (waiting on the bus, on progress, on a tick) are abandoned.
func run(m *model, cmd tea.Cmd, wait time.Duration) []tea.Msg {
	if cmd == nil {
		return nil
	}
	var mu sync.Mutex
	var out []tea.Msg
	abandoned := false
	deliver := func(msg tea.Msg) {
		mu.Lock()
		defer mu.Unlock()
		if abandoned {
			late <- lateMsg{m, msg}
			return
		}
		out = append(out, msg)
	}
	var wg sync.WaitGroup
	var exec func(c tea.Cmd)
	exec = func(c tea.Cmd) {
		if c == nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := c()
			if cmds, ok := asCmds(msg); ok {
				// a Sequence must keep its order: run it here, one by one
				if _, batch := msg.(tea.BatchMsg); !batch {
					for _, sc := range cmds {
						for _, msg := range run(m, sc, wait) {
							deliver(msg)
						}
					}
					return
				}
				for _, sc := range cmds {
					exec(sc)
				}
				return
			}
			deliver(msg)
		}()
	}
	exec(cmd)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
	}
	mu.Lock()
	defer mu.Unlock()
	abandoned = true
	return append([]tea.Msg(nil), out...)
}

// lateMsg is a message of a command that was still running when run
// returned (a sync, a connection test, a bus wait): await delivers it.
type lateMsg struct {
	m   *model
	msg tea.Msg
}

var late = make(chan lateMsg, 4096)

// await feeds late messages into m until cond holds or timeout passes.
func await(t testing.TB, m *model, timeout time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.After(timeout)
	for !cond() {
		select {
		case lm := <-late:
			if lm.m != m || isLoop(lm.msg) {
				continue
			}
			_, cmd := m.Update(lm.msg)
			settle(t, m, cmd)
		case <-deadline:
			return false
		}
	}
	return true
}

// asCmds unpacks a BatchMsg or tea.Sequence's (unexported) message.
func asCmds(msg tea.Msg) ([]tea.Cmd, bool) {
	if b, ok := msg.(tea.BatchMsg); ok {
		return b, true
	}
	v := reflect.ValueOf(msg)
	if v.Kind() == reflect.Slice && v.Type().Elem() == reflect.TypeOf(tea.Cmd(nil)) {
		cmds := make([]tea.Cmd, v.Len())
		for i := range cmds {
			cmds[i] = v.Index(i).Interface().(tea.Cmd)
		}
		return cmds, true
	}
	return nil, false
}

// settle runs cmd and feeds what comes back into the model, until nothing
// more comes. It returns every message seen.
func settle(t testing.TB, m *model, cmd tea.Cmd) []tea.Msg {
	t.Helper()
	var seen []tea.Msg
	for range 30 {
		msgs := run(m, cmd, settleWait)
		var next []tea.Cmd
		for _, msg := range msgs {
			seen = append(seen, msg)
			if isLoop(msg) {
				continue
			}
			if _, ok := msg.(tea.QuitMsg); ok {
				continue
			}
			_, c := m.Update(msg)
			next = append(next, c)
		}
		cmd = tea.Batch(next...)
		if cmd == nil {
			return seen
		}
	}
	return seen
}

// press sends keys: each string is one key ("a", "enter", "ctrl+s", "shift+tab")
// or, with a leading "type:", text typed rune by rune.
func press(t testing.TB, m *model, keys ...string) []tea.Msg {
	t.Helper()
	var seen []tea.Msg
	for _, k := range keys {
		if text, ok := strings.CutPrefix(k, "type:"); ok {
			for _, r := range text {
				_, cmd := m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
				seen = append(seen, settle(t, m, cmd)...)
			}
			continue
		}
		_, cmd := m.Update(keyMsg(k))
		seen = append(seen, settle(t, m, cmd)...)
	}
	return seen
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "ctrl+c", "ctrl+s":
		return tea.KeyPressMsg{Code: rune(k[5]), Mod: tea.ModCtrl}
	}
	r := []rune(k)[0]
	if r >= 'A' && r <= 'Z' {
		return tea.KeyPressMsg{Code: r + 'a' - 'A', ShiftedCode: r, Text: k, Mod: tea.ModShift}
	}
	return tea.KeyPressMsg{Code: r, Text: k}
}

// screen is the model's view without colour.
func screen(m *model) string { return ansi.Strip(m.View().Content) }

func hasQuit(msgs []tea.Msg) bool {
	for _, msg := range msgs {
		if _, ok := msg.(tea.QuitMsg); ok {
			return true
		}
	}
	return false
}

// goldenScreen checks the model's screen against testdata/<name>_WxH.golden
// and, at 80x24, as a NO_COLOR terminal gets it (colour dropped, bold,
// reverse and faint kept) against <name>_80x24_nocolor.golden.
func goldenScreen(t *testing.T, name string, m *model) {
	t.Helper()
	golden(t, fmt.Sprintf("%s_%dx%d", name, m.width, m.height), screen(m))
	if m.width == 80 {
		var b strings.Builder
		w := &colorprofile.Writer{Forward: &b, Profile: colorprofile.ASCII}
		if _, err := w.WriteString(m.View().Content); err != nil {
			t.Fatal(err)
		}
		golden(t, name+"_80x24_nocolor", b.String())
	}
}

// golden compares got with testdata/<name>.golden (-update rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tui -run %s -update)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", t.Name(), path, got, want)
	}
}
