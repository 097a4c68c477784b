package e2e

import (
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
	"github.com/jitsi-recorder/jitsi-recorder/internal/metadata"
)

type (
	metaParticipant = metadata.Participant
	specParticipant = media.Participant
)

func findMeta(ps []metaParticipant, name string) *metaParticipant {
	for i := range ps {
		if ps[i].Name == name {
			return &ps[i]
		}
	}
	return nil
}
