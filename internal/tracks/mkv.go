package tracks

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/at-wat/ebml-go"
)

// maxClusterSpan bounds a cluster's length: block timecodes are int16
// milliseconds relative to their cluster, and short clusters keep the
// amount of data a reader must skip after a cut small.
const maxClusterSpan = 2 * time.Second

// ErrWriterFailed is returned by every write after one failed: the bytes
// already written may end mid-element, so going on would make a stream
// that only looks fine.
var ErrWriterFailed = errors.New("mkv writer failed earlier")

// MKVWriter writes one track as a live Matroska stream: unknown-size
// Segment and Clusters, no index, every frame written through to the
// underlying writer as one Write call, so the output can be read while it
// grows (a file or a pipe into ffmpeg) and stays playable up to wherever
// it is cut.
type MKVWriter struct {
	w             io.Writer
	video         bool
	width, height int // as written in the header
	// payload turns a frame as received into a Matroska block payload.
	payload func([]byte) ([]byte, error)

	buf          bytes.Buffer
	clusterOpen  bool
	clusterStart int64 // ms
	lastMS       int64
	err          error
	closed       bool
}

// NewMKVWriter writes the Matroska header for a track of the given codec
// ("opus", "vp8", "vp9", "av1", "h264") to w. firstFrame is the track's
// first frame (a keyframe for video): H.264 and AV1 take their
// CodecPrivate from it, and a zero width or height is read from it when
// the codec allows.
func NewMKVWriter(w io.Writer, codec string, width, height int, firstFrame []byte) (*MKVWriter, error) {
	spec, err := codecSpecFor(codec)
	if err != nil {
		return nil, err
	}
	private, err := spec.private(firstFrame)
	if err != nil {
		return nil, fmt.Errorf("mkv %s codec private: %w", codec, err)
	}
	entry := trackEntry{
		TrackNumber:  1,
		TrackUID:     rand.Uint64() | 1,
		CodecID:      spec.id,
		CodecPrivate: private,
		FlagLacing:   0,
		Language:     "und",
	}
	if spec.video {
		if (width <= 0 || height <= 0) && spec.size != nil {
			width, height = spec.size(firstFrame)
		}
		entry.TrackType = trackTypeVideo
		entry.Video = &videoSettings{PixelWidth: uint64(max(width, 0)), PixelHeight: uint64(max(height, 0))}
	} else {
		entry.TrackType = trackTypeAudio
		entry.CodecDelay = opusCodecDelay
		entry.SeekPreRoll = opusSeekPreRoll
		entry.Audio = &audioSettings{SamplingFrequency: opusSampleRate, Channels: opusChannels}
	}
	head := fileHeader{
		EBML: ebmlHeader{
			EBMLVersion:        1,
			EBMLReadVersion:    1,
			EBMLMaxIDLength:    4,
			EBMLMaxSizeLength:  8,
			DocType:            "matroska",
			DocTypeVersion:     4,
			DocTypeReadVersion: 2,
		},
		Segment: segmentHead{
			Info: segmentInfo{
				TimecodeScale: uint64(time.Millisecond),
				MuxingApp:     "jitsi-recorder",
				WritingApp:    "jitsi-recorder",
			},
			Tracks: trackList{TrackEntry: []trackEntry{entry}},
		},
	}
	m := &MKVWriter{w: w, video: spec.video, payload: spec.payload, width: width, height: height}
	if err := ebml.Marshal(&head, &m.buf); err != nil {
		return nil, fmt.Errorf("mkv header: %w", err)
	}
	if err := m.flush(); err != nil {
		return nil, fmt.Errorf("mkv header: %w", err)
	}
	return m, nil
}

// WriteFrame writes one frame at timeline position at. Positions are
// clamped to be non-negative and never earlier than the previous frame's,
// because a Matroska track must not go back in time.
func (m *MKVWriter) WriteFrame(at time.Duration, keyframe bool, data []byte) error {
	if m.closed {
		return errors.New("mkv: write after close")
	}
	if m.err != nil {
		return fmt.Errorf("%w: %w", ErrWriterFailed, m.err)
	}
	payload, err := m.payload(data)
	if err != nil {
		// A frame that cannot be converted is skipped, not fatal: nothing
		// was written, so the stream is still well formed.
		return fmt.Errorf("mkv frame: %w", err)
	}
	ms := max(roundMS(at), m.lastMS, 0)
	if !m.clusterOpen || (m.video && keyframe && ms > m.clusterStart) ||
		ms-m.clusterStart >= maxClusterSpan.Milliseconds() {
		c := clusterHead{Cluster: clusterTimecode{Timecode: uint64(ms)}}
		if err := ebml.Marshal(&c, &m.buf); err != nil {
			return fmt.Errorf("mkv cluster: %w", err)
		}
		m.clusterOpen, m.clusterStart = true, ms
	}
	block := simpleBlock{Block: ebml.Block{
		TrackNumber: 1,
		Timecode:    int16(ms - m.clusterStart),
		Keyframe:    keyframe || !m.video,
		Data:        [][]byte{payload},
	}}
	if err := ebml.Marshal(&block, &m.buf); err != nil {
		m.buf.Reset()
		return fmt.Errorf("mkv block: %w", err)
	}
	m.lastMS = ms
	if err := m.flush(); err != nil {
		return fmt.Errorf("mkv block at %v: %w", at, err)
	}
	return nil
}

// Size is the video size written in the header (0, 0 for audio or when
// unknown).
func (m *MKVWriter) Size() (width, height int) { return m.width, m.height }

// Close ends the stream. Nothing needs finishing (sizes are unknown and
// there is no index), so it only refuses later writes; the caller closes
// the underlying writer.
func (m *MKVWriter) Close() error {
	m.closed = true
	return m.err
}

// flush hands everything marshalled since the last flush to the writer in
// one Write and makes any failure sticky.
func (m *MKVWriter) flush() error {
	_, err := m.w.Write(m.buf.Bytes())
	m.buf.Reset()
	if err != nil {
		m.err = err
	}
	return err
}

func roundMS(d time.Duration) int64 {
	return (d + time.Millisecond/2).Milliseconds()
}
