/**
 * `sebridge link ...` as a child process, the way an operator or a script runs it: the test reads its stdout
 * line by line (state changes, link events) and stops it with SIGTERM like a service manager would.
 */
import { fileURLToPath } from 'node:url';
import { shebangNodeFlags } from '../harness/shebang-flags.ts';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import type { Lab } from './lab.ts';
import { LabError } from './lab.ts';
import type { BoundedText } from '../harness/bounded-text.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** Node 24 from the project's own dependency; the machine's /usr/bin/node is too old for type stripping. */
export const NODE = `${REPO}node_modules/.bin/node`;
export const SEBRIDGE = `${REPO}bin/sebridge.js`;
const PASSWORD_ENV = 'SEBE_CASCADE_PASSWORD';
/** Lines kept for assertions; sebridge prints a handful per state change, so this is hours of a test's worth. */
const MAX_LINES = 10_000;

export interface LinkArgs {
  server: string;
  hub: string;
  user: string;
  password: string;
  bridge?: string;
  tap?: string;
  tapBridge?: string;
  extra?: string[];
  /** more environment for sebridge (e.g. SEBRIDGE_LAN_AQM) */
  env?: Record<string, string>;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** from the stop() signal to the exit */
  ms: number;
}

interface Waiter {
  re: RegExp;
  from: number;
  resolve: (hit: { index: number; line: string }) => void;
}

export class SebridgeProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly #output: BoundedText;
  readonly #waiters = new Set<Waiter>();
  readonly #exited: Promise<void>;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  /** `sebridge link` with these arguments, or any other sebridge command line (`{ argv: ['run', ...] }`). */
  constructor(lab: Lab, args: LinkArgs | { argv: string[] }) {
    let argv: string[];
    let env: NodeJS.ProcessEnv = process.env;
    if ('argv' in args) {
      argv = [NODE, ...shebangNodeFlags(SEBRIDGE), SEBRIDGE, ...args.argv];
    } else {
      argv = [NODE, ...shebangNodeFlags(SEBRIDGE), SEBRIDGE, 'link', '--server', args.server, '--hub', args.hub, '--user', args.user, '--password-env', PASSWORD_ENV];
      if (args.bridge) argv.push('--bridge', args.bridge);
      if (args.tap) argv.push('--tap', args.tap);
      if (args.tapBridge) argv.push('--tap-bridge', args.tapBridge);
      argv.push(...(args.extra ?? []));
      env = { ...process.env, ...args.env, [PASSWORD_ENV]: args.password };
    }
    const { child, output } = lab.spawn(argv, { env });
    this.child = child;
    this.#output = output;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (this.lines.length >= MAX_LINES) this.lines.shift();
      this.lines.push(line);
      const index = this.lines.length - 1;
      for (const w of [...this.#waiters]) {
        if (index >= w.from && w.re.test(line)) {
          this.#waiters.delete(w);
          w.resolve({ index, line });
        }
      }
    });
    this.#exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.#exit = { code, signal };
        resolve();
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new LabError('sebridge did not start', this.#output.text());
    return this.child.pid;
  }

  get running(): boolean {
    return this.#exit === null;
  }

  /** stdout and stderr so far (the tail), for failure messages. */
  output(): string {
    return this.#output.text();
  }

  /**
   * The first stdout line at index >= from that matches re (earlier lines count too). Fails with the output
   * if it does not come within timeoutMs or sebridge exits first.
   */
  async waitForLine(re: RegExp, timeoutMs: number, from = 0): Promise<{ index: number; line: string }> {
    for (let i = from; i < this.lines.length; i++) if (re.test(this.lines[i]!)) return { index: i, line: this.lines[i]! };
    let waiter: Waiter | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        new Promise<{ index: number; line: string }>((resolve) => {
          waiter = { re, from, resolve };
          this.#waiters.add(waiter);
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new LabError(`sebridge printed no line matching ${re} within ${timeoutMs} ms`, this.output().slice(-4000))), timeoutMs);
        }),
        this.#exited.then((): never => {
          throw new LabError(`sebridge exited (${JSON.stringify(this.#exit)}) before printing a line matching ${re}`, this.output().slice(-4000));
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (waiter) this.#waiters.delete(waiter);
    }
  }

  /** Send sig and wait for the exit; SIGKILL (by PID) after timeoutMs. */
  async stop(sig: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<Exit> {
    const t0 = performance.now();
    if (this.running) process.kill(this.pid, sig);
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      this.#exited.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!inTime) {
      process.kill(this.pid, 'SIGKILL');
      await this.#exited;
    }
    return { ...this.#exit!, ms: performance.now() - t0 };
  }
}
