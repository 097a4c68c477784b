package bridge

import (
	"encoding/binary"
	"time"

	"github.com/pion/rtcp"
)

// bridgeSSRC is the sender SSRC of RTCP the bridge originates (key frame
// requests on subscription); receivers ignore it.
const bridgeSSRC = 0x4a564201

// videoPayloadType is VP8's payload type in the focus's offer
// (jingle.PayloadVP8), the only video codec it offers: the bridge tells
// video from audio (opus, 111) by it, as signalling gives it SSRCs only.
const videoPayloadType = 100

// isVideoRTP reports whether an RTP packet carries video.
func isVideoRTP(pkt []byte) bool {
	return len(pkt) >= 2 && pkt[1]&0x7f == videoPayloadType
}

// routeRTP forwards one decrypted RTP packet from src, unchanged, to every
// other ready endpoint of the conference that may receive its SSRC.
func (b *Bridge) routeRTP(src *endpoint, pkt []byte) {
	if len(pkt) < 12 {
		return
	}
	ssrc := binary.BigEndian.Uint32(pkt[8:12])
	src.statsMu.Lock()
	count(src.received, ssrc, len(pkt))
	src.noteRTP(ssrc, pkt, time.Now())
	src.statsMu.Unlock()
	b.learnOwner(src, ssrc)
	if b.paused.Load() {
		return
	}
	video := isVideoRTP(pkt)
	for _, dst := range b.receiversOf(src, ssrc) {
		if video && dst.lastN.Load() == 0 {
			continue // it asked for lastN 0, like a send-only participant
		}
		if err := dst.sess.writeRTP(pkt); err != nil {
			dst.log.Debug("forward RTP", "ssrc", ssrc, "err", err)
			continue
		}
		dst.statsMu.Lock()
		count(dst.forwarded, ssrc, len(pkt))
		dst.statsMu.Unlock()
	}
}

// learnOwner records src as the sender of ssrc unless signalling (SetSources)
// already named an owner that is still present.
func (b *Bridge) learnOwner(src *endpoint, ssrc uint32) {
	b.mu.RLock()
	owner, known := src.conf.owners[ssrc]
	b.mu.RUnlock()
	if known && owner == src {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if src.expired {
		return
	}
	if cur := src.conf.owners[ssrc]; cur == nil || cur.expired {
		src.conf.owners[ssrc] = src
		src.log.Debug("learned source owner", "ssrc", ssrc)
	}
}

// receiversOf lists the endpoints (other than src) that were told about ssrc
// and whose transport is up.
func (b *Bridge) receiversOf(src *endpoint, ssrc uint32) []*endpoint {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var out []*endpoint
	for _, ep := range src.conf.endpoints {
		if ep == src || !ep.receivable[ssrc] || ep.sess == nil || !ep.sess.ready() {
			continue
		}
		out = append(out, ep)
	}
	return out
}

// ownerOf returns the ready endpoint that sends ssrc, if any.
func (b *Bridge) ownerOf(c *conference, ssrc uint32) *endpoint {
	b.mu.RLock()
	defer b.mu.RUnlock()
	ep := c.owners[ssrc]
	if ep == nil || ep.expired || ep.sess == nil || !ep.sess.ready() {
		return nil
	}
	return ep
}

// routeRTCP handles a decrypted compound RTCP packet from src: sender reports
// go to the receivers of that SSRC (lip-sync), key frame requests and NACKs to
// the SSRC's owner; receiver reports, REMB, transport-cc and the rest end here.
func (b *Bridge) routeRTCP(src *endpoint, pkt []byte) {
	src.statsMu.Lock()
	src.rtcpReceived++
	src.statsMu.Unlock()
	pkts, err := rtcp.Unmarshal(pkt)
	if err != nil {
		src.log.Debug("drop malformed RTCP", "err", err)
		return
	}
	if b.paused.Load() {
		return
	}
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.SenderReport:
			src.statsMu.Lock()
			src.noteSR(p, time.Now())
			src.statsMu.Unlock()
			// Report blocks describe what src received from others; they mean
			// nothing to the receivers of src's stream.
			sr := *p
			sr.Reports, sr.ProfileExtensions = nil, nil
			for _, dst := range b.receiversOf(src, p.SSRC) {
				b.sendRTCP(dst, &sr)
			}
		case *rtcp.PictureLossIndication:
			b.toOwner(src, p.MediaSSRC, p)
		case *rtcp.FullIntraRequest:
			sent := map[*endpoint]bool{}
			for _, e := range p.FIR {
				owner := b.ownerOf(src.conf, e.SSRC)
				if owner != nil && owner != src && !sent[owner] {
					sent[owner] = true
					b.sendFeedback(owner, p.SenderSSRC, p)
				}
			}
		case *rtcp.TransportLayerNack:
			b.toOwner(src, p.MediaSSRC, p)
		default:
			// RR, REMB, transport-cc, SDES, BYE: the bridge terminates these.
		}
	}
}

