package page

import (
	"io/fs"
	"strings"
	"testing"
)

func TestFilesServeThePageAndItsScript(t *testing.T) {
	for _, name := range []string{"recorder.html", "recorder.js"} {
		b, err := fs.ReadFile(Files(), name)
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: %v", name, err)
		}
	}
	html, _ := fs.ReadFile(Files(), "recorder.html")
	for _, src := range []string{"'config.js'", "'libs/lib-jitsi-meet.min.js'", "'_recorder/recorder.js'"} {
		if !strings.Contains(string(html), src) {
			t.Errorf("recorder.html does not load %s", src)
		}
	}
}

func TestScriptEmitsThroughTheBindingName(t *testing.T) {
	js, _ := fs.ReadFile(Files(), "recorder.js")
	if !strings.Contains(string(js), "'"+EmitBinding+"'") {
		t.Errorf("recorder.js does not use the binding %q", EmitBinding)
	}
}
