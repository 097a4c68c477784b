// Package composite builds the recording's picture and sound in Go: it lays
// out the remote participants (the rules the browser page used to apply),
// paints their decoded I420 pictures and name tiles into one I420 canvas,
// and mixes their PCM audio on a common sample timeline.
//
// Colours are BT.601 limited range ("tv" range), the usual convention for
// I420 from WebRTC decoders; the encoder should tag its output so.
package composite
