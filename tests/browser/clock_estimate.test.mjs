// The demo's clock estimate (web/demo/sync.js, TandemSync.estimate) as a pure function, in
// Node without a browser: each direction's lowest delay on its own. Samples are made here
// from a known offset, path floors and random queueing (a seeded generator, so every run
// sees the same numbers).
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {test} from 'node:test';
import {fileURLToPath} from 'node:url';
import vm from 'node:vm';

const here = dirname(fileURLToPath(import.meta.url));
const source = readFileSync(join(here, '..', '..', 'web', 'demo', 'sync.js'), 'utf8');
const context = {window: {}, performance: {timeOrigin: 0, now: () => 0}};
vm.runInNewContext(source, context);
const {estimate} = context.window.TandemSync;

// mulberry32: a small seeded generator, uniform in [0, 1).
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// n exchanges over a path with one-way floors floorUp / floorDown and queueing uniform in
// [0, 2 * jitter] on each direction independently (the sync test's proxy: 150 +- 20 ms
// each way), with the server's clock `offset` ms ahead of the client's.
function exchanges(n, {offset, floorUp = 130, floorDown = 130, jitter = 20, seed = 1}) {
  const random = generator(seed);
  const samples = [];
  for (let i = 0; i < n; i++) {
    const dUp = floorUp + 2 * jitter * random();
    const dDown = floorDown + 2 * jitter * random();
    samples.push({up: dUp + offset, down: dDown - offset});
  }
  return samples;
}

// What the filter did before: the offset of the sample with the lowest round trip.
function lowestRoundTrip(samples) {
  const best = samples.reduce((a, b) => (b.up + b.down < a.up + a.down ? b : a));
  return (best.up - best.down) / 2;
}

test('no samples, no estimate', () => {
  assert.equal(estimate([]), null);
});

test('one sample is the NTP formula', () => {
  // Sent at 1000 (client), received at 4100 (server), sent back at 4102, read at 1310:
  // offset ((4100 - 1000) + (4102 - 1310)) / 2, round trip (1310 - 1000) - (4102 - 4100).
  const e = estimate([{up: 4100 - 1000, down: 1310 - 4102}]);
  assert.equal(e.offset, 2946);
  assert.equal(e.rtt, 308);
});

test('symmetric floors: 95 % within 2 ms of the truth from 32 samples, all within 5 ms', () => {
  for (const offset of [-3000, 0, 3000]) {
    const errors = [];
    for (let seed = 1; seed <= 200; seed++) {
      const e = estimate(exchanges(32, {offset, seed}));
      errors.push(Math.abs(e.offset - offset));
      // The floor (260 ms) plus each direction's lowest queueing of 32 draws.
      assert.ok(e.rtt >= 260 && e.rtt < 268, `round-trip floor estimate ${e.rtt}`);
    }
    errors.sort((a, b) => a - b);
    assert.ok(errors[189] < 2, `offset ${offset}: 95th percentile ${errors[189].toFixed(2)} ms`);
    assert.ok(errors[199] < 5, `offset ${offset}: worst ${errors[199].toFixed(2)} ms`);
  }
});

test('each direction on its own beats the lowest round trip on the same samples', () => {
  let ours = 0;
  let before = 0;
  const trials = 500;
  for (let seed = 1; seed <= trials; seed++) {
    const samples = exchanges(32, {offset: 3000, seed});
    ours += Math.abs(estimate(samples).offset - 3000);
    before += Math.abs(lowestRoundTrip(samples) - 3000);
  }
  // Mean errors: the separate minima ~0.4 ms, the lowest round trip ~2.5 ms.
  assert.ok(ours / trials < 0.6, `mean error ${(ours / trials).toFixed(2)} ms`);
  assert.ok(ours * 3 < before, `separate minima ${ours / trials}, lowest round trip ${before / trials}`);
});

test('unequal floors cost half their difference, as in NTP', () => {
  const e = estimate(exchanges(256, {offset: 0, floorUp: 140, floorDown: 120, jitter: 0}));
  assert.equal(e.offset, 10);
});
