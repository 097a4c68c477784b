package bench

import (
	"testing"
	"time"
)

func TestRecorderLogFindsJoinRecordingAndEncoderAcrossSplitWrites(t *testing.T) {
	r := newRecorderLog()
	lines := `{"time":"2026-11-25T02:00:01.5Z","level":"INFO","msg":"recording meeting","url":"http://127.0.0.1/x"}
{"time":"2026-11-25T02:00:03.25Z","level":"INFO","msg":"page state","state":"joining"}
{"time":"2026-11-25T02:00:04.5Z","level":"INFO","msg":"page state","state":"joined"}
[ffmpeg] some noise that is not JSON
{"time":"2026-11-25T02:00:05Z","level":"INFO","msg":"encoder","mime_type":"video/x-matroska","video":"h264","audio":"opus","video_copied":true}
{"time":"2026-11-25T02:00:05.75Z","level":"INFO","msg":"recording started","duration":"30s"}
{"time":"2026-11-25T02:00:09Z","level":"WARN","msg":"composite frame rate is low (CPU starved?)","fps":12}
{"time":"2026-11-25T02:00:10Z","level":"INFO","msg":"page state","state":"joined"}
`
	// Cut the stream mid-line, as a pipe may.
	for len(lines) > 0 {
		n := min(37, len(lines))
		r.Write([]byte(lines[:n]))
		lines = lines[n:]
	}
	f := r.facts()
	if want := time.Date(2026, 11, 25, 2, 0, 4, 5e8, time.UTC); !f.Joined.Equal(want) {
		t.Errorf("joined at %v, want %v (the first joined state)", f.Joined, want)
	}
	if want := time.Date(2026, 11, 25, 2, 0, 5, 75e7, time.UTC); !f.Recording.Equal(want) {
		t.Errorf("recording at %v, want %v", f.Recording, want)
	}
	if f.VideoCodec != "h264" || f.VideoCopied == nil || !*f.VideoCopied {
		t.Errorf("encoder %q copied %v", f.VideoCodec, f.VideoCopied)
	}
	if len(f.Warnings) != 1 || f.Warnings[0] != "WARN composite frame rate is low (CPU starved?)" {
		t.Errorf("warnings %q", f.Warnings)
	}
	if len(f.Tail) != 8 {
		t.Errorf("tail has %d lines, want 8", len(f.Tail))
	}
}

func TestRecorderLogUsesArrivalTimeWhenALineHasNone(t *testing.T) {
	r := newRecorderLog()
	arrived := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r.now = func() time.Time { return arrived }
	r.Write([]byte(`{"msg":"recording started"}` + "\n"))
	if got := r.facts().Recording; !got.Equal(arrived) {
		t.Errorf("recording at %v, want the arrival time %v", got, arrived)
	}
}
