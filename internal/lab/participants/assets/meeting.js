// meeting.js: the lab's demo page, served at /<room>. Joins the room as a
// receive-only viewer and shows every participant's video in a grid with its
// name, playing their audio. A person may add their own camera and mic.
// Query: name (display name, default "Viewer"), password.
// JS API: window.labMeeting() -> {joined, error, endpointId, tiles: [{id, name, video, audio, videoWidth}]}.
'use strict';

(function () {
    const q = new URLSearchParams(location.search);
    const room = decodeURIComponent(location.pathname.replace(/^\/+|\/+$/g, '')).toLowerCase();
    const state = { joined: false, error: '', endpointId: '' };
    const tiles = {}; // endpointId -> {el, video, audio, nameEl, name}
    const $ = id => document.getElementById(id);
    const status = s => { $('status').textContent = s; };
    $('room').textContent = room || '(no room)';
    document.title = (room || 'lab') + ' - Jitsi lab';

    function refreshEmpty() {
        $('empty').hidden = Object.keys(tiles).some(id => id !== 'local');
    }

    function tile(id) {
        if (tiles[id]) return tiles[id];
        const el = document.createElement('div');
        el.className = 'tile';
        const video = document.createElement('video');
        video.autoplay = true;
        video.muted = true; // sound comes from the audio element
        video.playsInline = true;
        const nameEl = document.createElement('div');
        nameEl.className = 'name';
        nameEl.textContent = id;
        el.append(video, nameEl);
        $('grid').appendChild(el);
        tiles[id] = { el, video, audio: null, nameEl, name: '' };
        refreshEmpty();
        return tiles[id];
    }

    function setName(id, name) {
        const t = tile(id);
        t.name = name || '';
        t.nameEl.textContent = name || id;
        sortTiles();
    }

    // Tiles in name order, so they keep their places as people come and go.
    function sortTiles() {
        const grid = $('grid');
        const sorted = Object.entries(tiles)
            .sort(([a, ta], [b, tb]) => (a === 'local') - (b === 'local') || (ta.name || a).localeCompare(tb.name || b, undefined, { numeric: true }))
            .map(([, t]) => t.el);
        sorted.forEach(el => grid.appendChild(el));
    }

    function removeTile(id) {
        const t = tiles[id];
        if (!t) return;
        if (t.audio) { t.audio.srcObject = null; t.audio.remove(); }
        t.video.srcObject = null;
        t.el.remove();
        delete tiles[id];
        refreshEmpty();
    }

    function play(el) {
        el.play().catch(() => { $('unmute').hidden = false; });
    }

    $('unmute').onclick = () => {
        for (const t of Object.values(tiles)) { if (t.audio) t.audio.play().catch(() => {}); }
        $('unmute').hidden = true;
    };

    window.labMeeting = () => ({
        room, joined: state.joined, error: state.error, endpointId: state.endpointId,
        tiles: Object.entries(tiles).map(([id, t]) => ({
            id, name: t.name, video: !!t.video.srcObject, audio: !!(t.audio && t.audio.srcObject),
            videoWidth: t.video.videoWidth, videoHeight: t.video.videoHeight,
        })),
    });

    let session = null;
    async function start() {
        if (!room) throw new Error('open /<room> to join a meeting');
        status('loading');
        const cfg = await LabClient.load();
        status('joining');
        session = LabClient.join(cfg, room, { name: q.get('name') || 'Viewer', password: q.get('password') || '' }, {
            onJoined: id => {
                state.joined = true;
                state.endpointId = id;
                status('in the meeting as ' + id);
                for (const p of session.conference.getParticipants()) setName(p.getId(), p.getDisplayName());
            },
            onError: e => {
                state.error = e;
                status(/passwordRequired/.test(e) ? 'this room has a password: add ?password=... to the address' : 'error: ' + e);
            },
            onUserJoined: (id, name) => setName(id, name),
            onDisplayName: (id, name) => setName(id, name),
            onUserLeft: id => removeTile(id),
            onTrackAdded: track => {
                const t = tile(track.getParticipantId());
                if (!t.name && session.conference) {
                    const p = session.conference.getParticipantById(track.getParticipantId());
                    if (p) setName(p.getId(), p.getDisplayName());
                }
                const stream = track.getOriginalStream();
                if (track.getType() === 'video') {
                    t.video.srcObject = stream;
                    play(t.video);
                } else {
                    if (!t.audio) {
                        t.audio = document.createElement('audio');
                        t.audio.autoplay = true;
                        t.el.appendChild(t.audio);
                    }
                    t.audio.srcObject = stream;
                    play(t.audio);
                }
            },
            onTrackRemoved: track => {
                const t = tiles[track.getParticipantId()];
                if (!t) return;
                if (track.getType() === 'video') t.video.srcObject = null;
                else if (t.audio) t.audio.srcObject = null;
            },
        });
    }

    // The person's own camera and microphone, shown as a local tile.
    $('camera').onclick = async () => {
        if (!session || !session.conference) return;
        $('camera').disabled = true;
        try {
            const tracks = await JitsiMeetJS.createLocalTracks({ devices: ['audio', 'video'] });
            for (const t of tracks) {
                await session.conference.addTrack(t);
                if (t.getType() === 'video') {
                    const lt = tile('local');
                    lt.el.classList.add('local');
                    lt.nameEl.textContent = 'You';
                    lt.video.srcObject = t.getOriginalStream();
                    play(lt.video);
                }
            }
            refreshEmpty();
        } catch (e) {
            $('camera').disabled = false;
            status('camera/mic: ' + LabClient.errText(e));
        }
    };

    $('leave').onclick = async () => {
        $('leave').disabled = true;
        if (session) await session.leave();
        for (const id of Object.keys(tiles)) removeTile(id);
        state.joined = false;
        status('left the meeting; reload to join again');
    };

    start().catch(e => { state.error = LabClient.errText(e); status('error: ' + state.error); });
})();
