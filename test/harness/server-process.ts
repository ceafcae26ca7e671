import { spawn, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { BoundedText } from './bounded-text.ts';
import { HarnessError } from './errors.ts';
import { jailedArgv, VPNSERVER } from './jail.ts';

/**
 * One run of `vpnserver start --foreground` (a single process; plain `start` would double-fork a
 * watchdog that restarts it behind our back). Its stdout is the server log, kept as a bounded tail.
 */
export class ServerProcess {
  readonly pid: number;
  readonly log: BoundedText;
  private readonly child: ChildProcess;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;

  constructor(netns: string, dir: string) {
    this.log = new BoundedText(256 * 1024);
    const argv = jailedArgv(netns, dir, [VPNSERVER, 'start', '--foreground']);
    this.child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    if (this.child.pid === undefined) throw new HarnessError('could not spawn vpnserver');
    this.pid = this.child.pid;
    this.child.stdout?.on('data', (b: Buffer) => this.log.push(b));
    this.child.stderr?.on('data', (b: Buffer) => this.log.push(b));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve();
      });
      this.child.once('error', (e) => {
        this.log.push(Buffer.from(`\n[harness] spawn error: ${e.message}\n`));
        this.exitInfo = { code: null, signal: null };
        resolve();
      });
    });
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  describeExit(): string {
    if (!this.exitInfo) return 'running';
    return this.exitInfo.signal ? `killed by ${this.exitInfo.signal}` : `exited with ${this.exitInfo.code}`;
  }

  /** Resolves when the process is gone (true) or after ms (false). */
  async waitExit(ms: number): Promise<boolean> {
    if (!this.running) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
    const r = await Promise.race([this.exited.then(() => true), timeout]);
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

  /** SIGTERM (the server saves its config), then SIGKILL if it does not go within graceMs. */
  async stop(graceMs = 8000): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    this.signal('SIGCONT'); // a SIGSTOPped server would otherwise never see the SIGTERM
    if (await this.waitExit(graceMs)) return;
    this.signal('SIGKILL');
    if (!(await this.waitExit(5000))) throw new HarnessError(`vpnserver ${this.pid} survived SIGKILL`);
  }

  /** The exec chain (setpriv, ip netns exec, unshare, sh) must have ended in vpnserver itself. */
  isVpnserver(): boolean {
    try {
      return readlinkSync(`/proc/${this.pid}/exe`) === VPNSERVER;
    } catch {
      return false;
    }
  }

  /**
   * Polls a TCP connect from the root namespace to host:port until it is accepted, failing early
   * (with the log tail) if the process dies.
   */
  async waitListening(host: string, port: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) {
        throw new HarnessError(`vpnserver ${this.pid} ${this.describeExit()} before listening on ${host}:${port}`, this.log.text().slice(-4000));
      }
      if ((await tryConnect(host, port, 500)) && this.isVpnserver()) return;
      if (Date.now() > deadline) {
        throw new HarnessError(`vpnserver ${this.pid} not listening on ${host}:${port} after ${timeoutMs} ms`, this.log.text().slice(-4000));
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export function tryConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}
