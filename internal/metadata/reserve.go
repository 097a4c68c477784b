package metadata

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ReserveSize is enough room for the final metadata of a long meeting with
// many participants, gaps and segments.
const ReserveSize = 128 << 10

// Reservation is disk space held beside the metadata from the start of a
// recording, so the final metadata can still be written when the recording
// filled the disk: the space is given back just before that write.
type Reservation struct{ path string }

// Reserve claims size bytes in a hidden file beside the metadata at path.
// The bytes are written, not just sized, so file systems that allocate
// lazily (tmpfs, ext4 sparse files) really hold them.
func Reserve(path string, size int) (*Reservation, error) {
	p := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".reserve")
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("reserve space for the metadata: %w", err)
	}
	_, werr := f.Write(make([]byte, size))
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(p)
		return nil, fmt.Errorf("reserve space for the metadata: %w", err)
	}
	return &Reservation{path: p}, nil
}

// Release gives the space back. It is safe on a nil Reservation and more
// than once.
func (r *Reservation) Release() {
	if r != nil {
		os.Remove(r.path)
	}
}

// WriteReserved writes the metadata like Write; if the disk is full it
// releases the reservation and tries once more.
func WriteReserved(path string, rec Recording, r *Reservation) error {
	err := Write(path, rec)
	if err == nil || r == nil || !errors.Is(err, syscall.ENOSPC) {
		return err
	}
	r.Release()
	return Write(path, rec)
}
