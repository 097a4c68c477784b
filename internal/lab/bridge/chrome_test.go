package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// This test checks interoperability with the real thing: headless Chromium
// sends VP8 through the bridge to a second RTCPeerConnection, which must
// decode frames. The page drives itself and talks to the test over HTTP, so
// no DevTools client is needed.

const chromePage = `<!doctype html><html><body><script>
const log = (m) => fetch('/log', {method: 'POST', body: String(m)});
async function answer(pc, offer, url) {
  await pc.setRemoteDescription({type: 'offer', sdp: offer});
  return pc;
}
async function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return;
  await new Promise((res) => {
    pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') res(); });
    setTimeout(res, 3000);
  });
}
async function main() {
  const stream = await navigator.mediaDevices.getUserMedia({video: {width: 1280, height: 720}});
  const sender = new RTCPeerConnection();
  await sender.setRemoteDescription({type: 'offer', sdp: await (await fetch('/sender-offer')).text()});
  const tr = sender.getTransceivers()[0];
  tr.direction = 'sendonly';
  await tr.sender.replaceTrack(stream.getVideoTracks()[0]);
  await sender.setLocalDescription(await sender.createAnswer());
  await gathered(sender);
  const recvOffer = await (await fetch('/sender-answer', {method: 'POST', body: sender.localDescription.sdp})).text();

  const receiver = new RTCPeerConnection();
  await receiver.setRemoteDescription({type: 'offer', sdp: recvOffer});
  await receiver.setLocalDescription(await receiver.createAnswer());
  await gathered(receiver);
  await fetch('/receiver-answer', {method: 'POST', body: receiver.localDescription.sdp});

  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const rep = {framesDecoded: 0, senderState: sender.connectionState, receiverState: receiver.connectionState};
    (await receiver.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') { rep.framesDecoded = s.framesDecoded || 0; rep.ssrc = s.ssrc; rep.width = s.frameWidth; }
    });
    (await sender.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') { rep.pliCount = s.pliCount; rep.targetBitrate = s.targetBitrate; }
    });
    await fetch('/report', {method: 'POST', body: JSON.stringify(rep)});
  }
}
main().catch((e) => log('error: ' + e));
</script></body></html>`

type chromeReport struct {
	FramesDecoded int     `json:"framesDecoded"`
	SSRC          uint32  `json:"ssrc"`
	Width         int     `json:"width"`
	PLICount      int     `json:"pliCount"`
	SenderState   string  `json:"senderState"`
	TargetBitrate float64 `json:"targetBitrate"`
	ReceiverState string  `json:"receiverState"`
}

// bridgeOffer is the SDP a focus would derive from the bridge's transport.
func bridgeOffer(t Transport, direction string, ssrc uint32) string {
	var sb strings.Builder
	sb.WriteString("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=msid-semantic: WMS *\r\n")
	sb.WriteString("m=video 9 UDP/TLS/RTP/SAVPF 100\r\nc=IN IP4 127.0.0.1\r\na=rtcp:9 IN IP4 0.0.0.0\r\n")
	fmt.Fprintf(&sb, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:%s %s\r\na=setup:%s\r\n",
		t.Ufrag, t.Pwd, t.Fingerprint.Hash, t.Fingerprint.Value, t.Fingerprint.Setup)
	fmt.Fprintf(&sb, "a=mid:0\r\na=%s\r\na=rtcp-mux\r\na=rtpmap:100 VP8/90000\r\n", direction)
	sb.WriteString("a=rtcp-fb:100 ccm fir\r\na=rtcp-fb:100 nack\r\na=rtcp-fb:100 nack pli\r\na=rtcp-fb:100 goog-remb\r\n")
	for _, c := range t.Candidates {
		fmt.Fprintf(&sb, "a=candidate:%s %d %s %d %s %d typ %s generation 0\r\n", c.Foundation, c.Component, c.Protocol, c.Priority, c.IP, c.Port, c.Type)
	}
	if ssrc != 0 {
		fmt.Fprintf(&sb, "a=ssrc:%d cname:bridge\r\na=ssrc:%d msid:stream0 track0\r\n", ssrc, ssrc)
	}
	return sb.String()
}

var (
	sdpUfrag       = regexp.MustCompile(`a=ice-ufrag:(\S+)`)
	sdpPwd         = regexp.MustCompile(`a=ice-pwd:(\S+)`)
	sdpFingerprint = regexp.MustCompile(`a=fingerprint:(\S+) (\S+)`)
	sdpSetup       = regexp.MustCompile(`a=setup:(\S+)`)
	sdpSSRC        = regexp.MustCompile(`a=ssrc:(\d+) `)
	sdpCandidate   = regexp.MustCompile(`a=candidate:(\S+) (\d+) (\S+) (\d+) (\S+) (\d+) typ (\S+)`)
)

