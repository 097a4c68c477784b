package tracks

import (
	"encoding/binary"
	"errors"
	"fmt"
)

const (
	naluSPS = 7
	naluPPS = 8
)

// splitAnnexB returns the NAL units of an Annex B byte stream (start codes
// 00 00 01 or 00 00 00 01), without their start codes.
func splitAnnexB(b []byte) [][]byte {
	var nals [][]byte
	start := -1
	for i := 0; i+2 < len(b); {
		if b[i] != 0 || b[i+1] != 0 || b[i+2] != 1 {
			i++
			continue
		}
		if start >= 0 {
			nals = append(nals, trimTrailingZeros(b[start:i]))
		}
		i += 3
		start = i
	}
	if start >= 0 && start < len(b) {
		nals = append(nals, b[start:])
	}
	return nals
}

// trimTrailingZeros drops the zero byte that belongs to a following
// 4-byte start code (and any trailing_zero_8bits).
func trimTrailingZeros(n []byte) []byte {
	for len(n) > 0 && n[len(n)-1] == 0 {
		n = n[:len(n)-1]
	}
	return n
}

// annexBToAVCC rewrites a WebRTC H.264 access unit (Annex B) into the
// 4-byte length-prefixed form Matroska's V_MPEG4/ISO/AVC blocks carry.
// Parameter sets stay in-band so resolution changes keep decoding.
func annexBToAVCC(b []byte) ([]byte, error) {
	nals := splitAnnexB(b)
	if len(nals) == 0 {
		return nil, errors.New("h264: no Annex B start code in frame")
	}
	size := 0
	for _, n := range nals {
		size += 4 + len(n)
	}
	out := make([]byte, 0, size)
	for _, n := range nals {
		if len(n) == 0 {
			continue
		}
		out = binary.BigEndian.AppendUint32(out, uint32(len(n)))
		out = append(out, n...)
	}
	return out, nil
}

// avcConfig builds an AVCDecoderConfigurationRecord (ISO 14496-15
// §5.2.4.1) from the SPS and PPS of the first keyframe.
func avcConfig(keyframe []byte) ([]byte, error) {
	var spss, ppss [][]byte
	for _, n := range splitAnnexB(keyframe) {
		if len(n) == 0 {
			continue
		}
		switch n[0] & 0x1f {
		case naluSPS:
			spss = append(spss, n)
		case naluPPS:
			ppss = append(ppss, n)
		}
	}
	if len(spss) == 0 || len(ppss) == 0 || len(spss[0]) < 4 {
		return nil, fmt.Errorf("h264: first keyframe lacks SPS/PPS (%d SPS, %d PPS)", len(spss), len(ppss))
	}
	sps := spss[0]
	c := []byte{1, sps[1], sps[2], sps[3], 0xfc | 3, 0xe0 | byte(len(spss))}
	for _, s := range spss {
		c = binary.BigEndian.AppendUint16(c, uint16(len(s)))
		c = append(c, s...)
	}
	c = append(c, byte(len(ppss)))
	for _, p := range ppss {
		c = binary.BigEndian.AppendUint16(c, uint16(len(p)))
		c = append(c, p...)
	}
	return c, nil
}

// h264Size reads the cropped picture size from the keyframe's SPS.
func h264Size(keyframe []byte) (int, int) {
	for _, n := range splitAnnexB(keyframe) {
		if len(n) > 1 && n[0]&0x1f == naluSPS {
			return spsSize(unescapeRBSP(n[1:]))
		}
	}
	return 0, 0
}

// unescapeRBSP removes emulation prevention bytes (00 00 03 → 00 00).
func unescapeRBSP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}

// spsSize parses a seq_parameter_set_rbsp (H.264 §7.3.2.1.1) far enough
// to get the frame size after cropping.
func spsSize(rbsp []byte) (int, int) {
	r := bitReader{b: rbsp}
	profile := r.bits(8)
	r.bits(16) // constraint flags, level_idc
	r.ue()     // seq_parameter_set_id
	chromaFormat := uint64(1)
	switch profile {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		chromaFormat = r.ue()
		if chromaFormat == 3 {
			r.bits(1) // separate_colour_plane_flag
		}
		r.ue()              // bit_depth_luma_minus8
		r.ue()              // bit_depth_chroma_minus8
		r.bits(1)           // qpprime_y_zero_transform_bypass_flag
		if r.bits(1) == 1 { // seq_scaling_matrix_present_flag
			lists := 8
			if chromaFormat == 3 {
				lists = 12
			}
			for i := range lists {
				if r.bits(1) == 1 { // seq_scaling_list_present_flag[i]
					size := 64
					if i < 6 {
						size = 16
					}
					skipScalingList(&r, size)
				}
			}
		}
	}
	r.ue()          // log2_max_frame_num_minus4
	switch r.ue() { // pic_order_cnt_type
	case 0:
		r.ue() // log2_max_pic_order_cnt_lsb_minus4
	case 1:
		r.bits(1) // delta_pic_order_always_zero_flag
		r.se()    // offset_for_non_ref_pic
		r.se()    // offset_for_top_to_bottom_field
		for range r.ue() {
			r.se()
		}
	}
	r.ue()    // max_num_ref_frames
	r.bits(1) // gaps_in_frame_num_value_allowed_flag
	widthMBs := r.ue() + 1
	heightMapUnits := r.ue() + 1
	frameMBsOnly := r.bits(1)
	if frameMBsOnly == 0 {
		r.bits(1) // mb_adaptive_frame_field_flag
	}
	r.bits(1) // direct_8x8_inference_flag
	w := widthMBs * 16
	h := (2 - frameMBsOnly) * heightMapUnits * 16
	if r.bits(1) == 1 { // frame_cropping_flag
		left, right, top, bottom := r.ue(), r.ue(), r.ue(), r.ue()
		cropX, cropY := uint64(1), 2-frameMBsOnly
		if chromaFormat == 1 || chromaFormat == 2 {
			cropX = 2
		}
		if chromaFormat == 1 {
			cropY *= 2
		}
		w -= (left + right) * cropX
		h -= (top + bottom) * cropY
	}
	if r.failed || w > 1<<16 || h > 1<<16 {
		return 0, 0
	}
	return int(w), int(h)
}

func skipScalingList(r *bitReader, size int) {
	last, next := int64(8), int64(8)
	for range size {
		if next != 0 {
			next = (last + r.se() + 256) % 256
		}
		if next != 0 {
			last = next
		}
	}
}
