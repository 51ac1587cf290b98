// What the browser is sent for /demo and /dashboard: content types, the CSP, caching, and
// 404 for files that do not exist (plain HTTP from node, no browser needed).
import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';

import {serverBinary} from './lib/env.mjs';
import {Server} from './lib/server.mjs';

const server = new Server(serverBinary);

before(async () => {
  await server.start();
});

after(async () => {
  const exit = await server.stop();
  assert.deepEqual(server.stderr, [], server.output());
  assert.deepEqual(exit, {code: 0, signal: null}, server.output());
});

test('pages and their files have the right content types', async () => {
  const expected = {
    '/demo': 'text/html; charset=utf-8',
    '/demo/?room=x': 'text/html; charset=utf-8',
    '/demo/demo.js': 'text/javascript; charset=utf-8',
    '/demo/demo.css': 'text/css; charset=utf-8',
    '/demo/clip.webm': 'video/webm',
    '/demo/icon.svg': 'image/svg+xml',
    '/dashboard': 'text/html; charset=utf-8',
    '/dashboard/dashboard.js': 'text/javascript; charset=utf-8',
    '/dashboard/dashboard.css': 'text/css; charset=utf-8',
  };
  for (const [path, type] of Object.entries(expected)) {
    const res = await fetch(server.url(path));
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get('content-type'), type, path);
    assert.equal(res.headers.get('cache-control'), 'no-cache', path);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
    assert.ok((await res.arrayBuffer()).byteLength > 0, path);
  }
});

test('the CSP of each page', async () => {
  const demo = (await fetch(server.url('/demo?room=x'))).headers.get('content-security-policy');
  assert.match(demo, /default-src 'none'/);
  assert.match(demo, /script-src 'self';/);
  assert.match(demo, /connect-src 'self'/);
  assert.match(demo, /media-src 'self';/);
  assert.doesNotMatch(demo, /unsafe/);
  const src = encodeURIComponent('https://media.example.org:8443/films/a.webm');
  const withSrc = (await fetch(server.url(`/demo?room=x&src=${src}`)))
      .headers.get('content-security-policy');
  assert.match(withSrc, /media-src 'self' https:\/\/media\.example\.org:8443;/);
  const dashboard = (await fetch(server.url('/dashboard'))).headers.get('content-security-policy');
  assert.match(dashboard, /default-src 'none'/);
  assert.match(dashboard, /connect-src 'self'/);
  assert.doesNotMatch(dashboard, /media-src/);
});

test('unknown files are 404', async () => {
  for (const path of ['/demo/missing.js', '/dashboard/missing.css', '/demo/a/b.js', '/demos',
    '/dashboard/index.htm']) {
    const res = await fetch(server.url(path));
    assert.equal(res.status, 404, path);
    await res.arrayBuffer();
  }
});

test('an unchanged file is not sent twice', async () => {
  const first = await fetch(server.url('/demo/demo.js'));
  const etag = first.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]+"$/);
  await first.arrayBuffer();
  const again = await fetch(server.url('/demo/demo.js'), {headers: {'If-None-Match': etag}});
  assert.equal(again.status, 304);
});
