// Package config reads the recorder's settings from environment variables
// and the matching command-line flags (a flag wins over its variable).
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/meeting"
)

// ErrUsage is matched (errors.Is) by every validation error: the input
// was wrong. Its text is not part of the messages, which start with the
// setting at fault ("ROOM_URL: ...").
var ErrUsage = errors.New("invalid configuration")

// usageError is a validation error: one line naming the setting, the
// problem and the fix.
type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == ErrUsage }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

// ErrHelp is returned when --help was asked for; the help was printed.
var ErrHelp = flag.ErrHelp

// Config is everything one recording needs.
type Config struct {
	Meeting            meeting.Meeting
	Duration           time.Duration // 0: until the meeting ends
	RecordingsDir      string
	OutputFile         string // a file name inside RecordingsDir
	DisplayName        string
	Password           string // secret: never logged
	Width, Height, FPS int
	VideoBitrate       int  // bits per second
	AudioBitrate       int  // bits per second
	AudioOnly          bool // record the mixed audio only, no video
	// Capture is where the composite is made: CaptureTracks (the page
	// hands each participant's encoded media to Go, which writes the
	// tracks and composes outside the browser) or CaptureComposite (the
	// page draws, mixes and encodes).
	Capture      string
	AloneTimeout time.Duration
	JoinTimeout  time.Duration
	// ReconnectTimeout bounds how long the recorder tries to rejoin after
	// losing the meeting (signalling or media) before it gives up.
	ReconnectTimeout time.Duration
	// NoMediaTimeout: no media arrived this long while participants were
	// unmuted, so the recorder rejoins (0 disables the rejoin).
	NoMediaTimeout time.Duration
	LogFormat      string // auto, text or json
	LogLevel       slog.Level
	ChromiumPath   string
	FFmpegPath     string

	// Logger is not parsed; the caller sets it. Default slog.Default().
	Logger *slog.Logger
	// Progress, if set, receives a one-line status (elapsed, size,
	// participants) every second while recording; for terminals.
	Progress func(line string)
}

// Where the composite is made (Config.Capture).
const (
	CaptureTracks    = "tracks"
	CaptureComposite = "composite"
)

// option is one setting: a flag, its variable, its default and its help.
type option struct {
	flag, env, def, help string
}

var options = []option{
	{"room-url", "ROOM_URL", "", "meeting to record: https://host[/tenant]/room[?jwt=TOKEN][#config.x=y] (required)"},
	{"duration", "RECORD_DURATION", "", `stop after this long: seconds ("3600") or a Go duration ("1h30m"); empty: until the meeting ends`},
	{"recordings-dir", "RECORDINGS_DIR", "./recordings", "directory for the recording and its .json metadata"},
	{"output-file", "OUTPUT_FILE", "", "file name inside the recordings directory; default <room>_<UTC start 2006-01-02T15-04-05Z>.mp4"},
	{"display-name", "DISPLAY_NAME", "Recorder", "name the recorder shows in the meeting"},
	{"room-password", "ROOM_PASSWORD", "", "password of a locked room"},
	{"resolution", "RESOLUTION", "", "video size as WIDTHxHEIGHT (e.g. 1920x1080); overrides --width/--height"},
	{"width", "VIDEO_WIDTH", "1280", "video width in pixels"},
	{"height", "VIDEO_HEIGHT", "720", "video height in pixels"},
	{"fps", "VIDEO_FPS", "30", "video frames per second"},
	{"video-bitrate", "VIDEO_BITRATE", "2500k", "video bitrate (bits/s; k and M suffixes)"},
	{"audio-bitrate", "AUDIO_BITRATE", "128k", "audio bitrate (bits/s; k suffix)"},
	{"audio-only", "AUDIO_ONLY", "false", "record the mixed audio only (AAC in MP4), no video: true or false"},
	{"capture", "CAPTURE", "tracks", "where the composite is made: tracks (the browser hands over each participant's media still encoded; Go writes per-participant track files and composes with FFmpeg) or composite (the browser draws, mixes and encodes; the first design, kept for comparison)"},
	{"alone-timeout", "ALONE_TIMEOUT", "30s", "stop when the recorder has been alone this long (0 disables)"},
	{"join-timeout", "JOIN_TIMEOUT", "60s", "give up when joining and starting to record takes longer (includes a lobby wait)"},
	{"reconnect-timeout", "RECONNECT_TIMEOUT", "2m", "after losing the meeting mid-recording, keep trying to rejoin this long before giving up"},
	{"no-media-timeout", "NO_MEDIA_TIMEOUT", "30s", "rejoin when no media arrived this long while participants were unmuted (0 disables)"},
	{"log-format", "LOG_FORMAT", "auto", "log format: auto (text on a terminal, else JSON), text or json"},
	{"log-level", "LOG_LEVEL", "info", "log level: debug, info, warn or error"},
	{"chromium-path", "CHROMIUM_PATH", "", "Chromium executable; default /usr/lib/chromium/chromium, else chromium on PATH"},
	{"ffmpeg-path", "FFMPEG_PATH", "ffmpeg", "FFmpeg executable"},
}

