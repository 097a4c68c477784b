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

    // Reconnect backoff after a lost meeting, as the Jitsi Meet web app
    // retries: 1, 2, 4, 8, then every 10 s, until reconnectTimeoutMs.
    const RETRY_MS = [1000, 2000, 4000, 8000, 10000];
    const DEFAULT_RECONNECT_TIMEOUT_MS = 120000;
    const LEAVE_BOUND_MS = 8000;

    // Counters of every join on this page, for tests and the console.
    const stats = { reconnecting: false, reconnects: 0, lastLostAt: 0, lastRejoinedAt: 0, lastReason: '' };

    // join connects, joins room and adds localTracks (JitsiLocalTracks);
    // opts: {name, password, localTracks, lastN, reconnectTimeoutMs}.
    // h: {onJoined(myId), onError(text), onUserJoined(id, name),
    //     onUserLeft(id), onDisplayName(id, name), onTrackAdded(track),
    //     onTrackRemoved(track), onReconnecting(reason), onReconnected(attempts)};
    // every handler is optional.
    // Once joined, a lost XMPP connection (CONNECTION_FAILED, or
    // CONNECTION_DISCONNECTED not caused by leave) does not end the session:
    // the old conference is dropped (its participants leave), and a new
    // connection joins again with the same local tracks, with backoff, until
    // reconnectTimeoutMs has passed (then onError). onJoined runs again on
    // each rejoin, with the new endpoint id.
    // Returns {connection, conference, left, reconnects, leave()}; connection
    // and conference are the current ones.
    function join(cfg, room, opts, h) {
        const JM = JitsiMeetJS;
        const call = (name, ...args) => { if (h[name]) { try { h[name](...args); } catch (e) { console.error(name, e); } } };
        const serviceUrl = absoluteServiceURL(cfg.websocket || cfg.bosh);
        const reconnectTimeoutMs = opts.reconnectTimeoutMs || DEFAULT_RECONNECT_TIMEOUT_MS;
        const CE = JM.events.conference;
        const CN = JM.events.connection;

        const session = { connection: null, conference: null, left: false, reconnects: 0 };
        let everJoined = false;
        let lostAt = 0; // when the current outage began; 0 while joined
        let attempts = 0; // connection attempts in the current outage
        let retryTimer = null;

        function joinConference(connection) {
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
            const current = () => session.conference === conf;
            conf.on(CE.CONFERENCE_JOINED, () => {
                if (!current()) return;
                if (lostAt) {
                    session.reconnects++;
                    stats.reconnects++;
                    stats.reconnecting = false;
                    stats.lastRejoinedAt = Date.now();
                    console.info('lab client: rejoined after', Date.now() - lostAt, 'ms,', attempts, 'attempts');
                    call('onReconnected', attempts);
                }
                everJoined = true;
                lostAt = 0;
                attempts = 0;
                call('onJoined', conf.myUserId());
            });
            conf.on(CE.CONFERENCE_FAILED, e => { if (current()) call('onError', 'conference failed: ' + errText(e)); });
            conf.on(CE.CONFERENCE_ERROR, e => { if (current()) call('onError', 'conference error: ' + errText(e)); });
            // Events of a dropped conference still arrive (its participants
            // leave as it is disposed): they are passed on, so the page's
            // view of who is there stays right.
            conf.on(CE.USER_JOINED, (id, p) => call('onUserJoined', id, p && p.getDisplayName ? p.getDisplayName() || '' : ''));
            conf.on(CE.USER_LEFT, id => { if (conf.labUsersLeft) conf.labUsersLeft.add(id); call('onUserLeft', id); });
            conf.on(CE.DISPLAY_NAME_CHANGED, (id, name) => call('onDisplayName', id, name || ''));
            conf.on(CE.TRACK_ADDED, t => { if (!t.isLocal()) call('onTrackAdded', t); });
            conf.on(CE.TRACK_REMOVED, t => { if (!t.isLocal()) call('onTrackRemoved', t); });
            // Set before joining: the name goes out in the first presence.
            if (opts.name) conf.setDisplayName(opts.name);
            for (const t of opts.localTracks || []) {
                conf.addTrack(t).catch(e => { if (current()) call('onError', 'add ' + t.getType() + ' track: ' + errText(e)); });
            }
            conf.join(opts.password || undefined);
        }

        function connect() {
            const connection = new JM.JitsiConnection(null, null,
                Object.assign({}, cfg, { hosts: cfg.hosts, serviceUrl }));
            session.connection = connection;
            session.conference = null;
            let lost = false;
            const onLost = text => {
                if (session.left || lost || session.connection !== connection) return;
                lost = true;
                if (!everJoined) {
                    call('onError', text); // never joined: a real failure, not an outage
                    return;
                }
                reconnect(connection, text);
            };
            connection.addEventListener(CN.CONNECTION_ESTABLISHED, () => {
                if (session.left || lost || session.connection !== connection || session.conference) return;
                joinConference(connection);
            });
            connection.addEventListener(CN.CONNECTION_FAILED, (e, msg) =>
                onLost('connection failed: ' + errText(e) + (msg ? ' ' + msg : '')));
            connection.addEventListener(CN.CONNECTION_DISCONNECTED, msg =>
                onLost('disconnected' + (msg ? ': ' + msg : '')));
            connection.connect();
        }

        // reconnect drops the lost connection and its conference and tries
        // again after the next backoff step.
        function reconnect(connection, reason) {
            const now = Date.now();
            if (!lostAt) {
                lostAt = now;
                stats.lastLostAt = now;
                console.warn('lab client: meeting lost (' + reason + '), reconnecting');
                call('onReconnecting', reason);
            }
            stats.reconnecting = true;
            stats.lastReason = reason;
            const old = session.conference;
            session.conference = null;
            if (now - lostAt >= reconnectTimeoutMs) {
                stats.reconnecting = false;
                call('onError', 'gave up reconnecting after ' + Math.round((now - lostAt) / 1000) + ' s: ' + reason);
                return;
            }
            const delay = Math.min(RETRY_MS[Math.min(attempts, RETRY_MS.length - 1)], reconnectTimeoutMs - (now - lostAt));
            attempts++;
            // The old conference must be fully left before the next joins:
            // its leave() ends by dropping its participants and destroying
            // its RTC, and when that lands after the new conference has
            // set up its tracks, the new remote media stalls. The leave's
            // signalling fails (the connection is gone); it is bounded.
            const bounded = (p, ms) => Promise.race([p, new Promise(r => setTimeout(r, ms))]);
            let known = [];
            if (old) {
                old.labUsersLeft = new Set();
                known = old.getParticipants().map(p => p.getId());
            }
            const left = old ? bounded(old.leave().catch(() => {}), LEAVE_BOUND_MS) : Promise.resolve();
            left.then(() => {
                // Nobody's unavailable presence reaches a dead connection:
                // everyone the old conference knew has left this page's view
                // (they come back with new ids after the rejoin).
                for (const id of known) if (!old.labUsersLeft.has(id)) call('onUserLeft', id);
                try { connection.disconnect(); } catch (e) { /* already gone */ }
                retryTimer = setTimeout(() => {
                    retryTimer = null;
                    if (!session.left) connect();
                }, delay);
            });
        }

        connect();

        // leave leaves the conference and disconnects, bounded to a few seconds.
        session.leave = async () => {
            session.left = true;
            if (retryTimer) clearTimeout(retryTimer);
            const bounded = (p, ms) => Promise.race([p, new Promise(r => setTimeout(r, ms))]);
            try {
                if (session.conference) await bounded(session.conference.leave(), 3000);
            } catch (e) { /* leaving anyway */ }
            try {
                await bounded(Promise.resolve(session.connection.disconnect()), 2000);
            } catch (e) { /* leaving anyway */ }
        };
        return session;
    }

    global.LabClient = { load, join, createLocalTracks, errText, stats };
})(window);
