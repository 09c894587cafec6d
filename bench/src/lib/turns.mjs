// Long-lived benchmark processes that take turns: the parent sends one JSON request per line on a
// child's stdin and waits for its reply (a stdout line starting with "@@"), so only one process
// computes at a time and every variant keeps its warm state (JIT, caches, packed weights) from
// round to round. Used for tensorloop variants (node) and for the peer frameworks (python).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export const REPLY_PREFIX = '@@';

export class TurnProcess {
  constructor(label, command, args, { env = {}, cwd } = {}) {
    this.label = label;
    this.stderr = '';
    this.child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.pending = [];
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitCode = code ?? signal;
        for (const p of this.pending.splice(0)) {
          p.reject(
            new Error(`${label} exited (${this.exitCode}) before replying: ${this.stderr.slice(-2000)}`),
          );
        }
        resolve();
      });
    });
    this.child.stderr.on('data', (chunk) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-20000);
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      if (!line.startsWith(REPLY_PREFIX)) return;
      const p = this.pending.shift();
      if (!p) return;
      const reply = JSON.parse(line.slice(REPLY_PREFIX.length));
      if (reply.error) p.reject(new Error(`${label}: ${reply.error}`));
      else p.resolve(reply);
    });
  }

  request(message) {
    if (this.exitCode !== undefined) return Promise.reject(new Error(`${this.label} has exited`));
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.child.stdin.write(`${JSON.stringify(message)}\n`);
    });
  }

  async close() {
    if (this.exitCode === undefined) {
      this.child.stdin.end();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

/** The child side (node): calls `handle(message)` for each request line and writes the reply. */
export function serveTurns(handle) {
  // Protocol replies own stdout; anything else a library prints goes to stderr.
  const write = process.stdout.write.bind(process.stdout);
  console.log = console.error;
  console.info = console.error;
  const lines = createInterface({ input: process.stdin });
  let queue = Promise.resolve();
  lines.on('line', (line) => {
    queue = queue.then(async () => {
      let reply;
      try {
        reply = await handle(JSON.parse(line));
      } catch (error) {
        reply = { error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
      }
      write(`${REPLY_PREFIX}${JSON.stringify(reply ?? {})}\n`);
    });
  });
  lines.on('close', () => {
    queue.then(() => process.exit(0));
  });
}
