// The watch-party page (/demo) in real Chromium against the real server: two pages join a
// room, call each other over WebRTC through the server's relay, play in sync, seek through
// the ready gate, and hand the host role on when the host leaves. The steps run in order
// and share the pages.
import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';
import {join} from 'node:path';

import {artifactsDir, launch, newPage, requireBrowser, serverBinary, waitUntil}
    from './lib/env.mjs';
import {Server} from './lib/server.mjs';

requireBrowser();

const ROOM = 'browser-party';
// A gate that can only close by quorum within the test's waits (not by its timeout), and a
// short reconnect grace so a closed page is removed quickly.
const server = new Server(serverBinary, {GATE_TIMEOUT_MS: '20000', RECONNECT_GRACE_MS: '1500'});
const consoleErrors = [];
let browser;
let alice;
let bob;
let carol;

const demoUrl = (name) => server.url(`/demo?room=${ROOM}&name=${name}`);

function hasText(page, testId, pattern, timeout = 10000) {
  return page.getByTestId(testId).filter({hasText: pattern}).waitFor({timeout});
}

async function videoState(page) {
  return page.evaluate(() => {
    const v = document.querySelector('#video');
    return {t: v.currentTime, paused: v.paused, at: Date.now()};
  });
}

async function userIdOf(page) {
  return page.evaluate(() => sessionStorage.getItem('tandem.demo.userId'));
}

// The userId the page lists as host.
async function hostShownBy(page) {
  return page.evaluate(() =>
    document.querySelector('[data-testid="members"] li[data-host="true"]')?.dataset.userId ?? null);
}

async function memberIds(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('[data-testid="members"] li')].map((li) => li.dataset.userId));
}

// Width of the video a page receives from `fromUserId` (0 until frames arrive).
async function remoteVideoWidth(page, fromUserId) {
  return page.evaluate((id) => document.querySelector(`#tile-peer-${id} video`)?.videoWidth ?? 0,
      fromUserId);
}

before(async () => {
  await server.start();
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  const exit = await server.stop();
  assert.deepEqual(server.stderr, [], `the server printed on stderr:\n${server.output()}`);
  assert.deepEqual(exit, {code: 0, signal: null}, `server exit\n${server.output()}`);
});

test('two pages join one room; the first is host', async () => {
  const context = await browser.newContext({viewport: {width: 1100, height: 900}});
  alice = await newPage(context, 'alice', consoleErrors);
  bob = await newPage(context, 'bob', consoleErrors);
  await alice.goto(demoUrl('Alice'));
  await hasText(alice, 'status', /^connected$/);
  await bob.goto(demoUrl('Bob'));
  await hasText(bob, 'status', /^connected$/);

  const aliceId = await userIdOf(alice);
  const bobId = await userIdOf(bob);
  assert.notEqual(aliceId, bobId);
  for (const page of [alice, bob]) {
    await hasText(page, 'members', /Alice/);
    await hasText(page, 'members', /Bob/);
    assert.deepEqual(await memberIds(page), [aliceId, bobId]);
    assert.equal(await hostShownBy(page), aliceId);
  }
  const status = await (await fetch(server.url(`/status?roomId=${ROOM}`))).json();
  assert.deepEqual(status.rooms[0].users.map((u) => u.username), ['Alice', 'Bob']);
  // Only the host may steer by default: the guest's buttons are disabled.
  assert.equal(await bob.getByTestId('play').isDisabled(), true);
  assert.equal(await alice.getByTestId('play').isDisabled(), false);
});

test('a real WebRTC connection comes up through the server relay', async () => {
  await hasText(alice, 'rtc', /^connected$/, 15000);
  await hasText(bob, 'rtc', /^connected$/, 15000);
  // Signalling went through the server, in both directions.
  assert.ok(await server.metric('tandem_messages_in_total', {type: 'OFFER'}) >= 1);
  assert.ok(await server.metric('tandem_messages_in_total', {type: 'ANSWER'}) >= 1);
  assert.ok(await server.metric('tandem_messages_in_total', {type: 'ICE_CANDIDATE'}) >= 2);
  // Media flows: each page decodes the other's (fake) camera.
  const aliceId = await userIdOf(alice);
  const bobId = await userIdOf(bob);
  await waitUntil('Bob to receive Alice\'s video', () => remoteVideoWidth(bob, aliceId));
  await waitUntil('Alice to receive Bob\'s video', () => remoteVideoWidth(alice, bobId));
});

