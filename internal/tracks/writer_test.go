package tracks

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestSetFilesAndInfos(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	set := NewSet(dir, "rec", discardLog())
	video := videoFrames(t, "libvpx")
	audio := opusFrames(t)
	r := NewRouter(epoch)

	route := func(p string, ssrc uint32, kind Kind, codec string, f testFrame, rtp uint32) {
		t.Helper()
		tm, ok := r.Route(Frame{SSRC: ssrc, Kind: kind, Codec: codec, RTPTime: rtp,
			Received: epoch.Add(f.at), Keyframe: f.key, Participant: p, Data: f.data})
		if !ok {
			return
		}
		if err := set.Write(tm); err != nil {
			t.Fatal(err)
		}
	}
	for i, f := range video {
		route("alice/../x", 1, Video, "vp8", f, uint32(i*3000))
	}
	// SSRC 1 then goes to bob; then alice comes back on SSRC 2.
	for i, f := range video {
		route("bob", 1, Video, "vp8", f, uint32(i*3000))
	}
	for i, f := range video {
		route("alice/../x", 2, Video, "vp8", f, uint32(i*3000))
	}
	for i, f := range audio {
		route("bob", 3, Audio, "opus", f, uint32(i*960))
	}
	if err := set.Close(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range set.Infos() {
		names = append(names, in.File)
		if in.Frames == 0 || in.Bytes == 0 {
			t.Errorf("%s: %d frames, %d bytes", in.File, in.Frames, in.Bytes)
		}
		st, err := os.Stat(filepath.Join(dir, in.File))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != fileMode&^umask(t) {
			t.Errorf("%s: mode %v", in.File, st.Mode())
		}
		if n := len(probedPackets(t, filepath.Join(dir, in.File))); int64(n) != in.Frames {
			t.Errorf("%s: ffprobe sees %d packets, Info says %d", in.File, n, in.Frames)
		}
	}
	want := []string{"rec.alice____x.video.1.mkv", "rec.bob.video.1.mkv", "rec.alice____x.video.2.mkv", "rec.bob.audio.1.mkv"}
	if !slices.Equal(names, want) {
		t.Errorf("files %v, want %v", names, want)
	}
	if in := set.Infos()[0]; in.Width != 320 || in.Height != 180 || in.Codec != "vp8" {
		t.Errorf("info %+v", in)
	}
}

func umask(t *testing.T) os.FileMode {
	p := filepath.Join(t.TempDir(), "probe")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o777)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	st, _ := os.Stat(p)
	return 0o777 &^ st.Mode().Perm()
}

func TestSetRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "rec.p.audio.1.mkv")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	set := NewSet(dir, "rec", discardLog())
	tm := Timed{Track: &Info{ID: "p-audio-1", Participant: "p", Kind: Audio, Codec: "opus"}, Keyframe: true, Data: []byte{0xfc}}
	for range 2 {
		if err := set.Write(tm); !errors.Is(err, os.ErrExist) {
			t.Fatalf("write over an existing file: %v", err)
		}
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Error("existing file overwritten")
	}
	// A symlink in its place is not followed either.
	link := filepath.Join(dir, "rec.q.audio.1.mkv")
	if err := os.Symlink(filepath.Join(dir, "elsewhere"), link); err != nil {
		t.Fatal(err)
	}
	tm.Track = &Info{ID: "q-audio-1", Participant: "q", Kind: Audio, Codec: "opus"}
	if err := set.Write(tm); err == nil {
		t.Error("wrote through a symlink")
	}
	if _, err := os.Stat(filepath.Join(dir, "elsewhere")); err == nil {
		t.Error("symlink target created")
	}
}

// A failed write (disk full) is reported, and the track refuses later
// frames instead of continuing a broken stream.
func TestSetWriteFailureIsSticky(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	set := NewSet(t.TempDir(), "rec", discardLog())
	tm := Timed{Track: &Info{ID: "p-audio-1", Participant: "p", Kind: Audio, Codec: "opus"}, Keyframe: true, Data: []byte{0xfc}}
	if err := set.Write(tm); err != nil {
		t.Fatal(err)
	}
	tf := set.files[tm.Track]
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	tf.f.Close()
	tf.f = full
	tf.mkv.w = full
	if err := set.Write(tm); err == nil {
		t.Fatal("ENOSPC not reported")
	}
	if err := set.Write(tm); !errors.Is(err, ErrWriterFailed) {
		t.Fatalf("write after failure: %v", err)
	}
	if in := set.Infos()[0]; in.Frames != 1 {
		t.Errorf("frames %d", in.Frames)
	}
	set.Close()
}
