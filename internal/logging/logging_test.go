package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestAutoFormatIsJSONWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, "auto", slog.LevelInfo).Info("hello", "k", 1)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil || m["msg"] != "hello" {
		t.Fatalf("not JSON: %q", buf.String())
	}
}

func TestLineWriterLogsWholeLines(t *testing.T) {
	var buf bytes.Buffer
	w := NewLineWriter(New(&buf, "text", slog.LevelDebug), "chromium", strings.NewReplacer("secret", "[redacted]").Replace)
	w.Write([]byte("first li"))
	w.Write([]byte("ne\nsecond secret\n\nthi"))
	w.Close()
	out := buf.String()
	for _, want := range []string{`line="first line"`, `line="second [redacted]"`, "line=thi"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n != 3 {
		t.Errorf("%d log lines, want 3:\n%s", n, out)
	}
}

func TestTerminalRedrawsStatusAfterLogLine(t *testing.T) {
	var buf bytes.Buffer
	term := NewTerminal(&buf)
	term.SetStatus("REC 00:00:01")
	term.Write([]byte("a log line\n"))
	term.Clear()
	want := clearLine + "REC 00:00:01" + clearLine + "a log line\n" + "REC 00:00:01" + clearLine
	if buf.String() != want {
		t.Fatalf("got %q\nwant %q", buf.String(), want)
	}
}
