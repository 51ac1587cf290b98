// Playback sync (docs/SYNC.md, issue 15) in real Chromium against the real server: two /demo
// pages in one room. Page B reaches the server through a TCP proxy that delays every chunk
// 150 ms ± 20 ms each way (order kept), and its clock is skewed by TANDEM_SYNC_SKEW_MS
// (Date.now and performance.timeOrigin, patched before any script runs: +3000 and -3000 are
// the two ctest runs). After a play, a +10 s seek, a 1 s stall of B's player, and during 20 s
// of steady playback, the test reads both videos' positions over the DevTools protocol, each
// read with the page's own unskewed wall clock in the same task (so a loaded machine delays
// the reads but does not blur them), projects them to one instant, and requires them within
// 40 ms (from 2 s after each event on). The server's tandem_sync_spread_seconds over the
// steady phase must agree with what the test measured. Each page's clock error (its
// estimate of the server's clock against the truth the test knows) is in the figures: the
// server cannot see it, so it is what would make the two disagree.
//
// TANDEM_SYNC_MEASURE=1 only measures and prints the figures (scripts/measure-sync.py runs it
// against two builds side by side for docs/SYNC.md).
// TANDEM_SYNC_DEBUG=1 also prints every sample and the pages' rate, seek and play events.
import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';
import {performance} from 'node:perf_hooks';

import {launch, newPage, requireBrowser, serverBinary, waitUntil} from './lib/env.mjs';
import {LatencyProxy} from './lib/latency_proxy.mjs';
import {Server} from './lib/server.mjs';

requireBrowser();

const SKEW_MS = Number(process.env.TANDEM_SYNC_SKEW_MS ?? 3000);
// One-way delay of B's proxy (± 20 ms jitter); 0: B connects directly (the baseline figures).
const LATENCY_MS = Number(process.env.TANDEM_SYNC_LATENCY_MS ?? 150);
const MEASURE_ONLY = process.env.TANDEM_SYNC_MEASURE === '1';
const BOUND_S = 0.040;          // one frame at 25 fps
const SETTLE_MS = 2000;         // "within 2 s after a play, a seek or a stall"
const WINDOW_MS = 1000;         // sampled after each event
const STEADY_MS = 20000;
const STALL_MS = 1000;
const SAMPLE_EVERY_MS = 100;    // the reads run JavaScript in both pages: not back to back
const CALIBRATION_READS = 20;   // per page, to tie its wall clock to the test's
const ROOM = 'sync-room';

const server = new Server(serverBinary, {GATE_TIMEOUT_MS: '20000'});
let proxy;
let browser;
let alice;   // host, direct
let bob;     // through the proxy, clock skewed
const consoleErrors = [];
const figures = {};
const calibration = {};

function record(phase, samples) {
  const abs = samples.map((s) => Math.abs(s.diff) * 1000);
  const sorted = [...abs].sort((a, b) => a - b);
  figures[phase] = {
    samples: samples.length,
    maxMs: Math.max(...abs),
    medianMs: sorted[Math.floor(sorted.length / 2)],
    meanMs: abs.reduce((a, b) => a + b, 0) / abs.length,
    readErrorMs: Math.max(...samples.map((s) => s.err * 1000)),
    // The pages' clock estimates minus the truth (mean, ms): B's minus A's is the part of
    // the distance between the players that no member's report can show the server.
    clockErrorMs: {
      a: samples.reduce((sum, s) => sum + s.clockA, 0) / samples.length,
      b: samples.reduce((sum, s) => sum + s.clockB, 0) / samples.length,
    },
  };
  console.log(`# ${phase}: ${JSON.stringify(figures[phase])}`);
}

function check(phase, samples) {
  record(phase, samples);
  if (process.env.TANDEM_SYNC_DEBUG) {
    const t0 = samples[0].at;
    for (const s of samples) {
      console.log(`#   ${((s.at - t0) / 1000).toFixed(2)} test=${s.at.toFixed(0)} ` +
          `a=${s.a.toFixed(3)} b=${s.b.toFixed(3)} ` +
          `diff=${(s.diff * 1000).toFixed(1)} clockA=${s.clockA.toFixed(1)} ` +
          `clockB=${s.clockB.toFixed(1)}`);
    }
  }
  if (MEASURE_ONLY) return;
  const worst = samples.reduce((a, b) => (Math.abs(b.diff) > Math.abs(a.diff) ? b : a));
  assert.ok(Math.abs(worst.diff) <= BOUND_S,
      `${phase}: the players were ${(worst.diff * 1000).toFixed(1)} ms apart ` +
      `(read error ±${(worst.err * 1000).toFixed(1)} ms)`);
}

