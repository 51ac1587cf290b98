// A TCP proxy on 127.0.0.1 that delays every chunk, in each direction, by delayMs ± jitterMs
// (uniform), in order: a chunk never overtakes the one before it, as on a real path (TCP
// keeps order; jitter only ever bunches chunks up). A page loaded through it reaches the
// server (page, video, WebSocket) over that path. Stopped by the test; bounded by what the
// pages send.
import net from 'node:net';
import {performance} from 'node:perf_hooks';

// One direction: chunks wait in a FIFO; one timer releases every chunk that is due.
class DelayedPipe {
  constructor(to, delayMs, jitterMs) {
    this.to = to;
    this.delayMs = delayMs;
    this.jitterMs = jitterMs;
    this.queue = [];      // [{due, chunk}] with non-decreasing due; chunk null = end
    this.lastDue = 0;
    this.timer = null;
  }

  push(chunk) {
    const jitter = (Math.random() * 2 - 1) * this.jitterMs;
    const due = Math.max(this.lastDue, performance.now() + this.delayMs + jitter);
    this.lastDue = due;
    this.queue.push({due, chunk});
    if (!this.timer) this.arm();
  }

  arm() {
    const head = this.queue[0];
    this.timer = setTimeout(() => this.release(), Math.max(0, head.due - performance.now()));
  }

  release() {
    this.timer = null;
    const now = performance.now();
    while (this.queue.length && this.queue[0].due <= now + 0.5) {
      const {chunk} = this.queue.shift();
      if (this.to.destroyed) continue;
      if (chunk === null) this.to.end();
      else this.to.write(chunk);
    }
    if (this.queue.length) this.arm();
  }

  stop() {
    clearTimeout(this.timer);
    this.queue = [];
  }
}

export class LatencyProxy {
  constructor(targetPort, {delayMs = 150, jitterMs = 20} = {}) {
    this.targetPort = targetPort;
    this.delayMs = delayMs;
    this.jitterMs = jitterMs;
    this.sockets = new Set();
    this.pipes = new Set();
  }

  async start() {
    // Half-open allowed: a FIN is passed on behind the data still delayed, not at once.
    this.server = net.createServer({allowHalfOpen: true}, (client) => this.accept(client));
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.port = this.server.address().port;
    this.origin = `http://127.0.0.1:${this.port}`;
    return this;
  }

  accept(client) {
    const upstream = net.connect({port: this.targetPort, host: '127.0.0.1', allowHalfOpen: true});
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const up = new DelayedPipe(upstream, this.delayMs, this.jitterMs);
    const down = new DelayedPipe(client, this.delayMs, this.jitterMs);
    for (const socket of [client, upstream]) this.sockets.add(socket);
    for (const pipe of [up, down]) this.pipes.add(pipe);
    const forget = (socket) => this.sockets.delete(socket);
    const abort = () => {
      for (const socket of [client, upstream]) socket.destroy();
      for (const pipe of [up, down]) {
        pipe.stop();
        this.pipes.delete(pipe);
      }
    };
    client.on('data', (chunk) => up.push(chunk));
    upstream.on('data', (chunk) => down.push(chunk));
    // A half-close travels like data, behind what was sent before it; each socket closes
    // once both of its directions ended.
    client.on('end', () => up.push(null));
    upstream.on('end', () => down.push(null));
    client.on('close', () => forget(client));
    upstream.on('close', () => forget(upstream));
    client.on('error', abort);
    upstream.on('error', abort);
  }

  url(path) {
    return `${this.origin}${path}`;
  }

  async stop() {
    for (const pipe of this.pipes) pipe.stop();
    for (const socket of this.sockets) socket.destroy();
    if (this.server) await new Promise((resolve) => this.server.close(resolve));
  }
}