func (b *Bridge) toOwner(src *endpoint, mediaSSRC uint32, p rtcp.Packet) {
	owner := b.ownerOf(src.conf, mediaSSRC)
	if owner == nil || owner == src {
		return
	}
	var sender uint32
	switch fb := p.(type) {
	case *rtcp.PictureLossIndication:
		sender = fb.SenderSSRC
	case *rtcp.TransportLayerNack:
		sender = fb.SenderSSRC
	}
	b.sendFeedback(owner, sender, p)
}

// sendFeedback sends feedback as a compound packet led by an empty receiver
// report, the form RFC 3550 asks for.
func (b *Bridge) sendFeedback(dst *endpoint, senderSSRC uint32, p rtcp.Packet) {
	b.sendRTCP(dst, &rtcp.ReceiverReport{SSRC: senderSSRC}, p)
}

func (b *Bridge) sendRTCP(dst *endpoint, pkts ...rtcp.Packet) {
	raw, err := rtcp.Marshal(pkts)
	if err != nil {
		dst.log.Debug("marshal RTCP", "err", err)
		return
	}
	if err := dst.sess.writeRTCP(raw); err != nil {
		dst.log.Debug("send RTCP", "err", err)
		return
	}
	dst.statsMu.Lock()
	dst.rtcpSent++
	dst.statsMu.Unlock()
}

// requestKeyFrames asks the owners of ssrcs for a key frame, so a new
// subscriber does not wait for the next periodic one.
func (b *Bridge) requestKeyFrames(sub *endpoint, ssrcs []uint32) {
	if b.paused.Load() {
		return
	}
	for _, ssrc := range ssrcs {
		owner := b.ownerOf(sub.conf, ssrc)
		if owner == nil || owner == sub {
			continue
		}
		sub.log.Debug("request key frame", "ssrc", ssrc, "owner", owner.id)
		b.sendFeedback(owner, bridgeSSRC, &rtcp.PictureLossIndication{SenderSSRC: bridgeSSRC, MediaSSRC: ssrc})
	}
}

// onEndpointReady runs when an endpoint's SRTP keys are in place: it may now
// receive, so ask for key frames of everything it subscribed to; and it may
// now be asked, so ask it for key frames of its sources that others already
// subscribed to (those requests were dropped while it was not ready).
func (b *Bridge) onEndpointReady(ep *endpoint) {
	b.mu.RLock()
	ssrcs := sortedKeys(ep.receivable)
	var wanted []uint32
	for ssrc := range ep.sources {
		for _, other := range ep.conf.endpoints {
			if other != ep && !other.expired && other.receivable[ssrc] {
				wanted = append(wanted, ssrc)
				break
			}
		}
	}
	b.mu.RUnlock()
	b.requestKeyFrames(ep, ssrcs)
	if b.paused.Load() {
		return
	}
	for _, ssrc := range wanted {
		ep.log.Debug("request key frame of own source for earlier subscribers", "ssrc", ssrc)
		b.sendFeedback(ep, bridgeSSRC, &rtcp.PictureLossIndication{SenderSSRC: bridgeSSRC, MediaSSRC: ssrc})
	}
}