const testWall = () => performance.timeOrigin + performance.now();

// How far a page's unskewed wall clock (window.__tandemWall, ms) is from the test's, and how
// certain that is: the read closest to its own round trip's middle, ± half that round trip.
// Both are the machine's clock, so the offset is ~0; measuring it bounds the error instead
// of assuming it.
async function calibrate(page) {
  let best = {offset: 0, err: Infinity};
  for (let i = 0; i < CALIBRATION_READS; ++i) {
    const start = testWall();
    const wall = await page.evaluate(() => window.__tandemWall());
    const end = testWall();
    const err = (end - start) / 2;
    if (err < best.err) best = {offset: wall - (start + end) / 2, err};
  }
  return best;
}

// One page's position and rate with the instant it held (test clock, ms), read in one task.
async function readPosition(page, calibration) {
  const r = await page.evaluate(() => {
    const v = document.querySelector('#video');
    // (An older /demo, measured by scripts/measure-sync.py as "before", has no such box.)
    const clock = document.querySelector('[data-testid="sync"]')?.dataset.appliedOffsetMs;
    return {t: v.currentTime, rate: v.paused ? 0 : v.playbackRate, wall: window.__tandemWall(),
      clock: clock ? Number(clock) : NaN};
  });
  // The page's clock error: its estimate of (server - page clock) minus the truth, which is
  // (test clock - page clock) = -(calibration offset + skew); the server's clock and the
  // test's are the machine's.
  return {t: r.t, rate: r.rate, at: r.wall - calibration.offset,
    clockErr: r.clock + calibration.offset + calibration.skew};
}

const duration = () => alice.evaluate(() => document.querySelector('#video').duration);

// B's position minus A's, B projected along its own rate to the instant of A's read, folded
// into the clip's loop. The error is the two clock calibrations' (see calibrate).
async function sampleDiff(clip) {
  const a = await readPosition(alice, calibration.alice);
  const b = await readPosition(bob, calibration.bob);
  let diff = (b.t + b.rate * (a.at - b.at) / 1000) - a.t;
  diff -= clip * Math.round(diff / clip);
  const err = (calibration.alice.err + calibration.bob.err) / 1000;
  return {diff, err, at: a.at, a: a.t, b: b.t, clockA: a.clockErr, clockB: b.clockErr};
}

async function sampleFor(ms) {
  const clip = await duration();
  const samples = [];
  const start = performance.now();
  for (let next = start; next < start + ms; next += SAMPLE_EVERY_MS) {
    await until(next);
    samples.push(await sampleDiff(clip));
  }
  return samples;
}

// Waits until the test's clock passes `at` (ms, performance.now()): the instant a
// measurement is defined at, not a condition that could be awaited.
async function until(at) {
  const left = at - performance.now();
  if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
}

function playing(page) {
  return page.evaluate(() => new Promise((resolve) => {
    const v = document.querySelector('#video');
    if (v.paused) return resolve(false);
    const t = v.currentTime;
    setTimeout(() => resolve(!v.paused && v.currentTime > t), 150);
  }));
}

async function spreadMetric() {
  const text = await (await fetch(server.url('/metrics'))).text();
  const value = (name) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) : 0;
  };
  return {
    sum: value('tandem_sync_spread_seconds_sum'),
    count: value('tandem_sync_spread_seconds_count'),
  };
}

