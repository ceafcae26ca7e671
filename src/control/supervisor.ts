import { EventEmitter } from 'node:events';
import { Hub } from '../hub/index.ts';
import type { CascadeStatus } from '../session/status.ts';
import type { AppConfig, BridgeConfig, CascadeConfig } from './config/types.ts';
import { cascadeOptionsFrom, configFingerprint, engineKey } from './cascade-options.ts';
import type { CertificateTrustedEvent } from '../session/trust.ts';
import type { CascadeHandle, LocalBridgePort, LocalBridgeStatus, SystemLayer } from './system-layer.ts';
import type { ControlLog } from './control-log.ts';

/** The one virtual hub of a VPN Bridge; every cascade and local bridge joins it. */
export const BRIDGE_HUB = 'BRIDGE';
/** How often a local bridge whose interface could not be opened is tried again. */
const BRIDGE_RETRY_MS = 5_000;

/** TAP devices are named like the stock bridge names them: "tap_" + the bridge's device name. */
export function tapInterfaceName(device: string): string {
  return `tap_${device}`;
}

interface CascadeEntry {
  config: CascadeConfig;
  handle: CascadeHandle | null;
  /** Why the cascade cannot run (e.g. a setting the engine does not support); shown instead of a state. */
  configError: string | null;
  /** When the running cascade object was started (GetLinkStatus StartTime). */
  startedAt: number;
  /** Its session number on the hub ("SID-LINK-<n>"), given when it starts, like the stock hub's counter. */
  sessionNo: number;
  reconnects: number;
  lastState: string;
}

interface BridgeEntry {
  config: BridgeConfig;
  port: LocalBridgePort | null;
  lastError: string;
  retryTimer: NodeJS.Timeout | null;
  opening: boolean;
  sessionNo: number;
}

export interface CascadeView {
  config: CascadeConfig;
  status: CascadeStatus | null;
  serverCert: Buffer | null;
  startedAt: number;
  /** Session name on the hub as the stock bridge shows it; null while not running. */
  sessionName: string | null;
  configError: string | null;
  reconnects: number;
}

export interface BridgeView {
  config: BridgeConfig;
  ifname: string;
  active: boolean;
  status: LocalBridgeStatus | null;
  sessionName: string | null;
  lastError: string;
}

/**
 * Reconciles the desired configuration with what runs (like netifd or a Kubernetes controller): `apply(config)`
 * diffs each cascade and local bridge by its key and touches only what changed — start, stop, or replace one
 * object — so a change to one cascade never disturbs another's TCP connections or session.
 *
 * Per cascade (key: lower-cased name): absent → stop and forget; new → create (start if online); engine fields
 * changed → replace; only `online` changed → start/stop; only the name's letter case or nothing changed → keep
 * (session and counters survive). A rename is announced first with `renameCascade`, so the running cascade is
 * re-keyed instead of being replaced. Per local bridge (key: device): new → open; gone → close; mode changed →
 * replace; an interface that cannot be opened is retried every 5 s.
 *
 * Owns: the hub, the running cascades and ports, one retry timer per unopened bridge. Events: 'cascade-state'
 * (name, status), 'bridge-state' (device), 'certificate-trusted' (name, 64-hex fingerprint: the owner stores it in
 * the config); everything is logged through the ControlLog.
 */
export class Supervisor extends EventEmitter {
  readonly hub = new Hub();
  readonly #system: SystemLayer;
  readonly #log: ControlLog;
  readonly #now: () => number;
  readonly #bridgeRetryMs: number;
  #cascades = new Map<string, CascadeEntry>();
  #bridges = new Map<string, BridgeEntry>();
  #applying: Promise<void> = Promise.resolve();
  /** One counter for the hub's sessions, cascades and local bridges alike (the stock hub numbers them so). */
  #sessionSeq = 0;
  #stopped = false;

  constructor(deps: { system: SystemLayer; log: ControlLog; now?: () => number; bridgeRetryMs?: number }) {
    super();
    this.#bridgeRetryMs = deps.bridgeRetryMs ?? BRIDGE_RETRY_MS;
    this.#system = deps.system;
    this.#log = deps.log;
    this.#now = deps.now ?? Date.now;
  }

  /** Bring what runs in line with `config`. Calls are serialized; each resolves when its reconcile is done. */
  apply(config: Readonly<AppConfig>): Promise<void> {
    const run = this.#applying.then(() => this.#reconcile(config));
    this.#applying = run.catch(() => {});
    return run;
  }

  /** Re-key a running cascade before a config rename is applied, so the rename keeps its session. */
  renameCascade(oldName: string, newName: string): void {
    const e = this.#cascades.get(oldName.toLowerCase());
    if (!e) return;
    this.#cascades.delete(oldName.toLowerCase());
    e.config = { ...e.config, name: newName };
    this.#cascades.set(newName.toLowerCase(), e);
    this.#log.info({ object: `cascade/${newName}` }, `cascade "${oldName}" renamed to "${newName}"`);
  }