test('a play on one page reaches the other', async () => {
  assert.match(await bob.getByTestId('playback').textContent(), /^paused/);
  await alice.getByTestId('play').click();
  // Awaited, not timed: how fast a play arrives is measured by browser.sync_* and the
  // benchmarks; here it must arrive, and both pages must then really play.
  await hasText(bob, 'playback', /^playing/);
  await hasText(alice, 'playback', /^playing/);

  // Both really play, at the same position.
  const start = await videoState(bob);
  await waitUntil('Bob\'s video to advance', async () => (await videoState(bob)).t > start.t + 0.5);
  const a = await videoState(alice);
  const b = await videoState(bob);
  const drift = Math.abs(a.t + (b.at - a.at) / 1000 - b.t);
  assert.ok(!a.paused && !b.paused);
  assert.ok(drift < 0.5, `positions differ by ${drift.toFixed(2)} s`);
  assert.match(await bob.getByTestId('playback').textContent(), /^playing \d+\.\d$/);
});

test('a seek goes through the ready gate', async () => {
  const quorumBefore = await server.metric('tandem_gate_outcomes_total', {outcome: 'quorum'});
  const readyBefore = await server.metric('tandem_messages_in_total', {type: 'READY'});
  const before = await videoState(alice);
  await alice.getByTestId('fwd10').click();

  // SEEK_PAUSE paused both pages at the target; each sent READY once its frame was there;
  // the quorum (both) released the gate with PLAY_PAUSE from the server.
  for (const page of [alice, bob]) await hasText(page, 'gate', /^released at \d+\.\d$/, 8000);
  const target = Number((await bob.getByTestId('gate').textContent()).split(' ').pop());
  assert.ok(target >= before.t + 9.5 && target <= before.t + 12,
      `target ${target} after a +10 s seek from ${before.t}`);
  assert.equal(await server.metric('tandem_gate_outcomes_total', {outcome: 'quorum'}),
      quorumBefore + 1);
  assert.equal(await server.metric('tandem_gate_outcomes_total', {outcome: 'timeout'}), 0);
  assert.equal(await server.metric('tandem_messages_in_total', {type: 'READY'}), readyBefore + 2);

  for (const page of [alice, bob]) await hasText(page, 'playback', /^playing/, 2000);
  const a = await videoState(alice);
  const b = await videoState(bob);
  for (const s of [a, b]) assert.ok(s.t >= target - 0.1 && s.t < target + 5, JSON.stringify(s));
  const drift = Math.abs(a.t + (b.at - a.at) / 1000 - b.t);
  assert.ok(drift < 0.5, `positions differ by ${drift.toFixed(2)} s after the gate`);
});

// The server refuses a guest's SYNC_RESPONSE, so to see what the page itself does, a
// fourth page's WebSocket is routed through Playwright, which forwards everything (the JOIN
// without its capabilities) and adds two messages of its own: a guest's (ignored), then the
// host's (applied).
test('the page applies a steering message only from a member allowed to control', async () => {
  const context = await browser.newContext({viewport: {width: 1100, height: 900}});
  let socket = null;
  const dave = await newPage(context, 'dave', consoleErrors);
  // Without capabilities Dave steers by the extension's messages, as an old client does; a
  // page that follows the server's timeline takes only the server's own SYNC_RESPONSE.
  await dave.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((text) => {
      const message = JSON.parse(text);
      if (message.type === 'JOIN') delete message.capabilities;
      server.send(JSON.stringify(message));
    });
    socket = ws;
  });
  await dave.goto(demoUrl('Dave'));
  try {
    await hasText(dave, 'status', /^connected$/);
    await hasText(dave, 'playback', /^playing/, 5000);
    const aliceId = await userIdOf(alice);
    const bobId = await userIdOf(bob);
    // Every text the playback status takes, so a state that did not last is still seen.
    await dave.evaluate(() => {
      const status = document.querySelector('[data-testid="playback"]');
      window.playbackTexts = [];
      new MutationObserver(() => window.playbackTexts.push(status.textContent))
          .observe(status, {childList: true, characterData: true, subtree: true});
    });
    const sync = (userId, currentTime) => socket.send(JSON.stringify({
      type: 'SYNC_RESPONSE', currentTime, isPlaying: false, url: null, userId,
      fromUserId: userId, nodeId: 'test', timestamp: Date.now(),
    }));
    sync(bobId, 17.5);   // bob is a guest, and guest control is off
    sync(aliceId, 4.25);  // alice is the host
    await hasText(dave, 'playback', /^paused 4\.\d$/, 5000);
    const seen = await dave.evaluate(() => window.playbackTexts);
    assert.ok(!seen.some((text) => text.startsWith('paused 17.')),
        `the guest's SYNC_RESPONSE was applied: ${JSON.stringify(seen)}`);
  } finally {
    // Dave leaves whatever happened: the next steps count the members.
    await dave.getByTestId('leave').click();
    await hasText(dave, 'status', /^left$/);
    await context.close();
  }
});

