/**
 * Loader and type declarations for the C addon (native/*.c, built by node-gyp from binding.gyp into build/).
 *
 * The addon does everything that needs a system call on the data path: AF_PACKET sockets, TAP devices,
 * interface ioctls, ethtool features and the rtnetlink link monitor. JavaScript only sees batches of
 * ready-to-forward frames (VLAN tags restored, super-frames segmented, checksums completed).
 */
import { createRequire } from 'node:module';
import { markReused } from './port.ts';

export interface NativeChannelStats {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  /** Super-frames (GSO) that were cut into wire-sized frames, and how many frames that produced. */
  gsoSuperFrames: number;
  gsoSegments: number;
  checksumsCompleted: number;
  /** Of checksumsCompleted: SCTP packets, whose checksum is a CRC32c. */
  sctpChecksumsCompleted: number;
  vlanTagsRestored: number;
  /** Larger than the protocol's 1600 bytes (after VLAN restore / segmentation). */
  rxDropOversize: number;
  /** Larger than the receive buffer (64 KiB super-frame limit). */
  rxDropTruncated: number;
  rxDropRunt: number;
  rxDropBadGso: number;
  rxDropNoMemory: number;
  /** Dropped by the kernel because the socket buffer was full. */
  rxDropKernel: number;
  /** Dropped by CoDel: they had waited in the socket's buffer too long while a queue stood there (native/codel.h). */
  rxDropAqm: number;
  /** Dropped by CoDel on the path's delay: their TCP flow kept a queue standing beyond the bridge (native/path_aqm.h). */
  rxDropPathAqm: number;
  /** Round trips of LAN hosts' TCP flows the path CoDel measured (0 when it is off). */
  pathRttSamples: number;
  rxErrors: number;
  /** Own transmissions the kernel still looped back (kernels without PACKET_IGNORE_OUTGOING); skipped. */
  rxOwnSkipped: number;
  txDropQueueFull: number;
  /** Shorter than 14 or longer than 1600 bytes. */
  txDropInvalid: number;
  /** Refused by the kernel (interface down, larger than its MTU, ...). */
  txDropError: number;
  /** Runs of TCP segments sent as one super-frame (native/tx_coalesce.h), and the frames they carried. */
  txSuperFrames: number;
  txSuperSegments: number;
  /** Super-frames the kernel refused (EINVAL); after the first, the channel sends every frame as it is. */
  txSuperRefused: number;
  txQueued: number;
  /** Exceptions thrown by the JS batch callback (the hub, a receiver): caught in the addon, counted; reading goes on. */
  callbackErrors: number;
  /** String(exception) of the last one ('' if none). */
  lastCallbackError: string;
  lastRxError: string;
  lastTxError: string;
  kernelIgnoresOwn: boolean;
}

export interface NativeFrameChannel {
  /**
   * Start reading; `onBatch` gets every batch (one call per event-loop wake-up, or per hand-over of the channel's
   * I/O thread with SEBRIDGE_IO_THREAD=rx,tx) as the ArrayBuffers the frames were copied into (today always one,
   * and always the same one: filled again by the next batch) plus (arena, offset, length) triples. Use
   * `startFrames` to get Buffers.
   */
  start(onBatch: (arenas: ArrayBuffer[], desc: Uint32Array) => void): void;
  /** Send frames; never blocks: sent at once while the channel's transmit ring is empty, else (and for what the
   * kernel cannot take now) copied into that bounded ring and sent by the channel's I/O thread (full: dropped and
   * counted). */
  write(frames: readonly Buffer[]): void;
  stats(): NativeChannelStats;
  /** Idempotent. Closes the descriptor (drops promiscuous membership / deletes a TAP device). */
  close(): void;
}

export interface NativeLinkEvent {
  kind: 'new' | 'del' | 'overrun';
  ifindex?: number;
  name?: string;
  up?: boolean;
  running?: boolean;
  lowerUp?: boolean;
  operstate?: number;
}

export interface NativeLinkMonitor {
  close(): void;
  /** Exceptions thrown by onEvents: caught in the addon (never fatal), counted. */
  stats(): { callbackErrors: number; lastCallbackError: string };
  /** Let the process exit even while the monitor is open. */
  unref(): void;
}

export interface NativeIfInfo {
  ifindex: number;
  up: boolean;
  running: boolean;
  mtu: number;
  mac: Buffer;
}

export interface NativeFeature {
  active: boolean;
  changeable: boolean;
}

export interface NativeRxFixupResult {
  frames: Buffer[];
  counters: {
    gsoSuperFrames: number;
    gsoSegments: number;
    checksumsCompleted: number;
    sctpChecksumsCompleted: number;
    vlanTagsRestored: number;
    dropOversize: number;
    dropRunt: number;
    dropBadGso: number;
  };
}

