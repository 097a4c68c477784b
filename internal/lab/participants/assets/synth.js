// synth.js: the lab's known media (sender side) and its measurement (receiver
// side). Plain browser JS, no build step; used by participant.html.
//
// Sender: a canvas in the participant's colour with its name and a frame
// counter, a continuous sine tone, and wall-clock sync markers (whole canvas
// white and a beep starting at the same instant, whenever
// Date.now() % periodMs < durationMs).
//
// Receiver: counts decoded frames of a remote video, samples its colour, and
// measures the level of known tones in a remote audio stream (Goertzel).
'use strict';

(function (global) {
    // Moderate level: -12 dBFS sine, beep a little louder so it stands out.
    const TONE_GAIN = 0.25;
    const BEEP_GAIN = 0.5;

    // Sender builds the synthetic media of one participant.
    // opts: {width, height, fps, color, name, toneHz, markers: {period_ms, duration_ms, beep_hz, beep}}
    class Sender {
        constructor(audioCtx, opts) {
            this.ctx = audioCtx;
            this.opts = opts;
            this.frames = 0;
            this.flashFrames = 0;
            this.lastFlashAt = 0;
            // [marker instant, ms its first white frame was drawn after it],
            // the last 64: a busy sender draws the flash late, and that
            // lateness shows as video late at every receiver.
            this.flashLate = [];
            this.scheduledBeeps = [];
            this.canvas = document.createElement('canvas');
            this.canvas.width = opts.width;
            this.canvas.height = opts.height;
            this.canvas.id = 'self-canvas';
            // Opaque and never read back: the cheapest 2D canvas to draw,
            // composite and capture.
            this.g = this.canvas.getContext('2d', { alpha: false });
            this.background = this._background();
            this.g.fillStyle = '#ffffff';
            this.g.textAlign = 'center';
            this.g.textBaseline = 'middle';
            this.g.font = 'bold ' + Math.round(opts.height / 4) + 'px monospace';
            this._draw();
            this._startVideoClock();
            this._startAudio();
        }

        // stream returns a new MediaStream with the canvas video and the tone/beep audio.
        videoTrack() { return this.videoStream.getVideoTracks()[0]; }
        audioTrack() { return this.audioDest.stream.getAudioTracks()[0]; }

        inMarker(nowMs) {
            const m = this.opts.markers;
            return nowMs % m.period_ms < m.duration_ms;
        }

        // _background draws the colour and name once; every frame copies it
        // and adds only the counter.
        _background() {
            const o = this.opts, c = document.createElement('canvas');
            c.width = o.width;
            c.height = o.height;
            const g = c.getContext('2d', { alpha: false });
            g.fillStyle = o.color;
            g.fillRect(0, 0, o.width, o.height);
            g.fillStyle = '#ffffff';
            g.textAlign = 'center';
            g.textBaseline = 'middle';
            g.font = 'bold ' + Math.round(o.height / 8) + 'px sans-serif';
            g.fillText(o.name, o.width / 2, o.height * 0.3);
            return c;
        }

        _draw() {
            const o = this.opts, g = this.g, w = o.width, h = o.height;
            const now = Date.now();
            if (this.inMarker(now)) {
                g.fillRect(0, 0, w, h); // fillStyle stays white
                const m = this.opts.markers, late = now % m.period_ms;
                if (this.lastFlashAt < now - late) { // the marker's first white frame
                    this.flashLate.push([now - late, late]);
                    if (this.flashLate.length > 64) this.flashLate.shift();
                }
                this.flashFrames++;
                this.lastFlashAt = now;
            } else {
                g.drawImage(this.background, 0, 0);
                g.fillText(String(this.frames), w / 2, h * 0.62);
            }
            this.frames++;
        }

        // Frames are drawn on wall-clock multiples of the frame interval, so a
        // frame falls on every marker instant (the period is a whole number
        // of frames). A timer, not rAF: background tabs may throttle rAF.
        _startVideoClock() {
            const interval = 1000 / this.opts.fps;
            const tick = () => {
                if (this.stopped) return;
                this._draw();
                const now = Date.now();
                const next = Math.floor(now / interval + 1) * interval;
                this.timer = setTimeout(tick, Math.max(0, next - now));
            };
            const now = Date.now();
            this.timer = setTimeout(tick, Math.floor(now / interval + 1) * interval - now);
            this.videoStream = this.canvas.captureStream(this.opts.fps);
        }

        _startAudio() {
            const ctx = this.ctx, o = this.opts;
            this.audioDest = ctx.createMediaStreamDestination();
            const tone = ctx.createOscillator();
            tone.type = 'sine';
            tone.frequency.value = o.toneHz;
            const toneGain = ctx.createGain();
            toneGain.gain.value = TONE_GAIN;
            tone.connect(toneGain).connect(this.audioDest);
            tone.start();

            // One beep oscillator, gated by gain automation at the marker times.
            const beep = ctx.createOscillator();
            beep.type = 'sine';
            beep.frequency.value = o.markers.beep_hz;
            this.beepGain = ctx.createGain();
            this.beepGain.gain.value = 0;
            beep.connect(this.beepGain).connect(this.audioDest);
            beep.start();
            this.nodes = [tone, beep];

            this.lastScheduled = 0;
            const schedule = () => {
                if (this.stopped) return;
                this._scheduleBeeps();
                this.beepTimer = setTimeout(schedule, 250);
            };
            schedule();
        }

        // Schedules the beeps of the markers in the next second and a half:
        // the context time of a wall-clock instant is now's context time plus
        // the distance in wall-clock time.
        _scheduleBeeps() {
            const m = this.opts.markers, ctx = this.ctx;
            if (m.beep === false) return; // a silent marker: flash only
            const now = Date.now();
            let t = Math.ceil(now / m.period_ms) * m.period_ms;
            for (; t < now + 1500; t += m.period_ms) {
                if (t <= this.lastScheduled) continue;
                const start = ctx.currentTime + (t - Date.now()) / 1000;
                if (start <= ctx.currentTime) continue;
                this.beepGain.gain.setValueAtTime(BEEP_GAIN, start);
                this.beepGain.gain.setValueAtTime(0, start + m.duration_ms / 1000);
                this.lastScheduled = t;
                this.scheduledBeeps.push(t);
                if (this.scheduledBeeps.length > 20) this.scheduledBeeps.shift();
            }
        }

        stop() {
            this.stopped = true;
            clearTimeout(this.timer);
            clearTimeout(this.beepTimer);
            this.nodes.forEach(n => { try { n.stop(); } catch (e) { /* already stopped */ } });
            this.videoStream.getTracks().forEach(t => t.stop());
        }
    }

    // goertzelDb returns the amplitude of frequency hz in samples, in dBFS
    // (a full-scale sine gives 0 dB).
    function goertzelDb(samples, sampleRate, hz) {
        const n = samples.length;
        const k = 2 * Math.cos(2 * Math.PI * hz / sampleRate);
        let s1 = 0, s2 = 0;
        for (let i = 0; i < n; i++) {
            // Hann window keeps neighbouring tones (110 Hz apart) out.
            const w = 0.5 - 0.5 * Math.cos(2 * Math.PI * i / (n - 1));
            const s0 = samples[i] * w + k * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        const power = s1 * s1 + s2 * s2 - k * s1 * s2;
        const amp = 2 * Math.sqrt(Math.max(power, 0)) / (n * 0.5); // 0.5: Hann coherent gain
        return 20 * Math.log10(amp + 1e-12);
    }

    function median(xs) {
        if (!xs.length) return -200;
        const s = xs.slice().sort((a, b) => a - b);
        return s[Math.floor(s.length / 2)];
    }

    // Receiver measures one remote participant's video and audio.
    // opts: {audioCtx, tonesHz: [..] (levels reported for each), container: element}
    class Receiver {
        constructor(opts) {
            this.opts = opts;
            this.videoFrames = 0;
            this.videoSamples = []; // [timeMs, frames]
            this.color = '';
            this.levels = {}; // hz -> recent dB values
            this.tracks = {};
            this.box = document.createElement('div');
            this.box.className = 'remote';
            opts.container.appendChild(this.box);
            this.timer = setInterval(() => this._measure(), 200);
        }

        // setVideo attaches a remote video stream (muted) and counts its frames.
        setVideo(stream) {
            this.tracks.video = true;
            if (!this.video) {
                this.video = document.createElement('video');
                this.video.muted = true;
                this.video.autoplay = true;
                this.video.playsInline = true;
                this.video.width = 160;
                this.video.height = 90;
                this.box.appendChild(this.video);
            }
            this.video.srcObject = stream;
            this.video.play().catch(() => { /* retried by autoplay */ });
            if (this.video.requestVideoFrameCallback && !this.rvfc) {
                this.rvfc = true;
                const onFrame = (now, meta) => {
                    if (this.closed) return;
                    this.videoFrames = meta.presentedFrames || this.videoFrames + 1;
                    this.video.requestVideoFrameCallback(onFrame);
                };
                this.video.requestVideoFrameCallback(onFrame);
            }
        }

        // setAudio feeds a remote audio stream to an analyser. Remote WebRTC
        // audio is silent in WebAudio unless an element also plays it.
        setAudio(stream) {
            this.tracks.audio = true;
            if (!this.audio) {
                this.audio = document.createElement('audio');
                this.audio.muted = true;
                this.audio.autoplay = true;
                this.box.appendChild(this.audio);
            }
            this.audio.srcObject = stream;
            this.audio.play().catch(() => { /* retried by autoplay */ });
            const ctx = this.opts.audioCtx;
            if (this.source) this.source.disconnect();
            this.source = ctx.createMediaStreamSource(stream);
            if (!this.analyser) {
                this.analyser = ctx.createAnalyser();
                this.analyser.fftSize = 8192;
                this.buf = new Float32Array(this.analyser.fftSize);
            }
            this.source.connect(this.analyser);
        }

        removeTrack(kind) {
            delete this.tracks[kind];
        }

        _measure() {
            const now = performance.now();
            if (this.video) {
                if (!this.video.requestVideoFrameCallback && this.video.getVideoPlaybackQuality) {
                    this.videoFrames = this.video.getVideoPlaybackQuality().totalVideoFrames;
                }
                this.videoSamples.push([now, this.videoFrames]);
                while (this.videoSamples.length && now - this.videoSamples[0][0] > 2000) this.videoSamples.shift();
                this._sampleColor();
            }
            if (this.analyser) {
                this.analyser.getFloatTimeDomainData(this.buf);
                const rate = this.opts.audioCtx.sampleRate;
                for (const hz of this.opts.tonesHz) {
                    const l = this.levels[hz] || (this.levels[hz] = []);
                    l.push(goertzelDb(this.buf, rate, hz));
                    if (l.length > 30) l.shift();
                }
            }
        }

        // _sampleColor reads the mean colour of the video's top-left corner,
        // away from the drawn text.
        _sampleColor() {
            const v = this.video;
            if (!v.videoWidth) return;
            if (!this.thumb) {
                this.thumb = document.createElement('canvas');
                this.thumb.width = 64;
                this.thumb.height = 36;
                this.thumbCtx = this.thumb.getContext('2d', { willReadFrequently: true });
            }
            this.thumbCtx.drawImage(v, 0, 0, 64, 36);
            const d = this.thumbCtx.getImageData(2, 2, 8, 6).data;
            let r = 0, g = 0, b = 0, n = d.length / 4;
            for (let i = 0; i < d.length; i += 4) { r += d[i]; g += d[i + 1]; b += d[i + 2]; }
            const hex = x => Math.round(x / n).toString(16).padStart(2, '0');
            const c = '#' + hex(r) + hex(g) + hex(b);
            // A flash is white: keep the last non-flash colour.
            if (!(r / n > 235 && g / n > 235 && b / n > 235)) this.color = c;
        }

        fps() {
            const s = this.videoSamples;
            if (s.length < 2) return 0;
            const dt = (s[s.length - 1][0] - s[0][0]) / 1000;
            return dt > 0 ? (s[s.length - 1][1] - s[0][1]) / dt : 0;
        }

        // report summarises the measurements; tone levels are medians of the
        // last three seconds (a continuous tone) and maxima of the last six
        // (a marker beep, 100 ms every 5 s).
        report() {
            const levels = {}, maxima = {};
            let peakHz = 0, peakDb = -200;
            for (const hz of this.opts.tonesHz) {
                const recent = this.levels[hz] || [];
                const db = median(recent.slice(-15));
                levels[String(hz)] = Math.round(db * 10) / 10;
                maxima[String(hz)] = Math.round(Math.max(-200, ...recent) * 10) / 10;
                if (db > peakDb) { peakDb = db; peakHz = hz; }
            }
            const fps = this.fps();
            return {
                videoFrames: this.videoFrames,
                videoFps: Math.round(fps * 10) / 10,
                videoFramesIncreasing: fps >= 1,
                videoColor: this.color,
                toneLevelsDb: levels,
                toneMaxDb: maxima,
                peakToneHz: peakHz,
                peakToneDb: Math.round(peakDb * 10) / 10,
                tracks: Object.keys(this.tracks).sort(),
            };
        }

        close() {
            this.closed = true;
            clearInterval(this.timer);
            if (this.source) this.source.disconnect();
            if (this.video) this.video.srcObject = null;
            if (this.audio) this.audio.srcObject = null;
            this.box.remove();
        }
    }

    global.LabSynth = { Sender, Receiver, goertzelDb, TONE_GAIN, BEEP_GAIN };
})(window);
