package compose

import "encoding/binary"

// appendPCM appends interleaved s16 samples as little-endian bytes, the
// encoder's s16le input.
func appendPCM(dst []byte, s []int16) []byte {
	for _, v := range s {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(v))
	}
	return dst
}