// answerTransport reads Chrome's side as the focus would from session-accept.
// Candidates are returned separately, to be trickled.
func answerTransport(sdp string) (Transport, []Candidate) {
	first := func(re *regexp.Regexp, i int) string {
		if m := re.FindStringSubmatch(sdp); m != nil {
			return m[i]
		}
		return ""
	}
	t := Transport{
		Ufrag:       first(sdpUfrag, 1),
		Pwd:         first(sdpPwd, 1),
		Fingerprint: Fingerprint{Hash: first(sdpFingerprint, 1), Value: first(sdpFingerprint, 2), Setup: first(sdpSetup, 1)},
	}
	var cands []Candidate
	for _, m := range sdpCandidate.FindAllStringSubmatch(sdp, -1) {
		comp, _ := strconv.Atoi(m[2])
		prio, _ := strconv.ParseUint(m[4], 10, 32)
		port, _ := strconv.Atoi(m[6])
		cands = append(cands, Candidate{Foundation: m[1], Component: comp, Protocol: strings.ToLower(m[3]), Priority: uint32(prio), IP: m[5], Port: port, Type: m[7]})
	}
	return t, cands
}

func TestChromiumVideoFlowsThroughBridge(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed")
	}
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	b, err := New(Config{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	reports := make(chan chromeReport, 200)
	var mu sync.Mutex
	var senderSSRC uint32
	fail := func(w http.ResponseWriter, err error) {
		t.Errorf("%v", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, chromePage)
	})
	mux.HandleFunc("/sender-offer", func(w http.ResponseWriter, r *http.Request) {
		tr, err := b.AllocateEndpoint(testConf, "sender")
		if err != nil {
			fail(w, err)
			return
		}
		io.WriteString(w, bridgeOffer(tr, "recvonly", 0))
	})
	mux.HandleFunc("/sender-answer", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := sdpSSRC.FindStringSubmatch(string(body))
		if m == nil {
			fail(w, fmt.Errorf("sender answer without ssrc:\n%s", body))
			return
		}
		ssrc64, _ := strconv.ParseUint(m[1], 10, 32)
		mu.Lock()
		senderSSRC = uint32(ssrc64)
		mu.Unlock()
		remote, cands := answerTransport(string(body))
		if err := b.SetRemoteTransport(testConf, "sender", remote); err != nil {
			fail(w, err)
			return
		}
		if err := b.AddRemoteCandidates(testConf, "sender", cands); err != nil {
			fail(w, err)
			return
		}
		b.SetSources(testConf, "sender", []uint32{uint32(ssrc64)})
		tr, err := b.AllocateEndpoint(testConf, "receiver")
		if err != nil {
			fail(w, err)
			return
		}
		io.WriteString(w, bridgeOffer(tr, "sendonly", uint32(ssrc64)))
	})
	mux.HandleFunc("/receiver-answer", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		remote, cands := answerTransport(string(body))
		if err := b.AddRemoteCandidates(testConf, "receiver", cands); err != nil {
			fail(w, err)
			return
		}
		if err := b.SetRemoteTransport(testConf, "receiver", remote); err != nil {
			fail(w, err)
			return
		}
		mu.Lock()
		ssrc := senderSSRC
		mu.Unlock()
		b.SetReceivable(testConf, "receiver", []uint32{ssrc})
	})
	mux.HandleFunc("/report", func(w http.ResponseWriter, r *http.Request) {
		var rep chromeReport
		if err := json.NewDecoder(r.Body).Decode(&rep); err == nil {
			select {
			case reports <- rep:
			default:
			}
		}
	})
	mux.HandleFunc("/log", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		t.Errorf("page: %s", body)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	profile := t.TempDir()
	cmd := exec.CommandContext(ctx, chromium,
		"--headless=new", "--no-sandbox", "--disable-gpu", "--user-data-dir="+profile,
		"--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
		"--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--disable-quic", "--disable-dev-shm-usage",
		"http://"+ln.Addr().String()+"/")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if os.Getenv("BRIDGE_TEST_DEBUG") != "" {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()

	deadline := time.After(30 * time.Second)
	var last chromeReport
	for {
		select {
		case last = <-reports:
			// Chrome starts at ~300 kbps and only climbs on the bridge's
			// receiver reports and REMB.
			if last.FramesDecoded >= 10 && last.TargetBitrate >= 600_000 && last.PLICount >= 1 {
				mu.Lock()
				want := senderSSRC
				mu.Unlock()
				if last.SSRC != want {
					t.Errorf("receiver decoded SSRC %d, sender sent %d", last.SSRC, want)
				}
				st := b.Stats().Conferences[testConf]
				t.Logf("chromium decoded %d frames (width %d); sender PLIs %d, target bitrate %.0f; bridge stats: sender %+v receiver %+v",
					last.FramesDecoded, last.Width, last.PLICount, last.TargetBitrate, st.Endpoints["sender"], st.Endpoints["receiver"])
				return
			}
		case <-deadline:
			st := b.Stats().Conferences[testConf]
			t.Fatalf("want >= 10 frames decoded, sender target bitrate >= 600 kbps and a PLI at the sender (the bridge asks for a key frame on subscription); last report %+v; bridge: sender %+v receiver %+v",
				last, st.Endpoints["sender"], st.Endpoints["receiver"])
		}
	}
}
