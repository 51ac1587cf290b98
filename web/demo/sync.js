// Keeping the demo's <video> on the room's timeline (docs/SYNC.md), for a server that
// answers the capabilities clockSync and scheduledPlayback:
//   ClockSync  - the server's clock, NTP-style over the room's WebSocket (CLOCK_REQUEST /
//                CLOCK_REPLY / CLOCK_ACK), estimated from the last 32 samples by the lowest
//                delay of each direction on its own (estimate()); a later change of that
//                estimate is slewed in, not stepped.
//   Follower   - plays the video so that at server time T it shows the timeline's position
//                at T: paused at `position`, or playing from `position` at server time
//                `startAt`. A scheduled start is waited for; small drift is removed by nudging
//                playbackRate, a gap of more than REJOIN_ABOVE_S (a stall, a late start) by a
//                rejoin: pause, seek ahead, start again on time.
// No framework: demo.js uses window.TandemSync.
'use strict';

window.TandemSync = (() => {
  // The page's clock, sub-millisecond. Its epoch is the machine's wall clock at navigation,
  // so a wrong wall clock is wrong here too: the clock exchange measures the offset anyway.
  const localNow = () => performance.timeOrigin + performance.now();

  // Each sample gives both one-way delays up to the unknown offset: up = d_up + offset,
  // down = d_down - offset. Queueing and jitter only ever add delay, so the lowest `up` of
  // the window is the floor of that direction plus the offset, the lowest `down` the other
  // floor minus it, and with equal floors (NTP's assumption) the offset is half their
  // difference. Each direction reaches its floor on its own, which one sample's round trip
  // rarely does for both at once: on the sync test's 150 +- 20 ms proxy, page B's clock
  // error over the steady phase was 0.1-1.2 ms, where the lowest-round-trip sample (the
  // filter before this one) gave 0.3-4.2 ms (docs/SYNC.md).
  function estimate(samples) {
    if (samples.length === 0) return null;
    let up = Infinity;
    let down = Infinity;
    for (const s of samples) {
      up = Math.min(up, s.up);
      down = Math.min(down, s.down);
    }
    return {offset: (up - down) / 2, rtt: up + down};
  }

  const CLOCK_WINDOW = 32;        // samples the filter keeps (32 s of them)
  const CLOCK_BURST = 8;          // requests on (re)connection, CLOCK_BURST_GAP_MS apart
  const CLOCK_BURST_GAP_MS = 120;
  const CLOCK_EVERY_MS = 1000;    // then one per interval: the window follows route changes
  const CLOCK_SYNCED_AFTER = 4;   // samples before the estimate is used
  // While the window fills, each better sample is taken at once; from then on a new best
  // estimate moves the clock by at most CLOCK_SLEW_MS_PER_S (a step would move every target
  // at once), unless it is so far off that something really changed.
  const CLOCK_SETTLED_AFTER = 16;
  const CLOCK_SLEW_MS_PER_S = 10;
  const CLOCK_STEP_ABOVE_MS = 50;

  class ClockSync {
    constructor(send) {
      this.send = send;
      this.samples = [];          // [{up, down}] (ms), the last CLOCK_WINDOW
      this.taken = 0;             // samples since start()
      this.pending = new Map();   // seq -> client send time
      this.seq = 0;
      this.timers = [];
      this.best = null;           // estimate(samples): {offset, rtt}
      this.applied = null;        // {offset, at}: the offset now() uses, slewed toward best
    }

    // (Re)starts sampling on a new connection: a new path may have a new delay.
    start() {
      this.stop();
      this.samples = [];
      this.taken = 0;
      this.best = null;
      this.applied = null;
      for (let i = 0; i < CLOCK_BURST; i++) {
        this.timers.push(setTimeout(() => this.request(), i * CLOCK_BURST_GAP_MS));
      }
      this.timers.push(setInterval(() => this.request(), CLOCK_EVERY_MS));
    }

    stop() {
      for (const timer of this.timers) clearTimeout(timer);
      this.timers = [];
      this.pending.clear();
    }

    request() {
      const seq = ++this.seq;
      const clientTime = localNow();
      this.pending.set(seq, clientTime);
      if (this.pending.size > CLOCK_WINDOW) this.pending.delete(this.pending.keys().next().value);
      this.send({type: 'CLOCK_REQUEST', seq, clientTime});
    }

    onReply(m) {
      const received = localNow();
      // At once, before anything else: the server times its own round trip with this.
      this.send({type: 'CLOCK_ACK', seq: m.seq});
      const sent = this.pending.get(m.seq);
      this.pending.delete(m.seq);
      if (sent === undefined || sent !== m.clientTime) return;
      const up = m.serverReceived - sent;      // d_up + offset
      const down = received - m.serverSent;    // d_down - offset
      if (!Number.isFinite(up) || !Number.isFinite(down) || !(up + down >= 0)) return;
      this.samples.push({up, down});
      this.taken += 1;
      if (this.samples.length > CLOCK_WINDOW) this.samples.shift();
      this.best = estimate(this.samples);
    }

    get synced() {
      return this.samples.length >= CLOCK_SYNCED_AFTER;
    }

    // Server time now (ms since the epoch), or null before CLOCK_SYNCED_AFTER samples.
    now() {
      if (!this.synced) return null;
      const local = localNow();
      const want = this.best.offset;
      const a = this.applied;
      const settled = this.taken >= CLOCK_SETTLED_AFTER;
      if (!a || !settled || Math.abs(want - a.offset) > CLOCK_STEP_ABOVE_MS) {
        this.applied = {offset: want, at: local};
      } else {
        const step = CLOCK_SLEW_MS_PER_S * (local - a.at) / 1000;
        const moved = Math.max(-step, Math.min(step, want - a.offset));
        this.applied = {offset: a.offset + moved, at: local};
      }
      return local + this.applied.offset;
    }
  }

  const TICK_MS = 50;             // the control loop
  const DEAD_BAND_S = 0.006;      // closer than this: play at 1.0
  const NUDGE_TAU_S = 0.4;        // rate = 1 - error / tau ...
  const NUDGE_MAX = 0.08;         // ... within +-8 %: 40 ms of drift is gone in half a second
                                  // (Syncplay slows down by 5 %)
  // A gap larger than nudging closes within 2 s (0.04 + 2 x 0.08) is closed by a rejoin:
  // pause, seek to where the timeline will be `rejoinLead` from now, and start again at that
  // instant, like a scheduled start. A seek while playing would land wherever its decoding
  // (from the last key frame, on a busy machine: 10 to 200 ms) lets it. Gradual drift never
  // grows this large: it is nudged away long before.
  const REJOIN_ABOVE_S = 0.2;
  const REJOIN_LEAD_MIN_S = 0.25;
  const REJOIN_LEAD_MAX_S = 2;

  class Follower {
    // video: the <video>; serverNow(): server ms or null; onChange(): re-render hook.
    constructor(video, serverNow, onChange) {
      this.video = video;
      this.serverNow = serverNow;
      this.onChange = onChange || (() => {});
      this.timeline = null;       // {playing, position, startAt}
      this.error = null;          // s, + ahead of the timeline (last tick)
      this.startLatency = 0.03;   // s from play() to the media clock running (learnt)
      this.rejoinLead = 0.3;      // s a rejoin aims ahead: 3 x a seek's time (learnt)
      this.plan = null;           // a rejoin in progress: {position, at (server ms)}
      this.seekStartedAt = 0;
      this.startTimer = null;
      this.startedFor = null;     // the timeline or plan whose start has been made
      this.startedAt = 0;         // performance.now() of a scheduled start, until judged
      this.lastTick = null;       // {wall, media}: to see a stall
      this.stalled = false;
      this.rejoins = 0;
      // Pitch-preserving time stretch (Chrome's default) costs the media clock ~12 ms at each
      // change to or from rate 1.0 (measured: docs/SYNC.md); resampling costs nothing, and
      // only shifts the pitch, by at most NUDGE_MAX, while a correction lasts.
      video.preservesPitch = false;
      video.addEventListener('seeked', () => this.onSeeked());
      setInterval(() => this.tick(), TICK_MS);
    }

    // The room's timeline (from PLAY_PAUSE, a gate release, HOST_HEARTBEAT, ROOM_STATE,
    // SYNC_RESPONSE, or a SEEK_PAUSE's target).
    follow(timeline) {
      const t = this.timeline;
      if (t && timeline.playing === t.playing && timeline.position === t.position &&
          timeline.startAt === t.startAt) {
        return;  // a heartbeat repeating what we follow
      }
      this.timeline = timeline;
      this.plan = null;
      this.cancelStart();
      this.tick();
    }

    // Where the timeline is at server time `at` (seconds). Before a scheduled start it waits
    // at its position; `running` extends the line back instead, for a player that is already
    // playing toward that start (a play while playing, a host's heartbeat re-anchoring).
    target(at, running = false) {
      const t = this.timeline;
      if (!t.playing || (at < t.startAt && !running)) return t.position;
      return t.position + (at - t.startAt) / 1000;
    }

    duration() {
      const d = this.video.duration;
      return Number.isFinite(d) && d > 0 ? d : null;
    }

    // A timeline position as a position in the video (the clip loops).
    inVideo(t) {
      const d = this.duration();
      if (!Number.isFinite(t) || t < 0) return 0;
      if (d === null) return t;
      return this.video.loop ? t % d : Math.min(t, d);
    }

    // The video's position as a timeline position: the loop lap nearest to `near`.
    unwrap(position, near) {
      const d = this.duration();
      if (d === null || !this.video.loop) return position;
      return position + d * Math.round((near - position) / d);
    }

    // The player's position on the timeline now (for POSITION_UPDATE), or null.
    position() {
      const now = this.serverNow();
      if (!this.timeline || now === null) return null;
      return this.unwrap(this.video.currentTime, this.target(now));
    }

    seekTo(t) {
      this.seekStartedAt = performance.now();
      this.video.currentTime = this.inVideo(t);
    }

    setRate(rate) {
      if (Math.abs(this.video.playbackRate - rate) > 1e-4) this.video.playbackRate = rate;
    }

    onSeeked() {
      if (!this.seekStartedAt) return;
      const took = (performance.now() - this.seekStartedAt) / 1000;
      this.seekStartedAt = 0;
      this.lastTick = null;  // the jump is no progress
      if (this.plan && took < REJOIN_LEAD_MAX_S) {
        this.rejoinLead = Math.max(REJOIN_LEAD_MIN_S,
            Math.min(REJOIN_LEAD_MAX_S, 0.5 * this.rejoinLead + 0.5 * 3 * took));
      }
    }

    cancelStart() {
      clearTimeout(this.startTimer);
      this.startTimer = null;
    }

    play() {
      this.video.play().catch(() => {});
    }

    // A scheduled start is judged by where it left the player once its clock runs (the
    // 'playing' event comes before that): started late by e, start e earlier next time.
    learnStart() {
      if (!this.startedAt || performance.now() - this.startedAt < 250 || this.stalled) return;
      this.startedAt = 0;
      this.startLatency = Math.max(0, Math.min(0.3, this.startLatency - 0.7 * this.error));
    }

    // Waits paused at timeline position `position` and, once the frame is there, starts at
    // server time `at` (`now`: server ms). `key` (the timeline or the plan) is started once.
    holdThenStart(key, position, at, now) {
      const v = this.video;
      if (this.startedFor === key) return;  // started a little early (startLatency)
      this.setRate(1);
      if (!v.paused) v.pause();
      if (!v.seeking && Math.abs(v.currentTime - this.inVideo(position)) > 0.001) {
        this.seekTo(position);
      }
      if (v.seeking || v.readyState < HTMLMediaElement.HAVE_FUTURE_DATA || this.startTimer) return;
      this.startTimer = setTimeout(() => {
        this.startTimer = null;
        this.startedFor = key;
        this.startedAt = performance.now();
        this.play();
      }, Math.max(0, at - now - this.startLatency * 1000));
    }

    rejoin(now) {
      const at = now + this.rejoinLead * 1000;
      this.plan = {position: this.target(at), at};
      this.rejoins += 1;
      this.holdThenStart(this.plan, this.plan.position, at, now);
    }

    // Whether the media clock stood still while it should have run (buffering, a busy
    // decoder): no correction can help until it runs again.
    checkStall() {
      const v = this.video;
      const sample = {wall: performance.now(), media: v.currentTime};
      const last = this.lastTick;
      this.lastTick = v.paused || v.seeking ? null : sample;
      if (!last || v.paused || v.seeking) return false;
      const wall = (sample.wall - last.wall) / 1000;
      const media = sample.media - last.media;
      if (wall < 0.03 || media < -0.5) return this.stalled;  // too soon, or the loop wrapped
      this.stalled = media < 0.3 * wall || v.readyState < HTMLMediaElement.HAVE_FUTURE_DATA;
      return this.stalled;
    }

    tick() {
      const v = this.video;
      const now = this.serverNow();
      if (!this.timeline || now === null || v.readyState < HTMLMediaElement.HAVE_METADATA) return;
      const t = this.timeline;
      if (!t.playing) {
        this.error = this.unwrap(v.currentTime, t.position) - t.position;
        this.setRate(1);
        if (!v.paused) v.pause();
        // Everyone stops on the same frame: the exact position of the pause.
        if (!v.seeking && Math.abs(this.error) > 0.001) this.seekTo(t.position);
        this.onChange();
        return;
      }
      const line = this.target(now, true);
      const running =
          !v.paused && Math.abs(this.unwrap(v.currentTime, line) - line) < REJOIN_ABOVE_S;
      if (now < t.startAt && !running) {  // a scheduled start: wait at the position, start on time
        this.error = 0;
        this.holdThenStart(t, t.position, t.startAt, now);
        this.onChange();
        return;
      }
      const d = this.duration();
      if (d !== null && !v.loop && this.target(now) >= d) return;  // the film is over
      if (this.plan && this.stepPlan(now)) return;
      const target = this.target(now, true);
      this.error = this.unwrap(v.currentTime, target) - target;
      if (v.paused) {
        // Joined late or missed the start: start on the timeline, not just anywhere.
        if (Math.abs(this.error) > REJOIN_ABOVE_S) this.rejoin(now);
        else this.play();
        this.lastTick = null;
      } else if (!v.seeking) {
        this.correct(now);
      }
      this.onChange();
    }

    // A rejoin in progress: true while it holds the player.
    stepPlan(now) {
      const v = this.video;
      if (this.startedFor === this.plan) {  // started: from here on, nudging
        this.plan = null;
        this.lastTick = null;
        return false;
      }
      if (!this.startTimer && now > this.plan.at - this.startLatency * 1000) {
        // The seek took longer than planned: aim further ahead.
        this.rejoinLead = Math.min(REJOIN_LEAD_MAX_S, this.rejoinLead * 2);
        this.rejoin(now);
      } else {
        this.holdThenStart(this.plan, this.plan.position, this.plan.at, now);
      }
      this.onChange();
      return true;
    }

    correct(now) {
      if (this.checkStall()) {
        this.setRate(1);
        return;
      }
      this.learnStart();
      if (Math.abs(this.error) > REJOIN_ABOVE_S) {
        this.rejoin(now);
      } else if (Math.abs(this.error) <= DEAD_BAND_S) {
        this.setRate(1);
      } else {
        const nudge = Math.max(-NUDGE_MAX, Math.min(NUDGE_MAX, this.error / NUDGE_TAU_S));
        this.setRate(1 - nudge);
      }
    }
  }

  return {ClockSync, Follower, estimate, localNow};
})();
