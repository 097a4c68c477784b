package tracks

import (
	"encoding/binary"
	"fmt"
	"time"
)

// WebRTC's Opus is negotiated as opus/48000/2 whatever the sender
// captures; a stereo decoder plays mono packets too.
const (
	opusSampleRate = 48000
	opusChannels   = 2
	// opusPreSkip is libopus's usual encoder delay (6.5 ms); Matroska
	// carries it as CodecDelay and the OpusHead pre-skip.
	opusPreSkip     = 312
	opusCodecDelay  = uint64(opusPreSkip * time.Second / opusSampleRate)
	opusSeekPreRoll = uint64(80 * time.Millisecond)
)

// codecSpec is what MKVWriter needs to know about a codec.
type codecSpec struct {
	id    string
	video bool
	// private builds CodecPrivate from the first frame (nil if none).
	private func(first []byte) ([]byte, error)
	// payload converts a received frame into a block payload.
	payload func([]byte) ([]byte, error)
	// size reads the picture size from a keyframe (0, 0 if unknown).
	size func(keyframe []byte) (int, int)
}

func noPrivate([]byte) ([]byte, error) { return nil, nil }

func asIs(b []byte) ([]byte, error) { return b, nil }

func codecSpecFor(codec string) (codecSpec, error) {
	switch codec {
	case "vp8":
		return codecSpec{id: "V_VP8", video: true, private: noPrivate, payload: asIs, size: vp8Size}, nil
	case "vp9":
		return codecSpec{id: "V_VP9", video: true, private: noPrivate, payload: asIs, size: vp9Size}, nil
	case "av1":
		return codecSpec{id: "V_AV1", video: true, private: av1Config, payload: av1BlockPayload, size: av1Size}, nil
	case "h264":
		return codecSpec{id: "V_MPEG4/ISO/AVC", video: true, private: avcConfig, payload: annexBToAVCC, size: h264Size}, nil
	case "opus":
		return codecSpec{id: "A_OPUS", private: opusHead, payload: asIs}, nil
	}
	return codecSpec{}, fmt.Errorf("mkv: unsupported codec %q", codec)
}

// opusHead is the Ogg Opus identification header Matroska uses as
// CodecPrivate (RFC 7845 §5.1), channel mapping family 0.
func opusHead([]byte) ([]byte, error) {
	h := []byte("OpusHead")
	h = append(h, 1, opusChannels)
	h = binary.LittleEndian.AppendUint16(h, opusPreSkip)
	h = binary.LittleEndian.AppendUint32(h, opusSampleRate)
	h = append(h, 0, 0) // output gain
	h = append(h, 0)    // mapping family
	return h, nil
}
