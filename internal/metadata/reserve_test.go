package metadata

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestReservedSpaceLetsTheFinalMetadataBeWrittenOnAFullDisk fills a tiny
// tmpfs (in a private mount namespace: the test re-runs itself under
// unshare -m) after reserving, and checks the metadata still lands.
func TestReservedSpaceLetsTheFinalMetadataBeWrittenOnAFullDisk(t *testing.T) {
	if dir := os.Getenv("JR_RESERVE_TMPFS"); dir != "" {
		fillAndWrite(t, dir)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs in a private mount namespace")
	}
	dir := t.TempDir()
	cmd := exec.Command("unshare", "-m", "sh", "-c",
		`mount -t tmpfs -o size=512k tmpfs "$JR_RESERVE_TMPFS" && exec "$0" -test.run '^TestReservedSpaceLetsTheFinalMetadataBeWrittenOnAFullDisk$' -test.v`,
		os.Args[0])
	cmd.Env = append(os.Environ(), "JR_RESERVE_TMPFS="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("in a private tmpfs: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

func fillAndWrite(t *testing.T, dir string) {
	meta := filepath.Join(dir, "rec.json")
	res, err := Reserve(meta, ReserveSize)
	if err != nil {
		t.Fatal(err)
	}
	// Fill the disk as a recording would.
	f, err := os.Create(filepath.Join(dir, "rec.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := f.Write(make([]byte, 32<<10)); err != nil {
			break
		}
	}
	f.Close()
	rec := Recording{Room: "r", File: "rec.mp4", StopReason: "error", Error: "disk full"}
	if err := Write(meta, rec); err == nil {
		t.Fatal("the disk was not full: the test proves nothing")
	}
	if err := WriteReserved(meta, rec, res); err != nil {
		t.Fatalf("with the reservation released: %v", err)
	}
	if b, err := os.ReadFile(meta); err != nil || len(b) == 0 {
		t.Fatalf("metadata not there: %v", err)
	}
	if _, err := os.Stat(res.path); !os.IsNotExist(err) {
		t.Errorf("reserve file %s still there", res.path)
	}
}
