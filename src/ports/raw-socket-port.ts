/**
 * A bridge port on a Linux network interface, through an AF_PACKET socket (see native/frame_channel.c).
 *
 * The port follows the interface by NAME: carrier/admin changes are reported as 'link' events, and when the
 * interface disappears and an interface of the same name appears again (a veth re-created, a USB NIC
 * re-plugged) the port re-opens itself on the new ifindex. Link state comes from an rtnetlink RTMGRP_LINK
 * socket polled by the event loop (one per process, shared by all ports), not from periodic polling: changes are
 * seen within one loop turn and nothing runs while nothing happens.
 */
import { EventEmitter } from 'node:events';
import type { FrameReceiver, Port } from './port.ts';
import { loadNative, portError, PortError, startFrames } from './native.ts';
import type { NativeAddon, NativeChannelStats, NativeFrameChannel, NativeLinkEvent, NativeLinkMonitor } from './native.ts';
import { disableOffloads, restoreOffloads, RX_SUPER_FRAME_FEATURES, SUPER_FRAME_FEATURES } from './offloads.ts';
import type { OffloadChange } from './offloads.ts';
import { aqmNativeOptions, lanAqm } from './lan-aqm.ts';
import type { AqmNativeOptions, AqmOptions } from './lan-aqm.ts';

export interface RawSocketPortOptions {
  /** Switch off offloads on the interface while the port is open (default true). */
  disableOffloads?: boolean;
  /**
   * Which features disableOffloads switches off (default: receive-side merging always, RX_SUPER_FRAME_FEATURES;
   * transmit segmentation and checksums too when txSuperFrames is off, SUPER_FRAME_FEATURES).
   */
  offloadFeatures?: readonly string[];
  /**
   * Send runs of TCP segments of one flow as one super-frame that the NIC (or the kernel) cuts into the same
   * segments (native/tx_coalesce.h). Default true; false, or SEBRIDGE_TX_SUPER_FRAMES=0 in the environment, sends
   * every frame on its own.
   */
  txSuperFrames?: boolean;
  /** Receive frames for all MACs (default true: a bridge must). */
  promisc?: boolean;
  /** Kernel socket buffer sizes in bytes (defaults 4 MiB receive, 1 MiB send). */
  rcvbuf?: number;
  sndbuf?: number;
  /**
   * CoDel on the frames read from the interface (src/ports/lan-aqm.ts); null: none. Default: what
   * SEBRIDGE_LAN_AQM says (CoDel with RFC 8289's 5 ms / 100 ms unless it says off).
   */
  aqm?: AqmOptions | null;
}

export interface LinkState {
  /** Administratively up and carrier present. */
  up: boolean;
  /** An interface with the port's name exists. */
  present: boolean;
}

export type RawSocketPortStats = Omit<NativeChannelStats, 'lastRxError' | 'lastTxError' | 'kernelIgnoresOwn'> & {
  name: string;
  ifindex: number;
  present: boolean;
  up: boolean;
  /** Times the socket was re-opened on a re-created interface. */
  reopens: number;
  /** Frames that arrived while no receiver was set. */
  rxDropNoReceiver: number;
  /** Frames written while the interface did not exist. */
  txDropNoDevice: number;
  offloadsDisabled: readonly string[];
  lastError: string;
};

type Counters = Omit<NativeChannelStats, 'lastRxError' | 'lastTxError' | 'lastCallbackError' | 'kernelIgnoresOwn' | 'txQueued'>;
export const COUNTER_KEYS = [
  'rxFrames', 'rxBytes', 'txFrames', 'txBytes', 'gsoSuperFrames', 'gsoSegments', 'checksumsCompleted', 'sctpChecksumsCompleted',
  'vlanTagsRestored', 'rxDropOversize', 'rxDropTruncated', 'rxDropRunt', 'rxDropBadGso', 'rxDropNoMemory',
  'rxDropKernel', 'rxDropAqm', 'rxDropPathAqm', 'pathRttSamples', 'rxErrors', 'rxOwnSkipped', 'txDropQueueFull', 'txDropInvalid', 'txDropError',
  'txSuperFrames', 'txSuperSegments', 'txSuperRefused', 'callbackErrors',
] as const satisfies readonly (keyof Counters)[];

function zeroCounters(): Counters {
  const c = {} as Counters;
  for (const k of COUNTER_KEYS) c[k] = 0;
  return c;
}

/** One rtnetlink socket for the whole process, fanned out to the ports that listen. */
class LinkWatch {
  static #shared: LinkWatch | undefined;
  readonly #listeners = new Set<(events: NativeLinkEvent[]) => void>();
  readonly #monitor: NativeLinkMonitor;

