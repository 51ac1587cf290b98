// tandem.watch operations dashboard: polls the server's own metrics (Prometheus text) and
// status (JSON) through /api/dashboard/*, keeps a few minutes of history in memory and
// draws the charts by hand on <canvas>. No library, no build step.
'use strict';

(() => {
  const TOKEN_KEY = 'tandem.adminToken';
  const params = new URLSearchParams(location.search);
  const EVERY_MS = Math.max(250, Number(params.get('every')) || 1000);
  const WINDOW_MS = 5 * 60 * 1000;  // what the charts show
  const MAX_POINTS = Math.ceil(WINDOW_MS / EVERY_MS) + 1;
  const PALETTE = ['#4ea1ff', '#2fbf71', '#e0a030', '#e5534b', '#b083f0', '#39c5cf', '#d4d4d4',
                   '#ff8fb1'];

  const $ = (selector) => document.querySelector(selector);
  const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

  let token = sessionStorage.getItem(TOKEN_KEY) || '';
  let timer = null;
  let previous = null;  // {at, samples}: the last scrape, for rates
  const history = new Map();  // chart -> Map(series -> [{t, v}])

  class Unauthorized extends Error {}

  // ---- Prometheus text format --------------------------------------------------------------

  function parseNumber(text) {
    if (text === '+Inf') return Infinity;
    if (text === '-Inf') return -Infinity;
    return Number(text);
  }

  // [{name, labels: {k: v}, value}] from an exposition (comments and blank lines skipped).
  function parseMetrics(text) {
    const samples = [];
    const line = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?\s*$/;
    const label = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (const raw of text.split('\n')) {
      if (!raw || raw.startsWith('#')) continue;
      const m = line.exec(raw);
      if (!m) continue;
      const labels = {};
      for (const l of (m[2] || '').matchAll(label)) {
        labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
      }
      samples.push({name: m[1], labels, value: parseNumber(m[3])});
    }
    return samples;
  }

  // The sum of every sample of `name` (all label sets).
  function total(samples, name) {
    return samples.filter((s) => s.name === name).reduce((sum, s) => sum + s.value, 0);
  }

  // Map(label value -> value) of `name` split by `label`.
  function byLabel(samples, name, labelName) {
    const out = new Map();
    for (const s of samples) {
      if (s.name !== name) continue;
      const key = s.labels[labelName] ?? '';
      out.set(key, (out.get(key) || 0) + s.value);
    }
    return out;
  }

  // Per-second rates of a labelled counter between two scrapes (a reset counts from zero).
  function rates(now, before, seconds, name, labelName) {
    const current = byLabel(now, name, labelName);
    const past = byLabel(before, name, labelName);
    const out = new Map();
    for (const [key, value] of current) {
      const delta = value - (past.get(key) || 0);
      out.set(key, (delta >= 0 ? delta : value) / seconds);
    }
    return out;
  }

  // The q-quantile of a histogram's observations between two scrapes (cumulative buckets
  // {le -> count}), interpolated within its bucket as Prometheus' histogram_quantile does.
  function quantile(q, now, before, name) {
    const bucketsOf = (samples) => new Map(samples.filter((x) => x.name === `${name}_bucket`)
        .map((x) => [parseNumber(x.labels.le), x.value]));
    const current = bucketsOf(now);
    const past = bucketsOf(before);
    const bounds = [...current.keys()].sort((a, b) => a - b);
    const count = (current.get(Infinity) || 0) - (past.get(Infinity) || 0);
    if (!(count > 0)) return null;
    let lower = 0;
    let below = 0;
    for (const le of bounds) {
      const cumulative = current.get(le) - (past.get(le) || 0);
      if (cumulative >= q * count) {
        if (le === Infinity) return lower;
        return lower + (le - lower) * ((q * count - below) / Math.max(cumulative - below, 1e-9));
      }
      lower = le;
      below = cumulative;
    }
    return lower;
  }

  // ---- history -----------------------------------------------------------------------------

  function record(chart, series, t, v) {
    if (!history.has(chart)) history.set(chart, new Map());
    const all = history.get(chart);
    if (!all.has(series)) all.set(series, []);
    const points = all.get(series);
    points.push({t, v});
    while (points.length > MAX_POINTS || (points.length && points[0].t < t - WINDOW_MS)) points.shift();
  }

  function recordMap(chart, map, t, keep) {
    for (const [key, value] of map) {
      if (keep(key, value)) record(chart, key, t, value);
    }
    // Series that stopped reporting fall to zero instead of freezing at their last value.
    for (const [key, points] of history.get(chart) || []) {
      if (!map.has(key) && points.length) record(chart, key, t, 0);
    }
  }

  // ---- drawing -----------------------------------------------------------------------------

  function niceCeiling(value) {
    if (!(value > 0)) return 1;
    const magnitude = 10 ** Math.floor(Math.log10(value));
    for (const step of [1, 2, 2.5, 5, 10]) {
      if (value <= step * magnitude) return step * magnitude;
    }
    return 10 * magnitude;
  }

  function format(value) {
    if (!Number.isFinite(value)) return String(value);
    const abs = Math.abs(value);
    if (abs >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
    if (abs >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
    if (abs >= 100 || Number.isInteger(value)) return String(Math.round(value));
    return value.toFixed(abs >= 10 ? 1 : 2);
  }

  function draw(canvas) {
    const chart = canvas.dataset.chart;
    const all = history.get(chart) || new Map();
    // The busiest series first; at most as many as there are colours.
    const series = [...all.entries()]
        .map(([name, points]) => ({name, points, weight: points.reduce((s, p) => s + p.v, 0)}))
        .sort((a, b) => b.weight - a.weight || a.name.localeCompare(b.name))
        .slice(0, PALETTE.length);

    const dpr = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 400;
    const height = canvas.clientHeight || 180;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = '#161b22';
    ctx.fillRect(0, 0, width, height);

    // Legend rows first (name and latest value), so the plot starts below them.
    ctx.font = '11px system-ui, sans-serif';
    const legend = [];
    let lx = 44;
    let row = 0;
    series.forEach((s, i) => {
      const last = s.points.length ? s.points[s.points.length - 1].v : 0;
      const text = `${s.name || 'value'} ${format(last)}`;
      const w = 14 + ctx.measureText(text).width + 14;
      if (lx + w > width - 6 && lx > 44) {
        lx = 44;
        row += 1;
      }
      legend.push({text, x: lx, y: 14 + row * 16, color: PALETTE[i]});
      lx += w;
    });

    const left = 44;
    const right = width - 10;
    const top = 26 + row * 16;
    const bottom = height - 20;
    const now = Date.now();
    // The time axis grows with the history, from 30 s up to the whole window.
    const earliest = Math.min(now, ...series.flatMap((s) => s.points.map((p) => p.t)));
    const span = Math.min(WINDOW_MS, Math.max(30000, now - earliest));
    const t0 = now - span;
    const maxValue = niceCeiling(Math.max(0, ...series.flatMap((s) => s.points.map((p) => p.v))));
    const x = (t) => left + ((t - t0) / span) * (right - left);
    const y = (v) => bottom - (v / maxValue) * (bottom - top);

    // Grid and axis labels.
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    ctx.strokeStyle = '#2c333d';
    ctx.fillStyle = '#8b949e';
    ctx.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const value = (maxValue * i) / 4;
      const py = Math.round(y(value)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(left, py);
      ctx.lineTo(right, py);
      ctx.stroke();
      ctx.textAlign = 'right';
      ctx.fillText(format(value), left - 6, py);
    }
    ctx.textAlign = 'left';
    ctx.fillText(span >= 120000 ? `−${Math.round(span / 60000)} min` : `−${Math.round(span / 1000)} s`,
        left, height - 8);
    ctx.textAlign = 'right';
    ctx.fillText('now', right, height - 8);

    // Lines.
    let longest = 0;
    series.forEach((s, i) => {
      longest = Math.max(longest, s.points.length);
      ctx.strokeStyle = PALETTE[i];
      ctx.lineWidth = 2;
      ctx.beginPath();
      s.points.forEach((p, k) => {
        const px = x(p.t);
        const py = y(p.v);
        if (k === 0) ctx.moveTo(px, py);
        else ctx.lineTo(px, py);
      });
      if (s.points.length === 1) {  // a single point: a dot, so it is visible
        ctx.fillStyle = PALETTE[i];
        ctx.fillRect(x(s.points[0].t) - 2, y(s.points[0].v) - 2, 4, 4);
      }
      ctx.stroke();
    });

    ctx.textAlign = 'left';
    for (const item of legend) {
      ctx.fillStyle = item.color;
      ctx.fillRect(item.x, item.y - 5, 10, 10);
      ctx.fillStyle = '#c9d1d9';
      ctx.fillText(item.text, item.x + 14, item.y);
    }
    if (!series.length) {
      ctx.fillStyle = '#8b949e';
      ctx.fillText('no data yet', left + 6, 14);
    }

    // For people and for tests: how much this chart holds.
    canvas.dataset.series = series.map((s) => s.name).join(',');
    canvas.dataset.points = String(longest);
    canvas.dataset.ready = longest >= 2 ? 'true' : 'false';
  }

  function drawAll() {
    for (const canvas of document.querySelectorAll('canvas[data-chart]')) draw(canvas);
  }

  // ---- tables ------------------------------------------------------------------------------

  function cell(row, text) {
    const td = document.createElement('td');
    td.textContent = text;
    row.append(td);
    return td;
  }

  function duration(seconds) {
    const s = Math.floor(seconds);
    if (s < 120) return `${s} s`;
    if (s < 7200) return `${Math.floor(s / 60)} min`;
    if (s < 172800) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
    return `${Math.floor(s / 86400)} d`;
  }

  // Cluster mode adds "nodes" (objects with at least nodeId) to /status; a standalone node
  // is listed alone, from /health and its own /status counters.
  function renderNodes(status, health) {
    const body = byTestId('nodes').querySelector('tbody');
    body.replaceChildren();
    const nodes = Array.isArray(status.nodes) && status.nodes.length ? status.nodes : [{
      nodeId: health.nodeId ?? status.nodeId,
      status: health.status,
      connections: status.localConnections,
      rooms: status.localRooms,
      uptime: duration(status.uptime || 0),
    }];
    for (const node of nodes) {
      const row = document.createElement('tr');
      row.dataset.nodeId = String(node.nodeId ?? '');
      const name = cell(row, String(node.nodeId ?? '?'));
      if (node.nodeId === status.nodeId) name.classList.add('self');
      const details = Object.entries(node)
          .filter(([key, value]) => key !== 'nodeId' && value !== null && typeof value !== 'object')
          .map(([key, value]) => `${key}: ${value}`)
          .join(' · ');
      cell(row, details);
      body.append(row);
    }
    byTestId('nodes').dataset.count = String(nodes.length);
  }

  function renderRooms(status) {
    const body = byTestId('rooms').querySelector('tbody');
    body.replaceChildren();
    const rooms = Array.isArray(status.rooms) ? [...status.rooms] : [];
    rooms.sort((a, b) => (b.connectionCount || 0) - (a.connectionCount || 0));
    for (const room of rooms.slice(0, 10)) {
      const row = document.createElement('tr');
      cell(row, room.roomId);
      cell(row, String((room.users || []).length));
      const host = (room.users || []).find((u) => u.userId === room.hostUserId);
      cell(row, host ? (host.username || host.userId) : (room.hostUserId || '–'));
      cell(row, `${room.isPlaying ? 'playing' : 'paused'} ${Number(room.currentTime || 0).toFixed(0)} s`);
      const spread = room.syncSpread;
      cell(row, typeof spread === 'number' ? `${(spread * 1000).toFixed(0)} ms` : '–');
      body.append(row);
    }
    // /status lists one page (the first 100 rooms by id): the largest of those are shown,
    // and totalRooms counts them all.
    const total = Number.isFinite(status.totalRooms) ? status.totalRooms : rooms.length;
    const shown = Math.min(rooms.length, 10);
    $('#rooms-note').textContent = total > shown
        ? `and ${total - shown} more` +
          (total > rooms.length ? `; shown: the largest of the first ${rooms.length} by id` : '')
        : rooms.length ? '' : 'No rooms listed (none open, or STATUS_LIST_ROOMS=false).';
  }

  // ---- polling -----------------------------------------------------------------------------

  async function get(path, as) {
    const headers = token ? {Authorization: `Bearer ${token}`} : {};
    const res = await fetch(path, {headers, cache: 'no-store'});
    if (res.status === 401) throw new Unauthorized();
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return as === 'json' ? res.json() : res.text();
  }

  function setStatus(text) {
    byTestId('dash-status').textContent = text;
    byTestId('dash-status').dataset.state = text;
  }

  async function tick() {
    try {
      const [text, status, health] = await Promise.all([
        get('/api/dashboard/metrics', 'text'),
        get('/api/dashboard/status', 'json'),
        fetch('/health', {cache: 'no-store'}).then((r) => r.json()).catch(() => ({})),
      ]);
      const at = Date.now();
      const samples = parseMetrics(text);
      ingest(samples, at, status);
      renderNodes(status, health);
      renderRooms(status);
      drawAll();
      $('#node-id').textContent = status.nodeId || health.nodeId || '–';
      $('#updated').textContent = `updated ${new Date(at).toLocaleTimeString()}`;
      $('#error').textContent = '';
      setStatus('live');
      $('#board').hidden = false;
      $('#token-form').hidden = true;
      $('#sign-out').hidden = !token;
    } catch (err) {
      if (err instanceof Unauthorized) {
        askForToken(token ? 'That token was refused.' : null);
        return;
      }
      setStatus('error');
      $('#error').textContent = `Cannot read the server's metrics: ${err.message}`;
    }
    timer = setTimeout(tick, EVERY_MS);
  }

  function ingest(samples, at, status) {
    const value = (name) => total(samples, name);
    record('connections', 'open', at, value('tandem_connections'));
    record('connections', 'joined', at, value('tandem_joined_connections'));
    record('rooms', 'rooms', at, value('tandem_rooms'));
    const gates = byLabel(samples, 'tandem_gate_outcomes_total', 'outcome');
    recordMap('gates', gates, at, (key, v) => key !== 'other' || v > 0);
    record('journal', 'backlog', at, value('tandem_journal_backlog'));

    $('#tile-connections').textContent = format(value('tandem_connections'));
    $('#tile-joined').textContent = format(value('tandem_joined_connections'));
    $('#tile-rooms').textContent = format(value('tandem_rooms'));
    $('#tile-uptime').textContent = duration(value('tandem_uptime_seconds') || status.uptime || 0);

    if (previous) {
      const seconds = Math.max((at - previous.at) / 1000, 0.001);
      const sum = (map) => [...map.values()].reduce((s, v) => s + v, 0);
      const messages = rates(samples, previous.samples, seconds, 'tandem_messages_in_total', 'type');
      const errors = rates(samples, previous.samples, seconds, 'tandem_errors_total', 'code');
      // "all" always, and a type or code once it has been seen: idle ones stay off the chart.
      for (const [chart, map] of [['messages', messages], ['errors', errors]]) {
        const known = history.get(chart) || new Map();
        recordMap(chart, new Map([['all', sum(map)], ...map]), at,
            (key, v) => key === 'all' || v > 0 || known.has(key));
      }
      $('#tile-rate').textContent = format(sum(messages));
      $('#tile-errors').textContent = format(sum(errors));

      // Sync spread (docs/SYNC.md) of the rooms' timed reports in this interval, in ms.
      const spreads = total(samples, 'tandem_sync_spread_seconds_count') -
          total(previous.samples, 'tandem_sync_spread_seconds_count');
      if (spreads > 0) {
        const spreadSum = total(samples, 'tandem_sync_spread_seconds_sum') -
            total(previous.samples, 'tandem_sync_spread_seconds_sum');
        record('sync', 'mean', at, (spreadSum / spreads) * 1000);
        record('sync', 'p95', at,
            quantile(0.95, samples, previous.samples, 'tandem_sync_spread_seconds') * 1000);
      }
    }
    previous = {at, samples};
  }

  function askForToken(why) {
    if (timer) clearTimeout(timer);
    timer = null;
    setStatus('locked');
    $('#token-why').textContent = why ||
        'This server sets ADMIN_TOKEN: enter it to see its metrics.';
    $('#token-form').hidden = false;
    $('#board').hidden = true;
    $('#token-input').focus();
  }

  $('#token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    token = $('#token-input').value;
    sessionStorage.setItem(TOKEN_KEY, token);
    $('#token-input').value = '';
    setStatus('loading');
    tick();
  });

  $('#sign-out').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    token = '';
    askForToken(null);
  });

  window.addEventListener('resize', drawAll);
  tick();
})();
