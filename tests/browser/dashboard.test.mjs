// The operations dashboard (/dashboard) in real Chromium: ADMIN_TOKEN asked for and kept
// in the tab, charts drawn from the server's own metrics, the node list (this node alone,
// or every node of a real two-node cluster over a Redis the test starts).
import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';
import {join} from 'node:path';

import {artifactsDir, launch, requireBrowser, serverBinary, waitUntil, watchConsole}
    from './lib/env.mjs';
import {RedisServer} from './lib/redis.mjs';
import {Server} from './lib/server.mjs';

requireBrowser();

const TOKEN = 'dash-token-0123456';
const server = new Server(serverBinary, {ADMIN_TOKEN: TOKEN, NODE_ID: 'dash-node'});
const CHARTS = ['connections', 'rooms', 'messages', 'errors', 'gates', 'journal', 'sync'];
const consoleErrors = [];
let browser;
let context;
let dashboard;

// Pixels of a canvas that differ from its background (the top-left pixel).
async function drawnPixels(page, testId) {
  return page.getByTestId(testId).evaluate((canvas) => {
    const {data} = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let count = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i] !== data[0] || data[i + 1] !== data[1] || data[i + 2] !== data[2]) count++;
    }
    return count;
  });
}

// A dashboard page's console: the 401s it gets before it has the right token are expected;
// nothing else is.
function watchDashboard(page, name) {
  page.on('console', (m) => {
    if (m.type() === 'error' && !/401 \(Unauthorized\)/.test(m.text())) {
      consoleErrors.push(`${name}: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => consoleErrors.push(`${name}: uncaught ${e.message}`));
}

before(async () => {
  await server.start();
  browser = await launch();
  context = await browser.newContext({viewport: {width: 1280, height: 1000}});
});

after(async () => {
  if (browser) await browser.close();
  const exit = await server.stop();
  assert.deepEqual(server.stderr, [], `the server printed on stderr:\n${server.output()}`);
  assert.deepEqual(exit, {code: 0, signal: null}, `server exit\n${server.output()}`);
});

test('with ADMIN_TOKEN set, the dashboard asks for it and refuses a wrong one', async () => {
  dashboard = await context.newPage();
  watchDashboard(dashboard, 'dashboard');
  await dashboard.goto(server.url('/dashboard?every=400'));
  await dashboard.getByTestId('token-form').waitFor({state: 'visible'});
  await dashboard.getByTestId('dash-status').filter({hasText: /^locked$/}).waitFor();
  assert.equal(await dashboard.locator('#board').isHidden(), true);

  await dashboard.locator('#token-input').fill('not-the-token');
  await dashboard.locator('#token-form button[type="submit"]').click();
  await dashboard.locator('#token-why').filter({hasText: /refused/}).waitFor();
  assert.equal(await dashboard.locator('#board').isHidden(), true);

  await dashboard.locator('#token-input').fill(TOKEN);
  await dashboard.locator('#token-form button[type="submit"]').click();
  await dashboard.getByTestId('dash-status').filter({hasText: /^live$/}).waitFor();
  assert.equal(await dashboard.evaluate(() => sessionStorage.getItem('tandem.adminToken')), TOKEN);
});

test('charts fill from the server\'s metrics', async () => {
  // Traffic to chart: two demo pages join a room and play (two members: a sync spread).
  const demo = await context.newPage();
  watchConsole(demo, 'demo', consoleErrors);
  await demo.goto(server.url('/demo?room=dash-room&name=Dana'));
  await demo.getByTestId('status').filter({hasText: /^connected$/}).waitFor();
  const second = await context.newPage();
  watchConsole(second, 'second', consoleErrors);
  await second.goto(server.url('/demo?room=dash-room&name=Eve'));
  await second.getByTestId('status').filter({hasText: /^connected$/}).waitFor();
  await demo.getByTestId('play').click();
  for (const page of [demo, second]) {
    await page.getByTestId('playback').filter({hasText: /^playing/}).waitFor();
  }

  for (const chart of CHARTS) {
    const canvas = dashboard.getByTestId(`chart-${chart}`);
    await dashboard.locator(`[data-testid="chart-${chart}"][data-ready="true"]`).waitFor();
    assert.ok(Number(await canvas.getAttribute('data-points')) >= 2, chart);
    assert.ok(await drawnPixels(dashboard, `chart-${chart}`) > 500, `${chart} has nothing drawn`);
  }
  assert.deepEqual((await dashboard.getByTestId('chart-sync').getAttribute('data-series'))
      .split(',').sort(), ['mean', 'p95']);
  await dashboard.getByTestId('rooms').locator('td', {hasText: / ms$/}).waitFor();
  await second.close();
  // The numbers are the server's: one connection, one room, and JOIN among message types.
  await dashboard.locator('#tile-connections').filter({hasText: /^1$/}).waitFor();
  await dashboard.locator('#tile-rooms').filter({hasText: /^1$/}).waitFor();
  await waitUntil('JOIN on the messages chart', async () =>
    (await dashboard.getByTestId('chart-messages').getAttribute('data-series')).split(',')
        .includes('JOIN'));
  assert.deepEqual((await dashboard.getByTestId('chart-gates').getAttribute('data-series'))
      .split(',').sort(), ['cancelled', 'quorum', 'replaced', 'timeout']);
  await dashboard.getByTestId('rooms').locator('td', {hasText: 'dash-room'}).waitFor();

  // Standalone: this node alone, named as in /health.
  const rows = dashboard.getByTestId('nodes').locator('tbody tr');
  assert.equal(await rows.count(), 1);
  assert.equal(await rows.first().getAttribute('data-node-id'), 'dash-node');
  await dashboard.screenshot({path: join(artifactsDir, 'dashboard.png'), fullPage: true});
  await demo.close();
});

test('a real two-node cluster: each node\'s dashboard lists both nodes', async () => {
  // Redis and two nodes, started here on free loopback ports and stopped by PID.
  assert.ok(RedisServer.available(), 'redis-server is not installed (scripts/install-deps.sh --test)');
  const redis = await new RedisServer().start();
  const liveness = {REDIS_URL: redis.url, NODE_DEAD_AFTER_MS: '2000', CLUSTER_SWEEP_MS: '200'};
  const nodes = ['dash-a', 'dash-b'].map((id) =>
    new Server(serverBinary, {ADMIN_TOKEN: TOKEN, NODE_ID: id, ...liveness}));
  const pages = [];
  let exits;
  try {
    for (const node of nodes) await node.start();
    // A member on node B: the node list must show where the connection is.
    const member = await context.newPage();
    pages.push(member);
    watchConsole(member, 'member', consoleErrors);
    await member.goto(nodes[1].url('/demo?room=cluster-room&name=Finn'));
    await member.getByTestId('status').filter({hasText: /^connected$/}).waitFor();

    const board = await context.newPage();
    pages.push(board);
    watchDashboard(board, 'cluster dashboard');
    // Node A's page is another origin: the token is asked for again.
    await board.goto(nodes[0].url('/dashboard?every=400'));
    await board.locator('#token-input').fill(TOKEN);
    await board.locator('#token-form button[type="submit"]').click();
    await board.getByTestId('dash-status').filter({hasText: /^live$/}).waitFor();
    await waitUntil('both nodes listed', async () =>
      (await board.getByTestId('nodes').getAttribute('data-count')) === '2');
    const ids = await board.getByTestId('nodes').locator('tbody tr')
        .evaluateAll((rows) => rows.map((r) => r.dataset.nodeId));
    assert.deepEqual(ids.sort(), ['dash-a', 'dash-b']);
    // Node B's own record (refreshed every NODE_DEAD_AFTER_MS / 3) counts its member; the
    // room is cluster-wide, so node A's room table lists it too.
    await board.locator('tr[data-node-id="dash-b"] td', {hasText: 'connections: 1'}).waitFor();
    await board.locator('tr[data-node-id="dash-a"] td', {hasText: 'connections: 0'}).waitFor();
    await board.getByTestId('rooms').locator('td', {hasText: 'cluster-room'}).waitFor();
    await board.screenshot({path: join(artifactsDir, 'dashboard-cluster.png'), fullPage: true});
  } finally {
    for (const page of pages) await page.close();
    exits = await Promise.all(nodes.map((node) => node.stop()));
    await redis.stop();
  }
  for (const [i, node] of nodes.entries()) {
    assert.deepEqual(node.stderr, [], `node ${i} printed on stderr:\n${node.output()}`);
    assert.deepEqual(exits[i], {code: 0, signal: null}, `node ${i} exit\n${node.output()}`);
  }
});

test('"Forget token" locks the page again', async () => {
  await dashboard.locator('#sign-out').click();
  await dashboard.getByTestId('token-form').waitFor({state: 'visible'});
  assert.equal(await dashboard.evaluate(() => sessionStorage.getItem('tandem.adminToken')), null);
});

test('no page error, no Content-Security-Policy violation', () => {
  assert.deepEqual(consoleErrors, []);
});
