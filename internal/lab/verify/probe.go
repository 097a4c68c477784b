package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Stream is one stream of the file as the container describes it.
type Stream struct {
	Index int    `json:"index"`
	Type  string `json:"type"` // "video", "audio", ...
	Codec string `json:"codec"`
	// Video: size and the frame rate the container claims (MediaRecorder
	// files may claim 1000 fps; VideoReport.FPS is what was measured).
	Width  int     `json:"width,omitempty"`
	Height int     `json:"height,omitempty"`
	FPS    float64 `json:"fps,omitempty"`
	// Audio.
	SampleRate int `json:"sample_rate,omitempty"`
	Channels   int `json:"channels,omitempty"`
	// DurationS is 0 when the container does not say (e.g. Matroska from
	// MediaRecorder, or a fragmented MP4 cut short).
	DurationS float64 `json:"duration_s,omitempty"`
}

type probeOutput struct {
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
	Streams []struct {
		Index        int    `json:"index"`
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		AvgFrameRate string `json:"avg_frame_rate"`
		RFrameRate   string `json:"r_frame_rate"`
		SampleRate   string `json:"sample_rate"`
		Channels     int    `json:"channels"`
		Duration     string `json:"duration"`
	} `json:"streams"`
}

// probe asks ffprobe for the container's duration and streams.
func (t tools) probe(ctx context.Context, path string) (durationS float64, streams []Stream, err error) {
	var out probeOutput
	args := []string{"-v", "error", "-hide_banner", "-of", "json",
		"-show_entries", "format=duration:stream=index,codec_type,codec_name,width,height,avg_frame_rate,r_frame_rate,sample_rate,channels,duration",
		path}
	err = t.run(ctx, t.ffprobe, args, func(r io.Reader) error {
		return json.NewDecoder(r).Decode(&out)
	}, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("probe %s: %w", path, err)
	}
	for _, s := range out.Streams {
		st := Stream{
			Index: s.Index, Type: s.CodecType, Codec: s.CodecName,
			Width: s.Width, Height: s.Height, Channels: s.Channels,
			DurationS: parseFloat(s.Duration),
		}
		if s.CodecType == "video" {
			st.FPS = parseRate(s.AvgFrameRate)
			if st.FPS == 0 {
				st.FPS = parseRate(s.RFrameRate)
			}
		}
		st.SampleRate, _ = strconv.Atoi(s.SampleRate)
		streams = append(streams, st)
	}
	return parseFloat(out.Format.Duration), streams, nil
}

func parseFloat(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return f
}

// parseRate reads ffprobe's "30000/1001" style rates; "0/0" is 0.
func parseRate(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	if !ok {
		return parseFloat(s)
	}
	n, d := parseFloat(num), parseFloat(den)
	if d == 0 {
		return 0
	}
	return n / d
}