  private constructor(native: NativeAddon) {
    this.#monitor = native.openLinkMonitor((events) => {
      // One port's failing listener must not keep the others from hearing about their interfaces. The first
      // exception is passed on after all of them ran: the addon catches and counts it (never fatal).
      let failure: { error: unknown } | null = null;
      for (const l of [...this.#listeners]) {
        try {
          l(events);
        } catch (error) {
          failure ??= { error };
        }
      }
      if (failure) throw failure.error;
    });
    this.#monitor.unref(); // open ports keep the process alive, not the monitor
  }

  static subscribe(native: NativeAddon, listener: (events: NativeLinkEvent[]) => void): () => void {
    const watch = (LinkWatch.#shared ??= new LinkWatch(native));
    watch.#listeners.add(listener);
    return () => {
      watch.#listeners.delete(listener);
      if (watch.#listeners.size === 0 && LinkWatch.#shared === watch) {
        LinkWatch.#shared = undefined;
        watch.#monitor.close();
      }
    };
  }
}

export class RawSocketPort extends EventEmitter implements Port {
  readonly name: string;
  readonly #native: NativeAddon;
  readonly #opts: Required<RawSocketPortOptions>;
  /** opts.aqm as the addon takes it, converted and checked once (every reopen uses it) */
  readonly #aqmNative: AqmNativeOptions;
  #channel: NativeFrameChannel | null = null;
  #ifindex = 0;
  #receiver: FrameReceiver | null = null;
  #state: LinkState = { up: false, present: false };
  #offloads: OffloadChange | null = null;
  #unsubscribe: (() => void) | null = null;
  #closed = false;
  /** Counters of channels already closed (the interface was re-created), so totals survive a reopen. */
  readonly #past: Counters = zeroCounters();
  #reopens = 0;
  #rxDropNoReceiver = 0;
  #txDropNoDevice = 0;
  #lastError = '';
  /** Of channels already closed. */
  #lastCallbackError = '';
  readonly #onFrames = (frames: Buffer[]): void => {
    if (this.#receiver) this.#receiver(frames);
    else this.#rxDropNoReceiver += frames.length;
  };

  private constructor(ifname: string, native: NativeAddon, aqmNative: AqmNativeOptions, opts: Required<RawSocketPortOptions>) {
    super();
    this.name = ifname;
    this.#native = native;
    this.#aqmNative = aqmNative;
    this.#opts = opts;
  }

  /** Open a port on an existing interface. Throws PortError (ENODEV if there is no such interface, EPERM if not root). */
  static open(ifname: string, opts: RawSocketPortOptions = {}): RawSocketPort {
    const native = loadNative();
    const txSuperFrames = opts.txSuperFrames ?? process.env.SEBRIDGE_TX_SUPER_FRAMES !== '0';
    const aqm = opts.aqm === undefined ? lanAqm(process.env.SEBRIDGE_LAN_AQM) : opts.aqm;
    const aqmNative = aqmNativeOptions(aqm); // refused here, before the interface is touched
    const port = new RawSocketPort(ifname, native, aqmNative, {
      disableOffloads: opts.disableOffloads ?? true,
      offloadFeatures: opts.offloadFeatures ?? (txSuperFrames ? RX_SUPER_FRAME_FEATURES : SUPER_FRAME_FEATURES),
      txSuperFrames,
      promisc: opts.promisc ?? true,
      rcvbuf: opts.rcvbuf ?? 4 << 20,
      sndbuf: opts.sndbuf ?? 1 << 20,
      aqm,
    });
    // Listen before looking, so a change between the look and the open is not missed.
    port.#unsubscribe = LinkWatch.subscribe(native, (events) => port.#onLinkEvents(events));
    try {
      const info = native.ifInfo(ifname);
      if (!info) throw new PortError(`no interface named ${ifname}`, 'ENODEV');
      port.#attach(info.ifindex);
      port.#state = { up: info.up && info.running, present: true };
    } catch (err) {
      port.close();
      throw portError(`RawSocketPort.open(${ifname})`, err);
    }
    return port;
  }

