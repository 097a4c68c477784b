package page

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// ebmlMagic starts every Matroska/WebM file (the EBML header's ID).
var ebmlMagic = []byte{0x1A, 0x45, 0xDF, 0xA3}

// TestRestartEncoderStartsANewGenerationWithItsOwnHeader: after
// restartEncoder the chunks carry gen 1 from seq 0, chunk 0 starts a new
// Matroska file, and gen 0's chunks alone make a decodable file.
func TestRestartEncoderStartsANewGenerationWithItsOwnHeader(t *testing.T) {
	needFFmpeg(t)
	h := newHarness(t, fakeDeployment(t))
	h.open("/_recorder?scenario=join")
	if err := h.eval(`window.recorder.start(` + startOpts("") + `)`); err != nil {
		t.Fatalf("start: %v\n%s", err, h.describe())
	}
	if err := h.eval(`fakeMeeting.addRemote('a1', 'Alice Red', '#ff0000', 440)`); err != nil {
		t.Fatal(err)
	}
	enc0 := h.waitFor(func(e event) bool { return e.Type == "encoder" }, 5*time.Second)
	if enc0.Gen != 0 {
		t.Errorf("first encoder event %s, want gen 0", enc0.Raw)
	}
	h.waitFor(func(e event) bool { return e.Type == "chunk" && e.Seq >= 2 }, 15*time.Second)

	if got := evalValue[string](h, `window.recorder.restartEncoder()`); got != "" {
		t.Fatalf("restartEncoder: %q\n%s", got, h.describe())
	}
	enc1 := h.waitFor(func(e event) bool { return e.Type == "encoder" && e.Gen == 1 }, 5*time.Second)
	var enc1Raw struct {
		T int64 `json:"t"`
	}
	json.Unmarshal([]byte(enc1.Raw), &enc1Raw)
	if enc1.MimeType != enc0.MimeType || enc1Raw.T == 0 {
		t.Errorf("gen 1 encoder %s, gen 0 %s", enc1.Raw, enc0.Raw)
	}
	h.waitFor(func(e event) bool { return e.Type == "chunk" && e.Gen == 1 && e.Seq >= 2 }, 15*time.Second)
	// A second restart makes gen 2: calls never reuse a generation.
	if got := evalValue[string](h, `window.recorder.restartEncoder()`); got != "" {
		t.Fatalf("second restartEncoder: %q", got)
	}
	h.waitFor(func(e event) bool { return e.Type == "chunk" && e.Gen == 2 && e.Seq >= 1 }, 15*time.Second)
	if err := h.eval(`window.recorder.stop()`); err != nil {
		t.Fatal("stop: ", err)
	}
	h.waitFor(func(e event) bool { return e.Type == "stopped" }, 10*time.Second)
	if got := evalValue[string](h, `window.recorder.restartEncoder()`); got == "" {
		t.Error("restartEncoder after stop succeeded")
	}

	dir := t.TempDir()
	for gen := 0; gen <= 2; gen++ {
		data := h.genFile(gen)
		if !bytes.HasPrefix(data, ebmlMagic) {
			t.Errorf("gen %d chunk 0 starts with % x, want the EBML header", gen, data[:min(8, len(data))])
			continue
		}
		raw := filepath.Join(dir, "gen"+strconv.Itoa(gen)+".mkv")
		if err := os.WriteFile(raw, data, 0o644); err != nil {
			t.Fatal(err)
		}
		// Decode every frame: the generation must stand on its own.
		out, err := exec.Command("ffmpeg", "-v", "error", "-xerror", "-i", raw, "-f", "null", "-").CombinedOutput()
		if err != nil {
			t.Errorf("gen %d does not decode: %v\n%s", gen, err, out)
			continue
		}
		mkv := filepath.Join(dir, "gen"+strconv.Itoa(gen)+"-remuxed.mkv")
		if out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-i", raw, "-c", "copy", mkv).CombinedOutput(); err != nil {
			t.Fatalf("remux gen %d: %v\n%s", gen, err, out)
		}
		p := ffprobe(t, mkv)
		kinds := map[any]bool{}
		for _, s := range p.Streams {
			kinds[s["codec_type"]] = true
		}
		frames := countFrames(t, mkv)
		t.Logf("gen %d: %d chunks, %d bytes, %d video frames, duration %v", gen, h.genChunks(gen), len(data), frames, p.Format["duration"])
		if !kinds["video"] || !kinds["audio"] || frames < 10 {
			t.Errorf("gen %d: streams %v, %d frames", gen, kinds, frames)
		}
	}
}
