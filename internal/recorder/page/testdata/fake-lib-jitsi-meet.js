// A stand-in for lib-jitsi-meet with the same global API surface the recorder
// page uses (JitsiMeetJS.init, JitsiConnection, JitsiConference events and
// errors). The scenario comes from the page URL (?scenario=...); remote
// participants are canvases and oscillators added with
// fakeMeeting.addRemote(...). Every call the page makes is logged in
// window.fakeLog so tests can check what the page asked for.
'use strict';
(function () {
    const scenario = new URLSearchParams(location.search).get('scenario') || 'join';
    const log = window.fakeLog = { init: null, connection: null, conference: null, join: [], constraints: [], lobby: [], displayName: null, left: false };

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

    class JitsiConference extends Emitter {
        constructor(name, options) {
            super();
            this.name = name;
            this.participants = {};
            log.conference = { name, p2p: options.p2p, startSilent: options.startSilent };
        }
        setDisplayName(n) { log.displayName = n; }
        join(password) {
            log.join.push(password === undefined ? null : password);
            setTimeout(() => {
                if (scenario === 'password' || (scenario === 'password-ok' && password !== 'sesame')) {
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
        setLastN(n) { log.lastN = n; }
        leave() { log.left = true; this.emit(events.conference.CONFERENCE_LEFT); return Promise.resolve(); }
    }

    class JitsiConnection extends Emitter {
        constructor(appID, token, options) {
            super();
            log.connection = { appID, token, serviceUrl: options.serviceUrl, hosts: options.hosts };
        }
        connect(opts) {
            log.connection.connectName = opts && opts.name;
            setTimeout(() => {
                if (scenario === 'conn-fail') {
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
            return conference;
        }
        disconnect() { log.disconnected = true; return Promise.resolve(); }
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
            remotes[id] = { v, a, timer, osc };
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
            conference.emit(events.conference.USER_LEFT, id, new FakeParticipant(id, ''));
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
        kick() { conference.emit(events.conference.KICKED, {}, 'bye'); }
    };
})();
