package bench

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

func box(typ string, payload int) []byte {
	b := make([]byte, 8+payload)
	binary.BigEndian.PutUint32(b, uint32(len(b)))
	copy(b[4:], typ)
	return b
}

func TestHasFragmentOnlyOnceAMoofFollowsTheEmptyMoov(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.mp4")
	write := func(boxes ...[]byte) {
		var b []byte
		for _, x := range boxes {
			b = append(b, x...)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := hasFragment(path); ok || err == nil {
		t.Errorf("missing file: %v %v, want false and an error", ok, err)
	}
	write(box("ftyp", 24), box("moov", 1200))
	if ok, err := hasFragment(path); ok || err != nil {
		t.Errorf("header only: %v %v, want false", ok, err)
	}
	write(box("ftyp", 24), box("moov", 1200), box("moof", 100)[:12]) // moof header partly written
	if ok, _ := hasFragment(path); !ok {
		t.Error("a moof after the moov: want true")
	}
}

func TestHasFragmentFollowsLargeBoxSizes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.mp4")
	large := make([]byte, 16+10)
	binary.BigEndian.PutUint32(large, 1)
	copy(large[4:], "free")
	binary.BigEndian.PutUint64(large[8:], uint64(len(large)))
	b := append(append(box("ftyp", 8), large...), box("moof", 8)...)
	os.WriteFile(path, b, 0o644)
	if ok, err := hasFragment(path); !ok || err != nil {
		t.Errorf("got %v %v, want true", ok, err)
	}
}
