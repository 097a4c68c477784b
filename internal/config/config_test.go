package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseAppliesDefaults(t *testing.T) {
	c, err := Parse(nil, env(map[string]string{"ROOM_URL": "https://meet.example.org/Daily"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Meeting.Room != "daily" || c.Duration != 0 || c.RecordingsDir != "./recordings" || c.OutputFile != "" ||
		c.DisplayName != "Recorder" || c.Width != 1280 || c.Height != 720 || c.FPS != 30 ||
		c.VideoBitrate != 2_500_000 || c.AudioBitrate != 128_000 || c.AloneTimeout != 30*time.Second ||
		c.JoinTimeout != 60*time.Second || c.LogFormat != "auto" || c.FFmpegPath != "ffmpeg" || c.AudioOnly {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestFlagWinsOverEnvironment(t *testing.T) {
	e := env(map[string]string{
		"ROOM_URL": "https://a.example/x", "RECORD_DURATION": "3600", "VIDEO_WIDTH": "640", "DISPLAY_NAME": "Env",
	})
	c, err := Parse([]string{"--room-url", "https://b.example/y", "--duration=90s", "--display-name", "Flag"}, e, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Meeting.Domain != "b.example" || c.Duration != 90*time.Second || c.DisplayName != "Flag" || c.Width != 640 {
		t.Fatalf("got %+v", c)
	}
}

func TestParseReadsDurationsResolutionAndBitrates(t *testing.T) {
	c, err := Parse(nil, env(map[string]string{
		"ROOM_URL": "http://127.0.0.1:8080/lab", "RECORD_DURATION": "1h", "RESOLUTION": "1920x1080",
		"VIDEO_BITRATE": "4M", "ALONE_TIMEOUT": "0", "JOIN_TIMEOUT": "2m", "OUTPUT_FILE": "take1.mp4", "LOG_LEVEL": "debug",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Duration != time.Hour || c.Width != 1920 || c.Height != 1080 || c.VideoBitrate != 4_000_000 ||
		c.AloneTimeout != 0 || c.JoinTimeout != 2*time.Minute || c.OutputFile != "take1.mp4" || c.LogLevel.String() != "DEBUG" {
		t.Fatalf("got %+v", c)
	}
}

func TestParseRejectsBadInputWithOneLine(t *testing.T) {
	base := map[string]string{"ROOM_URL": "https://meet.example.org/r"}
	cases := map[string][2]string{
		"missing room":      {"ROOM_URL", ""},
		"room without room": {"ROOM_URL", "https://meet.example.org/"},
		"negative duration": {"RECORD_DURATION", "-5"},
		"word duration":     {"RECORD_DURATION", "forever"},
		"parent dir":        {"OUTPUT_FILE", "../x.mp4"},
		"absolute":          {"OUTPUT_FILE", "/tmp/x.mp4"},
		"subdir":            {"OUTPUT_FILE", "a/x.mp4"},
		"bad resolution":    {"RESOLUTION", "1280*720"},
		"odd width":         {"VIDEO_WIDTH", "641"},
		"zero fps":          {"VIDEO_FPS", "0"},
		"bad bitrate":       {"VIDEO_BITRATE", "fast"},
		"bad log format":    {"LOG_FORMAT", "xml"},
		"bad log level":     {"LOG_LEVEL", "loud"},
		"zero join timeout": {"JOIN_TIMEOUT", "0"},
		"audio-only word":   {"AUDIO_ONLY", "maybe"},
		"capture word":      {"CAPTURE", "canvas"},
	}
	for name, kv := range cases {
		t.Run(name, func(t *testing.T) {
			m := map[string]string{}
			for k, v := range base {
				m[k] = v
			}
			m[kv[0]] = kv[1]
			_, err := Parse(nil, env(m), nil)
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("got %v, want ErrUsage", err)
			}
			if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), kv[0]) {
				t.Fatalf("error should be one line starting with %s: %q", kv[0], err)
			}
		})
	}
	if _, err := Parse([]string{"--nope"}, env(base), nil); !errors.Is(err, ErrUsage) {
		t.Fatalf("unknown flag: %v", err)
	}
}

func TestHelpNamesEveryVariableAndDefault(t *testing.T) {
	var buf bytes.Buffer
	if _, err := Parse([]string{"--help"}, env(nil), &buf); !errors.Is(err, ErrHelp) {
		t.Fatalf("got %v", err)
	}
	for _, o := range options {
		if !strings.Contains(buf.String(), o.env) || !strings.Contains(buf.String(), "--"+o.flag) {
			t.Errorf("help lacks %s / --%s", o.env, o.flag)
		}
	}
	if !strings.Contains(buf.String(), "(default 30s)") {
		t.Errorf("help lacks defaults:\n%s", buf.String())
	}
}

func TestDefaultOutputFileUsesUTC(t *testing.T) {
	ts := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("X", 3600))
	if got := DefaultOutputFile("daily", ts); got != "daily_2026-03-04T04-06-07Z.mp4" {
		t.Fatal(got)
	}
}

func TestParseReadsAudioOnly(t *testing.T) {
	c, err := Parse([]string{"--audio-only=true"}, env(map[string]string{"ROOM_URL": "https://meet.example.org/r"}), nil)
	if err != nil || !c.AudioOnly {
		t.Fatalf("--audio-only=true: %+v, %v", c.AudioOnly, err)
	}
	c, err = Parse(nil, env(map[string]string{"ROOM_URL": "https://meet.example.org/r", "AUDIO_ONLY": "true"}), nil)
	if err != nil || !c.AudioOnly {
		t.Fatalf("AUDIO_ONLY=true: %+v, %v", c.AudioOnly, err)
	}
}

func TestParseReadsCaptureWithTracksByDefault(t *testing.T) {
	c, err := Parse(nil, env(map[string]string{"ROOM_URL": "https://meet.example.org/r"}), nil)
	if err != nil || c.Capture != CaptureTracks {
		t.Fatalf("default capture %q, %v; want %q", c.Capture, err, CaptureTracks)
	}
	c, err = Parse([]string{"--capture", "composite"}, env(map[string]string{"ROOM_URL": "https://meet.example.org/r", "CAPTURE": "tracks"}), nil)
	if err != nil || c.Capture != CaptureComposite {
		t.Fatalf("--capture composite over CAPTURE=tracks: %q, %v", c.Capture, err)
	}
}

func TestParseReadsReconnectAndNoMediaTimeouts(t *testing.T) {
	env := map[string]string{"ROOM_URL": "https://meet.example.org/room", "RECONNECT_TIMEOUT": "45s", "NO_MEDIA_TIMEOUT": "0"}
	c, err := Parse(nil, func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.ReconnectTimeout != 45*time.Second || c.NoMediaTimeout != 0 {
		t.Errorf("reconnect %s, no-media %s; want 45s and 0 (disabled)", c.ReconnectTimeout, c.NoMediaTimeout)
	}
	env["RECONNECT_TIMEOUT"] = "0"
	if _, err := Parse(nil, func(k string) string { return env[k] }, nil); err == nil {
		t.Error("RECONNECT_TIMEOUT=0 accepted; a recorder that never tries to rejoin must say so with a usage error")
	}
}
