// lab-client.js: joining a Jitsi meeting with the lib-jitsi-meet 2021 API
// (global JitsiMeetJS), shared by participant.html and meeting.html.
// Needs /config.js (global `config`) and /libs/lib-jitsi-meet.min.js, which
// LabClient.load() fetches from the web front and initialises.
'use strict';

(function (global) {
    function loadScript(src) {
        return new Promise((resolve, reject) => {
            const s = document.createElement('script');
            s.src = src;
            s.onload = () => resolve();
            s.onerror = () => reject(new Error('cannot load ' + src));
            document.head.appendChild(s);
        });
    }

    // load fetches the web front's config and lib-jitsi-meet (absolute
    // paths: meeting.html is served at /<room>).
    async function load() {
        if (typeof global.config === 'undefined') await loadScript('/config.js');
        if (typeof global.JitsiMeetJS === 'undefined') await loadScript('/libs/lib-jitsi-meet.min.js');
        if (typeof global.JitsiMeetJS === 'undefined') throw new Error('lib-jitsi-meet did not define JitsiMeetJS');
        if (typeof global.config === 'undefined') throw new Error('/config.js did not define config');
        // init before anything else: createLocalTracks reads its options.
        JitsiMeetJS.init({ disableAudioLevels: true });
        JitsiMeetJS.setLogLevel(JitsiMeetJS.logLevels.ERROR);
        return global.config;
    }

    // absoluteServiceURL turns a path like /xmpp-websocket into a full URL:
    // the XMPP client needs one for WebSocket.
    function absoluteServiceURL(u) {
        if (!u) return u;
        if (/^(wss?|https?):/.test(u)) return u;
        const base = new URL(u, location.href);
        if (/websocket/.test(u)) base.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
        return base.href;
    }

    // createLocalTracks wraps plain MediaStreamTracks as JitsiLocalTracks. The
    // 2021 lib has no createLocalTracksFromMediaStreams, so getUserMedia is
    // answered with the given tracks while createLocalTracks runs.
    async function createLocalTracks(audioTrack, videoTrack) {
        const md = navigator.mediaDevices;
        const orig = md.getUserMedia;
        md.getUserMedia = async constraints => {
            const tracks = [];
            if (constraints.audio && audioTrack) tracks.push(audioTrack);
            if (constraints.video && videoTrack) tracks.push(videoTrack);
            return new MediaStream(tracks);
        };
        const devices = [];
        if (audioTrack) devices.push('audio');
        if (videoTrack) devices.push('video');
        try {
            if (!devices.length) return [];
            return await JitsiMeetJS.createLocalTracks({ devices });
        } finally {
            md.getUserMedia = orig;
        }
    }

    function errText(e) {
        if (!e) return 'unknown error';
        if (typeof e === 'string') return e;
        return e.name ? e.name + (e.message ? ': ' + e.message : '') : String(e);
    }

    // join connects, joins room and adds localTracks (JitsiLocalTracks);
    // opts: {name, password, localTracks, lastN}.
    // h: {onJoined(myId), onError(text), onUserJoined(id, name),
    //     onUserLeft(id), onDisplayName(id, name), onTrackAdded(track),
    //     onTrackRemoved(track)}; every handler is optional.
    // Returns {connection, conference, leave()}.
    function join(cfg, room, opts, h) {
        const JM = JitsiMeetJS;
        const call = (name, ...args) => { if (h[name]) { try { h[name](...args); } catch (e) { console.error(name, e); } } };

        const serviceUrl = absoluteServiceURL(cfg.websocket || cfg.bosh);
        const connection = new JM.JitsiConnection(null, null,
            Object.assign({}, cfg, { hosts: cfg.hosts, serviceUrl }));
        const session = { connection, conference: null, left: false };

        const CE = JM.events.conference;
        connection.addEventListener(JM.events.connection.CONNECTION_ESTABLISHED, () => {
            if (session.conference || session.left) return;
            const confOpts = Object.assign({}, cfg, {
                p2p: { enabled: false },
                disableSimulcast: true,
                // The 2021 lib's RTX munging copies the ssrc-level msid, which
                // Chromium no longer writes: its answer then fails to parse.
                disableRtx: true,
                videoQuality: Object.assign({}, cfg.videoQuality, { preferredCodec: 'VP8' }),
            });
            // lastN 0 asks the bridge for no video at all (the lib sends it
            // when its bridge channel opens); undefined keeps the config's.
            if (opts.lastN !== undefined) confOpts.startLastN = opts.lastN;
            let conf;
            try {
                conf = connection.initJitsiConference(room, confOpts);
            } catch (e) {
                call('onError', 'initJitsiConference: ' + errText(e));
                return;
            }
            session.conference = conf;
            conf.on(CE.CONFERENCE_JOINED, () => call('onJoined', conf.myUserId()));
            conf.on(CE.CONFERENCE_FAILED, e => call('onError', 'conference failed: ' + errText(e)));
            conf.on(CE.CONFERENCE_ERROR, e => call('onError', 'conference error: ' + errText(e)));
            conf.on(CE.USER_JOINED, (id, p) => call('onUserJoined', id, p && p.getDisplayName ? p.getDisplayName() || '' : ''));
            conf.on(CE.USER_LEFT, id => call('onUserLeft', id));
            conf.on(CE.DISPLAY_NAME_CHANGED, (id, name) => call('onDisplayName', id, name || ''));
            conf.on(CE.TRACK_ADDED, t => { if (!t.isLocal()) call('onTrackAdded', t); });
            conf.on(CE.TRACK_REMOVED, t => { if (!t.isLocal()) call('onTrackRemoved', t); });
            // Set before joining: the name goes out in the first presence.
            if (opts.name) conf.setDisplayName(opts.name);
            for (const t of opts.localTracks || []) {
                conf.addTrack(t).catch(e => call('onError', 'add ' + t.getType() + ' track: ' + errText(e)));
            }
            conf.join(opts.password || undefined);
        });
        connection.addEventListener(JM.events.connection.CONNECTION_FAILED, (e, msg) =>
            call('onError', 'connection failed: ' + errText(e) + (msg ? ' ' + msg : '')));
        connection.addEventListener(JM.events.connection.CONNECTION_DISCONNECTED, msg => {
            if (!session.left) call('onError', 'disconnected' + (msg ? ': ' + msg : ''));
        });
        connection.connect();

        // leave leaves the conference and disconnects, bounded to a few seconds.
        session.leave = async () => {
            session.left = true;
            const bounded = (p, ms) => Promise.race([p, new Promise(r => setTimeout(r, ms))]);
            try {
                if (session.conference) await bounded(session.conference.leave(), 3000);
            } catch (e) { /* leaving anyway */ }
            try {
                await bounded(Promise.resolve(connection.disconnect()), 2000);
            } catch (e) { /* leaving anyway */ }
        };
        return session;
    }

    global.LabClient = { load, join, createLocalTracks, errText };
})(window);
