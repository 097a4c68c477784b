package tracks

import "github.com/at-wat/ebml-go"

// The Matroska elements MKVWriter emits, as ebml-go marshals them. The
// Segment and Clusters have unknown sizes so that nothing written needs
// patching later.

const (
	trackTypeVideo = 1
	trackTypeAudio = 2
)

type fileHeader struct {
	EBML    ebmlHeader  `ebml:"EBML"`
	Segment segmentHead `ebml:"Segment,size=unknown"`
}

type ebmlHeader struct {
	EBMLVersion        uint64 `ebml:"EBMLVersion"`
	EBMLReadVersion    uint64 `ebml:"EBMLReadVersion"`
	EBMLMaxIDLength    uint64 `ebml:"EBMLMaxIDLength"`
	EBMLMaxSizeLength  uint64 `ebml:"EBMLMaxSizeLength"`
	DocType            string `ebml:"EBMLDocType"`
	DocTypeVersion     uint64 `ebml:"EBMLDocTypeVersion"`
	DocTypeReadVersion uint64 `ebml:"EBMLDocTypeReadVersion"`
}

// segmentHead is everything in the Segment before the first Cluster.
type segmentHead struct {
	Info   segmentInfo `ebml:"Info"`
	Tracks trackList   `ebml:"Tracks"`
}

type segmentInfo struct {
	TimecodeScale uint64 `ebml:"TimecodeScale"`
	MuxingApp     string `ebml:"MuxingApp"`
	WritingApp    string `ebml:"WritingApp"`
}

type trackList struct {
	TrackEntry []trackEntry `ebml:"TrackEntry"`
}

type trackEntry struct {
	TrackNumber  uint64         `ebml:"TrackNumber"`
	TrackUID     uint64         `ebml:"TrackUID"`
	TrackType    uint64         `ebml:"TrackType"`
	FlagLacing   uint64         `ebml:"FlagLacing"`
	Language     string         `ebml:"Language"`
	CodecID      string         `ebml:"CodecID"`
	CodecPrivate []byte         `ebml:"CodecPrivate,omitempty"`
	CodecDelay   uint64         `ebml:"CodecDelay,omitempty"`
	SeekPreRoll  uint64         `ebml:"SeekPreRoll,omitempty"`
	Video        *videoSettings `ebml:"Video,omitempty"`
	Audio        *audioSettings `ebml:"Audio,omitempty"`
}

type videoSettings struct {
	PixelWidth  uint64 `ebml:"PixelWidth"`
	PixelHeight uint64 `ebml:"PixelHeight"`
}

type audioSettings struct {
	SamplingFrequency float64 `ebml:"SamplingFrequency"`
	Channels          uint64  `ebml:"Channels"`
}

// clusterHead opens a Cluster; its blocks follow as separate elements.
type clusterHead struct {
	Cluster clusterTimecode `ebml:"Cluster,size=unknown"`
}

type clusterTimecode struct {
	Timecode uint64 `ebml:"Timecode"`
}

type simpleBlock struct {
	Block ebml.Block `ebml:"SimpleBlock"`
}
