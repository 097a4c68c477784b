package bench

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
)

// hasFragment reports whether the fragmented MP4 at path already holds a
// media fragment (a top-level moof box) rather than only its empty moov:
// the moment the first frames are on disk.
func hasFragment(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var off int64
	hdr := make([]byte, 16)
	for i := 0; i < 16; i++ { // ftyp, moov, maybe free: the moof comes early
		if _, err := f.ReadAt(hdr[:8], off); err != nil {
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			return false, err
		}
		size := int64(binary.BigEndian.Uint32(hdr[:4]))
		if string(hdr[4:8]) == "moof" {
			return true, nil
		}
		switch size {
		case 0: // box runs to the end of the file
			return false, nil
		case 1: // 64-bit size follows the type
			if _, err := f.ReadAt(hdr[8:16], off+8); err != nil {
				return false, nil
			}
			size = int64(binary.BigEndian.Uint64(hdr[8:16]))
		}
		if size < 8 {
			return false, errors.New("mp4: bad box size")
		}
		off += size
	}
	return false, nil
}
