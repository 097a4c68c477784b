package tracks

// vp8Size reads the picture size from a VP8 keyframe header (RFC 6386
// §9.1): 3-byte frame tag, start code 9d 01 2a, then 14-bit width and
// height.
func vp8Size(f []byte) (int, int) {
	if len(f) < 10 || f[0]&1 != 0 || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a {
		return 0, 0
	}
	w := int(f[6]) | int(f[7]&0x3f)<<8
	h := int(f[8]) | int(f[9]&0x3f)<<8
	return w, h
}

// vp9Size reads the frame size from a VP9 keyframe's uncompressed header
// (VP9 bitstream spec §6.2). A superframe's first frame carries it.
func vp9Size(f []byte) (int, int) {
	r := bitReader{b: f}
	if r.bits(2) != 2 { // frame_marker
		return 0, 0
	}
	profile := r.bits(1) | r.bits(1)<<1
	if profile == 3 {
		r.bits(1) // reserved_zero
	}
	if r.bits(1) == 1 { // show_existing_frame
		return 0, 0
	}
	if r.bits(1) != 0 { // frame_type: 0 is KEY_FRAME
		return 0, 0
	}
	r.bits(2) // show_frame, error_resilient_mode
	if r.bits(24) != 0x498342 {
		return 0, 0
	}
	// color_config
	if profile >= 2 {
		r.bits(1) // ten_or_twelve_bit
	}
	if r.bits(3) != 7 { // color_space != CS_RGB
		r.bits(1) // color_range
		if profile == 1 || profile == 3 {
			r.bits(3) // subsampling_x, subsampling_y, reserved_zero
		}
	} else if profile == 1 || profile == 3 {
		r.bits(1) // reserved_zero
	}
	w := int(r.bits(16)) + 1
	h := int(r.bits(16)) + 1
	if r.failed {
		return 0, 0
	}
	return w, h
}