export interface NativeAddon {
  /**
   * aqmTargetUs > 0: CoDel on the frames read (native/codel.h); pathAqmTargetUs > 0: CoDel on the path's delay of the
   * LAN hosts' TCP flows (native/path_aqm.h); both with aqmIntervalUs (default 100 000).
   */
  openPacketSocket(
    ifindex: number,
    opts?: {
      promisc?: boolean;
      rcvbuf?: number;
      sndbuf?: number;
      txSuperFrames?: boolean;
      aqmTargetUs?: number;
      pathAqmTargetUs?: number;
      aqmIntervalUs?: number;
    },
  ): NativeFrameChannel;
  /** pathAqmTargetUs > 0: CoDel on the path's delay (native/path_aqm.h), with aqmIntervalUs (default 100 000). */
  openTap(name: string, opts?: { pathAqmTargetUs?: number; aqmIntervalUs?: number }): { channel: NativeFrameChannel; name: string };
  openLinkMonitor(onEvents: (events: NativeLinkEvent[]) => void): NativeLinkMonitor;
  /** null when no interface has that name. */
  ifInfo(name: string): NativeIfInfo | null;
  ifIndex(name: string): number;
  setIfUp(name: string, up: boolean): void;
  setIfMtu(name: string, mtu: number): void;
  setIfMac(name: string, mac: Buffer): void;
  bridgeAddIf(bridge: string, ifname: string): void;
  bridgeDelIf(bridge: string, ifname: string): void;
  getFeatures(name: string): Record<string, NativeFeature>;
  setFeatures(name: string, features: Record<string, boolean>): void;
  /** The receive path's frame fix-up (VLAN restore, GSO split, checksum completion), for tests. */
  processRxFrame(frame: Buffer, opts?: { vnetHdr?: Buffer; vlanTci?: number; vlanTpid?: number }): NativeRxFixupResult;
  /** The receive path's CoDel (native/codel.h) on a scripted timeline: events are (nowUs, sojournUs, droppable 0/1)
   *  rows; returns 1 for each frame it would drop. For tests. */
  codelDecisions(targetUs: number, intervalUs: number, events: Float64Array): Uint8Array;
  /** CoDel on the path's delay (native/path_aqm.h) on a scripted timeline: steps are [nowUs, 1 = a frame read from
   *  the LAN / 0 = a frame written to it, frame]. drops: 1 where an outbound frame is dropped; delayUs: after each
   *  outbound step, its flow's delay estimate (-1: none). For tests. */
  pathAqmRun(
    targetUs: number,
    intervalUs: number,
    steps: [number, 0 | 1, Buffer][],
  ): { drops: Uint8Array; delayUs: Float64Array; samples: number; rebases: number };
  /** malloc_trim(0): the C heap's free pages back to the system; returns the microseconds it took. */
  trimHeap(): number;
  /** That thread of this process to SCHED_BATCH or back to SCHED_OTHER (native/thread_policy.h); throws errno-coded errors (ESRCH, EPERM, SEB_EINVAL). */
  setThreadPolicy(tid: number, policy: 'batch' | 'normal'): void;
}

/** Anything the native layer refused; `code` is the errno name (ENODEV, EPERM, EBUSY...) or a SEB_* code. */
export class PortError extends Error {
  readonly code: string;
  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PortError';
    this.code = code;
  }
}

/** Turn whatever the addon threw into a PortError that says what we were doing. */
export function portError(context: string, err: unknown): PortError {
  if (err instanceof PortError) return err;
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'SEB_EUNKNOWN';
  const msg = err instanceof Error ? err.message : String(err);
  return new PortError(`${context}: ${msg}`, code, { cause: err });
}

const ADDON_PATHS = ['../../build/Release/sebridge_native.node', '../../build/Debug/sebridge_native.node'];

let cached: NativeAddon | undefined;
let embeddedLoader: (() => NativeAddon) | undefined;

/**
 * The single executable (src/sea/) carries the addon as an asset, not as a file next to this module: it unpacks and
 * loads it itself at start and hands it over here before anything opens a port.
 */
export function setNativeAddonLoader(load: () => NativeAddon): void {
  embeddedLoader = load;
  cached = undefined;
}

/** The addon, loaded once. Throws PortError SEB_ENATIVE when it was not built (npm install builds it). */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  if (process.platform !== 'linux') throw new PortError('the native port addon only exists for Linux', 'SEB_ENATIVE');
  if (embeddedLoader) {
    try {
      cached = embeddedLoader();
      return cached;
    } catch (err) {
      throw new PortError(`native addon of the executable not available: ${err instanceof Error ? err.message : String(err)}`, 'SEB_ENATIVE', { cause: err });
    }
  }
  const require = createRequire(import.meta.url);
  let firstError: unknown;
  for (const rel of ADDON_PATHS) {
    try {
      cached = require(new URL(rel, import.meta.url).pathname) as NativeAddon;
      return cached;
    } catch (err) {
      firstError ??= err;
    }
  }
  throw new PortError('native addon not built: run `npm install` (node-gyp rebuild)', 'SEB_ENATIVE', { cause: firstError });
}

/** Turn one received batch (arenas + descriptor triples) into Buffer views: no copy, one small object per frame.
 * The views are valid until the end of the event-loop turn (the Port contract, port.ts). */
export function framesFromBatch(arenas: ArrayBuffer[], desc: Uint32Array): Buffer[] {
  for (const a of arenas) markReused(a); // the channel fills the same buffer again with its next batch
  const n = desc.length / 3;
  const frames = new Array<Buffer>(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) frames[i] = Buffer.from(arenas[desc[j]!]!, desc[j + 1], desc[j + 2]);
  return frames;
}

/** Start a channel with a Buffer[]-per-batch callback. */
export function startFrames(ch: NativeFrameChannel, onFrames: (frames: Buffer[]) => void): void {
  ch.start((arenas, desc) => onFrames(framesFromBatch(arenas, desc)));
}
