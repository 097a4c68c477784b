package tracks

import (
	"errors"
	"fmt"
)

const (
	obuSequenceHeader    = 1
	obuTemporalDelimiter = 2
)

// obu is one AV1 Open Bitstream Unit of a temporal unit.
type obu struct {
	typ       int
	extension []byte // 0 or 1 byte
	payload   []byte
}

// splitOBUs parses a temporal unit in the low-overhead bitstream format.
// An OBU without obu_size extends to the end of the data.
func splitOBUs(b []byte) ([]obu, error) {
	var obus []obu
	for len(b) > 0 {
		h := b[0]
		if h&0x80 != 0 {
			return nil, errors.New("av1: forbidden bit set in OBU header")
		}
		o := obu{typ: int(h>>3) & 0xf}
		n := 1
		if h&0x04 != 0 {
			if len(b) < 2 {
				return nil, errors.New("av1: truncated OBU extension")
			}
			o.extension = b[1:2]
			n = 2
		}
		size := uint64(len(b) - n)
		if h&0x02 != 0 {
			v, l, err := readLEB128(b[n:])
			if err != nil {
				return nil, err
			}
			n += l
			size = v
		}
		if uint64(len(b)-n) < size {
			return nil, fmt.Errorf("av1: OBU of %d bytes overruns frame (%d left)", size, len(b)-n)
		}
		o.payload = b[n : n+int(size)]
		obus = append(obus, o)
		b = b[n+int(size):]
	}
	return obus, nil
}

// appendOBU writes o with obu_has_size_field set, as Matroska requires.
func appendOBU(out []byte, o obu) []byte {
	h := byte(o.typ<<3) | 0x02
	if len(o.extension) > 0 {
		h |= 0x04
	}
	out = append(out, h)
	out = append(out, o.extension...)
	out = appendLEB128(out, uint64(len(o.payload)))
	return append(out, o.payload...)
}

func readLEB128(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < 8 && i < len(b); i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1, nil
		}
	}
	return 0, 0, errors.New("av1: bad leb128 OBU size")
}

func appendLEB128(out []byte, v uint64) []byte {
	for v >= 0x80 {
		out = append(out, byte(v)|0x80)
		v >>= 7
	}
	return append(out, byte(v))
}

// av1BlockPayload drops temporal delimiters (Matroska's AV1 mapping says
// blocks should not carry them) and gives every OBU a size field.
func av1BlockPayload(b []byte) ([]byte, error) {
	obus, err := splitOBUs(b)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)+8)
	for _, o := range obus {
		if o.typ != obuTemporalDelimiter {
			out = appendOBU(out, o)
		}
	}
	return out, nil
}

// av1Config builds the AV1CodecConfigurationRecord (av1C) from the
// sequence header OBU of the first keyframe.
func av1Config(keyframe []byte) ([]byte, error) {
	seq, err := av1SequenceHeader(keyframe)
	if err != nil {
		return nil, err
	}
	s, ok := parseAV1Sequence(seq.payload)
	if !ok {
		return nil, errors.New("av1: cannot parse sequence header")
	}
	c := []byte{
		0x81, // marker, version 1
		byte(s.profile<<5) | byte(s.level&0x1f),
		byte(s.tier<<7 | s.highBitdepth<<6 | s.twelveBit<<5 | s.mono<<4 |
			s.subX<<3 | s.subY<<2 | s.chromaPos&3),
		0, // no initial_presentation_delay
	}
	return appendOBU(c, seq), nil
}

func av1SequenceHeader(tu []byte) (obu, error) {
	obus, err := splitOBUs(tu)
	if err != nil {
		return obu{}, err
	}
	for _, o := range obus {
		if o.typ == obuSequenceHeader {
			return o, nil
		}
	}
	return obu{}, errors.New("av1: no sequence header OBU in first keyframe")
}

func av1Size(keyframe []byte) (int, int) {
	seq, err := av1SequenceHeader(keyframe)
	if err != nil {
		return 0, 0
	}
	s, ok := parseAV1Sequence(seq.payload)
	if !ok {
		return 0, 0
	}
	return s.width, s.height
}

