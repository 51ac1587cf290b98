// tandem.watch demo client: a watch party in a plain page. It speaks the extension's
// protocol (docs/PROTOCOL.md) over /ws, keeps a <video> in sync with the room and opens a
// peer-to-peer WebRTC call with every other member through the server's OFFER/ANSWER/ICE
// relay. No framework, no build step: the server embeds this file as it is.
'use strict';

(() => {
  const ROOM_RE = /^[A-Za-z0-9_-]{1,50}$/;
  const PIN_RE = /^[0-9]{4,12}$/;
  const PING_EVERY_MS = 15000;
  const HEARTBEAT_EVERY_MS = 5000;  // HOST_HEARTBEAT (and POSITION_UPDATE without sync)
  const REPORT_EVERY_MS = 1000;     // timed POSITION_UPDATE, for the server's sync measure
  const DRIFT_LIMIT_S = 1.0;        // without sync: a guest this far from the host re-seeks
  // What this page understands beyond the extension's protocol (docs/SYNC.md).
  const CAPABILITIES = ['clockSync', 'scheduledPlayback'];
  const MEDIA_WAIT_MS = 4000;       // longest a call waits for the camera before it starts

  const $ = (selector) => document.querySelector(selector);
  const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

  const params = new URLSearchParams(location.search);
  const room = params.get('room') || '';
  const pin = params.get('pin') || '';
  const srcParam = params.get('src') || '';
  const defaultSrc = new URL('/demo/clip.webm', location.href).href;
  const mySrc = srcParam || defaultSrc;

  // ---- join form ---------------------------------------------------------------------------

  if (!ROOM_RE.test(room) || (pin && !PIN_RE.test(pin)) || (srcParam && !isHttpUrl(srcParam))) {
    const form = $('#join-form');
    for (const key of ['room', 'name', 'pin', 'src']) {
      if (params.get(key)) form.elements[key].value = params.get(key);
    }
    if (params.has('room')) {
      $('#join-error').textContent =
          !ROOM_RE.test(room) ? 'A room name is 1–50 letters, digits, "-" or "_".'
          : (pin && !PIN_RE.test(pin)) ? 'A PIN is 4 to 12 digits.'
          : 'The video URL must start with http:// or https://.';
    }
    byTestId('status').textContent = 'not joined';
    form.hidden = false;
    return;
  }

  // ---- identity ----------------------------------------------------------------------------

  // One userId per browser tab (sessionStorage), so a reload resumes the same member within
  // the server's reconnect grace period, and two tabs are two members.
  const me = (() => {
    const key = 'tandem.demo.userId';
    let id = sessionStorage.getItem(key);
    if (!id || !/^[A-Za-z0-9_-]{1,100}$/.test(id)) {
      const bytes = crypto.getRandomValues(new Uint8Array(9));
      id = 'web_' + Array.from(bytes, (b) => (b % 36).toString(36)).join('');
      sessionStorage.setItem(key, id);
    }
    return id;
  })();
  const myName = (params.get('name') || '').trim() || `Guest ${me.slice(-4)}`;

  // ---- state -------------------------------------------------------------------------------

  const state = {
    joined: false,
    hostUserId: null,
    guestControl: false,
    members: new Map(),  // userId -> username (null when none)
    gate: null,          // {target} between SEEK_PAUSE and the PLAY_PAUSE that ends it
    synced: false,       // the server answered scheduledPlayback: follow its timeline
  };
  let ws = null;
  let stopped = false;        // left, replaced or refused: no reconnect
  let reconnectDelay = 500;
  let clockOffset = 0;        // server clock - local clock, ms (from PING/PONG)
  let pingSentAt = 0;
  let timers = [];

  const video = $('#video');
  const seek = $('#seek');
  let seeking = false;        // the user is dragging the position slider

  $('#room-name').textContent = room;
  document.title = `${room} · tandem.watch`;
  $('#party').hidden = false;

  // The server's clock: from the clock exchange once it has samples, else from PING/PONG.
  const clock = new TandemSync.ClockSync(send);
  const serverNow = () => (clock.synced ? clock.now() : Date.now() + clockOffset);
  const isHost = () => state.hostUserId === me;
  const canControl = () => isHost() || state.guestControl;
  const nameOf = (userId) => state.members.get(userId) || userId;
  // Whether a message that steers playback comes from someone allowed to steer: the server
  // itself (its SYNC_RESPONSE carries fromUserId "server" and no userId; no member may be
  // called "server"), the host, or any member while guest control is on. The server refuses
  // the others already; this page does not rely on it.
  const fromController = (m) => (m.userId === undefined ? m.fromUserId === 'server'
      : m.userId === state.hostUserId || (state.guestControl && state.members.has(m.userId)));

  function isHttpUrl(text) {
    try {
      const url = new URL(text);
      return (url.protocol === 'http:' || url.protocol === 'https:') && text.length <= 2048;
    } catch {
      return false;
    }
  }

  function setStatus(text) {
    byTestId('status').textContent = text;
    byTestId('status').dataset.state = text;
  }

  function showError(text) {
    $('#error').textContent = text;
  }

  // ---- WebSocket ---------------------------------------------------------------------------

  function send(message) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  }

  function connect() {
    setStatus(reconnectDelay > 500 ? 'reconnecting' : 'connecting');
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(`${scheme}//${location.host}/ws`);
    ws = socket;
    socket.onopen = () => {
      clock.stop();
      const join = {type: 'JOIN', roomId: room, userId: me, username: myName, timestamp: Date.now(),
                    capabilities: CAPABILITIES};
      if (pin) join.pin = pin;
      send(join);
      ping();
    };
    socket.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message && typeof message.type === 'string') handle(message);
    };
    socket.onclose = (event) => {
      if (ws !== socket) return;
      state.joined = false;
      if (stopped) return;
      if (event.code === 1000 && /replaced/.test(event.reason)) {
        stop('replaced', 'This member joined from another tab.');
        return;
      }
      setStatus('reconnecting');
      setTimeout(connect, reconnectDelay);
      reconnectDelay = Math.min(reconnectDelay * 2, 10000);
    };
  }

  function ping() {
    pingSentAt = Date.now();
    send({type: 'PING', timestamp: pingSentAt});
  }

  function stop(status, why) {
    stopped = true;
    setStatus(status);
    if (why) showError(why);
    for (const userId of [...peers.keys()]) closePeer(userId);
    renderRtc();
    for (const timer of timers) clearInterval(timer);
    timers = [];
    clock.stop();
    if (ws) ws.close(1000);
    video.pause();
  }

  function handle(m) {
    switch (m.type) {
      case 'ROOM_STATE': return onRoomState(m);
      case 'USER_JOINED':
        state.members.set(m.userId, m.username ?? null);
        renderMembers();
        if (m.userId !== me) call(m.userId);  // existing members call the newcomer
        return;
      case 'USER_LEFT':
        state.members.delete(m.userId);
        closePeer(m.userId);
        renderMembers();
        renderRtc();
        return;
      case 'HOST_CHANGED':
        state.hostUserId = m.hostUserId;
        renderMembers();
        return;
      case 'GUEST_CONTROL':
        state.guestControl = !!m.enabled;
        renderMembers();
        return;
      case 'USERNAME_UPDATED':
        if (state.members.has(m.userId)) state.members.set(m.userId, m.username ?? null);
        renderMembers();
        return;
      case 'PLAY_PAUSE': return onPlayPause(m);
      case 'SEEK_PAUSE': return onSeekPause(m);
      case 'HOST_HEARTBEAT': return onHostHeartbeat(m);
      case 'URL_CHANGE': return followUrl(m.url);
      case 'SYNC_RESPONSE':
        if (!fromController(m)) return;
        // Following the room's timeline, only the server's own answer counts (a member's
        // SYNC_RESPONSE is relayed as it was sent, timeline keys included if it made some).
        if (state.synced) {
          if (m.userId === undefined) followTimeline(m);
          return;
        }
        return applyPlayback(!!m.isPlaying, m.currentTime);
      case 'CLOCK_REPLY': return clock.onReply(m);
      case 'OFFER': return onOffer(m);
      case 'ANSWER': return onAnswer(m);
      case 'ICE_CANDIDATE': return onCandidate(m);
      case 'PONG':
        if (pingSentAt && typeof m.timestamp === 'number') {
          const now = Date.now();
          clockOffset = m.timestamp - (pingSentAt + (now - pingSentAt) / 2);
          pingSentAt = 0;
        }
        return;
      case 'ERROR':
        if (m.code === 'PIN_REQUIRED' || m.code === 'PIN_LOCKED') {
          stop('refused', m.code === 'PIN_LOCKED' ? 'Too many wrong PINs: try again later.'
                                                 : 'This room needs the right PIN (add &pin=…).');
        } else {
          showError(m.message || m.code || 'error');
        }
        return;
      default:
        return;  // PLAYBACK_ACK and other fallback broadcasts: nothing to do here
    }
  }

  function onRoomState(m) {
    state.joined = true;
    reconnectDelay = 500;
    state.hostUserId = m.hostUserId;
    state.guestControl = !!m.guestControlEnabled;
    state.members = new Map((m.users || []).map((u) => [u.userId, u.username ?? null]));
    for (const userId of [...peers.keys()]) {
      if (!state.members.has(userId)) closePeer(userId);
    }
    setStatus('connected');
    showError('');
    renderMembers();
    renderRtc();
    const supported = Array.isArray(m.capabilities) ? m.capabilities : [];
    state.synced = supported.includes('scheduledPlayback');
    if (supported.includes('clockSync')) clock.start();
    // The room's video: the host's explicit choice (src=) wins, otherwise follow the room.
    if (!m.url || (isHost() && srcParam && m.url !== mySrc)) {
      if (isHost()) send({type: 'URL_CHANGE', url: mySrc, currentTime: m.currentTime || 0});
    } else if (m.url !== mySrc) {
      followUrl(m.url);
      return;
    }
    if (followTimeline(m)) return;
    applyPlayback(!!m.isPlaying, m.currentTime);
  }

  // With scheduledPlayback a message that carries the room's timeline (position, and startAt
  // when playing) is all the page needs: the follower does the rest. False without one.
  function followTimeline(m) {
    if (!state.synced || typeof m.position !== 'number') return false;
    const playing = typeof m.startAt === 'number';
    follower.follow({playing, position: m.position, startAt: playing ? m.startAt : 0});
    return true;
  }

  // The video URL is part of the page's address (its Content-Security-Policy allows media
  // from that origin), so following another video means loading the page again.
  function followUrl(url) {
    if (!url || url === mySrc || !isHttpUrl(url)) return;
    const next = new URLSearchParams({room, name: myName});
    if (pin) next.set('pin', pin);
    if (url !== defaultSrc) next.set('src', url);
    location.replace(`/demo?${next}`);
  }

  // ---- playback ----------------------------------------------------------------------------

  const follower = new TandemSync.Follower(video, () => clock.now(), renderPlayback);

  video.src = mySrc;
  // The 30-second clip loops (from any origin of this server); a film does not.
  video.loop = new URL(mySrc).pathname === new URL(defaultSrc).pathname;
  video.muted = true;                 // browsers only start unmuted media after a click
  video.addEventListener('error', () => showError(`The video cannot be played: ${mySrc}`));

  // A position the room talks about, mapped into a looping clip.
  function inVideo(t) {
    if (!Number.isFinite(t) || t < 0) return 0;
    const d = video.duration;
    if (Number.isFinite(d) && d > 0) return video.loop ? t % d : Math.min(t, d);
    return t;
  }

  function startPlaying() {
    video.play().catch((err) => {
      if (err && err.name === 'NotAllowedError' && !video.muted) {
        video.muted = true;
        renderMute();
        video.play().catch(() => {});
      }
    });
  }

  function applyPlayback(playing, t) {
    if (Number.isFinite(t)) {
      const target = inVideo(t);
      if (Math.abs(video.currentTime - target) > 0.25) video.currentTime = target;
    }
    if (playing) {
      startPlaying();
    } else {
      video.pause();
    }
    renderPlayback();
  }

  function onPlayPause(m) {
    const play = m.control === 'play';
    if (state.gate) {
      byTestId('gate').textContent = m.userId === 'server' && play
          ? `released at ${state.gate.target.toFixed(1)}` : 'cancelled';
      state.gate = null;
    }
    if (followTimeline(m)) return;
    let t = typeof m.currentTime === 'number' ? m.currentTime : video.currentTime;
    if (play && typeof m.eventTimestamp === 'number') {
      // Everyone starts from the same moment: add the time the message spent on its way.
      t += Math.min(Math.max(serverNow() - m.eventTimestamp, 0), 60000) / 1000;
    }
    applyPlayback(play, t);
  }

  // The ready gate: pause at the target, and tell the server once the frame is there.
  function onSeekPause(m) {
    const target = m.currentTime;
    state.gate = {target};
    byTestId('gate').textContent = `waiting at ${target.toFixed(1)}`;
    if (state.synced) follower.follow({playing: false, position: target, startAt: 0});
    video.pause();
    const position = inVideo(target);
    const gate = state.gate;
    const ready = () => {
      if (state.gate !== gate) return;
      send({type: 'READY', targetTime: target});
      byTestId('gate').textContent = `ready at ${target.toFixed(1)}`;
    };
    const check = () => {
      if (state.gate !== gate) return done();
      if (!video.seeking && video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA &&
          Math.abs(video.currentTime - position) < 0.5) {
        done();
        ready();
      }
    };
    const failed = () => {  // a broken video must not hold the others up until the timeout
      done();
      ready();
    };
    const done = () => {
      video.removeEventListener('seeked', check);
      video.removeEventListener('canplay', check);
      video.removeEventListener('loadeddata', check);
      video.removeEventListener('error', failed);
    };
    video.addEventListener('seeked', check);
    video.addEventListener('canplay', check);
    video.addEventListener('loadeddata', check);
    video.addEventListener('error', failed);
    if (Math.abs(video.currentTime - position) > 0.05) video.currentTime = position;
    check();
    renderPlayback();
  }

  function onHostHeartbeat(m) {
    if (state.gate || followTimeline(m)) return;
    if (m.userId === me || m.userId !== state.hostUserId) return;
    let expected = m.currentTime;
    if (m.isPlaying && typeof m.eventTimestamp === 'number') {
      expected += Math.min(Math.max(serverNow() - m.eventTimestamp, 0), 60000) / 1000;
    }
    const playing = !video.paused;
    const drift = Math.abs(video.currentTime - inVideo(expected));
    if (playing !== !!m.isPlaying || drift > DRIFT_LIMIT_S) applyPlayback(!!m.isPlaying, expected);
  }

  function requestControl(message) {
    if (!state.joined) return;
    if (!canControl()) {
      $('#control-note').textContent =
          `Only the host (${nameOf(state.hostUserId)}) controls playback right now.`;
      return;
    }
    $('#control-note').textContent = '';
    send(message);
  }

  function requestSeek(t) {
    const d = video.duration;
    const target = Math.max(0, Number.isFinite(d) && d > 0 ? Math.min(t, d - 0.1) : t);
    const playing = state.gate ? true : !video.paused;
    requestControl({type: 'SEEK', currentTime: target, isPlaying: playing, eventTimestamp: serverNow()});
  }

  // Where the player is: on the room's timeline when following it (the clip loops), else
  // in the video.
  const currentPosition = () => (state.synced ? follower.position() : null) ?? video.currentTime;

  const playPause = (control) => requestControl(
      {type: 'PLAY_PAUSE', control, currentTime: currentPosition(), eventTimestamp: serverNow()});
  byTestId('play').addEventListener('click', () => playPause('play'));
  byTestId('pause').addEventListener('click', () => playPause('pause'));
  byTestId('back10').addEventListener('click', () => requestSeek(video.currentTime - 10));
  byTestId('fwd10').addEventListener('click', () => requestSeek(video.currentTime + 10));
  seek.addEventListener('input', () => { seeking = true; });
  seek.addEventListener('change', () => {
    seeking = false;
    requestSeek(Number(seek.value));
  });

  function renderMute() {
    $('#mute').textContent = video.muted ? 'Unmute' : 'Mute';
  }
  $('#mute').addEventListener('click', () => {
    video.muted = !video.muted;
    renderMute();
  });

  function renderPlayback() {
    const t = video.currentTime || 0;
    byTestId('playback').textContent = `${video.paused ? 'paused' : 'playing'} ${t.toFixed(1)}`;
    byTestId('playback').dataset.time = String(t);
    if (Number.isFinite(video.duration)) seek.max = String(video.duration);
    if (!seeking) seek.value = String(t);
  }
  for (const name of ['play', 'pause', 'seeked', 'timeupdate', 'loadedmetadata', 'ended']) {
    video.addEventListener(name, renderPlayback);
  }

  function sendPositions() {
    if (!state.joined || state.gate) return;
    const t = currentPosition();
    const playing = !video.paused;
    if (isHost()) {
      send({type: 'HOST_HEARTBEAT', currentTime: t, isPlaying: playing, eventTimestamp: serverNow()});
    }
    if (t > 0 && !state.synced) send({type: 'POSITION_UPDATE', currentTime: t, isPlaying: playing});
  }

  // Timed reports: the position and the server time it was read at, in one task.
  function reportPosition() {
    if (!state.joined || state.gate || !state.synced || !clock.synced) return;
    const t = follower.position();
    if (t === null || t <= 0) return;
    send({type: 'POSITION_UPDATE', currentTime: t, isPlaying: !video.paused, sampledAt: serverNow()});
  }

  // Test hooks and a glance for people: clock sync and how far this player is off.
  function renderSync() {
    const box = byTestId('sync');
    box.dataset.clock = !state.synced ? 'off' : clock.synced ? 'synced' : 'syncing';
    if (!state.synced || !clock.best) {
      box.textContent = state.synced ? 'clock syncing' : '';
      return;
    }
    const error = follower.error;
    box.dataset.rttMs = clock.best.rtt.toFixed(1);
    box.dataset.offsetMs = clock.best.offset.toFixed(1);
    box.dataset.appliedOffsetMs = clock.applied ? clock.applied.offset.toFixed(2) : '';
    box.dataset.error = error === null ? '' : String(error);
    box.dataset.rejoins = String(follower.rejoins);
    box.textContent = `sync ${error === null ? '–' : `${(error * 1000).toFixed(0)} ms`}` +
        ` · rate ${video.playbackRate.toFixed(2)} · rtt ${clock.best.rtt.toFixed(0)} ms`;
  }

  // ---- members and host controls -----------------------------------------------------------

  function renderMembers() {
    const list = byTestId('members');
    list.replaceChildren();
    for (const [userId, username] of state.members) {
      const item = document.createElement('li');
      item.dataset.userId = userId;
      const label = document.createElement('span');
      label.textContent = (username || userId) + (userId === me ? ' (you)' : '');
      item.append(label);
      if (userId === state.hostUserId) {
        item.dataset.host = 'true';
        const badge = document.createElement('span');
        badge.className = 'host';
        badge.textContent = 'host';
        item.append(' ', badge);
      }
      const peer = peers.get(userId);
      if (peer) {
        const rtc = document.createElement('span');
        rtc.className = `rtc rtc-${peer.pc.connectionState}`;
        rtc.textContent = peer.pc.connectionState;
        item.append(' ', rtc);
      }
      if (isHost() && userId !== me) {
        const button = document.createElement('button');
        button.type = 'button';
        button.dataset.testid = 'make-host';
        button.textContent = 'Make host';
        button.addEventListener('click', () => send({type: 'TRANSFER_HOST', targetUserId: userId}));
        item.append(' ', button);
      }
      list.append(item);
    }
    const toggle = $('#guest-control');
    toggle.checked = state.guestControl;
    toggle.disabled = !isHost();
    $('#url-form').hidden = !canControl();
    for (const id of ['play', 'pause', 'back10', 'fwd10', 'seek']) byTestId(id).disabled = !canControl();
    $('#control-note').textContent = canControl() ? ''
        : `${nameOf(state.hostUserId)} (host) controls playback.`;
  }

  $('#guest-control').addEventListener('change', (event) => {
    send({type: 'TOGGLE_GUEST_CONTROL', enabled: event.target.checked});
    event.target.checked = state.guestControl;  // the server's GUEST_CONTROL decides
  });

  $('#url-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const url = $('#url-input').value.trim();
    if (!isHttpUrl(url)) {
      showError('The video URL must start with http:// or https://.');
      return;
    }
    requestControl({type: 'URL_CHANGE', url, currentTime: 0});
  });

  $('#leave').addEventListener('click', () => {
    send({type: 'LEAVE'});
    stop('left');
    state.members.clear();
    renderMembers();
    const again = $('#rejoin');
    again.href = location.href;
    again.hidden = false;
  });

  // ---- video chat --------------------------------------------------------------------------

  // Every call carries one audio and one video transceiver (sendrecv) and a pre-negotiated
  // data channel. Without a camera or microphone the senders simply have no track: the call
  // still connects (ICE, DTLS and the data channel come up) and receives the others' video.
  // A camera allowed later is attached with replaceTrack, without renegotiation.
  const rtcConfig = {
    iceServers: (params.get('stun') || '').split(',').filter((u) => /^stuns?:/.test(u))
        .map((urls) => ({urls})),
  };
  const peers = new Map();  // userId -> {pc, callId, pending: [], tile}
  let localStream = null;

  const media = (async () => {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      $('#media-note').textContent = '(no camera access in this browser: receiving only)';
      return null;
    }
    const attempts = [{audio: true, video: {width: 320, height: 240}}, {audio: true}, {video: true}];
    for (const constraints of attempts) {
      try {
        const stream = await navigator.mediaDevices.getUserMedia(constraints);
        localStream = stream;
        showLocal(stream);
        for (const peer of peers.values()) attachTracks(peer.pc);
        return stream;
      } catch (err) {
        if (err && err.name === 'NotAllowedError') break;
      }
    }
    $('#media-note').textContent = '(camera and microphone off: receiving only)';
    return null;
  })();
  // A call does not wait for a permission prompt nobody answers.
  const mediaOrTimeout = Promise.race([media, new Promise((r) => setTimeout(r, MEDIA_WAIT_MS))]);

  function tile(id, label) {
    let box = document.getElementById(`tile-${id}`);
    if (!box) {
      box = document.createElement('figure');
      box.id = `tile-${id}`;
      box.className = 'tile';
      const v = document.createElement('video');
      v.autoplay = true;
      v.playsInline = true;
      const caption = document.createElement('figcaption');
      box.append(v, caption);
      $('#tiles').append(box);
    }
    box.querySelector('figcaption').textContent = label;
    return box;
  }

  function showLocal(stream) {
    const box = tile('local', `${myName} (you)`);
    box.classList.add('local');
    const v = box.querySelector('video');
    v.muted = true;
    v.srcObject = stream;
  }

  function attachTracks(pc) {
    if (!localStream) return;
    for (const transceiver of pc.getTransceivers()) {
      const kind = transceiver.receiver.track.kind;
      const track = localStream.getTracks().find((t) => t.kind === kind);
      if (track && transceiver.sender.track !== track && !transceiver.stopped) {
        transceiver.sender.replaceTrack(track).catch(() => {});
      }
    }
  }

  function newPeer(userId, callId) {
    closePeer(userId);
    const pc = new RTCPeerConnection(rtcConfig);
    const peer = {pc, callId, pending: [], stream: new MediaStream()};
    peers.set(userId, peer);
    pc.createDataChannel('tandem', {negotiated: true, id: 0});
    const box = tile(`peer-${userId}`, nameOf(userId));
    const remote = box.querySelector('video');
    remote.srcObject = peer.stream;
    pc.ontrack = (event) => {
      peer.stream.addTrack(event.track);
      remote.play().catch(() => {
        remote.muted = true;  // autoplay policy: video now, sound after a click
        remote.play().catch(() => {});
      });
    };
    pc.onicecandidate = (event) => {
      if (event.candidate && peers.get(userId) === peer) {
        send({type: 'ICE_CANDIDATE', to: userId, callId, candidate: event.candidate.toJSON()});
      }
    };
    pc.onconnectionstatechange = () => {
      renderRtc();
      renderMembers();
    };
    renderRtc();
    return peer;
  }

  function closePeer(userId) {
    const peer = peers.get(userId);
    if (!peer) return;
    peers.delete(userId);
    peer.pc.close();
    const box = document.getElementById(`tile-peer-${userId}`);
    if (box) box.remove();
  }

  async function call(userId) {
    const callId = `${me}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const peer = newPeer(userId, callId);
    peer.pc.addTransceiver('audio', {direction: 'sendrecv'});
    peer.pc.addTransceiver('video', {direction: 'sendrecv'});
    await mediaOrTimeout;
    if (peers.get(userId) !== peer) return;
    attachTracks(peer.pc);
    try {
      await peer.pc.setLocalDescription(await peer.pc.createOffer());
      send({type: 'OFFER', to: userId, callId, offer: peer.pc.localDescription.toJSON()});
    } catch (err) {
      showError(`Video chat with ${nameOf(userId)} failed: ${err.message}`);
    }
  }

  async function onOffer(m) {
    const from = m.userId;
    if (!from || from === me || !m.offer) return;
    const peer = newPeer(from, m.callId);
    try {
      await peer.pc.setRemoteDescription(m.offer);
      for (const transceiver of peer.pc.getTransceivers()) transceiver.direction = 'sendrecv';
      await mediaOrTimeout;
      if (peers.get(from) !== peer) return;
      attachTracks(peer.pc);
      await peer.pc.setLocalDescription(await peer.pc.createAnswer());
      send({type: 'ANSWER', to: from, callId: m.callId, answer: peer.pc.localDescription.toJSON()});
      await flushCandidates(peer);
    } catch (err) {
      showError(`Video chat with ${nameOf(from)} failed: ${err.message}`);
    }
  }

  async function onAnswer(m) {
    const peer = peers.get(m.userId);
    if (!peer || peer.callId !== m.callId || peer.pc.signalingState !== 'have-local-offer') return;
    try {
      await peer.pc.setRemoteDescription(m.answer);
      await flushCandidates(peer);
    } catch (err) {
      showError(`Video chat with ${nameOf(m.userId)} failed: ${err.message}`);
    }
  }

  async function onCandidate(m) {
    const peer = peers.get(m.userId);
    if (!peer || peer.callId !== m.callId || !m.candidate) return;
    if (!peer.pc.remoteDescription) {
      peer.pending.push(m.candidate);
      return;
    }
    await peer.pc.addIceCandidate(m.candidate).catch(() => {});
  }

  async function flushCandidates(peer) {
    const pending = peer.pending.splice(0);
    for (const candidate of pending) await peer.pc.addIceCandidate(candidate).catch(() => {});
  }

  function renderRtc() {
    const states = [...peers.values()].map((p) => p.pc.connectionState);
    const text = states.includes('connected') ? 'connected'
        : states.some((s) => s === 'new' || s === 'connecting') ? 'connecting'
        : states.length ? states[0] : 'none';
    byTestId('rtc').textContent = text;
    byTestId('rtc').dataset.peers = String(states.filter((s) => s === 'connected').length);
  }

  // ---- start -------------------------------------------------------------------------------

  renderMute();
  renderPlayback();
  connect();
  timers.push(setInterval(ping, PING_EVERY_MS));
  timers.push(setInterval(sendPositions, HEARTBEAT_EVERY_MS));
  timers.push(setInterval(reportPosition, REPORT_EVERY_MS));
  timers.push(setInterval(renderSync, 250));
  timers.push(setInterval(renderPlayback, 250));
})();
