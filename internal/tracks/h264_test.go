package tracks

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestH264HighProfileHeaders(t *testing.T) {
	needFFmpeg(t)
	frames := h264Frames(t, "high")
	if w, h := h264Size(frames[0].data); w != 320 || h != 180 {
		t.Errorf("size from SPS %dx%d, want 320x180 (cropped from 320x192)", w, h)
	}
	c, err := avcConfig(frames[0].data)
	if err != nil {
		t.Fatal(err)
	}
	if c[0] != 1 || c[1] != 100 || c[4] != 0xff || c[5] != 0xe1 {
		t.Errorf("avcC head % x", c[:6])
	}
	avcc, err := annexBToAVCC(frames[0].data)
	if err != nil {
		t.Fatal(err)
	}
	// Walk the length prefixes: they must cover the payload exactly.
	for b := avcc; len(b) > 0; {
		n := int(binary.BigEndian.Uint32(b))
		if n == 0 || 4+n > len(b) {
			t.Fatalf("bad NAL length %d with %d bytes left", n, len(b))
		}
		b = b[4+n:]
	}
	if bytes.Contains(avcc, []byte{0, 0, 0, 1}) && !bytes.Contains(frames[0].data, []byte{0, 0, 0, 0, 1}) {
		t.Log("note: start-code-like bytes in AVCC payload (length prefixes)")
	}
}

func TestAV1PayloadDropsTemporalDelimiter(t *testing.T) {
	// TD without size field at the end is legal only last; here: TD with
	// size 0, then a padding OBU without size field.
	in := []byte{0x12, 0x00, 0x78, 0xaa, 0xbb}
	out, err := av1BlockPayload(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x7a, 0x02, 0xaa, 0xbb}; !bytes.Equal(out, want) {
		t.Errorf("payload % x, want % x", out, want)
	}
}
