import { mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Cascade } from '../session/cascade.ts';
import type { CascadeOptions } from '../session/options.ts';
import { RawSocketPort } from '../ports/raw-socket-port.ts';
import { TapPort } from '../ports/tap-port.ts';
import { loadNative } from '../ports/native.ts';
import { portDrops } from '../ports/port-drops.ts';
import type { FrameReceiver, Port } from '../ports/port.ts';
import { writeFileAtomic } from './atomic-write.ts';
import type { CascadeHandle, LocalBridgePort, LocalBridgeStatus, SystemLayer } from './system-layer.ts';

const macString = (mac: Buffer | null | undefined): string | null =>
  mac && mac.length === 6 ? [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':') : null;

/** A native channel's counters as the control plane reports a local bridge's traffic. */
function trafficOf(s: { rxFrames: number; txFrames: number; rxBytes: number; txBytes: number; lastError: string }) {
  return { framesIn: s.rxFrames, framesOut: s.txFrames, bytesIn: s.rxBytes, bytesOut: s.txBytes, drops: portDrops(s), lastError: s.lastError };
}


/**
 * The real system layer: NICs through AF_PACKET, TAP devices, TLS cascades.
 *
 * Before a NIC is bridged, the features it has on are written to `<runtimeDir>/offloads/<ifname>.json` (a RAM
 * disk), and the record is removed when the bridge closes cleanly. A process that was SIGKILLed leaves the record
 * behind; the next start switches those features back on (`restoreLeftovers`), so a crash never leaves a NIC with
 * its offloads off.
 */
export class LinuxSystem implements SystemLayer {
  readonly #offloadDir: string;

  constructor(runtimeDir: string) {
    this.#offloadDir = join(runtimeDir, 'offloads');
  }

  async openRawBridge(device: string): Promise<LocalBridgePort> {
    const native = loadNative();
    const info = native.ifInfo(device);
    if (!info) throw new Error(`no interface named ${device}`);
    const before = native.getFeatures(device);
    const active = Object.keys(before).filter((f) => before[f].active && before[f].changeable);
    await mkdir(this.#offloadDir, { recursive: true, mode: 0o700 });
    const record = join(this.#offloadDir, `${device}.json`);
    await writeFileAtomic(record, JSON.stringify({ ifname: device, ifindex: info.ifindex, active }));
    let port: RawSocketPort;
    try {
      port = RawSocketPort.open(device);
    } catch (e) {
      await unlink(record).catch(() => {});
      throw e;
    }
    return new RawBridge(port, () => unlink(record).catch(() => {}));
  }

  async createTap(ifname: string, linuxBridge: string | null): Promise<LocalBridgePort> {
    const tap = TapPort.create({ name: ifname, ...(linuxBridge ? { bridge: linuxBridge } : {}) });
    return new TapBridge(tap);
  }

  createCascade(options: CascadeOptions, name: string): CascadeHandle {
    return new Cascade(options, name);
  }

  async restoreLeftovers(): Promise<string[]> {
    let files: string[];
    try {
      const { readdir } = await import('node:fs/promises');
      files = (await readdir(this.#offloadDir)).filter((f) => f.endsWith('.json'));
    } catch {
      return [];
    }
    const done: string[] = [];
    const native = loadNative();
    for (const f of files) {
      const path = join(this.#offloadDir, f);
      try {
        const rec = JSON.parse(await readFile(path, 'utf8')) as { ifname: string; ifindex: number; active: string[] };
        const info = native.ifInfo(rec.ifname);
        // Same name but a new ifindex: the interface was re-created with its own defaults; nothing to undo.
        if (info && info.ifindex === rec.ifindex) {
          const now = native.getFeatures(rec.ifname);
          const wanted: Record<string, boolean> = {};
          for (const feature of rec.active) if (now[feature] && !now[feature].active) wanted[feature] = true;
          if (Object.keys(wanted).length > 0) {
            native.setFeatures(rec.ifname, wanted);
            done.push(`${rec.ifname}: ${Object.keys(wanted).join(', ')}`);
          }
        }
      } catch {
        // A damaged record cannot be acted on; drop it.
      }
      await unlink(path).catch(() => {});
    }
    return done;
  }
}

/** What both local-port kinds share: they pass frames straight through to the port they wrap. */
abstract class WrappedPort<P extends Port> {
  protected readonly port: P;

  constructor(port: P) {
    this.port = port;
  }

  get name(): string {
    return this.port.name;
  }

  get ifname(): string {
    return this.port.name;
  }

  write(frames: readonly Buffer[]): void {
    this.port.write(frames);
  }

  setReceiver(receiver: FrameReceiver | null): void {
    this.port.setReceiver(receiver);
  }
}

class RawBridge extends WrappedPort<RawSocketPort> implements LocalBridgePort {
  readonly #onClose: () => void;

  constructor(port: RawSocketPort, onClose: () => void) {
    super(port);
    this.#onClose = onClose;
  }

  onLinkChange(listener: () => void): void {
    this.port.on('link', listener);
  }

  status(): LocalBridgeStatus {
    const s = this.port.stats();
    let mac: string | null = null;
    try {
      mac = macString(loadNative().ifInfo(this.port.name)?.mac);
    } catch {
      mac = null;
    }
    return { present: s.present, up: s.up, mac, ...trafficOf(s) };
  }

  close(): void {
    this.port.close(); // restores offloads; the kernel drops the promiscuous membership with the socket
    this.#onClose();
  }
}

class TapBridge extends WrappedPort<TapPort> implements LocalBridgePort {
  onLinkChange(): void {
    // A TAP device we created is present and up while we hold it.
  }

  status(): LocalBridgeStatus {
    return { present: true, up: true, mac: macString(this.port.mac), ...trafficOf(this.port.stats()) };
  }

  close(): void {
    this.port.close();
  }
}
