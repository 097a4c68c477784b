// A stand-in for lib-jitsi-meet with the same global API surface the recorder
// page uses (JitsiMeetJS.init, JitsiConnection, JitsiConference events and
// errors). The scenario comes from the page URL (?scenario=...); remote
// participants are canvases and oscillators added with
// fakeMeeting.addRemote(...). Every call the page makes is logged in
// window.fakeLog so tests can check what the page asked for.
'use strict';
(function () {
    const scenario = new URLSearchParams(location.search).get('scenario') || 'join';
    const log = window.fakeLog = { init: null, connection: null, conference: null, join: [], constraints: [], lobby: [], displayName: null, left: false,
        connects: [], leaves: 0, disconnects: 0, lastN: [] };
    // plan holds the outcomes of the next connection attempts, one each:
    // 'ok', 'fail' (CONNECTION_FAILED), 'hang' (no answer), 'password'
    // (the conference asks for a password). Empty: fakeMeeting.outcome.
    const plan = [];
    let defaultOutcome = 'ok';

    const events = {
        connection: {
            CONNECTION_ESTABLISHED: 'connection.connectionEstablished',
            CONNECTION_FAILED: 'connection.connectionFailed',
            CONNECTION_DISCONNECTED: 'connection.connectionDisconnected'
        },
        conference: {
            CONFERENCE_JOINED: 'conference.joined',
            CONFERENCE_FAILED: 'conference.failed',
            CONFERENCE_LEFT: 'conference.left',
            KICKED: 'conference.kicked',
            USER_JOINED: 'conference.userJoined',
            USER_LEFT: 'conference.userLeft',
            DISPLAY_NAME_CHANGED: 'conference.displayNameChanged',
            DOMINANT_SPEAKER_CHANGED: 'conference.dominantSpeaker',
            TRACK_ADDED: 'conference.trackAdded',
            TRACK_REMOVED: 'conference.trackRemoved',
            TRACK_MUTE_CHANGED: 'conference.trackMuteChanged'
        },
        track: { TRACK_VIDEOTYPE_CHANGED: 'track.videoTypeChanged' }
    };
    const errors = {
        connection: {
            PASSWORD_REQUIRED: 'connection.passwordRequired',
            OTHER_ERROR: 'connection.otherError'
        },
        conference: {
            PASSWORD_REQUIRED: 'conference.passwordRequired',
            MEMBERS_ONLY_ERROR: 'conference.connectionError.membersOnly',
            AUTHENTICATION_REQUIRED: 'conference.authenticationRequired',
            NOT_ALLOWED_ERROR: 'conference.connectionError.notAllowed',
            CONFERENCE_ACCESS_DENIED: 'conference.connectionError.accessDenied',
            FOCUS_LEFT: 'conference.focusLeft'
        }
    };

    class Emitter {
        constructor() { this.handlers = {}; }
        addEventListener(name, fn) { (this.handlers[name] = this.handlers[name] || []).push(fn); }
        on(name, fn) { this.addEventListener(name, fn); }
        emit(name, ...args) { (this.handlers[name] || []).forEach(fn => fn(...args)); }
    }

    class FakeTrack extends Emitter {
        constructor(pid, mst, videoType) {
            super();
            this.pid = pid;
            this.mst = mst;
            this.videoType = videoType;
            this.muted = false;
        }
        getParticipantId() { return this.pid; }
        getType() { return this.mst.kind; }
        getTrack() { return this.mst; }
        getOriginalStream() { return new MediaStream([ this.mst ]); }
        getVideoType() { return this.videoType; }
        getSourceName() { return `${this.pid}-${this.mst.kind[0]}0`; }
        isMuted() { return this.muted; }
        isLocal() { return false; }
    }

    class FakeParticipant {
        constructor(id, name) { this.id = id; this.name = name; }
        getId() { return this.id; }
        getDisplayName() { return this.name; }
        isHidden() { return this.id.startsWith('hidden'); }
    }

    let conference = null;
    let connection = null;

    class JitsiConference extends Emitter {
        constructor(name, options) {
            super();
            this.name = name;
            this.participants = {};
            log.conference = { name, p2p: options.p2p, startSilent: options.startSilent,
                channelLastN: options.channelLastN, startLastN: options.startLastN };
        }
        setDisplayName(n) { log.displayName = n; }
        join(password) {
            log.join.push(password === undefined ? null : password);
            setTimeout(() => {
                if (this.outcome === 'password') {
                    this.emit(events.conference.CONFERENCE_FAILED, errors.conference.PASSWORD_REQUIRED);
                } else if (this.outcome === 'hang') {
                    // no answer
                } else if (scenario === 'password' || (scenario === 'password-ok' && password !== 'sesame')) {
                    this.emit(events.conference.CONFERENCE_FAILED, errors.conference.PASSWORD_REQUIRED);
                } else if (scenario === 'members') {
                    this.emit(events.conference.CONFERENCE_FAILED, errors.conference.MEMBERS_ONLY_ERROR);
                } else if (scenario === 'lobby' && !this.admitted) {
                    this.emit(events.conference.CONFERENCE_FAILED, errors.conference.MEMBERS_ONLY_ERROR, 'lobby@lobby.localhost');
                } else if (scenario === 'lobby-denied') {
                    this.emit(events.conference.CONFERENCE_FAILED, errors.conference.MEMBERS_ONLY_ERROR, 'lobby@lobby.localhost');
                } else if (scenario === 'focus-left') {
                    this.emit(events.conference.CONFERENCE_FAILED, errors.conference.FOCUS_LEFT);
                } else {
                    this.emit(events.conference.CONFERENCE_JOINED);
                    announceRemotes(this);
                }
            }, 20);
        }
        isLobbySupported() { return scenario.startsWith('lobby'); }
        joinLobby(displayName) {
            log.lobby.push(displayName);
            setTimeout(() => {
                if (scenario === 'lobby-denied') {
                    this.emit(events.conference.CONFERENCE_FAILED, errors.conference.CONFERENCE_ACCESS_DENIED);
                } else {
                    this.admitted = true;
                    this.emit(events.conference.CONFERENCE_JOINED);
                }
            }, 300);
            return Promise.resolve();
        }
        getParticipantById(id) { return this.participants[id]; }
        setReceiverConstraints(c) { log.constraints.push(JSON.parse(JSON.stringify(c))); }
        setLastN(n) { log.lastN.push(n); }
        leave() {
            log.left = true;
            log.leaves++;
            this.emit(events.conference.CONFERENCE_LEFT);
            if (this.throwOnLeave) {
                throw new Error('the connection is gone');
            }
            return Promise.resolve();
        }
    }

    // announceRemotes tells a (re)joined conference about the remotes that
    // are in the meeting, with new track objects, as the MUC and the bridge
    // do after a rejoin.
    function announceRemotes(conf) {
        for (const [ id, r ] of Object.entries(remotes)) {
            const p = new FakeParticipant(id, r.name);
            conf.participants[id] = p;
            r.v = new FakeTrack(id, r.v.mst, r.v.videoType);
            r.a = new FakeTrack(id, r.a.mst);
            conf.emit(events.conference.USER_JOINED, id, p);
            conf.emit(events.conference.TRACK_ADDED, r.v);
            conf.emit(events.conference.TRACK_ADDED, r.a);
        }
        if (stats.enabled) {
            conf.jvbJingleSession = { peerconnection: { peerconnection: new FakePeerConnection() } };
        }
    }

    // FakePeerConnection answers getStats like the bridge connection: an
    // audio and a video inbound-rtp whose bytes grow while stats.flowing.
    const stats = { enabled: false, flowing: true, calls: 0 };
    class FakePeerConnection {
        constructor() {
            this.connectionState = 'connected';
            this.audio = 0;
            this.video = 0;
        }
        getStats() {
            stats.calls++;
            if (stats.flowing) {
                this.audio += 1000;
                this.video += 10000;
            }
            return Promise.resolve(new Map([
                [ 'IA1', { id: 'IA1', type: 'inbound-rtp', kind: 'audio', bytesReceived: this.audio } ],
                [ 'IV1', { id: 'IV1', type: 'inbound-rtp', kind: 'video', bytesReceived: this.video } ],
                [ 'T1', { id: 'T1', type: 'transport', bytesReceived: 1 } ]
            ]));
        }
        getReceivers() { return []; }
        close() { this.connectionState = 'closed'; }
    }

    class JitsiConnection extends Emitter {
        constructor(appID, token, options) {
            super();
            log.connection = { appID, token, serviceUrl: options.serviceUrl, hosts: options.hosts };
        }
        connect(opts) {
            log.connection.connectName = opts && opts.name;
            log.connects.push(Date.now());
            this.outcome = plan.length ? plan.shift() : defaultOutcome;
            setTimeout(() => {
                if (this.outcome === 'fail') {
                    this.emit(events.connection.CONNECTION_FAILED, errors.connection.OTHER_ERROR, 'server unreachable');
                } else if (this.outcome === 'hang') {
                    // no answer
                } else if (scenario === 'conn-fail') {
                    this.emit(events.connection.CONNECTION_FAILED, errors.connection.OTHER_ERROR, 'cannot reach the server');
                } else if (scenario === 'auth') {
                    this.emit(events.connection.CONNECTION_FAILED, errors.connection.PASSWORD_REQUIRED,
                        `token ${log.connection.token} rejected`);
                } else {
                    this.emit(events.connection.CONNECTION_ESTABLISHED);
                }
            }, 20);
        }
        initJitsiConference(name, options) {
            conference = new JitsiConference(name, options);
            conference.outcome = this.outcome;
            connection = this;
            return conference;
        }
        disconnect() {
            log.disconnected = true;
            log.disconnects++;
            if (conference && conference.jvbJingleSession) {
                conference.jvbJingleSession.peerconnection.peerconnection.close();
            }
            return Promise.resolve();
        }
    }

    window.JitsiMeetJS = {
        version: 'fake',
        events,
        errors,
        logLevels: { WARN: 'warn' },
        setLogLevel() {},
        init(options) { log.init = { disableAudioLevels: options.disableAudioLevels }; },
        JitsiConnection
    };

    // fakeMeeting plays the remote side: participants with a coloured,
    // animated canvas and a sine tone.
    const audio = new AudioContext({ sampleRate: 48000 });
    const remotes = {};
    window.fakeMeeting = {
        addRemote(id, name, colour, freq, videoType) {
            const canvas = document.createElement('canvas');
            canvas.width = 640;
            canvas.height = 360;
            const ctx = canvas.getContext('2d');
            let n = 0;
            const paint = () => {
                ctx.fillStyle = colour;
                ctx.fillRect(0, 0, 640, 360);
                ctx.fillStyle = '#000000';
                ctx.fillRect(600, 0, 40, 20);
                ctx.fillStyle = '#ffffff';
                ctx.fillRect(600, 0, (n++ % 40), 20); // a moving bar: the video changes
            };
            paint();
            const timer = setInterval(paint, 33);
            const vtrack = canvas.captureStream(30).getVideoTracks()[0];
            const osc = audio.createOscillator();
            osc.frequency.value = freq;
            const gain = audio.createGain();
            gain.gain.value = 0.3;
            const dest = audio.createMediaStreamDestination();
            osc.connect(gain).connect(dest);
            osc.start();
            audio.resume();
            const atrack = dest.stream.getAudioTracks()[0];
            const p = new FakeParticipant(id, name);
            conference.participants[id] = p;
            const v = new FakeTrack(id, vtrack, videoType || 'camera');
            const a = new FakeTrack(id, atrack);
            remotes[id] = { name, v, a, timer, osc };
            conference.emit(events.conference.USER_JOINED, id, p);
            conference.emit(events.conference.TRACK_ADDED, v);
            conference.emit(events.conference.TRACK_ADDED, a);
        },
        removeRemote(id) {
            const r = remotes[id];
            conference.emit(events.conference.TRACK_REMOVED, r.v);
            conference.emit(events.conference.TRACK_REMOVED, r.a);
            clearInterval(r.timer);
            r.osc.stop();
            delete conference.participants[id];
            delete remotes[id];
            conference.emit(events.conference.USER_LEFT, id, new FakeParticipant(id, ''));
        },
        // freezeVideo stops painting id's canvas: its track sends no new
        // frames, as a still camera or a static screen share.
        freezeVideo(id) {
            clearInterval(remotes[id].timer);
        },
        muteVideo(id, muted) {
            const r = remotes[id];
            r.v.muted = muted;
            conference.emit(events.conference.TRACK_MUTE_CHANGED, r.v);
        },
        setVideoType(id, t) {
            const r = remotes[id];
            r.v.videoType = t;
            r.v.emit(events.track.TRACK_VIDEOTYPE_CHANGED, t);
        },
        dominant(id) { conference.emit(events.conference.DOMINANT_SPEAKER_CHANGED, id); },
        rename(id, name) { conference.emit(events.conference.DISPLAY_NAME_CHANGED, id, name); },
        kick() { conference.emit(events.conference.KICKED, {}, 'bye'); },
        muteAll(muted) {
            for (const r of Object.values(remotes)) {
                r.v.muted = muted;
                r.a.muted = muted;
                conference.emit(events.conference.TRACK_MUTE_CHANGED, r.v);
                conference.emit(events.conference.TRACK_MUTE_CHANGED, r.a);
            }
        },
        // Faults: the XMPP connection fails or drops, the conference fails
        // or is left (leave() then throws, as on a dead connection).
        dropConnection() {
            conference.throwOnLeave = true;
            connection.emit(events.connection.CONNECTION_FAILED, errors.connection.OTHER_ERROR, 'websocket closed');
        },
        disconnect() { connection.emit(events.connection.CONNECTION_DISCONNECTED, 'gone'); },
        leaveConference() { conference.emit(events.conference.CONFERENCE_LEFT); },
        failConference() { conference.emit(events.conference.CONFERENCE_FAILED, errors.conference.FOCUS_LEFT); },
        plan(...outcomes) { plan.push(...outcomes); },
        setOutcome(o) { defaultOutcome = o; },
        // Stats: the conference gets a bridge connection whose bytes grow
        // while flowing.
        enableStats() {
            stats.enabled = true;
            conference.jvbJingleSession = { peerconnection: { peerconnection: new FakePeerConnection() } };
        },
        setFlowing(on) { stats.flowing = on; },
        statsCalls() { return stats.calls; }
    };
})();