before(async () => {
  await server.start();
  if (LATENCY_MS > 0) {
    proxy = await new LatencyProxy(server.port, {delayMs: LATENCY_MS, jitterMs: 20}).start();
  }
  browser = await launch();
  const noCamera = () => {
    navigator.mediaDevices.getUserMedia = () =>
      Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
  };
  const contextA = await browser.newContext();
  await contextA.addInitScript(noCamera);
  const contextB = await browser.newContext();
  await contextB.addInitScript(noCamera);
  // The test's reference clock in each page, taken before B's clock is skewed.
  for (const context of [contextA, contextB]) {
    await context.addInitScript(() => {
      const origin = performance.timeOrigin;
      window.__tandemWall = () => origin + performance.now();
    });
  }
  // A laptop whose clock is off: both wall-clock sources a page has.
  await contextB.addInitScript((skew) => {
    const now = Date.now.bind(Date);
    Date.now = () => now() + skew;
    const origin = performance.timeOrigin;
    Object.defineProperty(performance, 'timeOrigin', {get: () => origin + skew});
  }, SKEW_MS);
  if (process.env.TANDEM_SYNC_DEBUG) {
    for (const context of [contextA, contextB]) {
      await context.addInitScript(() => {
        window.__rates = [];
        document.addEventListener('ratechange', (e) => {
          window.__rates.push([performance.now(), e.target.playbackRate, e.target.currentTime]);
        }, true);
        for (const name of ['seeking', 'waiting', 'playing', 'pause']) {
          document.addEventListener(name, (e) => {
            window.__rates.push([performance.now(), name, e.target.currentTime]);
          }, true);
        }
      });
    }
  }
  alice = await newPage(contextA, 'alice', consoleErrors, 15000);
  bob = await newPage(contextB, 'bob', consoleErrors, 15000);
});

after(async () => {
  if (process.env.TANDEM_SYNC_DEBUG) {
    for (const [name, page] of [['alice', alice], ['bob', bob]]) {
      const t = performance.now();
      const {now, rates} = await page.evaluate(() => ({now: performance.now(), rates: window.__rates}));
      for (const [at, what, pos] of rates) {
        console.log(`# event ${name} test=${(t - (now - at)).toFixed(0)} ${what} pos=${pos.toFixed(3)}`);
      }
    }
  }
  if (process.env.TANDEM_SYNC_DEBUG && bob) {
    const truth = -(calibration.bob.offset + calibration.bob.skew);
    const log = await bob.evaluate(() => window.__clockLog ?? []);
    console.log(`# clock samples of B (truth ${truth.toFixed(2)} ms): ${JSON.stringify(log)}`);
  }
  console.log(`# figures (skew ${SKEW_MS} ms): ${JSON.stringify(figures)}`);
  if (browser) await browser.close();
  if (proxy) await proxy.stop();
  const exit = await server.stop();
  if (server.stderr.length || exit?.code !== 0) console.log(server.output(400));
  assert.deepEqual(server.stderr, [], `the server printed on stderr:\n${server.output()}`);
  assert.deepEqual(exit, {code: 0, signal: null}, `server exit\n${server.output()}`);
});

test('two pages join, one through the latency proxy with a skewed clock', async () => {
  await alice.goto(server.url(`/demo?room=${ROOM}&name=Alice`));
  await alice.getByTestId('status').filter({hasText: /^connected$/}).waitFor();
  const bobUrl = `/demo?room=${ROOM}&name=Bob`;
  await bob.goto(proxy ? proxy.url(bobUrl) : server.url(bobUrl));
  await bob.getByTestId('status').filter({hasText: /^connected$/}).waitFor();
  calibration.alice = {...await calibrate(alice), skew: 0};
  calibration.bob = {...await calibrate(bob), skew: SKEW_MS};
  console.log(`# clock calibration: ${JSON.stringify(calibration)}`);
  if (process.env.TANDEM_SYNC_DEBUG) {
    // Every clock sample B's page takes from here on, for studying the filter offline.
    await bob.evaluate(() => {
      window.__clockLog = [];
      const proto = window.TandemSync.ClockSync.prototype;
      const original = proto.onReply;
      proto.onReply = function onReply(m) {
        const taken = this.taken;
        original.call(this, m);
        if (this.taken > taken) {
          window.__clockLog.push({...this.samples[this.samples.length - 1], at: performance.now()});
        }
      };
    });
  }
  const skewSeen = await bob.evaluate(() => Date.now()) - Date.now();
  assert.ok(Math.abs(skewSeen - SKEW_MS) < 1000, `page B's clock is off by ${skewSeen} ms`);
  for (const page of [alice, bob]) {
    await waitUntil('both members listed', async () =>
      (await page.evaluate(() => document.querySelectorAll('[data-testid="members"] li').length)) === 2);
    await waitUntil('the clip loaded', () => page.evaluate(() =>
      document.querySelector('#video').readyState >= HTMLMediaElement.HAVE_ENOUGH_DATA));
  }
  if (MEASURE_ONLY) return;
  for (const page of [alice, bob]) {
    await page.locator('[data-testid="sync"][data-clock="synced"]').waitFor();
  }
  // The server measured B's round trip through the proxy itself (≈ 2 × LATENCY_MS).
  await waitUntil('the server to know B\'s round trip', async () => {
    const room = (await (await fetch(server.url(`/status?roomId=${ROOM}`))).json()).rooms[0];
    return room.users.some((u) => typeof u.rttMs === 'number' && u.rttMs > 2 * LATENCY_MS - 50);
  });
});