  reconnect(name: string): boolean {
    const e = this.#cascades.get(name.toLowerCase());
    if (!e?.handle) return false;
    this.#log.info({ object: `cascade/${e.config.name}` }, 'reconnect requested by the administrator');
    e.handle.reconnectNow();
    return true;
  }

  cascade(name: string): CascadeView | null {
    const e = this.#cascades.get(name.toLowerCase());
    return e ? this.#cascadeView(e) : null;
  }

  cascades(): CascadeView[] {
    return [...this.#cascades.values()].map((e) => this.#cascadeView(e));
  }

  bridges(): BridgeView[] {
    return [...this.#bridges.values()].map((e) => ({
      config: e.config,
      ifname: e.config.tapMode ? tapInterfaceName(e.config.device) : e.config.device,
      active: e.port !== null,
      status: e.port ? e.port.status() : null,
      sessionName: e.port ? `SID-LOCALBRIDGE-${e.sessionNo}` : null,
      lastError: e.lastError,
    }));
  }

  /** Stop everything (graceful TLS close, interfaces restored). The supervisor cannot be used afterwards. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#applying;
    await Promise.all([...this.#cascades.values()].map((e) => this.#stopCascade(e)));
    this.#cascades.clear();
    for (const e of this.#bridges.values()) this.#closeBridge(e);
    this.#bridges.clear();
    this.hub.close();
  }

  #cascadeView(e: CascadeEntry): CascadeView {
    return {
      config: e.config,
      status: e.handle ? e.handle.status() : null,
      serverCert: e.handle ? e.handle.serverCertificate() : null,
      startedAt: e.startedAt,
      sessionName: e.handle ? `SID-LINK-${e.sessionNo}` : null,
      configError: e.configError,
      reconnects: e.reconnects,
    };
  }

  async #reconcile(config: Readonly<AppConfig>): Promise<void> {
    if (this.#stopped) return;
    const wantedCascades = new Map(config.cascades.map((c) => [c.name.toLowerCase(), c]));
    const work: Promise<void>[] = [];
    for (const [key, e] of this.#cascades) {
      if (!wantedCascades.has(key)) {
        this.#cascades.delete(key);
        this.#log.info({ object: `cascade/${e.config.name}` }, `cascade "${e.config.name}" deleted`);
        work.push(this.#stopCascade(e));
      }
    }
    for (const [key, want] of wantedCascades) {
      const e = this.#cascades.get(key);
      if (!e) {
        const entry: CascadeEntry = { config: want, handle: null, configError: null, startedAt: 0, sessionNo: 0, reconnects: 0, lastState: '' };
        this.#cascades.set(key, entry);
        this.#log.info({ object: `cascade/${want.name}` }, `cascade "${want.name}" created (${want.online ? 'online' : 'offline'})`);
        if (want.online) this.#startCascade(entry);
        continue;
      }
      const replace = engineKey(e.config) !== engineKey(want) || (e.config.serverCertSha256 !== null && want.serverCertSha256 === null);
      const wasOnline = e.config.online;
      const newTrust = !replace && want.serverCertSha256 !== null && want.serverCertSha256 !== e.config.serverCertSha256;
      e.config = want;
      if (newTrust && e.handle) {
        // A fingerprint recorded on first use or accepted by the admin: applied live, the session stays.
        const running = e.handle.status().certificateTrust.trustedSha256;
        if (running === null || configFingerprint(running) !== want.serverCertSha256) e.handle.trustServerCertificate(want.serverCertSha256!);
      }
      if (replace) {
        this.#log.info({ object: `cascade/${want.name}` }, `cascade "${want.name}" settings changed: reconnecting with the new settings`);
        await this.#stopCascade(e);
        e.configError = null;
        if (want.online) this.#startCascade(e);
      } else if (wasOnline !== want.online || (want.online && !e.handle && !e.configError)) {
        if (want.online) {
          this.#log.info({ object: `cascade/${want.name}` }, `cascade "${want.name}" set online`);
          this.#startCascade(e);
        } else {
          this.#log.info({ object: `cascade/${want.name}` }, `cascade "${want.name}" set offline`);
          work.push(this.#stopCascade(e));
        }
      }
    }
    await Promise.all(work);

    const wantedBridges = new Map(config.bridges.map((b) => [b.device, b]));
    for (const [device, e] of this.#bridges) {
      const want = wantedBridges.get(device);
      if (!want || want.tapMode !== e.config.tapMode || want.linuxBridge !== e.config.linuxBridge) {
        this.#closeBridge(e);
        this.#bridges.delete(device);
        this.#log.info({ object: `bridge/${device}` }, want ? `local bridge ${device} mode changed: re-creating` : `local bridge ${device} deleted`);
      }
    }
    for (const [device, want] of wantedBridges) {
      if (this.#bridges.has(device)) continue;
      const entry: BridgeEntry = { config: want, port: null, lastError: '', retryTimer: null, opening: false, sessionNo: 0 };
      this.#bridges.set(device, entry);
      await this.#openBridge(entry);
    }
  }

  #startCascade(e: CascadeEntry): void {
    let options;
    try {
      options = cascadeOptionsFrom(e.config);
    } catch (err) {
      e.configError = (err as Error).message;
      this.#log.error({ object: `cascade/${e.config.name}` }, `cascade "${e.config.name}" cannot start: ${e.configError}`);
      return;
    }
    const handle = this.#system.createCascade(options, e.config.name);
    e.handle = handle;
    e.startedAt = this.#now();
    e.sessionNo = ++this.#sessionSeq;
    e.lastState = '';
    let wasOnline = false;
    handle.on('state', (s: CascadeStatus) => {
      if (e.handle !== handle) return;
      // A reconnect is coming back online after having been online (the first login is not one).
      if (s.state === 'online' && e.lastState !== 'online') {
        if (wasOnline) e.reconnects++;
        wasOnline = true;
      }
      const name = e.config.name;
      const text = s.state === 'waiting' && s.lastError ? `waiting: ${s.lastError.message}` : s.state;
      if (s.state !== e.lastState) {
        const level = s.state === 'waiting' ? 'warn' : 'info';
        this.#log[level]({ object: `cascade/${name}`, state: s.state, connections: s.connections.total }, `cascade "${name}": ${text}`);
      }
      e.lastState = s.state;
      this.emit('cascade-state', name, s);
    });
    handle.on('certificate-trusted', (ev: CertificateTrustedEvent) => {
      if (e.handle !== handle) return;
      this.#log.info({ object: `cascade/${e.config.name}` }, `cascade "${e.config.name}": server certificate SHA-256 ${ev.sha256} ${ev.reason === 'first-use' ? 'trusted on first use' : 'accepted'}${ev.subject ? ` (${ev.subject}, valid to ${ev.validTo})` : ''}`);
      this.emit('certificate-trusted', e.config.name, configFingerprint(ev.sha256));
    });
    handle.on('log', (line: string) => {
      if (e.handle === handle) this.#log.debug({ object: `cascade/${e.config.name}` }, line);
    });
    this.hub.attach(handle);
    handle.start();
  }

  async #stopCascade(e: CascadeEntry): Promise<void> {
    const h = e.handle;
    if (!h) return;
    e.handle = null;
    this.hub.detach(h);
    await h.stop();
    this.emit('cascade-state', e.config.name, null);
  }

  async #openBridge(e: BridgeEntry): Promise<void> {
    if (this.#stopped || e.port || e.opening) return;
    const device = e.config.device;
    e.opening = true;
    try {
      const port = e.config.tapMode
        ? await this.#system.createTap(tapInterfaceName(device), e.config.linuxBridge)
        : await this.#system.openRawBridge(device);
      if (this.#bridges.get(device) !== e || this.#stopped) {
        port.close(); // deleted or replaced while it was opening
        return;
      }
      e.port = port;
      e.lastError = '';
      e.sessionNo = ++this.#sessionSeq;
      this.hub.attach(port);
      port.onLinkChange(() => {
        const st = port.status();
        this.#log.info({ object: `bridge/${device}` }, `local bridge ${device}: ${!st.present ? 'interface gone' : st.up ? 'link up' : 'link down'}`);
        this.emit('bridge-state', device);
      });
      this.#log.info({ object: `bridge/${device}` }, e.config.tapMode
        ? `local bridge ${device}: TAP device ${port.ifname} up${e.config.linuxBridge ? ` in Linux bridge ${e.config.linuxBridge}` : ''}`
        : `local bridge ${device}: bridged (raw socket, promiscuous, offloads off)`);
      this.emit('bridge-state', device);
    } catch (err) {
      const msg = (err as Error).message;
      if (msg !== e.lastError) this.#log.warn({ object: `bridge/${device}` }, `local bridge ${device} cannot be opened: ${msg} (retrying every ${this.#bridgeRetryMs / 1000} s)`);
      e.lastError = msg;
      if (this.#bridges.get(device) === e && !this.#stopped) {
        e.retryTimer = setTimeout(() => {
          e.retryTimer = null;
          void this.#openBridge(e);
        }, this.#bridgeRetryMs);
      }
    } finally {
      e.opening = false;
    }
  }

  #closeBridge(e: BridgeEntry): void {
    if (e.retryTimer) clearTimeout(e.retryTimer);
    e.retryTimer = null;
    if (e.port) {
      this.hub.detach(e.port);
      e.port.close();
      e.port = null;
    }
  }
}