// av1Sequence holds the sequence header fields av1C and the track need.
type av1Sequence struct {
	profile, level, tier                                 uint64
	highBitdepth, twelveBit, mono, subX, subY, chromaPos uint64
	width, height                                        int
}

// parseAV1Sequence follows sequence_header_obu() (AV1 spec §5.5) up to
// the colour config.
func parseAV1Sequence(p []byte) (av1Sequence, bool) {
	r := bitReader{b: p}
	var s av1Sequence
	s.profile = r.bits(3)
	r.bits(1) // still_picture
	reduced := r.bits(1) == 1
	if reduced {
		s.level = r.bits(5)
	} else {
		decoderModelInfo := false
		bufferDelayLen := 0
		if r.bits(1) == 1 { // timing_info_present_flag
			r.bits(64)          // num_units_in_display_tick, time_scale
			if r.bits(1) == 1 { // equal_picture_interval
				skipUVLC(&r)
			}
			if r.bits(1) == 1 { // decoder_model_info_present_flag
				decoderModelInfo = true
				bufferDelayLen = int(r.bits(5)) + 1
				r.bits(32 + 5 + 5)
			}
		}
		initialDisplayDelay := r.bits(1) == 1
		ops := int(r.bits(5)) + 1
		for i := range ops {
			r.bits(12) // operating_point_idc
			level := r.bits(5)
			tier := uint64(0)
			if level > 7 {
				tier = r.bits(1)
			}
			if i == 0 {
				s.level, s.tier = level, tier
			}
			if decoderModelInfo && r.bits(1) == 1 {
				r.bits(2*bufferDelayLen + 1)
			}
			if initialDisplayDelay && r.bits(1) == 1 {
				r.bits(4)
			}
		}
	}
	wBits := int(r.bits(4)) + 1
	hBits := int(r.bits(4)) + 1
	s.width = int(r.bits(wBits)) + 1
	s.height = int(r.bits(hBits)) + 1
	if !reduced && r.bits(1) == 1 { // frame_id_numbers_present_flag
		r.bits(4 + 3)
	}
	r.bits(3) // use_128x128_superblock, enable_filter_intra, enable_intra_edge
	if !reduced {
		r.bits(4) // interintra_compound, masked_compound, warped_motion, dual_filter
		orderHint := r.bits(1) == 1
		if orderHint {
			r.bits(2) // jnt_comp, ref_frame_mvs
		}
		forceScreenContent := uint64(2)
		if r.bits(1) == 0 { // seq_choose_screen_content_tools
			forceScreenContent = r.bits(1)
		}
		if forceScreenContent > 0 && r.bits(1) == 0 { // seq_choose_integer_mv
			r.bits(1)
		}
		if orderHint {
			r.bits(3)
		}
	}
	r.bits(3) // enable_superres, enable_cdef, enable_restoration
	// color_config()
	s.highBitdepth = r.bits(1)
	if s.profile == 2 && s.highBitdepth == 1 {
		s.twelveBit = r.bits(1)
	}
	if s.profile != 1 {
		s.mono = r.bits(1)
	}
	cp, tc, mc := uint64(2), uint64(2), uint64(2)
	if r.bits(1) == 1 { // color_description_present_flag
		cp, tc, mc = r.bits(8), r.bits(8), r.bits(8)
	}
	switch {
	case s.mono == 1:
		s.subX, s.subY = 1, 1
	case cp == 1 && tc == 13 && mc == 0: // sRGB
	default:
		r.bits(1) // color_range
		switch {
		case s.profile == 0:
			s.subX, s.subY = 1, 1
		case s.profile == 1:
		case s.twelveBit == 1:
			s.subX = r.bits(1)
			if s.subX == 1 {
				s.subY = r.bits(1)
			}
		default:
			s.subX = 1
		}
		if s.subX == 1 && s.subY == 1 {
			s.chromaPos = r.bits(2)
		}
	}
	return s, !r.failed
}

func skipUVLC(r *bitReader) {
	zeros := 0
	for r.bits(1) == 0 && !r.failed {
		zeros++
	}
	if zeros < 32 {
		r.bits(zeros)
	}
}
