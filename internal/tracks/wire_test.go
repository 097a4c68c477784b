package tracks

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDecodeFrames(t *testing.T) {
	data := base64.StdEncoding.EncodeToString([]byte{1, 2, 3})
	big := base64.StdEncoding.EncodeToString(make([]byte, MaxFrameBytes+1))
	raw := `[
	 {"s":1234567,"k":"v","c":"vp8","ts":3000000,"r":1733300000000.25,"key":true,"w":640,"h":360,"p":"a1b2c3d4","src":"a1b2c3d4-v0","d":"` + data + `"},
	 {"s":42,"k":"a","c":"opus","ts":4294967295,"r":1733300000001,"p":"","d":"` + data + `"},
	 {"s":1,"k":"x","c":"vp8","ts":1,"r":1,"d":"` + data + `"},
	 {"s":1,"k":"v","c":"h265","ts":1,"r":1,"d":"` + data + `"},
	 {"s":1,"k":"a","c":"vp8","ts":1,"r":1,"d":"` + data + `"},
	 {"s":1,"k":"v","c":"vp8","ts":1,"r":1,"d":"` + big + `"},
	 {"s":1,"k":"v","c":"vp8","ts":1,"r":1,"d":"!!"}
	]`
	frames, err := DecodeFrames(json.RawMessage(raw))
	if err == nil || !strings.Contains(err.Error(), "rejected 5 of 7") {
		t.Fatalf("error = %v", err)
	}
	for _, want := range []string{`unknown kind "x"`, `unsupported video codec "h265"`, `unsupported audio codec "vp8"`, "and 2 more"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if len(frames) != 2 {
		t.Fatalf("got %d frames", len(frames))
	}
	v := frames[0]
	wantTime := time.UnixMicro(1733300000000250)
	if v.SSRC != 1234567 || v.Kind != Video || v.Codec != "vp8" || v.RTPTime != 3000000 ||
		!v.Received.Equal(wantTime) || !v.Keyframe || v.Width != 640 || v.Height != 360 ||
		v.Participant != "a1b2c3d4" || v.Source != "a1b2c3d4-v0" || string(v.Data) != "\x01\x02\x03" {
		t.Errorf("video frame = %+v", v)
	}
	a := frames[1]
	if a.Kind != Audio || a.RTPTime != 4294967295 || a.Participant != "" || a.Keyframe {
		t.Errorf("audio frame = %+v", a)
	}
}

func TestDecodeFramesEmptyAndBad(t *testing.T) {
	if f, err := DecodeFrames(json.RawMessage(`[]`)); err != nil || len(f) != 0 {
		t.Errorf("empty batch: %v %v", f, err)
	}
	if _, err := DecodeFrames(json.RawMessage(`{"s":1}`)); err == nil {
		t.Error("non-array accepted")
	}
	// A type error in one element must not lose the others.
	f, err := DecodeFrames(json.RawMessage(`[{"s":"x"},{"s":1,"k":"a","c":"opus","ts":1,"r":1,"d":"AQ=="}]`))
	if err == nil || len(f) != 1 || f[0].SSRC != 1 {
		t.Errorf("mixed batch: %v %v", f, err)
	}
}
