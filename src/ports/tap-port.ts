/**
 * A TAP device as a port: the appliance's own network stack sees the bridged LAN through it (give the TAP an
 * address, or put it into a Linux bridge together with other interfaces).
 *
 * The device exists only while the port is open: closing the descriptor makes the kernel delete it, which also
 * takes it out of its bridge, so a crash leaves nothing behind.
 */
import type { FrameReceiver, Port } from './port.ts';
import { loadNative, portError, PortError, startFrames } from './native.ts';
import type { NativeAddon, NativeChannelStats, NativeFrameChannel } from './native.ts';
import { aqmNativeOptions, lanAqm } from './lan-aqm.ts';
import type { AqmOptions } from './lan-aqm.ts';

export interface TapPortOptions {
  /** Interface name (at most 15 bytes); may contain %d for the kernel to number it. */
  name: string;
  mac?: Buffer;
  mtu?: number;
  /** Name of an existing Linux bridge to join. */
  bridge?: string;
  /**
   * CoDel on the path's delay of the TCP flows read from the TAP (src/ports/lan-aqm.ts; a TAP has no arrival stamps,
   * so no receive-buffer CoDel); null: none. Default: what SEBRIDGE_LAN_AQM says.
   */
  aqm?: AqmOptions | null;
}

export type TapPortStats = Omit<NativeChannelStats, 'lastRxError' | 'lastTxError' | 'kernelIgnoresOwn'> & {
  name: string;
  rxDropNoReceiver: number;
  lastError: string;
};

export class TapPort implements Port {
  readonly name: string;
  readonly #native: NativeAddon;
  readonly #channel: NativeFrameChannel;
  #receiver: FrameReceiver | null = null;
  #rxDropNoReceiver = 0;
  #closed = false;
  #final: NativeChannelStats | null = null;

  private constructor(name: string, native: NativeAddon, channel: NativeFrameChannel) {
    this.name = name;
    this.#native = native;
    this.#channel = channel;
  }

  /** Create the device, configure it, bring it up. Throws PortError (EPERM without CAP_NET_ADMIN, EBUSY if in use). */
  static create(opts: TapPortOptions): TapPort {
    const native = loadNative();
    if (opts.mac && (opts.mac.length !== 6 || (opts.mac[0] & 1) !== 0)) {
      throw new PortError('mac must be 6 bytes and unicast', 'SEB_EARG');
    }
    const { pathAqmTargetUs, aqmIntervalUs } = aqmNativeOptions(opts.aqm === undefined ? lanAqm(process.env.SEBRIDGE_LAN_AQM) : opts.aqm);
    let opened: { channel: NativeFrameChannel; name: string };
    try {
      opened = native.openTap(opts.name, { pathAqmTargetUs, aqmIntervalUs });
    } catch (err) {
      throw portError(`TapPort.create(${opts.name})`, err);
    }
    const port = new TapPort(opened.name, native, opened.channel);
    try {
      // MAC and MTU first: some settings only change while the device is down.
      if (opts.mac) native.setIfMac(port.name, opts.mac);
      if (opts.mtu !== undefined) native.setIfMtu(port.name, opts.mtu);
      if (opts.bridge) native.bridgeAddIf(opts.bridge, port.name);
      native.setIfUp(port.name, true);
      startFrames(port.#channel, (frames) => {
        if (port.#receiver) port.#receiver(frames);
        else port.#rxDropNoReceiver += frames.length;
      });
    } catch (err) {
      port.close();
      throw portError(`TapPort.create(${port.name})`, err);
    }
    return port;
  }

  get mac(): Buffer | null {
    return this.#closed ? null : (this.#native.ifInfo(this.name)?.mac ?? null);
  }

  write(frames: readonly Buffer[]): void {
    if (this.#closed || frames.length === 0) return;
    this.#channel.write(frames);
  }

  setReceiver(receiver: FrameReceiver | null): void {
    this.#receiver = receiver;
  }

  stats(): TapPortStats {
    const s = this.#final ?? this.#channel.stats();
    const { lastRxError, lastTxError, kernelIgnoresOwn: _ignored, ...counters } = s;
    return { ...counters, name: this.name, rxDropNoReceiver: this.#rxDropNoReceiver, lastError: lastRxError || lastTxError };
  }

  /** Deletes the device. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#final = this.#channel.stats();
    this.#channel.close();
    this.#receiver = null;
  }
}
