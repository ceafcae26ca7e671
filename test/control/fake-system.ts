import { EventEmitter } from 'node:events';
import type { FrameReceiver } from '../../src/ports/port.ts';
import type { CascadeOptions } from '../../src/session/options.ts';
import type { CascadeStatus } from '../../src/session/status.ts';
import { emptyCounters } from '../../src/session/status.ts';
import type { CascadeHandle, LocalBridgePort, LocalBridgeStatus, SystemLayer } from '../../src/control/system-layer.ts';

/**
 * The dummy system layer (netifd's DUMMY_MODE): in-memory local ports and scripted cascades, so the supervisor,
 * the API and health run in a unit test without root, sockets or a server.
 */
export class FakeCascade extends EventEmitter implements CascadeHandle {
  readonly name: string;
  readonly options: CascadeOptions;
  started = 0;
  stopped = 0;
  reconnectRequests = 0;
  written: Buffer[] = [];
  receiver: FrameReceiver | null = null;
  st: CascadeStatus;

  constructor(options: CascadeOptions, name: string) {
    super();
    this.options = options;
    this.name = name;
    this.st = {
      state: 'idle', lastError: null, connectedSince: null, nextAttemptAt: null, attempts: 0, sessions: 0,
      connections: { total: 0, up: 0, down: 0, connecting: 0, granted: 0, requested: options.maxConnections },
      traffic: emptyCounters(), negotiated: null, server: null, tls: null, serverCertSha256: null,
      certificateTrust: { mode: options.checkServerCert ? (options.serverCertSha256 ? 'fingerprint' : 'first-use') : 'accept-any', trustedSha256: options.serverCertSha256 },
    };
  }

  setReceiver(r: FrameReceiver | null): void {
    this.receiver = r;
  }

  write(frames: readonly Buffer[]): void {
    this.written.push(...frames);
    this.st.traffic.framesOut += frames.length;
  }

  start(): void {
    this.started++;
    this.setState('connecting');
  }

  async stop(): Promise<void> {
    this.stopped++;
    this.setState('stopped');
  }

  reconnectNow(): void {
    this.reconnectRequests++;
  }

  status(): CascadeStatus {
    return structuredClone(this.st);
  }

  trusted: string[] = [];

  trustServerCertificate(sha256: string): void {
    this.trusted.push(sha256);
    this.st.certificateTrust = { mode: 'fingerprint', trustedSha256: sha256 };
  }

  /** Script: the first successful login recorded the server's certificate. */
  recordFirstUse(sha256: string): void {
    this.st.certificateTrust = { mode: 'fingerprint', trustedSha256: sha256 };
    this.emit('certificate-trusted', { sha256, reason: 'first-use', subject: 'CN=test', validTo: '2036' });
  }

  serverCertificate(): Buffer | null {
    return this.st.serverCertSha256 ? Buffer.from('fake-der') : null;
  }

  /** Script: the cascade came online with n connections. */
  goOnline(n = this.options.maxConnections): void {
    this.st.connections = { ...this.st.connections, total: n, up: n, down: n, granted: n };
    this.st.connectedSince = new Date().toISOString();
    this.st.server = { product: 'SoftEther VPN Server (64 bit)', version: 501, build: 9674 };
    this.st.tls = { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' };
    this.st.serverCertSha256 = 'AA:'.repeat(31) + 'AA';
    this.st.negotiated = {
      sessionName: `SID-${this.name}`, connectionName: 'CID-1', maxConnection: n, useEncrypt: true, useCompress: false,
      halfConnection: false, qos: true, timeoutMs: 20000, vlanId: 0, policy: { Access: 1, MaxConnection: 32, TimeOut: 20 },
    };
    this.setState('online');
  }

  fail(message: string, code?: number): void {
    this.st.connections = { ...this.st.connections, total: 0, up: 0, down: 0 };
    this.st.lastError = { message, ...(code !== undefined ? { code } : {}), at: new Date().toISOString() };
    this.st.nextAttemptAt = new Date(Date.now() + 10_000).toISOString();
    this.setState('waiting');
  }

  /** Frames "from the server". */
  inject(frames: Buffer[]): void {
    this.st.traffic.framesIn += frames.length;
    this.receiver?.(frames);
  }

  setState(state: CascadeStatus['state']): void {
    this.st.state = state;
    this.emit('state', this.status());
  }
}

export class FakeBridgePort implements LocalBridgePort {
  readonly name: string;
  readonly ifname: string;
  written: Buffer[] = [];
  receiver: FrameReceiver | null = null;
  closed = false;
  present = true;
  up = true;
  #listeners: Array<() => void> = [];

  constructor(ifname: string) {
    this.name = ifname;
    this.ifname = ifname;
  }

  write(frames: readonly Buffer[]): void {
    this.written.push(...frames);
  }

  setReceiver(r: FrameReceiver | null): void {
    this.receiver = r;
  }

  inject(frames: Buffer[]): void {
    this.receiver?.(frames);
  }

  onLinkChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  setLink(up: boolean, present = true): void {
    this.up = up;
    this.present = present;
    for (const l of this.#listeners) l();
  }

  status(): LocalBridgeStatus {
    return {
      present: this.present, up: this.up, mac: '02:00:00:00:00:01', framesIn: 0, framesOut: this.written.length,
      bytesIn: 0, bytesOut: 0, drops: {}, lastError: '',
    };
  }

  close(): void {
    this.closed = true;
  }
}

export class FakeSystem implements SystemLayer {
  /** Interfaces that "exist". */
  readonly nics = new Set<string>(['eth1', 'eth2']);
  readonly cascades: FakeCascade[] = [];
  readonly ports: FakeBridgePort[] = [];

  async openRawBridge(device: string): Promise<LocalBridgePort> {
    if (!this.nics.has(device)) throw new Error(`no interface named ${device}`);
    const p = new FakeBridgePort(device);
    this.ports.push(p);
    return p;
  }

  async createTap(ifname: string): Promise<LocalBridgePort> {
    const p = new FakeBridgePort(ifname);
    this.ports.push(p);
    return p;
  }

  createCascade(options: CascadeOptions, name: string): CascadeHandle {
    const c = new FakeCascade(options, name);
    this.cascades.push(c);
    return c;
  }

  async restoreLeftovers(): Promise<string[]> {
    return [];
  }

  live(name: string): FakeCascade {
    const c = this.cascades.filter((x) => x.name === name && x.started > x.stopped).at(-1);
    if (!c) throw new Error(`no running fake cascade ${name}`);
    return c;
  }
}
