package jingle

import (
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/bridge"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testFingerprint = "4A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9"

func bridgeTransport() bridge.Transport {
	return bridge.Transport{
		Ufrag: "br1dgeufrag",
		Pwd:   "bridgepassword0123456789",
		Fingerprint: bridge.Fingerprint{
			Hash: "sha-256", Value: "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99", Setup: "actpass",
		},
		Candidates: []bridge.Candidate{{
			Foundation: "1", Component: 1, Protocol: "udp", Priority: 2130706431,
			IP: "127.0.0.1", Port: 40000, Type: "host", Generation: 0, ID: "c1",
		}},
		WebSocketURL: "ws://127.0.0.1:8080/colibri-ws/default-id/conf1/ep1?pwd=secret",
	}
}

func compareGolden(t *testing.T, name string, j *Jingle) {
	t.Helper()
	got, err := xml.MarshalIndent(j, "", " ")
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from golden\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestSessionInitiateMatchesGolden(t *testing.T) {
	j := SessionInitiate(Offer{
		SID:       "abc123",
		Initiator: "r1@conference.localhost/focus",
		Responder: "r1@conference.localhost/bob",
		Transport: bridgeTransport(),
		Sources: []MediaSource{
			{Media: "audio", SSRC: 1001, MSID: "alice-stream alice-audio", Owner: "r1@conference.localhost/alice"},
			{Media: "video", SSRC: 2001, MSID: "alice-stream alice-video", Owner: "r1@conference.localhost/alice"},
			{Media: "video", SSRC: 2002, MSID: "alice-stream alice-video", Owner: "r1@conference.localhost/alice"},
		},
		Groups:          []SourceGroup{{Media: "video", Semantics: "FID", SSRCs: []uint32{2001, 2002}}},
		BridgeSessionID: "bs-1",
	})
	compareGolden(t, "session-initiate.xml", j)
}

func TestSessionInitiateOffersOptionalHeaderExtensions(t *testing.T) {
	j := SessionInitiate(Offer{SID: "s", Transport: bridgeTransport(), Options: OfferOptions{AbsSendTime: true, TransportCC: true}})
	var uris []string
	for _, h := range j.Contents[1].Description.HeaderExts {
		uris = append(uris, h.URI)
	}
	want := []string{HdrExtAbsSendTime, HdrExtTransportCC}
	if !reflect.DeepEqual(uris, want) {
		t.Errorf("video hdrexts = %v, want %v", uris, want)
	}
}

func TestSessionInitiateForcesActpass(t *testing.T) {
	tr := bridgeTransport()
	tr.Fingerprint.Setup = ""
	j := SessionInitiate(Offer{SID: "s", Transport: tr})
	for _, c := range j.Contents {
		if got := c.Transport.Fingerprints[0].Setup; got != "actpass" {
			t.Errorf("content %s setup = %q", c.Name, got)
		}
	}
}

func TestSourceAddAndRemoveMatchGolden(t *testing.T) {
	sources := []MediaSource{
		{Media: "audio", SSRC: 3001, MSID: "carol-s carol-a", Owner: "r1@conference.localhost/carol"},
		{Media: "video", SSRC: 4001, MSID: "carol-s carol-v", Owner: "r1@conference.localhost/carol"},
	}
	compareGolden(t, "source-add.xml", SourceAdd("abc123", "r1@conference.localhost/focus", sources, nil))
	compareGolden(t, "source-remove.xml", SourceRemove("abc123", "r1@conference.localhost/focus", sources[1:], nil))
}

func TestSessionTerminateCarriesReason(t *testing.T) {
	out, err := xml.Marshal(SessionTerminate("s1", "r@c/focus", "gone"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "<reason><gone></gone>") {
		t.Errorf("no gone reason in %s", out)
	}
}

// readIQJingle reads the <jingle/> of an IQ in testdata, as the focus gets it.
func readIQJingle(t *testing.T, name string) *Jingle {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var iq struct {
		Jingle *Jingle `xml:"urn:xmpp:jingle:1 jingle"`
	}
	if err := xml.Unmarshal(raw, &iq); err != nil {
		t.Fatalf("unmarshal %s: %v", name, err)
	}
	if iq.Jingle == nil {
		t.Fatalf("%s: no jingle", name)
	}
	return iq.Jingle
}

func TestParseChromeSessionAccept(t *testing.T) {
	j := readIQJingle(t, "session-accept.xml")
	if j.Action != ActionSessionAccept || j.SID != "8c0f3d1e2b4a" {
		t.Errorf("action/sid = %q/%q", j.Action, j.SID)
	}
	tr, ok := j.BundleTransport()
	if !ok {
		t.Fatal("no transport")
	}
	wantTr := bridge.Transport{
		Ufrag: "Zq7h", Pwd: "aX3y9kLmN2pQr5sT8uVwYz1b",
		Fingerprint: bridge.Fingerprint{Hash: "sha-256", Value: testFingerprint, Setup: "active"},
		Candidates: []bridge.Candidate{{
			Foundation: "2543296133", Component: 1, Protocol: "udp", Priority: 2122260223,
			IP: "127.0.0.1", Port: 47001, Type: "host", Generation: 0, ID: "k3j9x0a2bq",
		}},
	}
	if !reflect.DeepEqual(tr, wantTr) {
		t.Errorf("transport = %+v\nwant %+v", tr, wantTr)
	}
	sources, groups := j.MediaSources()
	const stream = "b7f0c6e4-9f55-4d0a-8d7e-2b3c1f6a9e01"
	videoMSID := stream + " 9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
	wantSources := []MediaSource{
		{Media: "audio", SSRC: 2912367113, MSID: stream + " 0c2d4e6f-1a3b-4c5d-8e9f-a1b2c3d4e5f6"},
		{Media: "video", SSRC: 1111111111, MSID: videoMSID},
		{Media: "video", SSRC: 2222222222, MSID: videoMSID},
		{Media: "video", SSRC: 3333333333, MSID: videoMSID},
	}
	if !reflect.DeepEqual(sources, wantSources) {
		t.Errorf("sources = %+v\nwant %+v", sources, wantSources)
	}
	wantGroups := []SourceGroup{{Media: "video", Semantics: "SIM", SSRCs: []uint32{1111111111, 2222222222, 3333333333}}}
	if !reflect.DeepEqual(groups, wantGroups) {
		t.Errorf("groups = %+v, want %+v", groups, wantGroups)
	}
	if j.Contents[0].Description.HeaderExts[0].URI != HdrExtAudioLevel {
		t.Errorf("hdrext not parsed: %+v", j.Contents[0].Description.HeaderExts)
	}
}

func TestParseTransportInfoCandidatesOfMidContent(t *testing.T) {
	j := readIQJingle(t, "transport-info.xml")
	if j.Contents[0].Name != "0" {
		t.Fatalf("content name = %q", j.Contents[0].Name)
	}
	cands := j.Candidates()
	want := []bridge.Candidate{
		{Foundation: "1876313031", Component: 1, Protocol: "udp", Priority: 2122194687, IP: "127.0.0.1", Port: 53217, Type: "host", ID: "q8w2e4r6t0"},
		{Foundation: "3121957845", Component: 1, Protocol: "tcp", Priority: 1518280447, IP: "127.0.0.1", Port: 9, Type: "host", ID: "z1x3c5v7b9"},
	}
	if !reflect.DeepEqual(cands, want) {
		t.Errorf("candidates = %+v\nwant %+v", cands, want)
	}
	if j.Contents[0].Transport.Fingerprints[0].Value != testFingerprint {
		t.Errorf("fingerprint = %q", j.Contents[0].Transport.Fingerprints[0].Value)
	}
}

func TestParseClientSourceAdd(t *testing.T) {
	sources, groups := readIQJingle(t, "client-source-add.xml").MediaSources()
	want := []MediaSource{
		{Media: "video", SSRC: 4000000001, MSID: "s2 t2"},
		{Media: "video", SSRC: 4000000002, MSID: "s2 t2"},
	}
	if !reflect.DeepEqual(sources, want) {
		t.Errorf("sources = %+v", sources)
	}
	if len(groups) != 1 || groups[0].Semantics != "FID" {
		t.Errorf("groups = %+v", groups)
	}
}

func TestBuiltSourceAddRoundTripsWithOwner(t *testing.T) {
	in := []MediaSource{{Media: "audio", SSRC: 7, MSID: "a b", Owner: "r@c/x"}}
	out, err := xml.Marshal(SourceAdd("s", "r@c/focus", in, nil))
	if err != nil {
		t.Fatal(err)
	}
	var j Jingle
	if err := xml.Unmarshal(out, &j); err != nil {
		t.Fatal(err)
	}
	got, _ := j.MediaSources()
	if !reflect.DeepEqual(got, in) {
		t.Errorf("round trip = %+v, want %+v", got, in)
	}
}

func TestStripSimulcastKeepsFirstLayerAndItsRTX(t *testing.T) {
	sources := []MediaSource{
		{Media: "audio", SSRC: 1},
		{Media: "video", SSRC: 10}, {Media: "video", SSRC: 11}, {Media: "video", SSRC: 12},
		{Media: "video", SSRC: 20}, {Media: "video", SSRC: 21}, {Media: "video", SSRC: 22},
	}
	groups := []SourceGroup{
		{Media: "video", Semantics: "SIM", SSRCs: []uint32{10, 11, 12}},
		{Media: "video", Semantics: "FID", SSRCs: []uint32{10, 20}},
		{Media: "video", Semantics: "FID", SSRCs: []uint32{11, 21}},
		{Media: "video", Semantics: "FID", SSRCs: []uint32{12, 22}},
	}
	gotSources, gotGroups := StripSimulcast(sources, groups)
	if want := []uint32{1, 10, 20}; !reflect.DeepEqual(SSRCs(gotSources), want) {
		t.Errorf("ssrcs = %v, want %v", SSRCs(gotSources), want)
	}
	if len(gotGroups) != 1 || !reflect.DeepEqual(gotGroups[0].SSRCs, []uint32{10, 20}) {
		t.Errorf("groups = %+v", gotGroups)
	}
}