// Parse reads args (without the program name) and the environment through
// getenv. Help goes to helpOut when --help is given (then ErrHelp).
func Parse(args []string, getenv func(string) string, helpOut io.Writer) (Config, error) {
	fs := flag.NewFlagSet("jitsi-recorder", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	vals := make(map[string]*string, len(options))
	for _, o := range options {
		vals[o.flag] = fs.String(o.flag, "", o.help)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			if helpOut == nil {
				helpOut = io.Discard
			}
			PrintHelp(helpOut)
			return Config{}, ErrHelp
		}
		return Config{}, usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return Config{}, usagef("unexpected argument %q (use --room-url)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	get := func(name string) (string, string) { // value, and where it came from
		for _, o := range options {
			if o.flag != name {
				continue
			}
			if set[name] {
				return strings.TrimSpace(*vals[name]), "--" + name
			}
			if v := strings.TrimSpace(getenv(o.env)); v != "" {
				return v, o.env
			}
			return o.def, o.env
		}
		panic("unknown option " + name)
	}
	return build(get)
}

func build(get func(string) (string, string)) (Config, error) {
	var c Config
	var err error
	bad := func(src, format string, a ...any) error {
		return usagef("%s: %s", src, fmt.Sprintf(format, a...))
	}

	raw, src := get("room-url")
	if raw == "" {
		return c, bad(src, "required (the meeting to record, e.g. https://meet.example.org/myroom)")
	}
	if c.Meeting, err = meeting.Parse(raw); err != nil {
		// "ROOM_URL: ..." already says it is the room URL.
		return c, bad(src, "%s", strings.TrimPrefix(err.Error(), meeting.ErrInvalidURL.Error()+": "))
	}
	if v, src := get("duration"); v != "" {
		if c.Duration, err = parseDuration(v); err != nil || c.Duration <= 0 {
			return c, bad(src, "%q is not a positive duration (use seconds like 3600 or 1h30m)", v)
		}
	}
	c.RecordingsDir, _ = get("recordings-dir")
	if c.RecordingsDir == "" {
		c.RecordingsDir = "."
	}
	if v, src := get("output-file"); v != "" {
		if filepath.IsAbs(v) || strings.ContainsAny(v, `/\`) || v == "." || v == ".." {
			return c, bad(src, "%q must be a plain file name inside the recordings directory (set RECORDINGS_DIR for the directory)", v)
		}
		if strings.HasSuffix(strings.ToLower(v), ".json") {
			return c, bad(src, "%q would clash with the metadata file; use .mp4", v)
		}
		c.OutputFile = v
	}
	c.DisplayName, _ = get("display-name")
	if c.DisplayName == "" {
		c.DisplayName = "Recorder"
	}
	c.Password, _ = get("room-password")

	if c.Width, err = positiveInt(get, "width", 16, 7680); err != nil {
		return c, err
	}
	if c.Height, err = positiveInt(get, "height", 16, 4320); err != nil {
		return c, err
	}
	if v, src := get("resolution"); v != "" {
		w, h, ok := strings.Cut(strings.ToLower(v), "x")
		wi, err1 := strconv.Atoi(w)
		hi, err2 := strconv.Atoi(h)
		if !ok || err1 != nil || err2 != nil || wi < 16 || hi < 16 || wi > 7680 || hi > 4320 {
			return c, bad(src, "%q is not WIDTHxHEIGHT (e.g. 1280x720)", v)
		}
		c.Width, c.Height = wi, hi
	}
	if c.Width%2 != 0 || c.Height%2 != 0 {
		return c, bad("VIDEO_WIDTH/VIDEO_HEIGHT", "%dx%d: H.264 needs even sizes", c.Width, c.Height)
	}
	if c.FPS, err = positiveInt(get, "fps", 1, 60); err != nil {
		return c, err
	}
	if c.VideoBitrate, err = bitrate(get, "video-bitrate", 100_000, 50_000_000); err != nil {
		return c, err
	}
	if c.AudioBitrate, err = bitrate(get, "audio-bitrate", 32_000, 512_000); err != nil {
		return c, err
	}
	v, src := get("audio-only")
	if c.AudioOnly, err = strconv.ParseBool(v); err != nil {
		return c, bad(src, "%q: want true or false", v)
	}
	switch v, src := get("capture"); v {
	case CaptureTracks, CaptureComposite:
		c.Capture = v
	default:
		return c, bad(src, "%q: want tracks or composite", v)
	}
	if c.AloneTimeout, err = durationOpt(get, "alone-timeout", true); err != nil {
		return c, err
	}
	if c.JoinTimeout, err = durationOpt(get, "join-timeout", false); err != nil {
		return c, err
	}
	if c.ReconnectTimeout, err = durationOpt(get, "reconnect-timeout", false); err != nil {
		return c, err
	}
	if c.NoMediaTimeout, err = durationOpt(get, "no-media-timeout", true); err != nil {
		return c, err
	}
	v, src = get("log-format")
	switch c.LogFormat = strings.ToLower(v); c.LogFormat {
	case "auto", "text", "json":
	default:
		return c, bad(src, "%q: want auto, text or json", v)
	}
	v, src = get("log-level")
	if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
		return c, bad(src, "%q: want debug, info, warn or error", v)
	}
	c.ChromiumPath, _ = get("chromium-path")
	c.FFmpegPath, _ = get("ffmpeg-path")
	return c, nil
}

// DefaultOutputFile is <room>_<UTC time>.mp4, for a recording started at t.
func DefaultOutputFile(room string, t time.Time) string {
	return room + "_" + t.UTC().Format("2006-01-02T15-04-05Z") + ".mp4"
}

// parseDuration accepts plain seconds ("3600", "1.5") or a Go duration ("1h").
func parseDuration(v string) (time.Duration, error) {
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Duration(secs * float64(time.Second)), nil
	}
	return time.ParseDuration(v)
}

func durationOpt(get func(string) (string, string), name string, zeroOK bool) (time.Duration, error) {
	v, src := get(name)
	d, err := parseDuration(v)
	if err != nil || d < 0 || (d == 0 && !zeroOK) {
		return 0, usagef("%s: %q is not a valid duration (use seconds like 30 or 1m)", src, v)
	}
	return d, nil
}

func positiveInt(get func(string) (string, string), name string, lo, hi int) (int, error) {
	v, src := get(name)
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, usagef("%s: %q is not a number from %d to %d", src, v, lo, hi)
	}
	return n, nil
}

// bitrate parses "2500000", "2500k", "2.5M".
func bitrate(get func(string) (string, string), name string, lo, hi int) (int, error) {
	v, src := get(name)
	s, mult := strings.ToLower(v), 1.0
	switch {
	case strings.HasSuffix(s, "k"):
		s, mult = strings.TrimSuffix(s, "k"), 1e3
	case strings.HasSuffix(s, "m"):
		s, mult = strings.TrimSuffix(s, "m"), 1e6
	}
	f, err := strconv.ParseFloat(s, 64)
	n := int(f * mult)
	if err != nil || n < lo || n > hi {
		return 0, usagef("%s: %q is not a bitrate from %dk to %dk (e.g. 2500k)", src, v, lo/1000, hi/1000)
	}
	return n, nil
}

// PrintHelp writes the usage: every setting with its flag, variable and default.
func PrintHelp(w io.Writer) {
	fmt.Fprint(w, `jitsi-recorder joins a Jitsi Meet meeting as a silent participant and records
it (all participants composited, audio mixed) to a fragmented MP4 file that is
playable at every moment, with a JSON metadata file beside it.

Usage: jitsi-recorder --room-url URL [flags]
Every flag can also be set by its environment variable; the flag wins.

`)
	for _, o := range options {
		def := ""
		if o.def != "" {
			def = " (default " + o.def + ")"
		}
		fmt.Fprintf(w, "  --%s, %s%s\n      %s\n", o.flag, o.env, def, o.help)
	}
}
