package ffmpeg

import (
	"context"
	"encoding/binary"
	"strconv"
)

// AudioDecoder decodes one audio track (Matroska on its Write side) into
// 48 kHz stereo PCM placed by the track's timestamps. Besides PCM it has
// Write, Close, CloseWithin, Kill, Done, Err, CPUTime and StderrTail.
type AudioDecoder struct {
	*decoder
	chunks chan PCMChunk
}

// PCMChunk is a run of decoded audio.
type PCMChunk struct {
	// FirstSample is the position of the chunk's first sample, counted
	// in 48 kHz samples from the track's timestamp 0: a chunk at 5 s has
	// FirstSample 240000.
	FirstSample int64
	// Samples are interleaved stereo (left, right, left, ...).
	Samples []int16
}

// AudioFilter for the decoders: aresample's async mode re-times the
// audio by its timestamps, filling gaps with silence and trimming
// overlaps, so that each sample stays where its timestamp puts it (without
// it FFmpeg counts samples, and a gap moves everything after it earlier).
// Unlike the recorder's AudioFilter it keeps the first timestamp instead
// of starting at 0. min_hard_comp: act on differences over 10 ms, not
// FFmpeg's default 100 ms, so one lost 20 ms Opus packet is filled too;
// Matroska's millisecond timestamps stay well below it.
const decoderAudioFilter = "aformat=sample_fmts=s16:channel_layouts=stereo," +
	"aresample=48000:async=1:min_hard_comp=0.01,asettb=1/48000"

// AudioArgs returns the audio decoder's FFmpeg arguments.
func AudioArgs() []string {
	return append(decoderInputArgs(),
		"-map", "0:a:0",
		// asettb makes pts a sample index for the stamp filter.
		"-af", decoderAudioFilter+",ashowinfo@"+stampFilter,
		"-f", "s16le", "-ar", strconv.Itoa(PCMRate), "-ac", strconv.Itoa(PCMChannels), "pipe:1",
	)
}

// StartAudioDecoder starts a decoder (opts.Width and Height are unused).
// Feed it with Write; read PCM until it closes. Cancelling ctx kills it.
func StartAudioDecoder(ctx context.Context, opts DecoderOptions) (*AudioDecoder, error) {
	opts = decoderDefaults(opts)
	a := &AudioDecoder{chunks: make(chan PCMChunk, 64)}
	d, err := startDecoder(ctx, opts, AudioArgs(), a.read)
	if err != nil {
		return nil, err
	}
	a.decoder = d
	return a, nil
}

// PCM delivers the decoded audio in order; it closes when FFmpeg has
// ended (Close, Kill, cancel or failure).
func (a *AudioDecoder) PCM() <-chan PCMChunk { return a.chunks }

func (a *AudioDecoder) read(d *decoder) {
	defer close(a.chunks)
	next := int64(-1) // where the previous chunk ended
	for {
		st, pcm, ok := d.nextAudioFrame()
		if !ok {
			return
		}
		if len(pcm) == 0 {
			continue
		}
		first := st.pts
		if !st.ptsKnown {
			if next < 0 {
				d.c.log.Debug("decoded audio without timestamp dropped")
				continue
			}
			first = next
		}
		samples := make([]int16, len(pcm)/2)
		for i := range samples {
			samples[i] = int16(binary.LittleEndian.Uint16(pcm[2*i:]))
		}
		next = first + int64(st.samples)
		select {
		case a.chunks <- PCMChunk{FirstSample: first, Samples: samples}:
		case <-d.abandon:
			return
		}
	}
}
