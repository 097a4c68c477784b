package participants

// Report is what one participant's page measured (its labReport()).
type Report struct {
	// Index is the participant's index in the spec; Present says whether its
	// tab was open when the report was taken.
	Index   int               `json:"-"`
	Present bool              `json:"-"`
	Self    SelfReport        `json:"self"`
	Remotes map[string]Remote `json:"remotes"` // by endpoint id
}

// SelfReport describes the participant itself.
type SelfReport struct {
	Index       int    `json:"index"`
	Name        string `json:"name"`
	EndpointID  string `json:"endpointId"`
	Joined      bool   `json:"joined"`
	Error       string `json:"error"`
	Mode        string `json:"mode"` // "meeting" or "local"
	FramesSent  int    `json:"framesSent"`
	FlashFrames int    `json:"flashFrames"`
	LastFlashAt int64  `json:"lastFlashAt"` // unix ms of the last white frame drawn
	// FlashLate pairs each recent marker's instant (unix ms) with how many
	// ms after it the sender drew its first white frame: a busy sender's
	// timer fires late, and its video is then late at every receiver.
	FlashLate  [][2]int64 `json:"flashLate"`
	LastBeepAt int64      `json:"lastBeepAt"` // unix ms of the last beep started
	AudioState string     `json:"audioState"`
	Color      string     `json:"color"`
	ToneHz     float64    `json:"toneHz"`
}

// Remote is what a participant received from one other participant.
type Remote struct {
	Name                  string             `json:"name"`
	VideoFrames           int                `json:"videoFrames"`
	VideoFPS              float64            `json:"videoFps"` // over the last 2 s
	VideoFramesIncreasing bool               `json:"videoFramesIncreasing"`
	VideoColor            string             `json:"videoColor"`   // mean colour of a corner, #rrggbb
	ToneLevelsDB          map[string]float64 `json:"toneLevelsDb"` // by Hz as text: median of the last 3 s
	ToneMaxDB             map[string]float64 `json:"toneMaxDb"`    // by Hz as text: maximum of the last 6 s (marker beeps)
	PeakToneHz            float64            `json:"peakToneHz"`
	PeakToneDB            float64            `json:"peakToneDb"`
	ExpectedToneHz        float64            `json:"expectedToneHz"`
	Heard                 bool               `json:"heard"`
	Tracks                []string           `json:"tracks"`
	Left                  bool               `json:"left"`
}