test('after a play', async () => {
  const clicked = performance.now();
  await alice.getByTestId('play').click();
  await waitUntil('both pages to play', async () => (await playing(alice)) && (await playing(bob)));
  await until(clicked + SETTLE_MS);
  check('play', await sampleFor(WINDOW_MS));
});

test('after a +10 s seek (through the ready gate)', async () => {
  await alice.getByTestId('fwd10').click();
  for (const page of [alice, bob]) {
    await page.getByTestId('gate').filter({hasText: /^released at/}).waitFor();
  }
  const released = performance.now();
  await waitUntil('both pages to play', async () => (await playing(alice)) && (await playing(bob)));
  await until(released + SETTLE_MS);
  check('seek', await sampleFor(WINDOW_MS));
});

test('after B stalls for 1 s', async () => {
  // The player stops advancing for 1 s and then goes on by itself, as when it buffers: its
  // playbackRate is held at 0 (what the page sets meanwhile is applied afterwards), paused
  // stays false and no event fires.
  await bob.evaluate((ms) => new Promise((resolve) => {
    const v = document.querySelector('#video');
    const real = Object.getOwnPropertyDescriptor(HTMLMediaElement.prototype, 'playbackRate');
    let wanted = v.playbackRate;
    real.set.call(v, 0);
    Object.defineProperty(v, 'playbackRate', {
      configurable: true, get: () => wanted, set: (rate) => { wanted = rate; },
    });
    setTimeout(() => {
      delete v.playbackRate;
      v.playbackRate = wanted;
      resolve();
    }, ms);
  }), STALL_MS);
  const resumed = performance.now();
  await until(resumed + SETTLE_MS);
  check('stall', await sampleFor(WINDOW_MS));
});

test('during 20 s of steady playback; the server\'s spread agrees', async () => {
  const metricBefore = await spreadMetric();
  const samples = await sampleFor(STEADY_MS);
  const metricAfter = await spreadMetric();
  // The phase spans the 30 s clip's end: both players' loop wrap is part of what is measured.
  const wraps = samples.filter((s, i) => i > 0 && s.a < samples[i - 1].a).length;
  check('steady', samples);
  figures.steady.wraps = wraps;
  if (!MEASURE_ONLY) assert.equal(wraps, 1, 'A\'s player wrapped the clip once');
  const count = metricAfter.count - metricBefore.count;
  const serverMeanMs = count > 0 ? ((metricAfter.sum - metricBefore.sum) / count) * 1000 : NaN;
  const abs = samples.map((s) => Math.abs(s.diff) * 1000);
  const testMeanMs = figures.steady.meanMs;
  // The test's sampling error: the spread moved within [min, max] while it looked (the server
  // measures at other instants), and each sample's reads were uncertain by up to readErrorMs.
  const samplingErrorMs = (Math.max(...abs) - Math.min(...abs)) / 2 + figures.steady.readErrorMs;
  figures.steady.serverMeanMs = serverMeanMs;
  figures.steady.serverObservations = count;
  figures.steady.samplingErrorMs = samplingErrorMs;
  console.log(`# server spread: mean ${serverMeanMs.toFixed(1)} ms over ${count} observations; ` +
      `test: mean ${testMeanMs.toFixed(1)} ms ± ${samplingErrorMs.toFixed(1)} ms`);
  if (MEASURE_ONLY) return;
  assert.ok(count >= 10, `the server observed the spread ${count} times in 20 s`);
  assert.ok(Math.abs(serverMeanMs - testMeanMs) <= samplingErrorMs,
      `server mean spread ${serverMeanMs.toFixed(1)} ms, the test measured ` +
      `${testMeanMs.toFixed(1)} ms ± ${samplingErrorMs.toFixed(1)} ms`);
  // Each member's offset is in /status.
  const room = (await (await fetch(server.url(`/status?roomId=${ROOM}`))).json()).rooms[0];
  assert.equal(room.users.filter((u) => typeof u.syncOffset === 'number').length, 2,
      JSON.stringify(room.users));
  assert.equal(typeof room.syncSpread, 'number');
});

test('no page error', () => {
  assert.deepEqual(consoleErrors, []);
});
