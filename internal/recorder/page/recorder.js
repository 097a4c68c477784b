// recorder.js: the in-browser half of jitsi-recorder. It joins a meeting with
// the deployment's own lib-jitsi-meet (sending no media), draws the remote
// video onto one canvas, mixes the remote audio with WebAudio, encodes both
// with one MediaRecorder and hands the chunks to Go through the CDP binding
// __recorderEmit. The contract with the Go side is in page.go.
// start({capture: 'tracks'}) does none of the compositing: it taps each
// receiver's encoded frames instead (section "track capture"; wire format
// in docs/page-contract.md).
'use strict';

(function () {
    const BINDING = '__recorderEmit';

    // ---------------------------------------------------------------- events

    // Secrets never leave the page, not even inside an error message.
    let secrets = [];

    function scrub(text) {
        let s = String(text === undefined || text === null ? '' : text);
        for (const secret of secrets) {
            if (secret) {
                s = s.split(secret).join('***');
            }
        }
        return s;
    }

    function emit(ev) {
        const fn = window[BINDING];
        if (typeof fn !== 'function') {
            return;
        }
        try {
            fn(JSON.stringify(ev));
        } catch (e) {
            console.warn('recorder: emit failed', e);
        }
    }

    function emitState(state, t) {
        emit({ type: 'state', state, t: t || Date.now() });
    }

    function emitError(code, message) {
        emit({ type: 'error', code, message: scrub(message) });
    }

    // CodedError carries a contract error code as its message, so that the
    // Go side sees the code as the exception text of recorder.start().
    class CodedError extends Error {
        constructor(code, detail) {
            super(code);
            this.code = code;
            this.detail = scrub(detail || code);
        }
    }

    // ---------------------------------------------------------------- layout

    // gridShape returns columns and rows for n tiles: 1 -> 1x1, 2 -> 2x1,
    // 3-4 -> 2x2, 5-6 -> 3x2, 7-9 -> 3x3.
    function gridShape(n) {
        if (n <= 1) {
            return [ 1, 1 ];
        }
        if (n === 2) {
            return [ 2, 1 ];
        }
        if (n <= 4) {
            return [ 2, 2 ];
        }
        if (n <= 6) {
            return [ 3, 2 ];
        }

        return [ 3, 3 ];
    }

    function rect(x, y, w, h) {
        return { x: Math.round(x), y: Math.round(y), w: Math.round(w), h: Math.round(h) };
    }

    // computeLayout decides what goes where. people are in join order, each
    // {id, name, order, lastSpoke}; share is the desktop source on stage or
    // null. A share takes the stage with everybody in a strip; up to 9
    // people share a grid; more get the active speaker on stage.
    function computeLayout(W, H, people, dominant, share) {
        const n = people.length;
        if (n === 0 && !share) {
            return { mode: 'empty', tiles: [] };
        }
        if (!share && n <= 9) {
            const [ cols, rows ] = gridShape(n);
            const cw = W / cols;
            const ch = H / rows;
            const tiles = people.map((p, i) => {
                const row = Math.floor(i / cols);
                const inRow = Math.min(cols, n - row * cols);
                const x0 = (W - inRow * cw) / 2; // centre an incomplete last row
                return {
                    participantId: p.id, name: p.name, source: 'camera', stage: false,
                    rect: rect(x0 + (i % cols) * cw, row * ch, cw, ch)
                };
            });

            return { mode: 'grid', tiles };
        }
        const stripH = Math.round(H * 0.2);
        const stage = rect(0, 0, W, H - stripH);
        let onStage;
        let others;
        let mode;
        if (share) {
            mode = 'share';
            const owner = people.find(p => p.id === share.participantId);
            onStage = {
                participantId: share.participantId,
                name: owner ? owner.name : share.participantId,
                source: 'desktop', stage: true, rect: stage
            };
            others = people.slice();
        } else {
            mode = 'speaker';
            const speaker = people.find(p => p.id === dominant) || byRecency(people)[0];
            onStage = { participantId: speaker.id, name: speaker.name, source: 'camera', stage: true, rect: stage };
            others = people.filter(p => p.id !== speaker.id);
        }
        const maxStrip = Math.max(1, Math.floor(W / (stripH * 4 / 3)));
        others = byRecency(others).slice(0, maxStrip);
        // keep the strip in join order so that tiles do not jump around
        others.sort((a, b) => a.order - b.order);
        const tiles = [ onStage ];
        if (others.length) {
            const tw = Math.min(stripH * 16 / 9, W / others.length);
            const x0 = (W - tw * others.length) / 2;
            others.forEach((p, i) => {
                tiles.push({
                    participantId: p.id, name: p.name, source: 'camera', stage: false,
                    rect: rect(x0 + i * tw, H - stripH, tw, stripH)
                });
            });
        }

        return { mode, tiles };
    }

    // byRecency orders people by who spoke last, then by who joined first.
    function byRecency(people) {
        return people.slice().sort((a, b) => (b.lastSpoke - a.lastSpoke) || (a.order - b.order));
    }

    // ---------------------------------------------------------------- drawing

    const PALETTE = [ '#5d6d7e', '#6c5b7b', '#355c7d', '#4f6d5a', '#7d5a50', '#56667a', '#6b6b47', '#4a5d73' ];

    function colourFor(id) {
        let h = 0;
        for (let i = 0; i < id.length; i++) {
            h = ((h * 31) + id.charCodeAt(i)) >>> 0;
        }

        return PALETTE[h % PALETTE.length];
    }

    function initials(name) {
        const words = String(name || '').trim().split(/\s+/).filter(Boolean);
        if (!words.length) {
            return '?';
        }
        const letters = words.length === 1 ? [ ...words[0] ].slice(0, 2) : [ [ ...words[0] ][0], [ ...words[1] ][0] ];

        return letters.join('').toUpperCase();
    }

    // A tile's content is inset by GAP so that neighbours stay apart.
    const GAP = 2;

    class Compositor {
        constructor(width, height) {
            this.W = width;
            this.H = height;
            this.canvas = document.createElement('canvas');
            this.canvas.width = width;
            this.canvas.height = height;
            this.ctx = this.canvas.getContext('2d', { alpha: false, desynchronized: true });
            this.people = new Map(); // id -> {id, name, order, lastSpoke}
            this.videos = new Map(); // key -> {key, participantId, videoType, muted, mst, el, jitsiTrack, since}
            this.dominant = null;
            this.nextOrder = 0;
            this.frames = 0;
            this.drawMs = 0; // main-thread time spent drawing, summed
            this.drawnSig = ''; // the layout on the canvas
            this.tileDrawn = []; // per tile: {content, at} as last drawn
            this.layout = { mode: 'empty', tiles: [] };
            this.onLayout = null;
            this.layoutSig = '';
        }

        addPerson(id, name) {
            const p = this.people.get(id);
            if (p) {
                p.name = name || p.name;

                return;
            }
            this.people.set(id, { id, name: name || id, order: this.nextOrder++, lastSpoke: 0 });
        }

        removePerson(id) {
            this.people.delete(id);
            if (this.dominant === id) {
                this.dominant = null;
            }
        }

        rename(id, name) {
            const p = this.people.get(id);
            if (p && name) {
                p.name = name;
            }
        }

        setDominant(id) {
            this.dominant = id;
            const p = this.people.get(id);
            if (p) {
                p.lastSpoke = performance.now();
            }
        }

        addVideo(key, participantId, mst, videoType, muted, jitsiTrack) {
            this.removeVideo(key);
            const el = document.createElement('video');
            el.muted = true;
            el.autoplay = true;
            el.playsInline = true;
            el.srcObject = new MediaStream([ mst ]);
            mediaContainer().appendChild(el);
            el.play().catch(() => { /* autoplay retries on its own */ });
            this.videos.set(key, {
                key, participantId, videoType: videoType || 'camera', muted: Boolean(muted),
                mst, el, jitsiTrack, since: performance.now()
            });
        }

        removeVideo(key) {
            const v = this.videos.get(key);
            if (!v) {
                return;
            }
            this.videos.delete(key);
            v.el.pause();
            v.el.srcObject = null;
            v.el.remove();
        }

        setVideoMuted(key, muted) {
            const v = this.videos.get(key);
            if (v && v.muted !== Boolean(muted)) {
                v.muted = Boolean(muted);
                if (!v.muted) {
                    v.since = performance.now();
                }
            }
        }

        setVideoType(key, videoType) {
            const v = this.videos.get(key);
            if (v && videoType && v.videoType !== videoType) {
                v.videoType = videoType;
                v.since = performance.now();
            }
        }

        // share picks the screen share for the stage: the active speaker's,
        // else the one that started last. Signalled mute removes it at once.
        share() {
            let best = null;
            for (const v of this.videos.values()) {
                if (v.videoType !== 'desktop' || v.muted || v.mst.readyState !== 'live' || !this.people.has(v.participantId)) {
                    continue;
                }
                if (!best
                    || (v.participantId === this.dominant && best.participantId !== this.dominant)
                    || (v.since > best.since && (best.participantId !== this.dominant || v.participantId === this.dominant))) {
                    best = v;
                }
            }

            return best;
        }

        // videoFor returns the live video source for a tile, or null for a name tile.
        videoFor(tile) {
            let best = null;
            for (const v of this.videos.values()) {
                if (v.participantId !== tile.participantId || !isShowable(v)) {
                    continue;
                }
                const wanted = tile.source === 'desktop' ? v.videoType === 'desktop' : v.videoType !== 'desktop';
                if (wanted && (!best || v.since > best.since)) {
                    best = v;
                }
            }

            return best;
        }

        computeLayout() {
            const people = [ ...this.people.values() ].sort((a, b) => a.order - b.order);
            this.layout = computeLayout(this.W, this.H, people, this.dominant, this.share());
            // Tracks count too: a video that arrives after its owner changes
            // the receiver constraints, not the tiles.
            const sig = JSON.stringify([
                this.layout.tiles.map(t => [ t.participantId, t.source, t.rect.h ]),
                [ ...this.videos.values() ].map(v => [ v.key, v.participantId, v.videoType ])
            ]);
            if (sig !== this.layoutSig) {
                this.layoutSig = sig;
                if (this.onLayout) {
                    try {
                        this.onLayout(this.layout);
                    } catch (e) {
                        console.warn('recorder: layout callback', e);
                    }
                }
            }

            return this.layout;
        }

        // draw brings the canvas up to date. Drawing a video frame costs the
        // main thread most of a millisecond (YUV to RGB and scaling, in
        // software): only tiles whose video has a new frame are drawn again,
        // the rest of the canvas stays as it was. A new layout redraws
        // everything, and every tile is redrawn at least once a second.
        draw() {
            const began = performance.now();
            const ctx = this.ctx;
            const layout = this.computeLayout();
            const sig = JSON.stringify([ layout.mode, layout.tiles.map(t => [ t.participantId, t.source, t.name, t.rect ]) ]);
            const full = sig !== this.drawnSig || layout.mode === 'empty';
            if (full) {
                this.drawnSig = sig;
                this.tileDrawn = [];
                ctx.fillStyle = '#111111';
                ctx.fillRect(0, 0, this.W, this.H);
            }
            if (layout.mode === 'empty') {
                this.drawWaiting();
            }
            layout.tiles.forEach((tile, i) => {
                const r = tile.rect;
                const x = r.x + GAP;
                const y = r.y + GAP;
                const w = r.w - 2 * GAP;
                const h = r.h - 2 * GAP;
                if (w <= 0 || h <= 0) {
                    return;
                }
                const v = this.videoFor(tile);
                const frame = v ? framesOf(v.el) : 0;
                const content = v ? (frame < 0 ? null : `${v.key}#${frame}`) : 'name';
                const last = this.tileDrawn[i];
                if (!full && content !== null && last && last.content === content && began - last.at < 1000) {
                    return;
                }
                this.tileDrawn[i] = { content, at: began };
                ctx.fillStyle = '#1c1c1c';
                ctx.fillRect(x, y, w, h);
                if (v) {
                    drawContain(ctx, v.el, x, y, w, h);
                } else {
                    this.drawNameTile(tile, x, y, w, h);
                }
                const label = tile.source === 'desktop' ? `${tile.name} (screen)` : tile.name;
                if (v || tile.source === 'desktop') {
                    this.drawLabel(label, x, y, w, h);
                }
            });
            if (!full) {
                // The canvas gives captureStream a frame only when something
                // was drawn: repaint one background pixel (tiles are inset by
                // GAP) so the file keeps a constant frame rate.
                ctx.fillStyle = '#111111';
                ctx.fillRect(0, 0, 1, 1);
            }
            this.frames++;
            this.drawMs += performance.now() - began;
        }

        drawWaiting() {
            const ctx = this.ctx;
            ctx.fillStyle = '#888888';
            ctx.font = `${Math.round(this.H / 24)}px sans-serif`;
            ctx.textAlign = 'center';
            ctx.textBaseline = 'middle';
            ctx.fillText('Waiting for participants\u2026', this.W / 2, this.H / 2);
        }

        drawNameTile(tile, x, y, w, h) {
            const ctx = this.ctx;
            const radius = Math.max(8, Math.min(w, h) * 0.2);
            const cx = x + w / 2;
            const cy = y + h / 2 - radius * 0.25;
            ctx.fillStyle = colourFor(tile.participantId);
            ctx.beginPath();
            ctx.arc(cx, cy, radius, 0, 2 * Math.PI);
            ctx.fill();
            ctx.fillStyle = '#ffffff';
            ctx.textAlign = 'center';
            ctx.textBaseline = 'middle';
            ctx.font = `bold ${Math.round(radius * 0.8)}px sans-serif`;
            ctx.fillText(initials(tile.name), cx, cy);
            const fs = fontSize(h);
            ctx.font = `${fs}px sans-serif`;
            ctx.fillStyle = '#dddddd';
            ctx.fillText(fitText(ctx, tile.name, w - 8), cx, Math.min(y + h - fs, cy + radius + fs));
        }

        drawLabel(text, x, y, w, h) {
            const ctx = this.ctx;
            const fs = fontSize(h);
            ctx.font = `${fs}px sans-serif`;
            const t = fitText(ctx, text, w - 4 * fs / 2);
            const tw = ctx.measureText(t).width;
            const pad = Math.round(fs * 0.4);
            const bh = fs + 2 * pad;
            const bx = x + pad;
            const by = y + h - bh - pad;
            ctx.fillStyle = 'rgba(0,0,0,0.6)';
            ctx.fillRect(bx, by, tw + 2 * pad, bh);
            ctx.fillStyle = '#ffffff';
            ctx.textAlign = 'left';
            ctx.textBaseline = 'middle';
            ctx.fillText(t, bx + pad, by + bh / 2);
        }
    }

    function fontSize(h) {
        return Math.max(11, Math.min(26, Math.round(h / 14)));
    }

    function fitText(ctx, text, maxW) {
        if (ctx.measureText(text).width <= maxW) {
            return text;
        }
        let s = text;
        while (s.length > 1 && ctx.measureText(`${s}\u2026`).width > maxW) {
            s = s.slice(0, -1);
        }

        return `${s}\u2026`;
    }

    // framesOf counts the frames a video element has received, -1 when the
    // browser does not say. The count moves as a frame arrives (unlike
    // requestVideoFrameCallback, which waits for the page's rendering step
    // and would draw the frame a tick late).
    function framesOf(el) {
        if (typeof el.webkitDecodedFrameCount === 'number') {
            return el.webkitDecodedFrameCount;
        }
        if (typeof el.getVideoPlaybackQuality === 'function') {
            return el.getVideoPlaybackQuality().totalVideoFrames;
        }

        return -1;
    }

    // drawContain draws the video letterboxed: its aspect ratio is kept.
    function drawContain(ctx, el, x, y, w, h) {
        const vw = el.videoWidth;
        const vh = el.videoHeight;
        const scale = Math.min(w / vw, h / vh);
        const dw = vw * scale;
        const dh = vh * scale;
        ctx.drawImage(el, x + (w - dw) / 2, y + (h - dh) / 2, dw, dh);
    }

    // isShowable: a leaving participant's track fires "mute" rather than
    // "ended", and the bridge may stop forwarding a source; both would show a
    // frozen last frame, so such a tile falls back to the name tile.
    function isShowable(v) {
        if (v.muted || v.mst.readyState !== 'live' || v.mst.muted) {
            return false;
        }
        if (v.el.readyState < 2 || !v.el.videoWidth || !v.el.videoHeight) {
            return false;
        }
        const jt = v.jitsiTrack;
        if (jt && typeof jt.getTrackStreamingStatus === 'function') {
            try {
                if (jt.getTrackStreamingStatus() === 'inactive') {
                    return false;
                }
            } catch (e) { /* older lib: no status */ }
        }

        return true;
    }

    function mediaContainer() {
        let c = document.getElementById('media');
        if (!c) {
            c = document.createElement('div');
            c.id = 'media';
            c.style.cssText = 'position:fixed;left:0;top:0;width:1px;height:1px;overflow:hidden;opacity:0;pointer-events:none';
            document.body.appendChild(c);
        }

        return c;
    }

    // ---------------------------------------------------------------- audio

    // Mixer sums every remote audio track into one WebAudio destination, so
    // the recording has one fixed audio track whatever comes and goes.
    class Mixer {
        constructor() {
            this.ac = new AudioContext({ sampleRate: 48000, latencyHint: 'interactive' });
            this.dest = this.ac.createMediaStreamDestination();
            // A destination with no inputs delivers no audio at all, and a
            // MediaRecorder with audio and video then waits and records
            // nothing: a silent constant source keeps the audio clock going.
            this.silence = this.ac.createConstantSource();
            this.silence.offset.value = 0;
            this.silence.connect(this.dest);
            this.silence.start();
            this.sources = new Map(); // key -> {el, node}
        }

        resume() {
            return this.ac.resume().catch(() => { /* retried on the next track */ });
        }

        add(key, mst) {
            this.remove(key);
            const stream = new MediaStream([ mst ]);
            // Without a playing media element, remote WebRTC audio is silent in WebAudio.
            const el = document.createElement('audio');
            el.autoplay = true;
            el.srcObject = stream;
            // (createMediaElementSource is no alternative: it is silent for
            // a MediaStream srcObject in Chromium.)
            el.muted = true;
            const node = this.ac.createMediaStreamSource(stream);
            mediaContainer().appendChild(el);
            el.play().catch(() => { /* autoplay retries on its own */ });
            node.connect(this.dest);
            this.sources.set(key, { el, node });
            this.resume();
        }

        remove(key) {
            const s = this.sources.get(key);
            if (!s) {
                return;
            }
            this.sources.delete(key);
            s.node.disconnect();
            s.el.pause();
            s.el.srcObject = null;
            s.el.remove();
        }

        track() {
            return this.dest.stream.getAudioTracks()[0];
        }

        close() {
            for (const key of [ ...this.sources.keys() ]) {
                this.remove(key);
            }
            this.ac.close().catch(() => { /* already closed */ });
        }
    }

    // ---------------------------------------------------------------- lip sync

    // Jitsi senders put their audio and their video in different
    // MediaStreams (different msid stream ids), so Chrome's receiver never
    // synchronises them: each participant's audio arrived ~45 ms after its
    // video in the lab, and up to hundreds of ms apart under load. Chrome
    // applies its RTCP-sender-report A/V sync to tracks that share a stream
    // id, so the remote description can be rewritten to give the first audio
    // and the first video m-line of each owner one stream id. Owners come
    // from lib-jitsi-meet's signaling layer (Jingle's ssrc-info), which the
    // lib fills before it sets the remote description. Anything unexpected
    // leaves the SDP as it was.
    //
    // It is off unless start() gets {lipSync: true}: in the lab it made each
    // participant's offset steadier on an idle machine (-64..-99 ms over a
    // recording) but not smaller, and on a CPU-starved one audio ended up
    // 40-420 ms later than without it (Chrome then delays audio to match a
    // late video pipeline the compositor does not wait for).

    // groupStreamsByOwner returns sdp with the audio and video of each SSRC
    // owner under one msid stream id, or sdp itself when nothing applies.
    // ownerOf(ssrc) returns the owner's id or a falsy value.
    function groupStreamsByOwner(sdp, ownerOf) {
        if (typeof sdp !== 'string' || !sdp.includes('\nm=')) {
            return sdp;
        }
        const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
        const lines = sdp.split(eol);
        const sections = [];
        for (let i = 0; i < lines.length; i++) {
            if (lines[i].startsWith('m=')) {
                sections.push({ start: i, end: lines.length, kind: lines[i].slice(2).split(' ')[0] });
                if (sections.length > 1) {
                    sections[sections.length - 2].end = i;
                }
            }
        }
        const taken = new Set(); // owner/kind already grouped
        let changed = false;
        for (const s of sections) {
            if (s.kind !== 'audio' && s.kind !== 'video') {
                continue;
            }
            let ssrc = null;
            const ids = new Set();
            for (let i = s.start; i < s.end; i++) {
                const l = lines[i];
                let m = /^a=ssrc:(\d+) /.exec(l);
                if (m && ssrc === null) {
                    ssrc = Number(m[1]);
                }
                m = /^a=msid:(\S+) \S+$/.exec(l) || /^a=ssrc:\d+ msid:(\S+) \S+$/.exec(l);
                if (m) {
                    ids.add(m[1]);
                }
            }
            if (ssrc === null || ids.size !== 1) {
                continue; // no source, or stream ids that disagree: leave it
            }
            let owner;
            try {
                owner = ownerOf(ssrc);
            } catch (e) {
                owner = null;
            }
            if (!owner || typeof owner !== 'string' || taken.has(`${owner}/${s.kind}`)) {
                continue;
            }
            taken.add(`${owner}/${s.kind}`);
            const from = [ ...ids ][0];
            const to = `recsync-${owner.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
            if (from === to) {
                continue;
            }
            for (let i = s.start; i < s.end; i++) {
                const l = lines[i];
                if (l.startsWith(`a=msid:${from} `)) {
                    lines[i] = `a=msid:${to} ${l.slice(`a=msid:${from} `.length)}`;
                } else {
                    const m = /^(a=ssrc:\d+ msid:)(\S+)( \S+)$/.exec(l);
                    if (m && m[2] === from) {
                        lines[i] = m[1] + to + m[3];
                    }
                }
            }
            changed = true;
        }

        return changed ? lines.join(eol) : sdp;
    }

    // peerConnections are the connections media arrives on (seen when their
    // remote description is set), for the playout aligner.
    const peerConnections = new Set();

    // PlayoutAligner delays video playout to match audio. Jitsi senders put
    // each track in its own stream, so Chrome does not lip-sync them, and
    // audio (NetEq's jitter buffer, then the WebAudio mix) reaches the
    // recording later than video. Every second it reads how long audio and
    // video wait in their jitter buffers (getStats) and sets each video
    // receiver's jitterBufferTarget to the difference plus the mix's own
    // latency, so a beep and a flash sent together are recorded together.
    class PlayoutAligner {
        constructor(extraAudioMs) {
            this.extraAudioMs = extraAudioMs;
            this.prev = new Map(); // inbound-rtp id -> {delay, count}
            this.targetMs = 0;
            this.timer = setInterval(() => this.tick().catch(e => console.warn('recorder: playout aligner', e)), 1000);
        }

        async tick() {
            const audio = [];
            const video = [];
            const receivers = [];
            for (const pc of peerConnections) {
                if (pc.connectionState === 'closed') {
                    peerConnections.delete(pc);
                    continue;
                }
                const stats = await pc.getStats();
                stats.forEach(r => {
                    if (r.type !== 'inbound-rtp' || !r.jitterBufferEmittedCount) {
                        return;
                    }
                    const p = this.prev.get(r.id);
                    this.prev.set(r.id, { delay: r.jitterBufferDelay, count: r.jitterBufferEmittedCount });
                    if (!p || r.jitterBufferEmittedCount <= p.count) {
                        return;
                    }
                    // Mean wait of what left the buffer since the last tick, in ms.
                    const ms = 1000 * (r.jitterBufferDelay - p.delay) / (r.jitterBufferEmittedCount - p.count);
                    (r.kind === 'audio' ? audio : video).push(ms);
                });
                for (const rc of pc.getReceivers()) {
                    if (rc.track && rc.track.kind === 'video' && 'jitterBufferTarget' in rc) {
                        receivers.push(rc);
                    }
                }
            }
            // Receivers that came after the last change (a rejoin, a new
            // participant) get the learned target at once: waiting for
            // their own statistics leaves their first seconds out of sync.
            if (this.adjusted) {
                for (const rc of receivers) {
                    if (rc.jitterBufferTarget !== this.targetMs) {
                        try {
                            rc.jitterBufferTarget = this.targetMs;
                        } catch (e) { /* reported when the target changes */ }
                    }
                }
            }
            if (!audio.length || !video.length) {
                return;
            }
            const want = Math.max(0, Math.min(1000,
                median(audio) + this.extraAudioMs - median(video) + this.targetMs));
            // Move slowly and only for real changes: the buffer follows its
            // target over a few seconds, and each change is a visible step.
            // The first estimate is taken whole, so the start of the
            // recording is not left out of sync while the target ramps up.
            const gain = this.adjusted ? 0.5 : 1;
            this.adjusted = true;
            const next = Math.round(this.targetMs + gain * (want - this.targetMs));
            if (Math.abs(next - this.targetMs) < 5 && receivers.every(rc => rc.jitterBufferTarget === this.targetMs)) {
                return;
            }
            this.targetMs = next;
            console.info(`recorder: video playout target ${next} ms (audio ${median(audio).toFixed(0)} ms, video ${median(video).toFixed(0)} ms)`);
            for (const rc of receivers) {
                try {
                    rc.jitterBufferTarget = this.targetMs;
                } catch (e) {
                    console.warn('recorder: jitterBufferTarget not settable', e);
                }
            }
        }

        stop() {
            clearInterval(this.timer);
        }
    }

    function median(xs) {
        const s = [...xs].sort((a, b) => a - b);
        const m = s.length >> 1;

        return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
    }

    // lipSync holds the owner lookup of the current conference.
    const lipSync = { ownerOf: null, grouped: 0 };

    // installLipSync wraps setRemoteDescription once; without an owner
    // lookup (no conference yet, or a lib without a signaling layer) it
    // passes descriptions through unchanged.
    function installLipSync() {
        const PC = window.RTCPeerConnection;
        if (!PC || !PC.prototype || typeof PC.prototype.setRemoteDescription !== 'function'
            || PC.prototype.setRemoteDescription.__recorderLipSync) {
            return;
        }
        const original = PC.prototype.setRemoteDescription;
        const wrapped = function (desc, ...rest) {
            peerConnections.add(this);
            try {
                if (lipSync.ownerOf && desc && typeof desc.sdp === 'string'
                    && (desc.type === 'offer' || desc.type === 'answer')) {
                    const sdp = groupStreamsByOwner(desc.sdp, lipSync.ownerOf);
                    if (sdp !== desc.sdp) {
                        lipSync.grouped++;
                        console.info(`recorder: lip sync: remote audio and video grouped by owner (${lipSync.grouped})`);
                        desc = { type: desc.type, sdp };
                    }
                }
            } catch (e) {
                console.warn('recorder: lip sync SDP left unchanged', e);
            }

            return original.call(this, desc, ...rest);
        };
        wrapped.__recorderLipSync = true;
        PC.prototype.setRemoteDescription = wrapped;
    }

    // ownerLookup returns ssrc -> owner from the conference's signaling
    // layer, or null if this lib has none.
    function ownerLookup(conf) {
        const sl = conf && conf._signalingLayer;
        if (!sl || typeof sl.getSSRCOwner !== 'function') {
            return null;
        }

        return ssrc => sl.getSSRCOwner(ssrc);
    }

    // ---------------------------------------------------------------- timer

    // Ticker calls fn at a steady rate from a worker's timer: rAF does not run
    // in a headless tab, and worker timers are not throttled. The worker keeps
    // the rate from drifting by aiming at absolute times.
    class Ticker {
        constructor(hz, fn) {
            this.fn = fn;
            const src = `let timer = null;
onmessage = (e) => {
    clearTimeout(timer);
    const iv = e.data;
    if (!iv) return;
    let next = performance.now();
    const tick = () => {
        postMessage(0);
        next += iv;
        const now = performance.now();
        if (next < now - iv) next = now;
        timer = setTimeout(tick, Math.max(0, next - now));
    };
    tick();
};`;
            try {
                this.url = URL.createObjectURL(new Blob([ src ], { type: 'text/javascript' }));
                this.worker = new Worker(this.url);
                this.worker.onmessage = () => this.fn();
                this.worker.postMessage(1000 / hz);
            } catch (e) {
                console.warn('recorder: worker timer unavailable, using setInterval', e);
                this.worker = null;
                this.interval = setInterval(() => this.fn(), 1000 / hz);
            }
        }

        stop() {
            if (this.worker) {
                this.worker.postMessage(0);
                this.worker.terminate();
                URL.revokeObjectURL(this.url);
                this.worker = null;
            }
            if (this.interval) {
                clearInterval(this.interval);
                this.interval = null;
            }
        }
    }

    // ---------------------------------------------------------------- encoder

    function blobToBase64(blob) {
        return new Promise((resolve, reject) => {
            const r = new FileReader();
            r.onload = () => {
                // The data URL's type may itself contain commas
                // (codecs=avc1,opus): split on ";base64,", not the first comma.
                const s = String(r.result);
                const i = s.indexOf(';base64,');
                resolve(i >= 0 ? s.slice(i + 8) : s.slice(s.indexOf(',') + 1));
            };
            r.onerror = () => reject(r.error || new Error('FileReader failed'));
            r.readAsDataURL(blob);
        });
    }

    function describeMime(mime) {
        const m = String(mime || '').toLowerCase();
        let container = 'webm';
        if (m.includes('matroska')) {
            container = 'matroska';
        } else if (m.includes('mp4')) {
            container = 'mp4';
        } else if (m.includes('ogg')) {
            container = 'ogg';
        }
        let videoCodec = '';
        if (!m.startsWith('audio/')) {
            if (/avc1|h264/.test(m)) {
                videoCodec = 'h264';
            } else if (/vp09|vp9/.test(m)) {
                videoCodec = 'vp9';
            } else if (/vp8/.test(m)) {
                videoCodec = 'vp8';
            } else if (/av01|av1/.test(m)) {
                videoCodec = 'av1';
            }
        }
        let audioCodec = '';
        if (m.includes('opus')) {
            audioCodec = 'opus';
        } else if (m.includes('pcm')) {
            audioCodec = 'pcm';
        } else if (/mp4a|aac/.test(m)) {
            audioCodec = 'aac';
        }

        return { container, videoCodec, audioCodec };
    }

    // Encoder runs one MediaRecorder over a fixed stream (tracks cannot be
    // added after start) and emits its chunks in order.
    //
    // Each Encoder is one generation: gen 0 is the first of a page load,
    // restartEncoder() makes gen+1 on the same stream. A generation's chunk
    // seq counts from 0 and its chunk 0 starts with a complete header, so Go
    // can feed a new FFmpeg from it after the previous one died.
    class Encoder {
        constructor(stream, o, gen) {
            this.stream = stream;
            this.o = o;
            this.gen = gen || 0;
            this.seq = 0;
            this.chain = Promise.resolve();
            this.mr = null;
        }

        pickMime() {
            let candidates = this.o.mimeTypes;
            if (this.o.audioOnly) {
                candidates = candidates.filter(m => m.toLowerCase().startsWith('audio/'));
                candidates.push('audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/webm');
            }
            for (const m of candidates) {
                if (MediaRecorder.isTypeSupported(m)) {
                    return m;
                }
            }
            throw new CodedError('encoder', `none of the MIME types is supported: ${candidates.join(' | ')}`);
        }

        async start() {
            const mimeType = this.pickMime();
            const options = { mimeType, audioBitsPerSecond: this.o.audioBitsPerSecond };
            if (!this.o.audioOnly) {
                options.videoBitsPerSecond = this.o.videoBitsPerSecond;
            }
            let mr;
            try {
                mr = new MediaRecorder(this.stream, options);
            } catch (e) {
                throw new CodedError('encoder', `MediaRecorder(${mimeType}): ${e && e.message}`);
            }
            this.mr = mr;
            mr.ondataavailable = e => {
                if (!e.data || !e.data.size) {
                    return;
                }
                const blob = e.data;
                // Chunks must reach Go complete and in order: chain them.
                this.chain = this.chain
                    .then(() => blobToBase64(blob))
                    .then(data => emit({ type: 'chunk', gen: this.gen, seq: this.seq++, data }))
                    .catch(err => emitError('encoder', `chunk ${this.gen}/${this.seq}: ${err && err.message}`));
            };
            mr.onerror = e => emitError('encoder', `MediaRecorder: ${(e && e.error && e.error.message) || 'error'}`);
            const started = new Promise(resolve => mr.addEventListener('start', resolve, { once: true }));
            // The file's time 0 is the first frame after start(), not the
            // "start" event (hundreds of ms later on a busy machine): the
            // recording's duration and metadata offsets count from here.
            this.startedAt = Date.now();
            try {
                mr.start(this.o.chunkMs);
            } catch (e) {
                throw new CodedError('encoder', `MediaRecorder.start(${mimeType}): ${e && e.message}`);
            }
            // "start" comes with the first media; do not hang if it is late.
            await Promise.race([ started, new Promise(resolve => setTimeout(resolve, 3000)) ]);
            if (mr.state !== 'recording') {
                throw new CodedError('encoder', `MediaRecorder(${mimeType}) is ${mr.state}`);
            }
            const d = describeMime(mr.mimeType || mimeType);
            emit({
                type: 'encoder', gen: this.gen, mimeType: mr.mimeType || mimeType,
                videoCodec: d.videoCodec, audioCodec: d.audioCodec, container: d.container,
                t: this.startedAt
            });

            return mr.mimeType || mimeType;
        }

        // stop resolves after the last chunk was emitted.
        async stop() {
            const mr = this.mr;
            if (mr && mr.state !== 'inactive') {
                const stopped = new Promise(resolve => mr.addEventListener('stop', resolve, { once: true }));
                mr.stop();
                await stopped;
            }
            await this.chain;
        }
    }

    // ---------------------------------------------------------------- track capture (capture: 'tracks')

    // In track capture mode the page records nothing itself: each remote
    // RTCRtpReceiver gets an RTCRtpScriptTransform whose worker copies every
    // encoded frame (as the sender encoded it) and passes it on unchanged;
    // the main thread batches the copies and emits them as 'frames' events.
    // Go writes the tracks and builds any composite outside the browser.
    // The contract is docs/page-contract.md.

    // tapWorkerMain is the worker's whole program. It runs from a Blob URL
    // (its source text), not from a served file: the worker must exist
    // before lib-jitsi-meet's first 'track' event, a Blob needs no request
    // (nothing for Go's Fetch interception or a test server to serve), and
    // the Ticker's worker does the same. Keep it self-contained: it sees
    // nothing of this file's scope.
    function tapWorkerMain() {
        let active = true;
        let payloadTypes = {}; // RTP payload type -> codec, from the remote SDP's a=rtpmap
        const ssrcs = new Map(); // ssrc -> {keyed, transformer, askedAt}
        const origin = performance.timeOrigin;
        let receiveTimeBad = 0; // receiveTime missing or implausible: Date.now() used
        const seen = { mimeType: false, rtpTimestamp: false, receiveTime: false, width: false };
        const counts = { waitedForKey: 0, keyRequests: 0, maxLagMs: 0 };

        const codecOf = (mime, pt) => {
            const m = String(mime || payloadTypes[pt] || '').toLowerCase();
            const name = m.includes('/') ? m.slice(m.indexOf('/') + 1) : m;

            return name;
        };

        self.onmessage = e => {
            const d = e.data || {};
            if (d.type === 'rtpmap') {
                payloadTypes = Object.assign({}, payloadTypes, d.map);
            } else if (d.type === 'need-key') {
                // The main thread dropped this SSRC's frames: wait for (and
                // ask for) a keyframe before handing out more.
                const s = ssrcs.get(d.ssrc);
                if (s) {
                    s.keyed = false;
                    s.askedAt = 0;
                }
            } else if (d.type === 'stop') {
                active = false;
            } else if (d.type === 'report') {
                self.postMessage({ type: 'report', seen, receiveTimeBad, counts });
            }
        };

        const tap = (transformer, kind, frame) => {
            const md = typeof frame.getMetadata === 'function' ? frame.getMetadata() : {};
            const ssrc = md.synchronizationSource >>> 0;
            let s = ssrcs.get(ssrc);
            if (!s) {
                s = { keyed: kind !== 'video', transformer, askedAt: 0 };
                ssrcs.set(ssrc, s);
            }
            s.transformer = transformer; // a reused transceiver moves an SSRC
            const key = kind === 'video' && frame.type === 'key';
            if (kind === 'video' && !s.keyed) {
                if (!key) {
                    // A stream's first frame handed out is a keyframe: ask
                    // for one (at most once a second) and skip until then.
                    const now = Date.now();
                    counts.waitedForKey++;
                    if (now - s.askedAt > 1000 && typeof transformer.sendKeyFrameRequest === 'function') {
                        s.askedAt = now;
                        counts.keyRequests++;
                        transformer.sendKeyFrameRequest().catch(() => { /* the sender's next keyframe will do */ });
                    }

                    return;
                }
                s.keyed = true;
            }
            seen.mimeType = seen.mimeType || Boolean(md.mimeType);
            seen.rtpTimestamp = seen.rtpTimestamp || md.rtpTimestamp !== undefined;
            seen.receiveTime = seen.receiveTime || md.receiveTime !== undefined;
            seen.width = seen.width || md.width > 0;
            const now = Date.now();
            let r = md.receiveTime > 0 ? origin + md.receiveTime : 0;
            if (!(Math.abs(r - now) < 10000)) {
                receiveTimeBad++;
                r = now;
            }
            counts.maxLagMs = Math.max(counts.maxLagMs, now - r);
            const out = {
                s: ssrc,
                k: kind === 'video' ? 'v' : 'a',
                c: codecOf(md.mimeType, md.payloadType),
                ts: (md.rtpTimestamp !== undefined ? md.rtpTimestamp : frame.timestamp) >>> 0,
                r,
                b: frame.data.slice(0)
            };
            if (kind === 'video') {
                out.key = key;
                if (md.width > 0 && md.height > 0) {
                    out.w = md.width;
                    out.h = md.height;
                }
            }
            self.postMessage(out, [ out.b ]);
        };

        self.onrtctransform = ev => {
            const transformer = ev.transformer;
            const kind = (transformer.options && transformer.options.kind) || 'video';
            transformer.readable.pipeThrough(new TransformStream({
                transform(frame, controller) {
                    if (active) {
                        try {
                            tap(transformer, kind, frame);
                        } catch (e) {
                            self.postMessage({ type: 'error', message: String(e && e.message) });
                        }
                    }
                    // Every frame goes on to the browser's own decoder, as
                    // without the tap: its jitter buffer, NACKs and keyframe
                    // requests work as usual, and the media watchdog's
                    // getStats counters keep moving.
                    controller.enqueue(frame);
                }
            })).pipeTo(transformer.writable).catch(() => { /* the receiver went away */ });
        };
    }

    // rtpmapOf returns payload type -> "kind/codec" from an SDP's a=rtpmap
    // lines, for frames whose metadata has no mimeType.
    function rtpmapOf(sdp) {
        const map = {};
        let kind = '';
        for (const line of String(sdp || '').split(/\r?\n/)) {
            if (line.startsWith('m=')) {
                kind = line.slice(2).split(' ')[0];
            }
            const m = /^a=rtpmap:(\d+) ([^/\s]+)/.exec(line);
            if (m) {
                map[m[1]] = `${kind}/${m[2]}`;
            }
        }

        return map;
    }

    // bytesToBase64: the native encoder where there is one, else
    // String.fromCharCode over 32 KiB slices (never one call per byte).
    function bytesToBase64(u8) {
        if (typeof u8.toBase64 === 'function') {
            return u8.toBase64();
        }
        let s = '';
        for (let i = 0; i < u8.length; i += 0x8000) {
            s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
        }

        return btoa(s);
    }

    // The RTCPeerConnections made while no tap was on: a tap that starts
    // taps their receivers too (see installTapHooks). Later ones are tapped
    // by their 'track' listener and not kept (close() fires no event, so a
    // set of them would only grow over reconnects).
    const tapPCs = new Set();
    const hookedPCs = new WeakSet();
    let activeTap = null;

    function hookPC(pc) {
        if (!pc || hookedPCs.has(pc)) {
            return;
        }
        hookedPCs.add(pc);
        if (!activeTap) {
            tapPCs.add(pc);
        }
        pc.addEventListener('track', e => {
            if (activeTap) {
                activeTap.attach(e.receiver);
            }
        });
    }

    // installTapHooks runs when recorder.js loads, before start() and so
    // before lib-jitsi-meet makes any connection (it makes them in join,
    // not at load). A 'track' listener added in the constructor runs during
    // setRemoteDescription, before the track's first packet, so the
    // transform sees the stream from its first keyframe. A lib that kept
    // its own reference to the constructor is caught by the
    // setRemoteDescription hook, which comes before any 'track' event too.
    function installTapHooks() {
        const Native = window.RTCPeerConnection;
        if (typeof Native !== 'function' || Native.__recorderTap) {
            return;
        }
        const Patched = function RTCPeerConnection(...args) {
            const pc = new Native(...args);
            hookPC(pc);

            return pc;
        };
        Patched.prototype = Native.prototype; // instanceof works both ways
        Object.setPrototypeOf(Patched, Native); // statics (generateCertificate)
        Patched.__recorderTap = true;
        window.RTCPeerConnection = Patched;
        if (window.webkitRTCPeerConnection === Native) {
            window.webkitRTCPeerConnection = Patched;
        }
        const srd = Native.prototype.setRemoteDescription;
        Native.prototype.setRemoteDescription = function (desc, ...rest) {
            hookPC(this);
            if (activeTap && desc && typeof desc.sdp === 'string') {
                activeTap.learnSDP(desc.sdp);
            }

            return srd.call(this, desc, ...rest);
        };
    }

    // TAP_MAX_PENDING bounds the frames waiting to be emitted (~8 MB).
    const TAP_MAX_PENDING = 8 << 20;

    // FrameTap is track capture: the worker, the transforms, the batches.
    class FrameTap {
        constructor(o) {
            this.o = o;
            this.owners = new Map(); // ssrc -> {p, src}, from lib-jitsi-meet's tracks
            this.ownerOf = null; // ssrc -> endpoint id from the conference's signaling layer
            this.receivers = new WeakSet(); // receivers with our transform
            this.pending = []; // frames not yet emitted, as the worker sent them
            this.pendingBytes = 0;
            this.maxPending = TAP_MAX_PENDING;
            this.waitKey = new Set(); // video SSRCs dropped until their next keyframe
            this.droppedFrames = 0;
            this.warnedDrop = false;
            this.lastEmit = 0;
            this.batches = 0;
            this.frames = { a: 0, v: 0, bytes: 0 };
            this.report = null;
            this.url = URL.createObjectURL(new Blob([ `(${tapWorkerMain.toString()})();` ], { type: 'text/javascript' }));
            this.worker = new Worker(this.url, { name: 'recorder-tap' });
            this.worker.onmessage = e => this.onFrame(e.data);
            this.worker.onerror = e => console.warn('recorder: tap worker', e && e.message);
            this.timer = setInterval(() => this.flush(false), 50);
        }

        // start taps what exists already and every receiver from now on.
        start() {
            activeTap = this;
            for (const pc of tapPCs) {
                if (pc.connectionState === 'closed' || pc.signalingState === 'closed') {
                    continue;
                }
                if (pc.remoteDescription && pc.remoteDescription.sdp) {
                    this.learnSDP(pc.remoteDescription.sdp);
                }
                for (const rc of pc.getReceivers()) {
                    this.attach(rc);
                }
            }
            tapPCs.clear();
        }

        attach(receiver) {
            const kind = receiver && receiver.track && receiver.track.kind;
            if (!kind || this.receivers.has(receiver) || (kind === 'video' && this.o.audioOnly)) {
                return;
            }
            try {
                receiver.transform = new RTCRtpScriptTransform(this.worker, { kind });
                this.receivers.add(receiver);
            } catch (e) {
                emitError('encoder', `cannot tap a ${kind} receiver: ${e && e.message}`);
            }
        }

        learnSDP(sdp) {
            const map = rtpmapOf(sdp);
            if (Object.keys(map).length) {
                this.worker.postMessage({ type: 'rtpmap', map });
            }
        }

        setOwner(ssrc, p, src) {
            if (ssrc > 0) {
                this.owners.set(ssrc >>> 0, { p: p || '', src: src || '' });
            }
        }

        onFrame(f) {
            if (!f || f.type === 'error') {
                console.warn('recorder: tap worker:', f && f.message);

                return;
            }
            if (f.type === 'report') {
                this.report = f;

                return;
            }
            if (f.k === 'v' && this.waitKey.has(f.s)) {
                if (!f.key) {
                    this.droppedFrames++;

                    return;
                }
                this.waitKey.delete(f.s);
            }
            this.pending.push(f);
            this.pendingBytes += f.b.byteLength;
            if (this.pendingBytes > this.maxPending) {
                this.shed();
            }
        }

        // shed keeps the pending frames under maxPending when they are not
        // going out (a main thread that does not get to flush): video goes
        // first, each SSRC then waits for its next keyframe (the worker asks
        // the sender for one); audio only if video alone was not enough.
        shed() {
            if (!this.warnedDrop) {
                this.warnedDrop = true;
                console.warn(`recorder: over ${this.maxPending} bytes of frames pending: dropping video until the next keyframe`);
            }
            const keep = [];
            for (const f of this.pending) {
                if (f.k === 'v') {
                    if (!this.waitKey.has(f.s)) {
                        this.waitKey.add(f.s);
                        this.worker.postMessage({ type: 'need-key', ssrc: f.s });
                    }
                    this.pendingBytes -= f.b.byteLength;
                    this.droppedFrames++;
                } else {
                    keep.push(f);
                }
            }
            while (this.pendingBytes > this.maxPending && keep.length) {
                this.pendingBytes -= keep.shift().b.byteLength;
                this.droppedFrames++;
            }
            this.pending = keep;
        }

        ownerFor(ssrc) {
            const o = this.owners.get(ssrc);
            if (o && o.p) {
                return o;
            }
            let p = '';
            try {
                p = (this.ownerOf && this.ownerOf(ssrc)) || '';
            } catch (e) { /* unknown yet */ }

            return { p: typeof p === 'string' ? p : '', src: (o && o.src) || '' };
        }

        // flush emits the pending frames (at most every 50 ms), or an empty
        // batch when a second passed without one.
        flush(force) {
            const now = Date.now();
            if (!this.pending.length && !force && now - this.lastEmit < 1000) {
                return;
            }
            const frames = this.pending.map(f => {
                const who = this.ownerFor(f.s);
                const out = { s: f.s, k: f.k, c: f.c, ts: f.ts, r: f.r };
                if (f.k === 'v') {
                    out.key = Boolean(f.key);
                    if (f.w) {
                        out.w = f.w;
                        out.h = f.h;
                    }
                }
                out.p = who.p;
                out.src = who.src;
                out.d = bytesToBase64(new Uint8Array(f.b));
                this.frames[f.k]++;
                this.frames.bytes += f.b.byteLength;

                return out;
            });
            this.pending = [];
            this.pendingBytes = 0;
            this.lastEmit = now;
            this.batches++;
            emit({ type: 'frames', t: now, frames });
        }

        // stop stops tapping and emits what is pending. The transforms stay
        // on (frames still pass through the worker to the decoder).
        stop() {
            if (activeTap === this) {
                activeTap = null;
            }
            this.worker.postMessage({ type: 'stop' });
            clearInterval(this.timer);
            this.flush(true);
        }

        // metadataReport asks the worker which metadata fields it has seen.
        metadataReport() {
            this.report = null;
            this.worker.postMessage({ type: 'report' });

            return new Promise(resolve => {
                const t0 = Date.now();
                const poll = () => (this.report || Date.now() - t0 > 2000 ? resolve(this.report) : setTimeout(poll, 20));
                poll();
            });
        }
    }

    // ---------------------------------------------------------------- meeting model

    // Media ties together what the page knows about the meeting (who is there,
    // which tracks) with the compositor, the mixer and the encoder. Both the
    // lib-jitsi-meet events and the test hooks drive it. In track capture
    // mode it has none of those three but a FrameTap (this.tap).
    class Media {
        constructor(o) {
            this.o = o;
            this.tracksMode = o.capture === 'tracks';
            this.compositor = o.audioOnly || this.tracksMode ? null : new Compositor(o.width, o.height);
            this.mixer = this.tracksMode ? null : new Mixer();
            this.tap = null;
            this.people = new Map(); // id -> name
            this.tracks = new Map(); // key -> {participantId, kind}
            this.encoder = null;
            this.ticker = null;
            this.statsTimer = null;
        }

        personJoined(id, name) {
            if (this.people.has(id)) {
                return;
            }
            this.people.set(id, name || '');
            if (this.compositor) {
                this.compositor.addPerson(id, name || fallbackName(id));
            }
            emit({ type: 'participant-joined', id, name: name || '', t: Date.now() });
        }

        personLeft(id) {
            if (!this.people.has(id)) {
                return;
            }
            this.people.delete(id);
            if (this.compositor) {
                this.compositor.removePerson(id);
            }
            emit({ type: 'participant-left', id, t: Date.now() });
        }

        personRenamed(id, name) {
            if (!this.people.has(id) || this.people.get(id) === name) {
                return;
            }
            this.people.set(id, name || '');
            if (this.compositor) {
                this.compositor.rename(id, name || fallbackName(id));
            }
            emit({ type: 'participant-renamed', id, name: name || '', t: Date.now() });
        }

        dominantSpeaker(id) {
            if (this.compositor) {
                this.compositor.setDominant(id);
            }
            emit({ type: 'dominant-speaker', id, t: Date.now() });
        }

        trackAdded(key, participantId, kind, mst, videoType, muted, jitsiTrack) {
            this.tracks.set(key, { participantId, kind, muted: Boolean(muted) });
            if (this.tracksMode) {
                this.tapTrack(key, participantId, kind, videoType, jitsiTrack);
            } else if (kind === 'audio') {
                this.mixer.add(key, mst);
            } else if (this.compositor) {
                this.compositor.addVideo(key, participantId, mst, videoType, muted, jitsiTrack);
            }
            this.emitTrack(key, { videoType, muted });
        }

        trackRemoved(key) {
            const t = this.tracks.get(key);
            if (!t) {
                return;
            }
            this.tracks.delete(key);
            if (this.tracksMode) {
                if (this.onTracksChanged) {
                    this.onTracksChanged();
                }
            } else if (t.kind === 'audio') {
                this.mixer.remove(key);
            } else if (this.compositor) {
                this.compositor.removeVideo(key);
            }
            const ev = { type: 'track', id: t.participantId, kind: t.kind, muted: true, removed: true, t: Date.now() };
            if (this.tracksMode) {
                ev.ssrc = t.ssrc || 0;
                ev.sourceName = t.sourceName || '';
            }
            emit(ev);
        }

        trackMuted(key, muted) {
            const t = this.tracks.get(key);
            if (!t) {
                return;
            }
            t.muted = Boolean(muted);
            if (this.compositor) {
                this.compositor.setVideoMuted(key, muted);
            }
            this.emitTrack(key, { muted });
        }

        trackVideoType(key, videoType) {
            if (!this.tracks.has(key)) {
                return;
            }
            if (this.compositor) {
                this.compositor.setVideoType(key, videoType);
            }
            if (this.tracksMode) {
                this.tracks.get(key).videoType = videoType;
            }
            this.emitTrack(key, { videoType });
        }

        emitTrack(key, change) {
            const t = this.tracks.get(key);
            const v = this.compositor && this.compositor.videos.get(key);
            const ev = { type: 'track', id: t.participantId, kind: t.kind, t: Date.now() };
            if (t.kind === 'video') {
                ev.videoType = (v && v.videoType) || change.videoType || t.videoType || 'camera';
            }
            ev.muted = v ? v.muted : Boolean(change.muted);
            if (this.tracksMode) {
                ev.muted = change.muted !== undefined ? Boolean(change.muted) : t.muted;
                ev.ssrc = t.ssrc || 0;
                ev.sourceName = t.sourceName || '';
            }
            emit(ev);
        }

        // tapTrack (track capture) notes which SSRC and source a track has,
        // so the frames of that SSRC name their participant.
        tapTrack(key, participantId, kind, videoType, jitsiTrack) {
            const t = this.tracks.get(key);
            t.videoType = videoType;
            const call = name => {
                try {
                    return jitsiTrack && typeof jitsiTrack[name] === 'function' ? jitsiTrack[name]() : undefined;
                } catch (e) {
                    return undefined;
                }
            };
            t.ssrc = Number(call('getSSRC')) >>> 0;
            t.sourceName = String(call('getSourceName') || '');
            if (this.tap) {
                this.tap.setOwner(t.ssrc, participantId, t.sourceName);
            }
            if (this.onTracksChanged) {
                this.onTracksChanged();
            }
        }

        // startTapping (track capture) is startEncoding's counterpart: the
        // worker and its transforms exist before the join, so that the
        // first remote track is tapped from its first frame.
        startTapping() {
            if (typeof window.RTCRtpScriptTransform !== 'function') {
                throw new CodedError('encoder', 'this browser has no RTCRtpScriptTransform: track capture is impossible');
            }
            try {
                this.tap = new FrameTap(this.o);
            } catch (e) {
                throw new CodedError('encoder', `track capture worker: ${e && e.message}`);
            }
            this.tap.start();
        }

        // recordingStarted (track capture): the timeline starts at the join.
        recordingStarted() {
            this.startedAt = Date.now();
            this.startStats();
        }

        // hasUnmutedTrack: someone is expected to send media.
        hasUnmutedTrack() {
            for (const t of this.tracks.values()) {
                if (!t.muted) {
                    return true;
                }
            }

            return false;
        }

        // dropEveryone empties the canvas and the mix when the meeting is
        // lost; the participants come back with the rejoin.
        dropEveryone() {
            for (const key of [ ...this.tracks.keys() ]) {
                this.trackRemoved(key);
            }
            for (const id of [ ...this.people.keys() ]) {
                this.personLeft(id);
            }
        }

        // startEncoding starts drawing and the one MediaRecorder; the
        // timeline begins now, with a waiting canvas if nobody is there yet.
        async startEncoding() {
            await this.mixer.resume();
            const tracks = [];
            if (this.compositor) {
                const c = this.compositor;
                c.draw();
                // One frame per draw: captureStream(fps) has its own rate
                // limiter, which drops frames when the timer jitters.
                let stream = c.canvas.captureStream(0);
                let vt = stream.getVideoTracks()[0];
                const manual = typeof vt.requestFrame === 'function';
                if (!manual) {
                    vt.stop();
                    stream = c.canvas.captureStream(this.o.fps);
                    vt = stream.getVideoTracks()[0];
                }
                tracks.push(vt);
                const interval = 1000 / this.o.fps;
                this.paceInterval = interval;
                let due = 0;
                this.ticker = new Ticker(this.o.fps, () => {
                    // Ticks queued while the page was busy come in a burst:
                    // drawing them all would only waste time. Below
                    // VIDEO_FPS (setPace) whole ticks are skipped.
                    const now = performance.now();
                    if (now < due - interval * 0.5) {
                        return;
                    }
                    due = Math.max(due + this.paceInterval, now);
                    c.draw();
                    if (manual) {
                        vt.requestFrame();
                    }
                });
            }
            tracks.push(this.mixer.track());
            this.stream = new MediaStream(tracks);
            this.encoder = new Encoder(this.stream, this.o, 0);
            const mime = await this.encoder.start();
            this.startedAt = this.encoder.startedAt;
            if (!this.o.audioOnly && this.o.alignPlayout !== false) {
                const ac = this.mixer.ac;
                this.aligner = new PlayoutAligner(1000 * ((ac && ac.baseLatency) || 0));
            }
            this.startStats();

            return mime;
        }

        // setPace draws the composite at fps frames a second, VIDEO_FPS at
        // most: the recorder lowers it while the encoder falls behind.
        setPace(fps) {
            if (!this.compositor || !(fps > 0)) {
                return;
            }
            this.paceInterval = 1000 / Math.min(fps, this.o.fps);
        }

        // restartEncoder replaces the MediaRecorder with a new generation on
        // the same composite stream (the compositor, the mixer and the
        // timeline go on). The old one is stopped without waiting for its
        // last chunks: they still arrive, with the old gen.
        async restartEncoder() {
            const old = this.encoder;
            if (!old || !this.stream) {
                throw new CodedError('encoder', 'not recording');
            }
            const next = new Encoder(this.stream, this.o, old.gen + 1);
            this.encoder = next;
            old.stop().catch(e => console.warn('recorder: stopping the old encoder', e));
            await next.start();
        }

        startStats() {
            if (this.tracksMode) {
                this.startTapStats();

                return;
            }
            let lastFrames = this.compositor ? this.compositor.frames : 0;
            let lastDrawMs = this.compositor ? this.compositor.drawMs : 0;
            let lastAt = performance.now();
            this.statsTimer = setInterval(() => {
                const now = performance.now();
                const frames = this.compositor ? this.compositor.frames : 0;
                const drawMs = this.compositor ? this.compositor.drawMs : 0;
                const fps = (frames - lastFrames) * 1000 / (now - lastAt);
                // The share of the main thread spent drawing: near 1, the
                // page has no time left for anything else.
                const drawShare = (drawMs - lastDrawMs) / (now - lastAt);
                lastFrames = frames;
                lastDrawMs = drawMs;
                lastAt = now;
                let videoTracks = 0;
                let audioTracks = 0;
                for (const t of this.tracks.values()) {
                    if (t.kind === 'video') {
                        videoTracks++;
                    } else {
                        audioTracks++;
                    }
                }
                emit({
                    type: 'stats', participants: this.people.size, videoTracks, audioTracks,
                    fps: Math.round(fps * 10) / 10, drawShare: Math.round(drawShare * 100) / 100, t: Date.now()
                });
            }, 2000);
        }

        // startTapStats: the stats event of track capture. fps is video
        // frames tapped per second (over all SSRCs), afps audio frames;
        // bytesPerSecond the encoded bytes emitted, droppedFrames those shed
        // since the start (Go not keeping up), drawShare always 0.
        startTapStats() {
            const tap = this.tap;
            let last = { a: 0, v: 0, bytes: 0 };
            let lastAt = performance.now();
            this.statsTimer = setInterval(() => {
                const now = performance.now();
                const f = tap.frames;
                const per = n => Math.round(n * 10000 / (now - lastAt)) / 10;
                let videoTracks = 0;
                let audioTracks = 0;
                for (const t of this.tracks.values()) {
                    if (t.kind === 'video') {
                        videoTracks++;
                    } else {
                        audioTracks++;
                    }
                }
                emit({
                    type: 'stats', participants: this.people.size, videoTracks, audioTracks,
                    fps: per(f.v - last.v), afps: per(f.a - last.a),
                    bytesPerSecond: Math.round(per(f.bytes - last.bytes)),
                    pendingBytes: tap.pendingBytes, droppedFrames: tap.droppedFrames,
                    drawShare: 0, t: Date.now()
                });
                last = { a: f.a, v: f.v, bytes: f.bytes };
                lastAt = now;
            }, 2000);
        }

        async stop() {
            if (this.statsTimer) {
                clearInterval(this.statsTimer);
                this.statsTimer = null;
            }
            if (this.aligner) {
                this.aligner.stop();
            }
            if (this.encoder) {
                await this.encoder.stop();
            }
            if (this.ticker) {
                this.ticker.stop();
            }
            if (this.tap) {
                this.tap.stop();
            }
            if (this.mixer) {
                this.mixer.close();
            }
        }
    }

    function fallbackName(id) {
        return `Participant ${String(id).slice(0, 4)}`;
    }

    // ---------------------------------------------------------------- lib-jitsi-meet

    function libEvents() {
        const ev = (window.JitsiMeetJS && window.JitsiMeetJS.events) || {};
        const c = ev.conference || {};
        const n = ev.connection || {};
        const t = ev.track || {};

        return {
            CONNECTION_ESTABLISHED: n.CONNECTION_ESTABLISHED || 'connection.connectionEstablished',
            CONNECTION_FAILED: n.CONNECTION_FAILED || 'connection.connectionFailed',
            CONNECTION_DISCONNECTED: n.CONNECTION_DISCONNECTED || 'connection.connectionDisconnected',
            CONFERENCE_JOINED: c.CONFERENCE_JOINED || 'conference.joined',
            CONFERENCE_FAILED: c.CONFERENCE_FAILED || 'conference.failed',
            CONFERENCE_LEFT: c.CONFERENCE_LEFT || 'conference.left',
            KICKED: c.KICKED || 'conference.kicked',
            USER_JOINED: c.USER_JOINED || 'conference.userJoined',
            USER_LEFT: c.USER_LEFT || 'conference.userLeft',
            DISPLAY_NAME_CHANGED: c.DISPLAY_NAME_CHANGED || 'conference.displayNameChanged',
            DOMINANT_SPEAKER_CHANGED: c.DOMINANT_SPEAKER_CHANGED || 'conference.dominantSpeaker',
            TRACK_ADDED: c.TRACK_ADDED || 'conference.trackAdded',
            TRACK_REMOVED: c.TRACK_REMOVED || 'conference.trackRemoved',
            TRACK_MUTE_CHANGED: c.TRACK_MUTE_CHANGED || 'conference.trackMuteChanged',
            TRACK_VIDEOTYPE_CHANGED: t.TRACK_VIDEOTYPE_CHANGED || 'track.videoTypeChanged'
        };
    }

    function libErrors() {
        const er = (window.JitsiMeetJS && window.JitsiMeetJS.errors) || {};
        const c = er.conference || {};
        const n = er.connection || {};

        return {
            CONN_PASSWORD_REQUIRED: n.PASSWORD_REQUIRED || 'connection.passwordRequired',
            PASSWORD_REQUIRED: c.PASSWORD_REQUIRED || 'conference.passwordRequired',
            MEMBERS_ONLY_ERROR: c.MEMBERS_ONLY_ERROR || 'conference.connectionError.membersOnly',
            AUTHENTICATION_REQUIRED: c.AUTHENTICATION_REQUIRED || 'conference.authenticationRequired',
            NOT_ALLOWED_ERROR: c.NOT_ALLOWED_ERROR || 'conference.connectionError.notAllowed',
            CONFERENCE_ACCESS_DENIED: c.CONFERENCE_ACCESS_DENIED || 'conference.connectionError.accessDenied'
        };
    }

    // serviceURL picks the XMPP transport as the Jitsi Meet app does:
    // WebSocket when configured, else BOSH; made absolute against the page,
    // with the room as a query parameter (token checks on the server use it).
    function serviceURL(cfg, room) {
        const ws = cfg.websocket;
        const raw = ws || cfg.bosh || cfg.serviceUrl;
        if (!raw) {
            throw new CodedError('not-jitsi', 'config.js has neither websocket nor bosh');
        }
        const u = new URL(raw, location.href);
        if (ws) {
            if (u.protocol === 'https:') {
                u.protocol = 'wss:';
            } else if (u.protocol === 'http:') {
                u.protocol = 'ws:';
            }
        }
        if (room) {
            u.searchParams.set('room', room);
        }

        return u.toString();
    }

    // ---------------------------------------------------------------- media watchdog

    // jvbPeerConnection returns the RTCPeerConnection of the conference's
    // bridge session if this lib exposes it (lib-jitsi-meet:
    // conference.jvbJingleSession.peerconnection is a TraceablePeerConnection
    // around it).
    function jvbPeerConnection(conf) {
        try {
            const tpc = conf && conf.jvbJingleSession && conf.jvbJingleSession.peerconnection;

            return (tpc && tpc.peerconnection) || null;
        } catch (e) {
            return null;
        }
    }

    // MediaWatchdog notices when media stops arriving although someone is
    // unmuted: every second it sums inbound RTP bytes (getStats of the
    // bridge connection, as the playout aligner reads them). No growth for
    // noMediaMs opens a gap (media-gap start, t = last growth); growth
    // closes it (media-gap end). A gap of rejoinAfterMs makes the session
    // leave and join again. Without any connection to read it says nothing.
    class MediaWatchdog {
        constructor(session, o) {
            this.session = session;
            this.noMediaMs = o.noMediaMs;
            this.rejoinAfterMs = o.rejoinAfterMs;
            this.bytes = new WeakMap(); // pc -> Map(report id -> bytesReceived)
            this.lastGrowth = Date.now();
            this.flowedAt = 0; // the last tick that saw inbound media grow
            this.idleSince = 0; // joined with nobody unmuted since
            this.gapFrom = 0; // open gap: its start, else 0
            this.rejoinedAt = 0;
            this.busy = false;
            this.timer = setInterval(() => {
                if (this.busy) {
                    return;
                }
                this.busy = true;
                this.tick().catch(e => console.warn('recorder: media watchdog', e)).finally(() => {
                    this.busy = false;
                });
            }, 1000);
        }

        sources() {
            const pcs = new Set();
            const jvb = jvbPeerConnection(this.session.conference);
            if (jvb) {
                pcs.add(jvb);
            }
            for (const pc of peerConnections) {
                pcs.add(pc);
            }

            return [ ...pcs ].filter(pc => pc.connectionState !== 'closed' && typeof pc.getStats === 'function');
        }

        // grew reads every source and says whether any inbound RTP stream
        // received bytes since the last read (a new stream with bytes counts).
        async grew(pcs) {
            let grew = false;
            for (const pc of pcs) {
                const stats = await pc.getStats();
                let seen = this.bytes.get(pc);
                if (!seen) {
                    seen = new Map();
                    this.bytes.set(pc, seen);
                }
                stats.forEach(r => {
                    if (r.type !== 'inbound-rtp' || (r.kind !== 'audio' && r.kind !== 'video')) {
                        return;
                    }
                    const b = Number(r.bytesReceived) || 0;
                    if (b > (seen.get(r.id) || 0)) {
                        grew = true;
                    }
                    seen.set(r.id, b);
                });
            }

            return grew;
        }

        async tick() {
            const s = this.session;
            if (s.stopping || s.ended) {
                return;
            }
            const now = Date.now();
            if (s.reconnecting) {
                // A rejoin gets rejoinAfterMs of its own before the next.
                this.rejoinedAt = now;
            }
            const pcs = this.sources();
            const expecting = s.joined && s.media.hasUnmutedTrack();
            const grew = pcs.length ? await this.grew(pcs) : false;
            if (grew) {
                this.lastGrowth = now;
                this.flowedAt = now;
                this.idleSince = 0;
                this.endGap(now);

                return;
            }
            if (!expecting) {
                // Nobody should be sending: the silence is no gap. A gap
                // open while reconnecting stays open until media flows;
                // once joined with everyone muted or gone for a while, it ends.
                this.lastGrowth = now;
                if (s.joined && !s.reconnecting) {
                    this.idleSince = this.idleSince || now;
                    if (now - this.idleSince >= this.noMediaMs) {
                        this.endGap(this.idleSince);
                    }
                }

                return;
            }
            this.idleSince = 0;
            if (!pcs.length) {
                return; // nothing to measure with
            }
            if (!this.gapFrom && now - this.lastGrowth >= this.noMediaMs) {
                this.gapFrom = this.lastGrowth;
                emit({ type: 'media-gap', state: 'start', t: this.gapFrom });
                console.warn(`recorder: no media for ${now - this.lastGrowth} ms`);
            }
            if (this.gapFrom && this.rejoinAfterMs > 0 && !s.reconnecting
                && now - Math.max(this.gapFrom, this.rejoinedAt) >= this.rejoinAfterMs) {
                this.rejoinedAt = now;
                s.reconnect('no-media', `no media for ${Math.round((now - this.gapFrom) / 1000)} s`);
            }
        }

        // flowedWithin says whether inbound media grew in the ms before t.
        flowedWithin(t, ms) {
            return this.flowedAt > 0 && t - this.flowedAt <= ms;
        }

        // openGap starts a gap now, unless one is open: losing the meeting
        // stops the media at once, and the gap must last until media
        // flows again, not only until the rejoin.
        openGap(t) {
            if (!this.gapFrom) {
                this.gapFrom = t;
                emit({ type: 'media-gap', state: 'start', t });
            }
        }

        endGap(t) {
            if (this.gapFrom) {
                this.gapFrom = 0;
                emit({ type: 'media-gap', state: 'end', t });
            }
        }

        stop() {
            clearInterval(this.timer);
        }
    }

    // ---------------------------------------------------------------- session

    // Refusals end the recording whenever they come, also during a rejoin:
    // retrying cannot help, and the meeting said no.
    const FATAL_CODES = new Set([ 'kicked', 'password-required', 'password-wrong', 'members-only', 'lobby', 'auth-failed', 'not-jitsi' ]);

    // Backoff between reconnect attempts: 1, 2, 4, 8, then every 10 s.
    function backoffMs(attempt) {
        return Math.min(10000, 1000 * (2 ** Math.max(0, attempt - 1)));
    }

    function sleep(ms) {
        return new Promise(resolve => setTimeout(resolve, ms));
    }

    // Session is one join + recording. The join is made of attempts: one
    // connection plus one conference. The first attempt is start()'s; once
    // the page records, losing the meeting starts new attempts (reconnect)
    // while the compositor, the mixer and the MediaRecorder go on. Events
    // of an attempt that is no longer the current one are ignored.
    class Session {
        constructor(o) {
            this.o = o;
            this.media = null;
            this.connection = null;
            this.conference = null;
            this.attempt = null; // the current {id, settled, fail}
            this.attempts = 0;
            this.joined = false;
            this.inLobby = false;
            this.stopping = false;
            this.recording = false; // reached state 'recording'
            this.reconnecting = false;
            this.ended = null; // {code, detail} of the fatal error that ended the meeting
            this.constraintsSig = '';
            this.keys = new WeakMap(); // JitsiTrack -> key
            this.nextKey = 0;
            this.stopped = new Promise(resolve => {
                this.wake = resolve;
            });
            this.watchdog = null;
        }

        keyOf(track) {
            let k = this.keys.get(track);
            if (!k) {
                k = `t${this.nextKey++}`;
                this.keys.set(track, k);
            }

            return k;
        }

        async start() {
            this.media = new Media(this.o);
            if (this.media.compositor) {
                this.media.compositor.onLayout = layout => this.updateReceiverConstraints(layout);
            }
            if (this.media.tracksMode) {
                return this.startTracks();
            }
            this.initLib();
            await this.connectOnce();
            const mimeType = await this.media.startEncoding();
            if (this.ended) {
                // Lost while the encoder started: start() fails as before
                // the join, with the error already emitted.
                const e = new CodedError(this.ended.code, this.ended.detail);
                e.reported = true;
                throw e;
            }
            this.recording = true;
            emitState('recording', this.media.startedAt);
            this.watchdog = new MediaWatchdog(this, this.o);

            return { mimeType };
        }

        // startTracks is start() in track capture mode: no encoder to wait
        // for, the page records ('recording') as soon as it joined.
        async startTracks() {
            this.media.onTracksChanged = () => this.updateTrackConstraints();
            this.media.startTapping();
            this.initLib();
            await this.connectOnce();
            if (this.ended) {
                const e = new CodedError(this.ended.code, this.ended.detail);
                e.reported = true;
                throw e;
            }
            this.media.recordingStarted();
            this.recording = true;
            emitState('recording', this.media.startedAt);
            this.watchdog = new MediaWatchdog(this, this.o);

            return { mimeType: '', capture: 'tracks' };
        }

        initLib() {
            const JM = window.JitsiMeetJS;
            try {
                if (typeof JM.setLogLevel === 'function' && JM.logLevels) {
                    JM.setLogLevel(JM.logLevels.WARN || 'warn');
                }
            } catch (e) { /* logging is optional */ }
            try {
                JM.init(Object.assign({}, window.config, { disableAudioLevels: true, enableAnalyticsLogging: false }));
            } catch (e) {
                throw new CodedError('not-jitsi', `JitsiMeetJS.init: ${e && e.message}`);
            }
        }

        // connectOnce makes one attempt: it resolves on CONFERENCE_JOINED
        // and rejects with a CodedError if the attempt fails first. Failures
        // after the join go to lost().
        connectOnce() {
            const JM = window.JitsiMeetJS;
            const cfg = window.config;
            const o = this.o;
            const E = libEvents();
            const ERR = libErrors();
            const attempt = { id: ++this.attempts, settled: false, fail: null };
            this.attempt = attempt;
            this.joined = false;
            this.inLobby = false;
            this.constraintsSig = '';
            const current = () => this.attempt === attempt;

            return new Promise((resolve, reject) => {
                let lastError = '';
                const fail = (code, detail) => {
                    if (!current()) {
                        return; // an old attempt's echo
                    }
                    if (!attempt.settled) {
                        attempt.settled = true;
                        reject(new CodedError(code, detail));

                        return;
                    }
                    // While recording, report each new failure once (or
                    // rejoin); later ones are echoes.
                    const key = `${code}|${detail}`;
                    if (!this.stopping && key !== lastError) {
                        lastError = key;
                        this.lost(code, detail);
                    }
                };
                const ok = () => {
                    if (current() && !attempt.settled) {
                        attempt.settled = true;
                        resolve();
                    }
                };
                attempt.fail = fail;

                const hosts = Object.assign({}, cfg.hosts || {});
                // The XMPP domain of config.js wins: it may differ from the
                // web domain (e.g. docker-jitsi-meet's meet.jitsi).
                hosts.domain = hosts.domain || o.domain;
                if (!hosts.domain) {
                    fail('not-jitsi', 'no XMPP domain: config.hosts.domain is empty and none was given');

                    return;
                }
                hosts.muc = hosts.muc || `conference.${hosts.domain}`;
                let options;
                try {
                    options = Object.assign({}, cfg, { hosts, serviceUrl: serviceURL(cfg, o.room) });
                } catch (e) {
                    fail(e.code || 'not-jitsi', e.detail || e.message);

                    return;
                }
                if (!this.recording) {
                    emitState('connecting');
                }
                let conn;
                try {
                    conn = new JM.JitsiConnection(null, o.jwt || null, options);
                } catch (e) {
                    fail('connection-failed', `JitsiConnection: ${e && e.message}`);

                    return;
                }
                this.connection = conn;
                conn.addEventListener(E.CONNECTION_ESTABLISHED, () => {
                    if (!current()) {
                        return;
                    }
                    if (!this.recording) {
                        emitState('connected');
                    }
                    try {
                        this.joinConference(attempt, cfg, E, ERR, ok, fail);
                    } catch (e) {
                        fail('conference-failed', `join: ${e && e.message}`);
                    }
                });
                conn.addEventListener(E.CONNECTION_FAILED, (errType, msg) => {
                    const text = `${errType}${msg ? `: ${msg}` : ''}`;
                    const auth = errType === ERR.CONN_PASSWORD_REQUIRED || /token|auth|not-authorized/i.test(String(msg || ''));
                    fail(auth ? 'auth-failed' : 'connection-failed', text);
                });
                conn.addEventListener(E.CONNECTION_DISCONNECTED, msg => {
                    if (!this.stopping) {
                        fail('connection-failed', `disconnected${msg ? `: ${msg}` : ''}`);
                    }
                });
                try {
                    // Newer libs send an HTTP conference request for options.name first.
                    conn.connect({ name: o.room });
                } catch (e) {
                    fail('connection-failed', `connect: ${e && e.message}`);
                }
            });
        }

        joinConference(attempt, cfg, E, ERR, ok, fail) {
            const o = this.o;
            const confOptions = Object.assign({}, cfg, {
                // Record what the bridge forwards: no peer-to-peer, and
                // never startSilent (that would turn off receiving audio).
                p2p: Object.assign({}, cfg.p2p || {}, { enabled: false }),
                startSilent: false,
                startAudioMuted: undefined,
                startVideoMuted: undefined
            });
            if (o.audioOnly) {
                // Receive no video at all: the bridge forwards none.
                confOptions.channelLastN = 0;
                confOptions.startLastN = 0;
                confOptions.lastNLimits = undefined;
            }
            const conf = this.connection.initJitsiConference(o.room, confOptions);
            this.conference = conf;
            lipSync.ownerOf = o.lipSync ? ownerLookup(conf) : null;
            if (this.media.tap) {
                // Frames that come before their TRACK_ADDED still get an owner.
                this.media.tap.ownerOf = ownerLookup(conf);
            }
            if (!lipSync.ownerOf && o.lipSync) {
                console.warn('recorder: no SSRC owners in this lib: audio and video are not lip-synced');
            }
            const media = this.media;
            // Handlers of an old attempt's conference do nothing: its late
            // USER_LEFT must not remove someone who is back in the new one.
            const on = (name, fn) => {
                const guarded = (...args) => {
                    if (this.attempt === attempt) {
                        fn(...args);
                    }
                };

                return conf.on ? conf.on(name, guarded) : conf.addEventListener(name, guarded);
            };

            on(E.CONFERENCE_JOINED, () => {
                this.joined = true;
                this.inLobby = false;
                if (!this.recording) {
                    emitState('joined');
                }
                this.requestHighQuality();
                ok();
            });
            on(E.CONFERENCE_FAILED, (code, ...args) => this.onConferenceFailed(code, args, ERR, fail));
            on(E.KICKED, (participant, reason) => {
                fail('kicked', `kicked from the meeting${reason ? `: ${reason}` : ''}`);
            });
            on(E.CONFERENCE_LEFT, () => {
                if (!this.stopping && this.joined) {
                    fail('conference-failed', 'left the conference');
                }
            });
            on(E.USER_JOINED, (id, participant) => {
                if (isHidden(participant)) {
                    return;
                }
                media.personJoined(id, displayNameOf(participant));
            });
            on(E.USER_LEFT, id => media.personLeft(id));
            on(E.DISPLAY_NAME_CHANGED, (id, name) => media.personRenamed(id, name));
            on(E.DOMINANT_SPEAKER_CHANGED, id => {
                if (media.people.has(id)) {
                    media.dominantSpeaker(id);
                }
            });
            on(E.TRACK_ADDED, track => this.onTrackAdded(track, E));
            on(E.TRACK_REMOVED, track => {
                if (track && !(track.isLocal && track.isLocal())) {
                    media.trackRemoved(this.keyOf(track));
                }
            });
            on(E.TRACK_MUTE_CHANGED, track => {
                if (track && !(track.isLocal && track.isLocal())) {
                    media.trackMuted(this.keyOf(track), track.isMuted());
                }
            });

            if (typeof conf.setDisplayName === 'function') {
                conf.setDisplayName(o.displayName);
            }
            if (!this.recording) {
                emitState('joining');
            }
            conf.join(o.password || undefined);
        }

        onConferenceFailed(code, args, ERR, fail) {
            const o = this.o;
            const conf = this.conference;
            switch (code) {
            case ERR.PASSWORD_REQUIRED:
                fail(o.password ? 'password-wrong' : 'password-required', code);
                break;
            case ERR.MEMBERS_ONLY_ERROR: {
                const lobbyJid = args[0];
                let lobby = Boolean(lobbyJid);
                try {
                    lobby = lobby || Boolean(conf.isLobbySupported && conf.isLobbySupported());
                } catch (e) { /* keep what we know */ }
                if (lobby && typeof conf.joinLobby === 'function' && !this.inLobby) {
                    this.inLobby = true;
                    if (!this.recording) {
                        emitState('lobby');
                    }
                    Promise.resolve()
                        .then(() => conf.joinLobby(o.displayName))
                        .catch(e => fail('lobby', `cannot join the lobby: ${e && e.message}`));
                    // Admission re-joins the main room: CONFERENCE_JOINED resolves.
                } else {
                    fail(lobby ? 'lobby' : 'members-only', code);
                }
                break;
            }
            case ERR.CONFERENCE_ACCESS_DENIED:
                fail(this.inLobby ? 'lobby' : 'conference-failed', `${code}: access denied`);
                break;
            case ERR.AUTHENTICATION_REQUIRED:
            case ERR.NOT_ALLOWED_ERROR:
                fail('auth-failed', code);
                break;
            default:
                fail('conference-failed', `${code}${args.length && typeof args[0] === 'string' ? `: ${args[0]}` : ''}`);
            }
        }

        // lost handles a failure after the join. Before the page records it
        // is reported (start() is about to fail or has just succeeded);
        // refusals are always fatal; anything else while recording rejoins.
        lost(code, detail) {
            if (this.stopping || this.ended) {
                return;
            }
            if (!this.recording || FATAL_CODES.has(code)) {
                this.endWith(code, detail);

                return;
            }
            this.reconnect(code === 'conference-failed' ? 'conference-lost' : 'connection-lost', detail);
        }

        // endWith reports a fatal error once; Go then stops the recording.
        endWith(code, detail) {
            if (this.ended || this.stopping) {
                return;
            }
            this.ended = { code, detail };
            emitError(code, detail);
            emitState('left');
        }

        // reconnect leaves what is left of the meeting and joins again with
        // backoff until reconnectTimeoutMs has passed. The recording goes on:
        // everyone leaves the canvas and the mix until they are back.
        async reconnect(reason, detail) {
            if (this.reconnecting || this.stopping || this.ended) {
                return;
            }
            this.reconnecting = true;
            const since = Date.now();
            emit({ type: 'reconnecting', reason, t: since });
            console.warn(`recorder: reconnecting (${reason}): ${scrub(detail)}`);
            // Only where media can be measured: a gap nobody can close
            // would claim silence to the end of the recording. Media that
            // flowed a moment ago counts too: when the XMPP server goes
            // down, its parting presences may remove everyone just before
            // the connection itself fails, and the file is silent from
            // here until they are back all the same.
            const w = this.watchdog;
            if (w && ((this.media.hasUnmutedTrack() && w.sources().length) || w.flowedWithin(since, w.noMediaMs))) {
                w.openGap(since);
            }
            this.joined = false;
            this.media.dropEveryone();
            this.disposeAttempt();
            const deadline = since + this.o.reconnectTimeoutMs;
            let lastError = scrub(detail || reason);
            let tries = 0;
            while (!this.stopping && !this.ended) {
                const remaining = deadline - Date.now();
                if (remaining <= 0) {
                    break;
                }
                // The last attempt comes at the deadline, not before it.
                await Promise.race([ sleep(Math.min(backoffMs(tries + 1), remaining)), this.stopped ]);
                if (this.stopping || this.ended) {
                    break;
                }
                tries++;
                try {
                    // An attempt that hangs (a server that accepts and never
                    // answers) must not outlast the deadline by much.
                    const limit = Math.max(5000, Math.min(30000, deadline - Date.now()));
                    await Promise.race([
                        this.connectOnce(),
                        sleep(limit).then(() => {
                            throw new CodedError('connection-failed', `no join within ${Math.round(limit / 1000)} s`);
                        })
                    ]);
                    if (this.stopping) {
                        break;
                    }
                    this.reconnecting = false;
                    emit({ type: 'reconnected', attempts: tries, t: Date.now() });
                    console.info(`recorder: reconnected after ${tries} attempt(s), ${Date.now() - since} ms`);

                    return;
                } catch (e) {
                    const code = (e && e.code) || 'connection-failed';
                    lastError = scrub((e && (e.detail || e.message)) || code);
                    if (FATAL_CODES.has(code)) {
                        this.reconnecting = false;
                        this.endWith(code, lastError);

                        return;
                    }
                    console.warn(`recorder: reconnect attempt ${tries} failed: ${lastError}`);
                    this.disposeAttempt();
                }
            }
            this.reconnecting = false;
            if (!this.stopping && !this.ended) {
                this.endWith('connection-failed',
                    `gave up reconnecting after ${Math.round((Date.now() - since) / 1000)} s: ${lastError} (${tries} attempts)`);
            }
        }

        // disposeAttempt leaves the current conference and connection,
        // whatever state they are in, without waiting for them.
        disposeAttempt() {
            const conf = this.conference;
            const conn = this.connection;
            this.attempt = null; // from now on their events are ignored
            this.conference = null;
            this.connection = null;
            this.joined = false;
            const quietly = fn => {
                try {
                    Promise.resolve(fn()).catch(() => { /* it is gone anyway */ });
                } catch (e) { /* it is gone anyway */ }
            };
            if (conf) {
                quietly(() => conf.leave());
            }
            if (conn) {
                quietly(() => conn.disconnect());
            }
        }

        onTrackAdded(track, E) {
            if (!track || (track.isLocal && track.isLocal())) {
                return;
            }
            const media = this.media;
            const id = track.getParticipantId();
            if (!media.people.has(id)) {
                const p = this.conference.getParticipantById && this.conference.getParticipantById(id);
                if (p && isHidden(p)) {
                    return;
                }
                media.personJoined(id, p ? displayNameOf(p) : '');
            }
            const kind = track.getType();
            if (kind === 'video' && this.o.audioOnly) {
                // Audio-only records no picture: a video track (if the
                // bridge sends one at all) is neither attached nor decoded,
                // and its mute state does not count for the watchdog.
                return;
            }
            const mst = track.getTrack ? track.getTrack() : track.getOriginalStream().getTracks()[0];
            if (!mst) {
                return;
            }
            const key = this.keyOf(track);
            try {
                const stream = track.getOriginalStream && track.getOriginalStream();
                if (stream && stream.getAudioTracks().length && stream.getVideoTracks().length) {
                    console.info(`recorder: lip sync: ${id}'s audio and video share stream ${stream.id}`);
                }
            } catch (e) { /* diagnostics only */ }
            const videoType = kind === 'video' ? (track.getVideoType && track.getVideoType()) || 'camera' : undefined;
            media.trackAdded(key, id, kind, mst, videoType, track.isMuted(), track);
            if (kind === 'video' && !track.__recorderVT && track.addEventListener) {
                // Older libs switch a camera track to "desktop" for a share.
                track.__recorderVT = true;
                track.addEventListener(E.TRACK_VIDEOTYPE_CHANGED, t => media.trackVideoType(this.keyOf(track), t));
            }
        }

        requestHighQuality() {
            const conf = this.conference;
            if (this.media.tracksMode && !this.o.audioOnly) {
                try {
                    if (typeof conf.setLastN === 'function') {
                        const cfgLastN = (window.config && window.config.channelLastN) || -1;
                        conf.setLastN(cfgLastN > 0 ? cfgLastN : -1);
                    }
                } catch (e) { /* keep the default */ }
                this.updateTrackConstraints();

                return;
            }
            if (!this.media.compositor) {
                this.requestNoVideo();

                return;
            }
            try {
                if (typeof conf.setLastN === 'function') {
                    const cfgLastN = (window.config && window.config.channelLastN) || -1;
                    conf.setLastN(cfgLastN > 0 ? cfgLastN : -1);
                }
            } catch (e) { /* keep the default */ }
            this.updateReceiverConstraints(this.media.compositor.computeLayout());
        }

        // requestNoVideo asks the bridge for no video at all (audio-only):
        // lastN 0 (the bridge then forwards no video) and no height, with
        // every API the lib has. The conference was also created with
        // channelLastN/startLastN 0, so nothing is asked for before this.
        requestNoVideo() {
            const conf = this.conference;
            try {
                if (typeof conf.setLastN === 'function') {
                    conf.setLastN(0);
                }
            } catch (e) { /* the constraints below say it too */ }
            try {
                if (typeof conf.setReceiverConstraints === 'function') {
                    conf.setReceiverConstraints({
                        lastN: 0, defaultConstraints: { maxHeight: 0 }, constraints: {},
                        onStageSources: [], selectedSources: [], onStageEndpoints: [], selectedEndpoints: []
                    });
                } else if (typeof conf.setReceiverVideoConstraint === 'function') {
                    conf.setReceiverVideoConstraint(0);
                }
            } catch (e) {
                console.warn('recorder: receiver constraints (no video)', e);
            }
        }

        // updateReceiverConstraints asks the bridge for each visible video at
        // the height of its tile (HD on stage), with the API the lib has.
        updateReceiverConstraints(layout) {
            const conf = this.conference;
            if (!conf || !this.joined) {
                return;
            }
            const H = this.o.height;
            const layer = h => (h <= 180 ? 180 : h <= 360 ? 360 : h <= 720 ? 720 : H);
            let tileH = 180;
            const stage = [];
            const visible = [];
            for (const t of layout.tiles) {
                visible.push(t);
                if (t.stage) {
                    stage.push(t);
                } else {
                    tileH = Math.max(tileH, t.rect.h);
                }
            }
            const videos = [ ...this.media.compositor.videos.values() ];
            const sourceNames = tile => videos
                .filter(v => v.participantId === tile.participantId
                    && (tile.source === 'desktop' ? v.videoType === 'desktop' : v.videoType !== 'desktop'))
                .map(v => v.jitsiTrack && typeof v.jitsiTrack.getSourceName === 'function' && v.jitsiTrack.getSourceName())
                .filter(Boolean);
            const useSources = videos.some(v => v.jitsiTrack && typeof v.jitsiTrack.getSourceName === 'function'
                && v.jitsiTrack.getSourceName());
            const cfgLastN = (window.config && window.config.channelLastN) || -1;
            const c = {
                lastN: cfgLastN > 0 ? cfgLastN : -1,
                defaultConstraints: { maxHeight: layer(tileH) },
                constraints: {}
            };
            if (useSources) {
                c.onStageSources = [].concat(...stage.map(sourceNames));
                c.selectedSources = [].concat(...visible.map(sourceNames));
                for (const t of visible) {
                    for (const s of sourceNames(t)) {
                        c.constraints[s] = { maxHeight: layer(t.rect.h) };
                    }
                }
            } else {
                c.onStageEndpoints = stage.map(t => t.participantId);
                c.selectedEndpoints = visible.map(t => t.participantId);
                for (const t of visible) {
                    const prev = c.constraints[t.participantId];
                    c.constraints[t.participantId] = { maxHeight: Math.max(prev ? prev.maxHeight : 0, layer(t.rect.h)) };
                }
            }
            const sig = JSON.stringify(c);
            if (sig === this.constraintsSig) {
                return;
            }
            this.constraintsSig = sig;
            try {
                if (typeof conf.setReceiverConstraints === 'function') {
                    conf.setReceiverConstraints(c);
                } else {
                    if (typeof conf.setReceiverVideoConstraint === 'function') {
                        conf.setReceiverVideoConstraint(layer(Math.max(tileH, ...stage.map(t => t.rect.h))));
                    }
                    if (typeof conf.selectParticipants === 'function') {
                        conf.selectParticipants(c.onStageEndpoints || []);
                    }
                }
            } catch (e) {
                console.warn('recorder: receiver constraints', e);
            }
        }

        // updateTrackConstraints (track capture) asks the bridge for every
        // video at the recording's height: each one is recorded as sent, so
        // none is on a small tile.
        updateTrackConstraints() {
            const conf = this.conference;
            if (!conf || !this.joined || this.o.audioOnly) {
                return;
            }
            const H = this.o.height;
            const videos = [ ...this.media.tracks.values() ].filter(t => t.kind === 'video');
            const cfgLastN = (window.config && window.config.channelLastN) || -1;
            const c = { lastN: cfgLastN > 0 ? cfgLastN : -1, defaultConstraints: { maxHeight: H }, constraints: {} };
            if (videos.some(v => v.sourceName)) {
                c.onStageSources = [];
                c.selectedSources = videos.map(v => v.sourceName).filter(Boolean);
                for (const s of c.selectedSources) {
                    c.constraints[s] = { maxHeight: H };
                }
            } else {
                c.onStageEndpoints = [];
                c.selectedEndpoints = [ ...new Set(videos.map(v => v.participantId)) ];
                for (const id of c.selectedEndpoints) {
                    c.constraints[id] = { maxHeight: H };
                }
            }
            const sig = JSON.stringify(c);
            if (sig === this.constraintsSig) {
                return;
            }
            this.constraintsSig = sig;
            try {
                if (typeof conf.setReceiverConstraints === 'function') {
                    conf.setReceiverConstraints(c);
                } else {
                    if (typeof conf.setReceiverVideoConstraint === 'function') {
                        conf.setReceiverVideoConstraint(H);
                    }
                    if (typeof conf.selectParticipants === 'function') {
                        conf.selectParticipants(c.selectedEndpoints || []);
                    }
                }
            } catch (e) {
                console.warn('recorder: receiver constraints (tracks)', e);
            }
        }

        async stop() {
            this.stopping = true;
            this.wake();
            if (this.watchdog) {
                this.watchdog.stop();
            }
            if (this.attempt && !this.attempt.settled && this.attempt.fail) {
                this.attempt.fail('other', 'stopped before the join completed');
            }
            if (this.media) {
                await this.media.stop();
            }
            emit({ type: 'stopped', t: Date.now() });
            await withTimeout(this.leave(), 3000);
            emitState('left');
        }

        async leave() {
            try {
                if (this.conference && this.joined) {
                    await this.conference.leave();
                }
            } catch (e) { /* leaving anyway */ }
            try {
                if (this.connection) {
                    await this.connection.disconnect();
                }
            } catch (e) { /* leaving anyway */ }
        }
    }

    function withTimeout(p, ms) {
        return Promise.race([ Promise.resolve(p), new Promise(resolve => setTimeout(resolve, ms)) ]);
    }

    function isHidden(p) {
        try {
            return Boolean(p && ((p.isHidden && p.isHidden()) || (p.isHiddenFromRecorder && p.isHiddenFromRecorder())));
        } catch (e) {
            return false;
        }
    }

    function displayNameOf(p) {
        try {
            return (p && p.getDisplayName && p.getDisplayName()) || '';
        } catch (e) {
            return '';
        }
    }

    // ---------------------------------------------------------------- API

    const DEFAULTS = {
        domain: '', room: '', tenant: '', jwt: '', password: '', displayName: 'Recorder',
        width: 1280, height: 720, fps: 30, videoBitsPerSecond: 2500000, audioBitsPerSecond: 128000,
        chunkMs: 1000,
        mimeTypes: [ 'video/x-matroska;codecs=avc1,pcm', 'video/x-matroska;codecs=avc1,opus', 'video/webm;codecs=h264,opus', 'video/webm;codecs=vp8,opus' ],
        audioOnly: false,
        // capture: 'composite' (canvas + WebAudio + MediaRecorder, chunk
        // events) or 'tracks' (encoded frames of each receiver, frames events).
        capture: 'composite',
        lipSync: false,
        reconnectTimeoutMs: 120000,
        noMediaMs: 4000,
        rejoinAfterMs: 30000
    };

    function normalize(opts) {
        const o = Object.assign({}, DEFAULTS);
        for (const [ k, v ] of Object.entries(opts || {})) {
            if (v !== undefined && v !== null && v !== '' && !(typeof v === 'number' && !(v > 0))) {
                o[k] = v;
            }
        }
        o.room = String(o.room).trim().toLowerCase();
        o.width = Math.round(o.width);
        o.height = Math.round(o.height);
        o.mimeTypes = Array.isArray(o.mimeTypes) && o.mimeTypes.length ? o.mimeTypes.slice() : DEFAULTS.mimeTypes.slice();
        o.audioOnly = Boolean(o.audioOnly);
        o.capture = o.capture === 'tracks' ? 'tracks' : o.capture === 'composite' ? 'composite' : '';
        // 0 turns the no-media rejoin off (normalize drops zeros above).
        if (opts && opts.rejoinAfterMs === 0) {
            o.rejoinAfterMs = 0;
        }

        return o;
    }

    // loadProblem says why the deployment's scripts are unusable, or ''.
    function loadProblem() {
        const failed = window.__recorderLoadErrors || [];
        if (failed.length) {
            return `cannot load ${failed.join(', ')} from ${location.origin}${window.__recorderBase || '/'}`;
        }
        if (typeof window.config !== 'object' || !window.config) {
            return 'config.js did not define config';
        }
        if (typeof window.JitsiMeetJS !== 'object' && typeof window.JitsiMeetJS !== 'function') {
            return 'lib-jitsi-meet.min.js did not define JitsiMeetJS';
        }
        if (typeof window.JitsiMeetJS.JitsiConnection !== 'function') {
            return 'JitsiMeetJS has no JitsiConnection';
        }

        return '';
    }

    let session = null;
    let restartChain = Promise.resolve('');

    const recorder = {
        // start joins and starts recording; it resolves with {mimeType} or
        // throws an Error whose message is the contract's error code.
        async start(opts) {
            if (session) {
                throw new Error('other');
            }
            const o = normalize(opts);
            secrets = [ o.jwt, o.password ].filter(s => s && s.length >= 3);
            const problem = loadProblem();
            if (problem) {
                emitError('not-jitsi', problem);
                throw new Error('not-jitsi');
            }
            if (!o.room) {
                emitError('other', 'no room given');
                throw new Error('other');
            }
            if (!o.capture) {
                emitError('other', `unknown capture mode ${JSON.stringify(opts.capture)}`);
                throw new Error('other');
            }
            session = new Session(o);
            try {
                return await session.start();
            } catch (e) {
                const code = (e && e.code) || 'other';
                const detail = scrub((e && (e.detail || e.message)) || code);
                if (!session.stopping && !(e && e.reported)) {
                    // A stop() during the join is no error: the caller asked.
                    emitError(code, detail);
                }
                if (session.media) {
                    await session.media.stop().catch(() => { /* best effort */ });
                }
                await withTimeout(session.leave(), 2000);
                session = null;
                // "code: detail": the error event and this rejection race
                // to the caller, and either must say why.
                throw new Error(detail === code ? code : `${code}: ${detail}`);
            }
        },

        // stop ends the recording; it resolves after the final chunk and
        // "stopped" were emitted, then leaves the meeting.
        async stop() {
            if (!session) {
                emit({ type: 'stopped', t: Date.now() });

                return;
            }
            const s = session;
            await s.stop();
        },

        // restartEncoder starts a new encoder generation (see Media); it
        // resolves "" once the new MediaRecorder records, else "error:<msg>".
        // Calls are serialised: each one makes exactly one new generation.
        restartEncoder() {
            const run = async () => {
                const m = session && session.media;
                if (!m || !m.encoder || session.stopping) {
                    return 'error:not recording';
                }
                try {
                    await m.restartEncoder();

                    return '';
                } catch (e) {
                    return `error:${scrub((e && (e.detail || e.message)) || 'restart failed')}`;
                }
            };
            restartChain = restartChain.then(run, run);

            return restartChain;
        },

        // setPace changes the composite frame rate (see Media.setPace); it
        // returns "" or what went wrong.
        setPace(fps) {
            const m = session && session.media;
            if (!m) {
                return 'not recording';
            }
            m.setPace(Number(fps));

            return '';
        },

        // debug returns the current layout, for tests and troubleshooting.
        debug() {
            const m = session && session.media;
            if (m && m.tracksMode) {
                const tap = m.tap;

                return {
                    mode: 'tracks', tiles: [],
                    compositor: Boolean(m.compositor), mixer: Boolean(m.mixer), encoder: Boolean(m.encoder),
                    canvases: document.querySelectorAll('canvas').length,
                    mediaElements: document.querySelectorAll('audio, video').length,
                    tapped: tap ? { audio: tap.frames.a, video: tap.frames.v, bytes: tap.frames.bytes, batches: tap.batches, dropped: tap.droppedFrames } : null
                };
            }
            const c = session && session.media && session.media.compositor;
            if (!c) {
                return { mode: 'none', tiles: [] };
            }
            const layout = c.computeLayout();

            return {
                mode: layout.mode,
                width: c.W,
                height: c.H,
                frames: c.frames,
                tiles: layout.tiles.map(t => {
                    const v = c.videoFor(t);

                    return {
                        participantId: t.participantId, name: t.name, source: t.source, stage: t.stage,
                        video: Boolean(v), rect: t.rect
                    };
                })
            };
        },

        // _test drives the same media model as lib events do, without a
        // meeting. Only tests use it; it cannot join or leak anything.
        _test: {
            async startEncoding(opts) {
                if (session) {
                    throw new Error('other');
                }
                const o = normalize(opts);
                session = new Session(o);
                session.media = new Media(o);
                const mimeType = await session.media.startEncoding();
                emitState('recording', session.media.startedAt);

                return { mimeType };
            },
            addParticipant(id, name, stream) {
                const m = session.media;
                m.personJoined(id, name);
                if (stream) {
                    stream.getTracks().forEach((t, i) => m.trackAdded(`${id}/${t.kind}/${i}`, id, t.kind, t, 'camera', false, null));
                }
            },
            addTrack(id, key, mst, videoType, muted) {
                session.media.trackAdded(key, id, mst.kind, mst, videoType || 'camera', Boolean(muted), null);
            },
            removeParticipant(id) {
                const m = session.media;
                for (const [ key, t ] of [ ...m.tracks.entries() ]) {
                    if (t.participantId === id) {
                        m.trackRemoved(key);
                    }
                }
                m.personLeft(id);
            },
            setDominant(id) {
                session.media.dominantSpeaker(id);
            },
            setVideoType(id, videoType) {
                const m = session.media;
                for (const [ key, t ] of m.tracks.entries()) {
                    if (t.participantId === id && t.kind === 'video') {
                        m.trackVideoType(key, videoType);
                    }
                }
            },
            setMuted(id, muted) {
                const m = session.media;
                for (const [ key, t ] of m.tracks.entries()) {
                    if (t.participantId === id && t.kind === 'video') {
                        m.trackMuted(key, muted);
                    }
                }
            },
            computeLayout,
            groupStreamsByOwner,
            lipSyncGrouped: () => lipSync.grouped,
            // inboundBytes sums inbound RTP bytes by kind over the
            // connections the media watchdog reads.
            async inboundBytes() {
                const out = { audio: 0, video: 0, connections: 0, jvb: false };
                if (!session) {
                    return out;
                }
                out.jvb = Boolean(jvbPeerConnection(session.conference));
                const wd = session.watchdog || new MediaWatchdog(session, session.o);
                const pcs = wd.sources();
                if (!session.watchdog) {
                    wd.stop();
                }
                out.connections = pcs.length;
                for (const pc of pcs) {
                    (await pc.getStats()).forEach(r => {
                        if (r.type === 'inbound-rtp' && (r.kind === 'audio' || r.kind === 'video')) {
                            out[r.kind] += Number(r.bytesReceived) || 0;
                        }
                    });
                }

                return out;
            },
            // tapMetadata says which frame metadata fields the tap's worker
            // has seen (track capture), and how often receiveTime was unusable.
            tapMetadata: () => (session && session.media && session.media.tap ? session.media.tap.metadataReport() : null),
            // setTapMaxPending changes the pending-frames bound (0: default).
            setTapMaxPending(n) {
                session.media.tap.maxPending = n > 0 ? n : TAP_MAX_PENDING;
            },
            playoutTargetMs: () => (session && session.media && session.media.aligner ? session.media.aligner.targetMs : -1)
        }
    };

    window.recorder = recorder;
    installLipSync();
    installTapHooks();

    const problem = loadProblem();
    if (problem) {
        emitError('not-jitsi', problem);
    } else {
        emitState('loaded');
    }
})();
