// Package logging builds the command's slog logger: readable text on a
// terminal, JSON lines otherwise (containers, log collectors).
package logging

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"sync"
)

// IsTerminal reports whether f is a character device (a TTY).
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// New returns a logger writing to w in format "text", "json" or "auto"
// (text when w is a terminal).
func New(w io.Writer, format string, level slog.Leveler) *slog.Logger {
	if format == "auto" || format == "" {
		format = "json"
		if f, ok := w.(*os.File); ok && IsTerminal(f) {
			format = "text"
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// LineWriter is an io.Writer that logs each line written to it at debug
// level, for a child process's output. Close flushes a last partial line.
type LineWriter struct {
	log    *slog.Logger
	name   string
	redact func(string) string
	mu     sync.Mutex
	buf    bytes.Buffer
}

// NewLineWriter logs lines as msg=name line=...; redact, if not nil,
// rewrites each line first (to hide secrets a child might print).
func NewLineWriter(log *slog.Logger, name string, redact func(string) string) *LineWriter {
	if redact == nil {
		redact = func(s string) string { return s }
	}
	return &LineWriter{log: log, name: name, redact: redact}
}

func (w *LineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadBytes('\n')
		if err != nil {
			// keep the partial line for the next write
			rest := append([]byte(nil), line...)
			w.buf.Reset()
			w.buf.Write(rest)
			break
		}
		if l := bytes.TrimRight(line, "\r\n"); len(l) > 0 {
			w.log.Debug(w.name, "line", w.redact(string(l)))
		}
	}
	if w.buf.Len() > 64*1024 { // a runaway line without newline
		w.log.Debug(w.name, "line", w.redact(w.buf.String()))
		w.buf.Reset()
	}
	return len(p), nil
}

// Close logs what is left.
func (w *LineWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() > 0 {
		w.log.Debug(w.name, "line", w.redact(w.buf.String()))
		w.buf.Reset()
	}
	return nil
}

// Terminal shares a terminal between log lines and one live status line
// at the bottom: a log line clears the status, prints, and redraws it.
type Terminal struct {
	mu     sync.Mutex
	w      io.Writer
	status string
}

// NewTerminal wraps w (a TTY).
func NewTerminal(w io.Writer) *Terminal { return &Terminal{w: w} }

const clearLine = "\r\033[K"

func (t *Terminal) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.status != "" {
		io.WriteString(t.w, clearLine)
	}
	n, err := t.w.Write(p)
	if t.status != "" {
		io.WriteString(t.w, t.status)
	}
	return n, err
}

// SetStatus replaces the status line.
func (t *Terminal) SetStatus(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.status = s
	io.WriteString(t.w, clearLine+s)
}

// Clear removes the status line.
func (t *Terminal) Clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.status != "" {
		io.WriteString(t.w, clearLine)
		t.status = ""
	}
}
