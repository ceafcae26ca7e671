import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BoundedText } from '../../test/harness/bounded-text.ts';

export class BenchError extends Error {
  readonly detail: string;
  constructor(message: string, detail = '') {
    super(detail ? `${message}\n--- detail ---\n${detail}` : message);
    this.name = 'BenchError';
    this.detail = detail;
  }
}

/**
 * Confines all threads of `pid` to `cpus` (taskset -c syntax); threads it starts later inherit it. Returns the
 * program's name (/proc/PID/comm) so the caller can say what it pinned: a wrapper in its place would be a mistake.
 */
export function pinThreads(pid: number, cpus: string): string {
  const r = spawnSync('taskset', ['-a', '-c', '-p', cpus, String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new BenchError(`taskset ${cpus} ${pid}: ${(r.stderr || r.error?.message || '').trim()}`);
  return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
}

/**
 * A long-running child (a bridge, an iperf3 server) whose output is kept as a bounded tail and which is stopped
 * by its own PID only. The argv given must exec its way to the real program so that `pid` is the program itself
 * (setpriv, ip netns exec, unshare and `sh -c 'exec ...'` all exec); CPU and memory are read from that PID.
 */
export class LongChild {
  readonly pid: number;
  readonly log = new BoundedText(256 * 1024);
  readonly #child: ChildProcess;
  #exit: string | undefined;
  readonly #exited: Promise<void>;
  readonly #lineWaiters: Array<{ re: RegExp; resolve: () => void }> = [];

  constructor(argv: string[], env?: NodeJS.ProcessEnv) {
    this.#child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    if (this.#child.pid === undefined) throw new BenchError(`could not spawn ${argv[0]}`);
    this.pid = this.#child.pid;
    const onData = (b: Buffer) => {
      this.log.push(b);
      if (this.#lineWaiters.length === 0) return;
      const text = this.log.text();
      for (const w of [...this.#lineWaiters]) {
        if (w.re.test(text)) {
          this.#lineWaiters.splice(this.#lineWaiters.indexOf(w), 1);
          w.resolve();
        }
      }
    };
    this.#child.stdout?.on('data', onData);
    this.#child.stderr?.on('data', onData);
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#exit = signal ? `killed by ${signal}` : `exited with ${code}`;
        resolve();
      });
      this.#child.once('error', (e) => {
        this.#exit = `could not start: ${e.message}`;
        resolve();
      });
    });
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  describeExit(): string {
    return this.#exit ?? 'running';
  }

  tail(chars = 3000): string {
    return this.log.text().slice(-chars);
  }

  /** Resolves once the output matches re; rejects when the process ends first or after timeoutMs. */
  async waitOutput(re: RegExp, timeoutMs: number, what: string): Promise<void> {
    if (re.test(this.log.text())) return;
    let timer: NodeJS.Timeout | undefined;
    let waiter: { re: RegExp; resolve: () => void } | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve) => {
          waiter = { re, resolve };
          this.#lineWaiters.push(waiter);
        }),
        this.#exited.then(() => {
          throw new BenchError(`${what}: process ${this.pid} ${this.describeExit()}`, this.tail());
        }),
        new Promise<void>((_, reject) => {
          timer = setTimeout(() => reject(new BenchError(`${what}: not seen within ${timeoutMs} ms`, this.tail())), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (waiter && this.#lineWaiters.includes(waiter)) this.#lineWaiters.splice(this.#lineWaiters.indexOf(waiter), 1);
    }
  }

  async waitExit(ms: number): Promise<boolean> {
    if (!this.running) return true;
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      this.#exited.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
    ]);
    clearTimeout(timer);
    return r;
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, sig);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }

  /** SIGTERM (lets a bridge close its sessions cleanly and node write its profile), SIGKILL after graceMs. */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    if (await this.waitExit(graceMs)) return;
    this.signal('SIGKILL');
    if (!(await this.waitExit(5000))) throw new BenchError(`process ${this.pid} survived SIGKILL`);
  }

  killNow(): void {
    this.signal('SIGKILL');
  }
}