  get link(): LinkState {
    return { ...this.#state };
  }

  get ifindex(): number {
    return this.#ifindex;
  }

  write(frames: readonly Buffer[]): void {
    if (frames.length === 0) return;
    if (this.#channel) this.#channel.write(frames);
    else this.#txDropNoDevice += frames.length;
  }

  setReceiver(receiver: FrameReceiver | null): void {
    this.#receiver = receiver;
  }

  override on(event: 'link', listener: (state: LinkState) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  stats(): RawSocketPortStats {
    const live = this.#channel?.stats();
    const out = { ...this.#past } as Counters;
    if (live) for (const k of COUNTER_KEYS) out[k] += live[k];
    return {
      ...out,
      txQueued: live?.txQueued ?? 0,
      name: this.name,
      ifindex: this.#ifindex,
      present: this.#state.present,
      up: this.#state.up,
      reopens: this.#reopens,
      rxDropNoReceiver: this.#rxDropNoReceiver,
      txDropNoDevice: this.#txDropNoDevice,
      offloadsDisabled: this.#offloads?.turnedOff ?? [],
      lastCallbackError: live?.lastCallbackError || this.#lastCallbackError,
      lastError: this.#lastError || live?.lastRxError || live?.lastTxError || '',
    };
  }

  /** Close the socket (drops promiscuous mode) and restore offloads. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#detach();
    this.#receiver = null;
  }

  #attach(ifindex: number): void {
    this.#ifindex = ifindex;
    if (this.#opts.disableOffloads) {
      try {
        this.#offloads = disableOffloads(this.#native, this.name, ifindex, this.#opts.offloadFeatures);
      } catch (err) {
        // Not fatal: super-frames are still segmented in the addon; what cannot be (LRO) is dropped and counted.
        this.#lastError = portError(`disable offloads on ${this.name}`, err).message;
      }
    }
    try {
      const { promisc, rcvbuf, sndbuf, txSuperFrames } = this.#opts;
      const ch = this.#native.openPacketSocket(ifindex, { promisc, rcvbuf, sndbuf, txSuperFrames, ...this.#aqmNative });
      startFrames(ch, this.#onFrames);
      this.#channel = ch;
    } catch (err) {
      this.#restoreOffloads();
      throw err;
    }
  }

  #detach(): void {
    const ch = this.#channel;
    if (ch) {
      const s = ch.stats();
      for (const k of COUNTER_KEYS) this.#past[k] += s[k];
      if (s.lastCallbackError) this.#lastCallbackError = s.lastCallbackError;
      ch.close();
      this.#channel = null;
    }
    this.#restoreOffloads();
  }

  #restoreOffloads(): void {
    if (!this.#offloads) return;
    try {
      const failed = restoreOffloads(this.#native, this.#offloads);
      if (failed.length) this.#lastError = `could not restore offloads on ${this.name}: ${failed.join(', ')}`;
    } catch (err) {
      this.#lastError = portError(`restore offloads on ${this.name}`, err).message;
    }
    this.#offloads = null;
  }

  #setState(next: LinkState): void {
    if (next.up === this.#state.up && next.present === this.#state.present) return;
    this.#state = next;
    this.emit('link', { ...next });
  }

  #onLinkEvents(events: NativeLinkEvent[]): void {
    if (this.#closed) return;
    for (const e of events) {
      if (this.#closed) return;
      if (e.kind === 'overrun') {
        this.#resync();
      } else if (e.kind === 'del') {
        if (e.ifindex === this.#ifindex && this.#state.present) this.#lost();
      } else if (e.ifindex === this.#ifindex && this.#state.present) {
        if (e.name !== undefined && e.name !== this.name) this.#lost(); // renamed away: no longer "our" interface
        else this.#setState({ up: !!(e.up && e.running), present: true });
      } else if (e.name === this.name && e.ifindex !== undefined) {
        if (this.#state.present) this.#lost(); // a new interface took our name: the old one is gone
        this.#reappeared(e.ifindex, !!(e.up && e.running));
      }
    }
  }

  #lost(): void {
    this.#detach();
    this.#setState({ up: false, present: false });
  }

  #reappeared(ifindex: number, up: boolean): void {
    try {
      this.#attach(ifindex);
      this.#reopens++;
      this.#setState({ up, present: true });
    } catch (err) {
      // Gone again already, or not an Ethernet device: wait for the next event.
      this.#lastError = portError(`reopen ${this.name}`, err).message;
    }
  }

  /** Netlink messages were lost: look at the interface directly. */
  #resync(): void {
    let info;
    try {
      info = this.#native.ifInfo(this.name);
    } catch (err) {
      this.#lastError = portError(`ifInfo(${this.name})`, err).message;
      return;
    }
    if (!info) {
      if (this.#state.present) this.#lost();
    } else if (!this.#state.present || info.ifindex !== this.#ifindex) {
      if (this.#state.present) this.#lost();
      this.#reappeared(info.ifindex, info.up && info.running);
    } else {
      this.#setState({ up: info.up && info.running, present: true });
    }
  }
}
