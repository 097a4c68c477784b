// participant.js: one synthetic participant. Sends known media (synth.js),
// joins the room (lab-client.js) and measures every remote participant.
//
// Query: room, index, name, password, spec (JSON of media.Spec), local=1
// (no meeting: its own media loops back through a loopback peer connection),
// sendonly=1 (asks the bridge for no video and measures nothing received:
// cheap, for a lab that serves a recording; its report has no remotes).
// JS API for the driver: window.labReport() -> report object,
// window.labLeave() -> Promise (leaves the conference).
'use strict';

(function () {
    // A remote's tone counts as heard above this level (sent at -12 dBFS).
    const HEARD_DB = -35;

    const q = new URLSearchParams(location.search);
    const index = parseInt(q.get('index') || '0', 10);
    let spec = null;
    try { spec = q.get('spec') ? JSON.parse(q.get('spec')) : null; } catch (e) { spec = null; }
    const me = (spec && spec.participants && spec.participants[index]) || {};
    const name = q.get('name') || me.name || 'Participant ' + (index + 1);
    const opts = {
        width: (spec && spec.width) || 640,
        height: (spec && spec.height) || 360,
        fps: (spec && spec.fps) || 30,
        color: q.get('color') || me.color || '#dc2828',
        name,
        toneHz: parseFloat(q.get('tone') || me.tone_hz || 440),
        markers: Object.assign({ period_ms: 5000, duration_ms: 100, beep_hz: 3000 }, (spec && spec.markers) || {}, {
            // Only the first participant beeps (all flash): the same 3 kHz
            // beep from several senders meets in a mix at a random relative
            // phase, and near opposite phase the beeps cancel out (seen:
            // every beep gone after a rejoin while the tones went on).
            beep: index === 0,
        }),
    };
    // Tones whose levels every receiver reports: all participants' and the beep.
    const tones = [];
    for (const p of (spec && spec.participants) || []) tones.push(p.tone_hz);
    if (!tones.includes(opts.toneHz)) tones.push(opts.toneHz);
    tones.push(opts.markers.beep_hz);

    const sendOnly = q.get('sendonly') === '1';
    const self = { index, name, endpointId: '', joined: false, error: '', mode: q.get('local') ? 'local' : 'meeting', sendOnly };
    const remotes = {}; // endpointId -> {name, receiver, left, joinedAt}
    const statusEl = document.getElementById('status');
    const status = s => { statusEl.textContent = s; };
    const fail = e => {
        const text = typeof e === 'string' ? e : LabClient.errText(e);
        if (!self.error) self.error = text;
        status('error: ' + text);
        console.error('lab participant:', text);
    };

    const audioCtx = new AudioContext({ sampleRate: 48000 });
    const sender = new LabSynth.Sender(audioCtx, opts);
    // Send-only pages show nothing: compositing the canvas on every frame
    // costs CPU and nobody looks; captureStream works off the document too.
    if (!sendOnly) document.getElementById('self').appendChild(sender.canvas);

    function remote(id) {
        if (!remotes[id]) {
            remotes[id] = {
                name: '', left: false, joinedAt: Date.now(),
                receiver: new LabSynth.Receiver({ audioCtx, tonesHz: tones, container: document.getElementById('remotes') }),
            };
        }
        return remotes[id];
    }

    function expectedTone(remoteName) {
        for (const p of (spec && spec.participants) || []) if (p.name === remoteName) return p.tone_hz;
        return 0;
    }

    window.labReport = () => {
        const out = {};
        for (const [id, r] of Object.entries(remotes)) {
            const m = r.receiver.report();
            const want = expectedTone(r.name);
            m.name = r.name;
            m.left = r.left;
            m.expectedToneHz = want;
            m.heard = want ? (m.toneLevelsDb[String(want)] || -200) > HEARD_DB : m.peakToneDb > HEARD_DB;
            out[id] = m;
        }
        return {
            self: Object.assign({}, self, {
                framesSent: sender.frames,
                flashFrames: sender.flashFrames,
                lastFlashAt: sender.lastFlashAt,
                flashLate: sender.flashLate,
                lastBeepAt: sender.scheduledBeeps.filter(t => t <= Date.now()).pop() || 0,
                audioState: audioCtx.state,
                color: opts.color,
                toneHz: opts.toneHz,
            }),
            remotes: out,
        };
    };

    let session = null;
    window.labLeave = async () => {
        if (session) await session.leave();
        for (const r of Object.values(remotes)) { r.left = true; r.receiver.close(); }
        sender.stop();
        self.joined = false;
        status('left');
    };

    async function start() {
        if (audioCtx.state !== 'running') await audioCtx.resume().catch(() => {});
        if (self.mode === 'local') return startLocal();
        status('loading');
        const cfg = await LabClient.load();
        const room = (q.get('room') || '').toLowerCase();
        if (!room) throw new Error('no room in the URL');
        const localTracks = await LabClient.createLocalTracks(sender.audioTrack(), sender.videoTrack());
        status('joining ' + room);
        const joined = id => { self.endpointId = id; self.joined = true; status('joined ' + room + ' as ' + id); };
        const joinOpts = { name, password: q.get('password') || '', localTracks };
        if (sendOnly) {
            // No video from the bridge, and no receivers: what arrives (the
            // others' audio) is left unplayed and unanalysed.
            session = LabClient.join(cfg, room, Object.assign(joinOpts, { lastN: 0 }), { onJoined: joined, onError: fail });
            return;
        }
        session = LabClient.join(cfg, room, joinOpts, {
            onJoined: joined,
            onError: fail,
            onUserJoined: (id, n) => { const r = remote(id); if (n) r.name = n; r.left = false; },
            onDisplayName: (id, n) => { remote(id).name = n; },
            onUserLeft: id => { const r = remote(id); r.left = true; r.receiver.close(); },
            onTrackAdded: t => {
                const r = remote(t.getParticipantId());
                if (!r.name && session.conference) {
                    const p = session.conference.getParticipantById(t.getParticipantId());
                    if (p && p.getDisplayName()) r.name = p.getDisplayName();
                }
                const stream = t.getOriginalStream();
                if (t.getType() === 'video') r.receiver.setVideo(stream); else r.receiver.setAudio(stream);
            },
            onTrackRemoved: t => remote(t.getParticipantId()).receiver.removeTrack(t.getType()),
        });
    }

    // startLocal sends the synthetic media through a pair of peer connections
    // on loopback and measures what comes out, as a receiver would.
    async function startLocal() {
        const a = new RTCPeerConnection({ iceServers: [] });
        const b = new RTCPeerConnection({ iceServers: [] });
        // Only loopback candidates: nothing may leave 127.0.0.1.
        const relay = to => ev => {
            if (ev.candidate && / 127\.0\.0\.1 /.test(ev.candidate.candidate)) to.addIceCandidate(ev.candidate).catch(fail);
        };
        a.onicecandidate = relay(b);
        b.onicecandidate = relay(a);
        const r = remote('loopback');
        r.name = name;
        b.ontrack = ev => {
            const stream = new MediaStream([ev.track]);
            if (ev.track.kind === 'video') r.receiver.setVideo(stream); else r.receiver.setAudio(stream);
        };
        a.addTrack(sender.audioTrack());
        a.addTrack(sender.videoTrack());
        const offer = await a.createOffer();
        await a.setLocalDescription(offer);
        await b.setRemoteDescription(offer);
        const answer = await b.createAnswer();
        await b.setLocalDescription(answer);
        await a.setRemoteDescription(answer);
        window.labLoopback = { a, b };
        self.endpointId = 'local';
        self.joined = true;
        status('local loopback');
    }

    start().catch(fail);
})();
