package page

import (
	"strings"
	"testing"
)

// remoteOffer is shaped like the unified-plan offer lib-jitsi-meet builds
// from Jingle: one m-line per remote source, each with its own msid stream.
const remoteOffer = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2 3 4 5\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\na=msid:streamA1-1 trackA1-1\r\na=ssrc:1001 cname:a\r\na=ssrc:1001 msid:streamA1-1 trackA1-1\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 100 96\r\na=mid:1\r\na=sendonly\r\na=msid:streamV1-1 trackV1-1\r\na=ssrc-group:SIM 2001 2002\r\na=ssrc:2001 msid:streamV1-1 trackV1-1\r\na=ssrc:2002 msid:streamV1-1 trackV1-1\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:2\r\na=sendonly\r\na=msid:streamA2-1 trackA2-1\r\na=ssrc:1003 msid:streamA2-1 trackA2-1\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 100 96\r\na=mid:3\r\na=sendonly\r\na=msid:streamV2-1 trackV2-1\r\na=ssrc:2003 msid:streamV2-1 trackV2-1\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 100 96\r\na=mid:4\r\na=sendonly\r\na=msid:streamX-1 trackX-1\r\na=ssrc:2004 msid:streamX-1 trackX-1\r\n" +
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:5\r\n"

func TestLipSyncGroupsEachOwnersAudioAndVideoInOneStream(t *testing.T) {
	h := newHarness(t, fakeDeployment(t))
	h.open("/_recorder")
	// 1001/2001 belong to alice, 1003/2003 to bob; 2004 has no known owner.
	got := evalValue[string](h, `window.recorder._test.groupStreamsByOwner(`+jsQuote(remoteOffer)+
		`, ssrc => ({ 1001: 'alice', 2001: 'alice', 2002: 'alice', 1003: 'bob', 2003: 'bob' })[ssrc])`)
	for _, want := range []string{
		"a=msid:recsync-alice trackA1-1\r\n", "a=ssrc:1001 msid:recsync-alice trackA1-1\r\n",
		"a=msid:recsync-alice trackV1-1\r\n", "a=ssrc:2001 msid:recsync-alice trackV1-1\r\n", "a=ssrc:2002 msid:recsync-alice trackV1-1\r\n",
		"a=msid:recsync-bob trackA2-1\r\n", "a=ssrc:2003 msid:recsync-bob trackV2-1\r\n",
		"a=msid:streamX-1 trackX-1\r\n", // unknown owner: untouched
		"a=ssrc:1001 cname:a\r\n", "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:5\r\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("munged SDP lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "\r\n") != strings.Count(remoteOffer, "\r\n") {
		t.Errorf("munged SDP has a different number of lines:\n%s", got)
	}

	// Without owners, or with stream ids that disagree within an m-line,
	// the SDP stays exactly as it was.
	if same := evalValue[string](h, `window.recorder._test.groupStreamsByOwner(`+jsQuote(remoteOffer)+`, () => undefined)`); same != remoteOffer {
		t.Errorf("SDP changed without owners:\n%s", same)
	}
	odd := strings.Replace(remoteOffer, "a=ssrc:1001 msid:streamA1-1", "a=ssrc:1001 msid:other", 1)
	got = evalValue[string](h, `window.recorder._test.groupStreamsByOwner(`+jsQuote(odd)+`, () => 'alice')`)
	if !strings.Contains(got, "a=msid:streamA1-1 trackA1-1\r\n") {
		t.Errorf("an m-line with disagreeing stream ids was changed:\n%s", got)
	}
}
