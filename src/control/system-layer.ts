import type { EventEmitter } from 'node:events';
import type { Port } from '../ports/port.ts';
import type { CascadeOptions } from '../session/options.ts';
import type { CascadeStatus } from '../session/status.ts';

/**
 * Everything the control plane does to the kernel or the network goes through this interface (netifd's
 * "system layer"): the real one (`linux-system.ts`) opens AF_PACKET sockets, TAP devices and TLS connections; a
 * test passes in-memory ports and cascades, so the whole daemon (reconcile, API, health) runs unprivileged.
 */
export interface SystemLayer {
  /** Bridge an existing interface (raw socket, promiscuous, offloads off). Throws if it does not exist. */
  openRawBridge(device: string): Promise<LocalBridgePort>;
  /** Create TAP device `ifname`, optionally joined to the Linux bridge `linuxBridge`. */
  createTap(ifname: string, linuxBridge: string | null): Promise<LocalBridgePort>;
  createCascade(options: CascadeOptions, name: string): CascadeHandle;
  /** Undo what an earlier process left changed (offloads of interfaces it bridged) when it was killed. */
  restoreLeftovers(): Promise<string[]>;
}

/** A local side of the hub: a bridged NIC or a TAP device. */
export interface LocalBridgePort extends Port {
  /** Kernel interface name (the NIC itself, or `tap_<name>` in TAP mode). */
  readonly ifname: string;
  status(): LocalBridgeStatus;
  /** Called when carrier/presence changes, so health and the UI see it at once. */
  onLinkChange(listener: () => void): void;
  close(): void;
}

export interface LocalBridgeStatus {
  present: boolean;
  up: boolean;
  mac: string | null;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Frames this port threw away, by reason (only non-zero reasons need be listed). */
  drops: Record<string, number>;
  lastError: string;
}

/** What the supervisor needs of a cascade (the real one is `session/cascade.ts`). */
export interface CascadeHandle extends Port, Pick<EventEmitter, 'on' | 'off'> {
  readonly options: CascadeOptions;
  start(): void;
  stop(): Promise<void>;
  status(): CascadeStatus;
  /** Drop the current session (gracefully) or cut the retry wait short, and log in again now. */
  reconnectNow(): void;
  /** The DER certificate the server presented on the last login, if any. */
  serverCertificate(): Buffer | null;
  /** Trust exactly this server certificate from now on (live; a cascade refused for its certificate retries). */
  trustServerCertificate(sha256: string): void;
}
