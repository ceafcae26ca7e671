/**
 * One power-on of the appliance image under qemu-system-x86_64 (TCG: this machine's /dev/kvm runs no guest), 256 MiB,
 * two virtio NICs on TAP devices: eth0 (WAN) and eth1 (LAN). QEMU creates the taps in the root namespace; they are
 * then moved into the namespaces the test gives (a tap keeps working when its device changes namespace) and go away
 * with the QEMU process. The serial console is captured to a file (for failure messages) and kept in memory
 * (bounded) to wait for lines; writing to QEMU's stdin types on the console. Killed by PID, never by name.
 */
import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { BoundedText } from '../harness/bounded-text.ts';
import { inNs, LabError, sleep } from '../bridge/lab.ts';
import type { Lab } from '../bridge/lab.ts';

export interface TapPlan {
  /** tap name in the root namespace (QEMU's ifname), at most 15 bytes */
  tap: string;
  mac: string;
  /** where the tap goes, and what to do with it there (address, bridge port, ...) */
  netns: string;
  setup: (tap: string) => Promise<void>;
}

export interface VmOptions {
  disk: string;
  serialLog: string;
  wan: TapPlan;
  lan: TapPlan;
  memoryMiB?: number;
}

export class Vm {
  readonly child: ChildProcess;
  readonly console = new BoundedText(1024 * 1024);
  /** performance.now() at spawn: "power-on" */
  readonly poweredOnAt: number;
  readonly #serialLog: string;
  #exited: Promise<number | string>;

  private constructor(child: ChildProcess, serialLog: string, t0: number) {
    this.child = child;
    this.poweredOnAt = t0;
    this.#serialLog = serialLog;
    const write = (b: Buffer) => {
      this.console.push(b);
      appendFileSync(serialLog, b);
    };
    child.stdout!.on('data', write);
    child.stderr!.on('data', write);
    this.#exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  }

  static async start(lab: Lab, o: VmOptions): Promise<Vm> {
    writeFileSync(o.serialLog, `--- power on ${new Date().toISOString()} ---\n`, { flag: 'a' });
    const nic = (id: string, p: TapPlan) => [
      '-netdev', `tap,id=${id},ifname=${p.tap},script=no,downscript=no`,
      '-device', `virtio-net-pci,netdev=${id},mac=${p.mac}`,
    ];
    const argv = [
      'qemu-system-x86_64', '-accel', 'tcg', '-m', String(o.memoryMiB ?? 256), '-smp', '1', '-nographic', '-no-reboot',
      '-drive', `file=${o.disk},format=raw,if=virtio`,
      ...nic('wan', o.wan), ...nic('lan', o.lan),
      // no option ROMs to try (iPXE would offer a network boot first), boot the disk
      '-boot', 'order=c', '-global', 'virtio-net-pci.romfile=',
    ];
    const t0 = performance.now();
    const { child } = lab.spawn(['setpriv', '--pdeathsig', 'KILL', ...argv], { stdin: 'pipe' });
    const vm = new Vm(child, o.serialLog, t0);
    try {
      for (const p of [o.wan, o.lan]) await vm.#adoptTap(p);
    } catch (e) {
      vm.kill();
      throw e;
    }
    return vm;
  }

  async #adoptTap(p: TapPlan): Promise<void> {
    const end = Date.now() + 20_000;
    while (spawnSync('ip', ['link', 'show', 'dev', p.tap], { stdio: 'ignore' }).status !== 0) {
      if (this.exitCode() !== null) throw new LabError(`qemu exited (${this.exitCode()}) before creating ${p.tap}`, this.console.text());
      if (Date.now() > end) throw new LabError(`qemu did not create ${p.tap}`, this.console.text());
      await sleep(20);
    }
    const r = spawnSync('ip', ['link', 'set', 'dev', p.tap, 'netns', p.netns], { encoding: 'utf8' });
    if (r.status !== 0) throw new LabError(`ip link set ${p.tap} netns ${p.netns}: ${r.stderr}`);
    await inNs(p.netns, ['ip', 'link', 'set', p.tap, 'up']);
    await p.setup(p.tap);
  }

  exitCode(): number | string | null {
    return this.child.exitCode ?? this.child.signalCode ?? null;
  }

  /** Seconds since power-on. */
  since(): number {
    return (performance.now() - this.poweredOnAt) / 1000;
  }

  /** Waits for a console line matching re; returns the match. */
  async waitFor(re: RegExp, ms: number, what = String(re)): Promise<RegExpExecArray> {
    const end = Date.now() + ms;
    for (;;) {
      const m = re.exec(this.console.text());
      if (m) return m;
      if (this.exitCode() !== null) throw new LabError(`${what}: qemu exited (${this.exitCode()}); console in ${this.#serialLog}`, this.console.text().slice(-6000));
      if (Date.now() > end) throw new LabError(`${what}: not on the console within ${ms} ms; console in ${this.#serialLog}`, this.console.text().slice(-6000));
      await sleep(100);
    }
  }

  type(text: string): void {
    this.child.stdin!.write(text);
  }

  /** Power cut: SIGKILL to QEMU by PID; resolves when it is gone. */
  async kill(): Promise<void> {
    if (this.exitCode() === null && this.child.pid !== undefined) process.kill(this.child.pid, 'SIGKILL');
    await this.#exited;
  }

  /** Resolves with QEMU's exit (the guest rebooting or powering off ends it: -no-reboot), or null after ms. */
  async exited(ms: number): Promise<number | string | null> {
    return Promise.race([this.#exited, sleep(ms).then(() => null)]);
  }
}
