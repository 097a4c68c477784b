package tracks

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// MaxFrameBytes caps one decoded frame; a 4K keyframe is well below it,
// so anything larger is a page bug or abuse, not media.
const MaxFrameBytes = 4 << 20

// wireFrame is one element of a `frames` event (docs/page-contract.md).
type wireFrame struct {
	SSRC        *uint32 `json:"s"`
	Kind        string  `json:"k"`
	Codec       string  `json:"c"`
	RTPTime     *uint32 `json:"ts"`
	Received    float64 `json:"r"`
	Keyframe    bool    `json:"key"`
	Width       int     `json:"w"`
	Height      int     `json:"h"`
	Participant string  `json:"p"`
	Source      string  `json:"src"`
	Data        string  `json:"d"`
}

var codecsByKind = map[Kind][]string{
	Audio: {"opus"},
	Video: {"vp8", "vp9", "av1", "h264"},
}

// DecodeFrames decodes the `frames` array of a `frames` event. A bad
// frame is skipped rather than failing the batch: the good frames are
// returned together with an error that summarises the rejected ones.
func DecodeFrames(raw json.RawMessage) ([]Frame, error) {
	// The whole batch in one pass is the common case; only a batch with
	// a malformed element is decoded element by element to skip it.
	var wires []wireFrame
	if err := json.Unmarshal(raw, &wires); err != nil {
		return decodeFramesOneByOne(raw)
	}
	frames := make([]Frame, 0, len(wires))
	var errs []error
	for i, w := range wires {
		f, err := w.frame()
		if err != nil {
			errs = append(errs, fmt.Errorf("frame %d: %w", i, err))
			continue
		}
		frames = append(frames, f)
	}
	if len(errs) > 0 {
		return frames, summarise(errs, len(wires))
	}
	return frames, nil
}

func decodeFramesOneByOne(raw json.RawMessage) ([]Frame, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("frames: not an array: %w", err)
	}
	frames := make([]Frame, 0, len(items))
	var errs []error
	for i, item := range items {
		var w wireFrame
		err := json.Unmarshal(item, &w)
		var f Frame
		if err == nil {
			f, err = w.frame()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("frame %d: %w", i, err))
			continue
		}
		frames = append(frames, f)
	}
	if len(errs) > 0 {
		return frames, summarise(errs, len(items))
	}
	return frames, nil
}

// frame validates a decoded wire frame and converts it.
func (w wireFrame) frame() (Frame, error) {
	if w.SSRC == nil || w.RTPTime == nil {
		return Frame{}, errors.New("missing s or ts")
	}
	var kind Kind
	switch w.Kind {
	case "a":
		kind = Audio
	case "v":
		kind = Video
	default:
		return Frame{}, fmt.Errorf("unknown kind %q", w.Kind)
	}
	codec := strings.ToLower(w.Codec)
	if !knownCodec(kind, codec) {
		return Frame{}, fmt.Errorf("unsupported %s codec %q", kind, w.Codec)
	}
	if w.Received <= 0 || math.IsInf(w.Received, 0) || math.IsNaN(w.Received) {
		return Frame{}, fmt.Errorf("bad receive time %v", w.Received)
	}
	if base64.StdEncoding.DecodedLen(len(w.Data)) > MaxFrameBytes+2 {
		return Frame{}, fmt.Errorf("frame of ~%d bytes exceeds %d", base64.StdEncoding.DecodedLen(len(w.Data)), MaxFrameBytes)
	}
	data, err := base64.StdEncoding.DecodeString(w.Data)
	if err != nil {
		return Frame{}, fmt.Errorf("data: %w", err)
	}
	if len(data) == 0 || len(data) > MaxFrameBytes {
		return Frame{}, fmt.Errorf("frame of %d bytes (want 1..%d)", len(data), MaxFrameBytes)
	}
	f := Frame{
		SSRC:        *w.SSRC,
		Kind:        kind,
		Codec:       codec,
		RTPTime:     *w.RTPTime,
		Received:    time.UnixMicro(int64(math.Round(w.Received * 1000))),
		Participant: w.Participant,
		Source:      w.Source,
		Data:        data,
	}
	if kind == Video {
		f.Keyframe = w.Keyframe
		f.Width, f.Height = max(w.Width, 0), max(w.Height, 0)
	}
	return f, nil
}

func knownCodec(kind Kind, codec string) bool {
	for _, c := range codecsByKind[kind] {
		if c == codec {
			return true
		}
	}
	return false
}

// summarise keeps an error about a bad batch short: the count and the
// first few reasons.
func summarise(errs []error, total int) error {
	const shown = 3
	msgs := make([]string, 0, shown)
	for _, err := range errs[:min(len(errs), shown)] {
		msgs = append(msgs, err.Error())
	}
	more := ""
	if len(errs) > shown {
		more = fmt.Sprintf("; and %d more", len(errs)-shown)
	}
	return fmt.Errorf("frames: rejected %d of %d: %s%s", len(errs), total, strings.Join(msgs, "; "), more)
}
