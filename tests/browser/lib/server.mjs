// The real tandem-server binary as a child process for the browser tests: its own temp
// DATA_DIR, PORT=0 on 127.0.0.1 (the port is read from its "listening" log line), stopped
// by PID. Mirrors tests/support/server_process.cpp.
import {spawn} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

// SIGTERM, then SIGKILL if `child` has not exited within timeoutMs; resolves once it has
// (`exited`: the promise of its exit).
export async function terminate(child, exited, timeoutMs) {
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

export class Server {
  constructor(binary, env = {}) {
    this.binary = binary;
    this.env = env;
    this.lines = [];      // every line printed, stderr ones prefixed
    this.stderr = [];
    this.port = 0;
    this.exit = null;     // {code, signal} once exited
  }

  // Starts the process and resolves once it listens (rejects if it exits or is silent).
  async start(timeoutMs = 15000) {
    this.dataDir = mkdtempSync(join(tmpdir(), 'tandem-browser-'));
    const env = {
      PATH: process.env.PATH,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      NODE_ID: 'browser-test',
      DATA_DIR: this.dataDir,
      STATUS_CACHE_MS: '0',
      ...this.env,
    };
    for (const name of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS']) {
      if (process.env[name]) env[name] = process.env[name];
    }
    this.child = spawn(this.binary, [], {env, stdio: ['ignore', 'pipe', 'pipe']});
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exit = {code, signal};
        resolve(this.exit);
      });
    });
    const listening = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(
          `tandem-server did not log "listening" within ${timeoutMs} ms\n${this.output()}`)),
          timeoutMs);
      this.exited.then((exit) => {
        clearTimeout(timer);
        reject(new Error(`tandem-server exited early (${JSON.stringify(exit)})\n${this.output()}`));
      });
      this.onLine = (line) => {
        let entry;
        try {
          entry = JSON.parse(line);
        } catch {
          return;
        }
        if (entry.msg === 'listening' && Number.isInteger(entry.port)) {
          clearTimeout(timer);
          this.port = entry.port;
          resolve();
        }
      };
    });
    this.readLines(this.child.stdout, false);
    this.readLines(this.child.stderr, true);
    await listening;
    this.origin = `http://127.0.0.1:${this.port}`;
    return this;
  }

  readLines(stream, fromStderr) {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        this.lines.push(fromStderr ? `[stderr] ${line}` : line);
        if (fromStderr) this.stderr.push(line);
        else if (this.onLine) this.onLine(line);
      }
    });
  }

  url(path) {
    return `${this.origin}${path}`;
  }

  // One sample of /metrics (labels must match exactly), or undefined.
  async metric(name, labels = {}) {
    const text = await (await fetch(this.url('/metrics'))).text();
    const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
    const key = wanted ? `${name}{${wanted}}` : name;
    for (const line of text.split('\n')) {
      if (line.startsWith(`${key} `)) return Number(line.slice(key.length + 1));
    }
    return undefined;
  }

  output(last = 200) {
    return this.lines.slice(-last).join('\n');
  }

  // SIGTERM (the drain), then SIGKILL if it does not exit in time. Returns the exit status.
  async stop(timeoutMs = 20000) {
    if (!this.child) return null;
    if (!this.exit) await terminate(this.child, this.exited, timeoutMs);
    rmSync(this.dataDir, {recursive: true, force: true});
    return this.exit;
  }
}
