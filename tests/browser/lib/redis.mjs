// A real redis-server (Debian's) for the browser tests of cluster mode: a child process on
// a free loopback port, in its own temp dir, nothing persisted, stopped by PID. Mirrors
// tests/redis/redis_server.cpp.
import {spawn} from 'node:child_process';
import {existsSync, mkdtempSync, rmSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {terminate} from './server.mjs';

const BINARY = '/usr/bin/redis-server';

// A port nobody listens on now (another process may take it before Redis binds it: start()
// then tries another one).
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const {port} = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

export class RedisServer {
  static available() {
    return existsSync(BINARY);
  }

  // Resolves once Redis accepts connections; a port taken between the check and the bind
  // makes it try a new port, at most `attempts` times.
  async start({attempts = 5, timeoutMs = 10000} = {}) {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.startOn(await freePort(), timeoutMs);
        return this;
      } catch (error) {
        if (attempt >= attempts) throw error;
      }
    }
  }

  async startOn(port, timeoutMs) {
    this.dir = mkdtempSync(join(tmpdir(), 'tandem-browser-redis-'));
    this.port = port;
    this.output = [];
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', this.dir,
      '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
    this.child = spawn(BINARY, args, {stdio: ['ignore', 'pipe', 'pipe']});
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => {
      this.exit = {code, signal};
      resolve(this.exit);
    }));
    await new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => fail('was not ready in time'), timeoutMs);
      const fail = (why) => {
        if (settled) return;  // an exit after start is stop()'s business
        settled = true;
        clearTimeout(timer);
        this.child.kill('SIGKILL');
        this.exited.then(() => {
          rmSync(this.dir, {recursive: true, force: true});
          reject(new Error(`redis-server on port ${port} ${why}\n${this.output.join('')}`));
        });
      };
      this.exited.then((exit) => fail(`exited early (${JSON.stringify(exit)})`));
      for (const stream of [this.child.stdout, this.child.stderr]) {
        stream.setEncoding('utf8');
        stream.on('data', (chunk) => {
          this.output.push(chunk);
          if (!settled && /Ready to accept connections/.test(this.output.join(''))) {
            settled = true;
            clearTimeout(timer);
            resolve();
          }
        });
      }
    });
    this.url = `redis://127.0.0.1:${port}`;
  }

  async stop(timeoutMs = 10000) {
    if (!this.child) return;
    if (!this.exit) await terminate(this.child, this.exited, timeoutMs);
    rmSync(this.dir, {recursive: true, force: true});
  }
}
