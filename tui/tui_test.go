package tui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"mispdesk/assets"
)

func press(m tea.Model, k tea.KeyPressMsg) (tea.Model, tea.Cmd) { return m.Update(k) }

func isQuit(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	_, ok := cmd().(tea.QuitMsg)
	return ok
}

func TestQuitKeys(t *testing.T) {
	for name, k := range map[string]tea.KeyPressMsg{
		"q":      {Code: 'q', Text: "q"},
		"ctrl+c": {Code: 'c', Mod: tea.ModCtrl},
	} {
		if _, cmd := press(newModel("x.db"), k); !isQuit(cmd) {
			t.Errorf("%s does not quit", name)
		}
	}
	for name, k := range map[string]tea.KeyPressMsg{
		"x":     {Code: 'x', Text: "x"},
		"Q":     {Code: 'q', ShiftedCode: 'Q', Text: "Q", Mod: tea.ModShift},
		"enter": {Code: tea.KeyEnter},
	} {
		if _, cmd := press(newModel("x.db"), k); isQuit(cmd) {
			t.Errorf("%s quits", name)
		}
	}
}

// view renders the model at w x h and returns its lines without ANSI codes.
func view(t *testing.T, dbPath string, w, h int) []string {
	t.Helper()
	m, _ := newModel(dbPath).Update(tea.WindowSizeMsg{Width: w, Height: h})
	v := m.View()
	if !v.AltScreen {
		t.Error("console does not use the alternate screen")
	}
	return strings.Split(ansi.Strip(v.Content), "\n")
}

func TestView80x24(t *testing.T) {
	lines := view(t, "/home/a/.local/share/mispdesk/mispdesk.db", 80, 24)
	if len(lines) != 24 {
		t.Fatalf("%d lines, want 24", len(lines))
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > 80 {
			t.Errorf("line %d is %d columns wide: %q", i, w, l)
		}
	}
	want := "mispdesk " + assets.Version + " — MISP API 2.5.1"
	if !strings.Contains(lines[0], want) {
		t.Errorf("header %q lacks %q", lines[0], want)
	}
	if !strings.Contains(strings.Join(lines, "\n"), "/home/a/.local/share/mispdesk/mispdesk.db") {
		t.Error("database path not shown")
	}
	if lines[23] != "q quit" {
		t.Errorf("last line %q, want the footer %q", lines[23], "q quit")
	}
}

func TestViewSmallAndUnsized(t *testing.T) {
	for _, size := range [][2]int{{40, 5}, {20, 3}, {0, 0}} {
		m := tea.Model(newModel("/a/very/long/path/that/does/not/fit/in/a/narrow/terminal.db"))
		if size[0] > 0 {
			m, _ = m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		}
		out := ansi.Strip(m.View().Content)
		if !strings.HasSuffix(out, "q quit") {
			t.Errorf("%v: no footer in %q", size, out)
		}
		if size[0] > 0 {
			for _, l := range strings.Split(out, "\n") {
				if ansi.StringWidth(l) > size[0] {
					t.Errorf("%v: line %q too wide", size, l)
				}
			}
		}
	}
}

func TestControlCharactersEscaped(t *testing.T) {
	path := "/tmp/\x1b]0;pwned\x07\x1b[2J.db"
	m, _ := newModel(path).Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	content := m.View().Content
	if strings.Contains(content, "\x07") || strings.Contains(content, "\x1b]") || strings.Contains(content, "\x1b[2J") {
		t.Errorf("control sequence from the path reached the view: %q", content)
	}
	if !strings.Contains(content, `\x1b]0;pwned\a\x1b[2J.db`) {
		t.Errorf("path not shown escaped: %q", ansi.Strip(content))
	}
}

// TestProgram runs the console as a real program at 80x24 without colour and
// quits it with q.
func TestProgram(t *testing.T) {
	tm := teatest.NewTestModel(t, newModel("/tmp/test.db"),
		teatest.WithInitialTermSize(80, 24),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		s := ansi.Strip(string(b))
		return strings.Contains(s, "MISP API 2.5.1") && strings.Contains(s, "q quit")
	}, teatest.WithDuration(5*time.Second))
	tm.Type("q")
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second))
	if fm.(model).width != 80 {
		t.Errorf("final width %d", fm.(model).width)
	}
}