test('screenshots of the demo', async () => {
  await alice.screenshot({path: join(artifactsDir, 'demo-alice.png'), fullPage: true});
  await bob.screenshot({path: join(artifactsDir, 'demo-bob.png'), fullPage: true});
});

test('a page without camera or microphone still connects (receive only)', async () => {
  const context = await browser.newContext({viewport: {width: 1100, height: 900}});
  await context.addInitScript(() => {
    navigator.mediaDevices.getUserMedia = () =>
      Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
  });
  carol = await newPage(context, 'carol', consoleErrors);
  await carol.goto(demoUrl('Carol'));
  await hasText(carol, 'status', /^connected$/);
  await hasText(carol, 'rtc', /^connected$/, 15000);
  await hasText(carol, 'members', /Carol/);
  assert.match(await carol.locator('#media-note').textContent(), /receiving only/);
  // Carol sees Alice's camera; Alice's call with Carol is up too.
  const aliceId = await userIdOf(alice);
  await waitUntil('Carol to receive Alice\'s video', () => remoteVideoWidth(carol, aliceId));
  const carolId = await userIdOf(carol);
  await waitUntil('Alice\'s call with Carol', () => alice.evaluate((id) =>
    document.querySelector(`[data-testid="members"] li[data-user-id="${id}"] .rtc-connected`) !== null,
  carolId));
  // She joined a playing room: her video plays near the others.
  await hasText(carol, 'playback', /^playing/, 5000);
  await carol.screenshot({path: join(artifactsDir, 'demo-carol-no-camera.png'), fullPage: true});
});

test('the host leaving hands host to the next member', async () => {
  const bobId = await userIdOf(bob);
  await alice.getByTestId('leave').click();
  await hasText(alice, 'status', /^left$/);
  for (const page of [bob, carol]) {
    await waitUntil('Bob shown as host', async () => (await hostShownBy(page)) === bobId);
    await waitUntil('Alice gone from the list', async () => (await memberIds(page)).length === 2);
  }
  assert.equal(await bob.getByTestId('play').isDisabled(), false);  // Bob steers now
  assert.equal(await carol.getByTestId('play').isDisabled(), true);
});

test('a host whose page closes keeps the role for the reconnect grace, then is replaced',
    async () => {
  const carolId = await userIdOf(carol);
  const bobId = await userIdOf(bob);
  // Carol's page notes when it first shows her as host (a MutationObserver, so the moment
  // does not depend on how often the test polls); both clocks are the machine's.
  await carol.evaluate(() => {
    const list = document.querySelector('[data-testid="members"]');
    const me = sessionStorage.getItem('tandem.demo.userId');
    window.hostSince = new Promise((resolve) => {
      const check = () => {
        if (list.querySelector('li[data-host="true"]')?.dataset.userId !== me) return;
        observer.disconnect();
        resolve(Date.now());
      };
      const observer = new MutationObserver(check);
      observer.observe(list, {childList: true, attributes: true, subtree: true});
    });
  });
  const closing = Date.now();
  await bob.close();  // no LEAVE: the server waits RECONNECT_GRACE_MS, then re-elects
  await waitUntil('Carol shown as host', async () => (await hostShownBy(carol)) === carolId, 10000);
  // The server saw the close no earlier than `closing`, and its grace timer never fires
  // early: Bob kept the role for the whole grace (1 ms for Date.now()'s two floors).
  const keptMs = (await carol.evaluate(() => window.hostSince)) - closing;
  assert.ok(keptMs >= 1500 - 1, `Carol became host ${keptMs} ms after Bob's page closed`);
  // HOST_CHANGED comes before USER_LEFT (the shipped server's order): await the second.
  await waitUntil('Bob gone from Carol\'s list', async () =>
    !(await memberIds(carol)).includes(bobId));
  assert.deepEqual(await memberIds(carol), [carolId]);
  await hasText(carol, 'rtc', /^none$/);
  assert.equal(await carol.getByTestId('play').isDisabled(), false);
});

test('no page error, no Content-Security-Policy violation', () => {
  assert.deepEqual(consoleErrors, []);
});
