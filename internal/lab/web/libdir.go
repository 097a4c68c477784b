package web

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Files of the lib dir, as scripts/libjitsi.sh writes them.
const (
	libFile    = "lib-jitsi-meet.min.js"
	jqueryFile = "jquery.min.js"
	// libDirRel is where scripts/setup.sh puts the bundles inside the repo.
	libDirRel = ".cache/lib-jitsi-meet"
	// LibDirEnv overrides where FindLibDir looks.
	LibDirEnv = "JITSI_LAB_LIBDIR"
)

const setupHint = "run scripts/setup.sh (or scripts/libjitsi.sh) to fetch lib-jitsi-meet and jQuery"

// FindLibDir locates the directory holding lib-jitsi-meet.min.js and
// jquery.min.js: $JITSI_LAB_LIBDIR if set, else .cache/lib-jitsi-meet in the
// working directory or one of its parents, else the same next to the
// executable (or in one of its parents, for bin/ inside the repo).
func FindLibDir() (string, error) {
	if dir := os.Getenv(LibDirEnv); dir != "" {
		if !hasLib(dir) {
			return "", fmt.Errorf("%s=%s has no %s: %s", LibDirEnv, dir, libFile, setupHint)
		}
		return dir, nil
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			starts = append(starts, filepath.Dir(exe))
		}
	}
	for _, start := range starts {
		for dir := start; ; dir = filepath.Dir(dir) {
			if cand := filepath.Join(dir, libDirRel); hasLib(cand) {
				return cand, nil
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return "", fmt.Errorf("no %s/%s found above %v and %s is unset: %s", libDirRel, libFile, starts, LibDirEnv, setupHint)
}

func hasLib(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, libFile))
	return err == nil && st.Mode().IsRegular()
}

// buildLibBundle makes the one file a deployment serves as
// /libs/lib-jitsi-meet.min.js, so that it works when loaded alone: jQuery,
// then the global `jquery` the 2021 bundle expects, then lib-jitsi-meet.
func buildLibBundle(dir string) ([]byte, error) {
	if dir == "" {
		return nil, errors.New("no lib dir given: " + setupHint)
	}
	jq, err := os.ReadFile(filepath.Join(dir, jqueryFile))
	if err != nil {
		return nil, fmt.Errorf("read jQuery: %w: %s", err, setupHint)
	}
	lib, err := os.ReadFile(filepath.Join(dir, libFile))
	if err != nil {
		return nil, fmt.Errorf("read lib-jitsi-meet: %w: %s", err, setupHint)
	}
	var b bytes.Buffer
	b.Grow(len(jq) + len(lib) + 64)
	b.Write(jq)
	// Leading ';' and newlines: neither file may end its last statement.
	b.WriteString("\n;window.jquery = window.jQuery;\n")
	b.Write(lib)
	b.WriteString("\n")
	return b.Bytes(), nil
}
