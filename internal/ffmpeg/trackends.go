package ffmpeg

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"
)

// TrackEnds reads a fragmented MP4 written by Start and returns where its
// video and audio tracks end (0 for a track it lacks). FFmpeg's progress
// gives one figure, the furthest stream; a browser whose video encoder
// fell behind leaves a file whose audio reaches the stop and whose video
// ends seconds earlier, and only the tracks themselves show it.
//
// The end of a track is its last fragment's decode time plus the
// durations of that fragment's samples. Edit lists (a few ms of encoder
// priming) are not applied: they are far below what this is used to find.
func TrackEnds(path string) (video, audio time.Duration, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	file, err := mp4.DecodeFile(f, mp4.WithDecodeMode(mp4.DecModeLazyMdat))
	if err != nil {
		return 0, 0, fmt.Errorf("read %s: %w", path, err)
	}
	if file.Init == nil || file.Init.Moov == nil {
		return 0, 0, fmt.Errorf("read %s: %w", path, errors.New("not a fragmented MP4 (no initial moov)"))
	}
	type track struct {
		kind       string // hdlr: "vide", "soun"
		timescale  uint32
		defaultDur uint32 // trex's default sample duration
		end        uint64 // in timescale units
	}
	tracks := map[uint32]*track{}
	moov := file.Init.Moov
	for _, trak := range moov.Traks {
		if trak.Tkhd == nil || trak.Mdia == nil || trak.Mdia.Hdlr == nil || trak.Mdia.Mdhd == nil || trak.Mdia.Mdhd.Timescale == 0 {
			continue
		}
		tracks[trak.Tkhd.TrackID] = &track{kind: trak.Mdia.Hdlr.HandlerType, timescale: trak.Mdia.Mdhd.Timescale}
	}
	if moov.Mvex != nil {
		for _, trex := range moov.Mvex.Trexs {
			if t := tracks[trex.TrackID]; t != nil {
				t.defaultDur = trex.DefaultSampleDuration
			}
		}
	}
	for _, seg := range file.Segments {
		for _, frag := range seg.Fragments {
			if frag.Moof == nil {
				continue
			}
			for _, traf := range frag.Moof.Trafs {
				if traf.Tfhd == nil || traf.Tfdt == nil {
					continue
				}
				t := tracks[traf.Tfhd.TrackID]
				if t == nil {
					continue
				}
				dur := t.defaultDur
				if traf.Tfhd.HasDefaultSampleDuration() {
					dur = traf.Tfhd.DefaultSampleDuration
				}
				end := traf.Tfdt.BaseMediaDecodeTime()
				for _, trun := range traf.Truns {
					end += trun.Duration(dur)
				}
				t.end = max(t.end, end)
			}
		}
	}
	for _, t := range tracks {
		d := time.Duration(float64(t.end) / float64(t.timescale) * float64(time.Second))
		switch t.kind {
		case "vide":
			video = max(video, d)
		case "soun":
			audio = max(audio, d)
		}
	}
	return video, audio, nil
}
