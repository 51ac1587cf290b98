// The operations dashboard (/dashboard) in real Chromium: ADMIN_TOKEN asked for and kept
// in the tab, charts drawn from the server's own metrics, the node list (this node alone,
// or the "nodes" of a cluster's /status).
import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';
import {join} from 'node:path';

import {artifactsDir, launch, requireBrowser, serverBinary, waitUntil, watchConsole}
    from './lib/env.mjs';
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
  // The 401s the page gets before it has the right token are expected; nothing else is.
  dashboard.on('console', (m) => {
    if (m.type() === 'error' && !/401 \(Unauthorized\)/.test(m.text())) {
      consoleErrors.push(`dashboard: ${m.text()}`);
    }
  });
  dashboard.on('pageerror', (e) => consoleErrors.push(`dashboard: uncaught ${e.message}`));
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

test('a cluster\'s /status "nodes" list is rendered', async () => {
  // Cluster mode is not built yet; it adds a top-level "nodes" array to /status. The page
  // must list whatever nodes the status names.
  await dashboard.route('**/api/dashboard/status', async (route) => {
    const response = await route.fetch();
    const status = await response.json();
    status.nodes = [
      {nodeId: 'dash-node', connections: 1, rooms: 1},
      {nodeId: 'node-b', connections: 7, rooms: 3, lastSeen: 1764254400000},
    ];
    await route.fulfill({response, json: status});
  });
  await waitUntil('two nodes listed', async () =>
    (await dashboard.getByTestId('nodes').getAttribute('data-count')) === '2');
  const ids = await dashboard.getByTestId('nodes').locator('tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.dataset.nodeId));
  assert.deepEqual(ids, ['dash-node', 'node-b']);
  await dashboard.getByTestId('nodes').locator('td', {hasText: 'connections: 7'}).waitFor();
  await dashboard.unroute('**/api/dashboard/status');
});

test('"Forget token" locks the page again', async () => {
  await dashboard.locator('#sign-out').click();
  await dashboard.getByTestId('token-form').waitFor({state: 'visible'});
  assert.equal(await dashboard.evaluate(() => sessionStorage.getItem('tandem.adminToken')), null);
});

test('no page error, no Content-Security-Policy violation', () => {
  assert.deepEqual(consoleErrors, []);
});
