import type { Duplex } from 'node:stream';
import { openTransport, tunnelStream } from './transport.ts';
import type { Transport } from './transport.ts';
import { getHello, additionalConnect } from './handshake.ts';
import { TunnelConnection } from './tunnel-connection.ts';
import { RecordRing } from './record-ring.ts';
import type { Direction } from './tunnel-connection.ts';
import { ServerError } from '../protocol/errors.ts';
import { isSessionGone } from '../protocol/error-codes.ts';
import type { Welcome } from '../protocol/login.ts';
import type { CascadeOptions } from './options.ts';
import type { TlsCipherOffer } from './tls-cipher.ts';

export interface SessionCallbacks {
  onFrames(frames: Buffer[]): void;
  onDrop(reason: 'oversize' | 'inflate' | 'backlog' | 'no-connection', frames: number): void;
  onChange(): void;
  onEnd(reason: Error): void;
  onLog(line: string): void;
  /** Every connection is gone; the session is being resumed with additional_connect (not yet over). */
  onOrphaned(reason: string): void;
}

export interface SessionParams {
  options: CascadeOptions;
  /** The TLS ciphers the additional connections offer: what the first connection's offer turned out to be. */
  offer?: TlsCipherOffer;
  welcome: Welcome;
  granted: number;
  certDer: Buffer;
  hostHeader: string;
  first: { socket: Duplex; initial: Buffer[] };
  callbacks: SessionCallbacks;
}

/** How often the session's single timer runs: keep-alives, receive timeouts, pool refill, lifetimes. */
export const SESSION_TICK_MS = 250;
const RESUME_PROBATION_MS = 5000;
/**
 * Reused memory for the records of all connections of a session (record-ring.ts): a batch of the LAN port is at
 * most 8 arenas of 64 KiB, and a record up to half of this comes from the ring. Resident once traffic flowed.
 */
const RECORD_RING_BYTES = 1024 * 1024;

/**
 * A logged-in session: a pool of up to `granted` TCP connections that all carry frames (docs/protocol-notes.md §7-§8).
 * It owns one timer (the ticker) and the connections; it ends (once, via onEnd) when the server says the session
 * is gone, when the server certificate changes, or when no connection is left. It never reconnects by itself:
 * that is the Cascade's job.
 */
export class Session {
  readonly welcome: Welcome;
  readonly granted: number;
  readonly startedAt = Date.now();
  additionalFailures = 0;
  lastConnectionEvent = '';
  #o: CascadeOptions;
  readonly #offer: TlsCipherOffer;
  #cb: SessionCallbacks;
  #certDer: Buffer;
  #hostHeader: string;
  #conns: TunnelConnection[] = [];
  #pending = new Set<Transport>();
  #connecting = 0;
  #nextId = 1;
  #lastAdditionalStart: number;
  #ticker: NodeJS.Timeout;
  #ended = false;
  /** Since when no TCP connection is up (null while at least one is). */
  #orphanedSince: number | null = null;
  /** When the last resumption succeeded: losing everything again within RESUME_PROBATION_MS ends the session. */
  #resumedAt: number | null = null;
  /** Aborts connection attempts still in their TCP/TLS phase when the session ends. */
  #abort = new AbortController();
  /** Unsent-bytes ceiling per connection before a batch is dropped (x86 defaults of the stock peer, §7.4). */
  readonly #backlogLimit: number;
  /** Memory for the records all connections write (record-ring.ts). */
  readonly #records = new RecordRing(RECORD_RING_BYTES);

  constructor(p: SessionParams) {
    this.#o = p.options;
    this.#offer = p.offer ?? 'server';
    this.welcome = p.welcome;
    this.granted = p.granted;
    this.#cb = p.callbacks;
    this.#certDer = p.certDer;
    this.#hostHeader = p.hostHeader;
    this.#backlogLimit = Math.max(2_560_000 / p.granted, 320_000);
    this.#lastAdditionalStart = Date.now();
    // In half-duplex the first connection always sends only (client->server).
    this.#add(p.first.socket, p.welcome.halfConnection ? 2 : 0, p.first.initial);
    this.#ticker = setInterval(() => this.#tick(), SESSION_TICK_MS);
  }

  get ended(): boolean {
    return this.#ended;
  }

  connectionCounts(): { total: number; up: number; down: number; connecting: number } {
    let up = 0;
    let down = 0;
    for (const c of this.#conns) {
      if (c.canSend) up++;
      if (c.canReceive) down++;
    }
    return { total: this.#conns.length, up, down, connecting: this.#connecting };
  }

  connectionDetails(): Array<{ id: number; direction: Direction; ageMs: number; backlog: number; bytesIn: number; bytesOut: number }> {
    const now = Date.now();
    return this.#conns.map((c) => ({ id: c.id, direction: c.direction, ageMs: now - c.openedAt, backlog: c.backlog, bytesIn: c.bytesIn, bytesOut: c.bytesOut }));
  }

  /** Hot path: one record per chosen connection for the whole batch. */
  send(frames: Buffer[]): void {
    const conns = this.#conns;
    if (this.welcome.qos && frames.length > 0) {
      // The last send-capable connection is reserved for priority frames (§7.4).
      let prio: TunnelConnection | undefined;
      let sendable = 0;
      for (let i = conns.length - 1; i >= 0; i--) {
        if (conns[i]!.canSend) {
          if (!prio) prio = conns[i];
          sendable++;
        }
      }
      if (prio && sendable >= 2) {
        let urgent: Buffer[] | undefined;
        let normal: Buffer[] | undefined;
        for (const f of frames) {
          if (isPriorityFrame(f)) (urgent ??= []).push(f);
          else (normal ??= []).push(f);
        }
        if (urgent) this.#sendOn(prio, urgent);
        if (normal) this.#sendOn(this.#leastBacklogged(prio), normal);
        return;
      }
    }
    this.#sendOn(this.#leastBacklogged(undefined), frames);
  }

  #leastBacklogged(exclude: TunnelConnection | undefined): TunnelConnection | undefined {
    let best: TunnelConnection | undefined;
    let bestBacklog = Infinity;
    for (const c of this.#conns) {
      if (!c.canSend || c === exclude) continue;
      const b = c.backlog;
      if (b <= bestBacklog) {
        best = c;
        bestBacklog = b;
      }
    }
    return best;
  }

  #sendOn(conn: TunnelConnection | undefined, frames: Buffer[]): void {
    if (!conn) {
      this.#cb.onDrop('no-connection', frames.length);
      return;
    }
    if (conn.backlog >= this.#backlogLimit) {
      this.#cb.onDrop('backlog', frames.length);
      return;
    }
    conn.send(frames, Date.now());
  }

  #add(socket: Duplex, direction: Direction, initial: Buffer[]): void {
    const conn = new TunnelConnection({
      id: this.#nextId++,
      socket,
      direction,
      compressed: this.welcome.useCompress,
      timeoutMs: this.welcome.timeoutMs,
      lifetimeMs: this.#o.connectionLifetimeMs,
      initial,
      now: Date.now(),
      records: this.#records,
      events: {
        onFrames: (frames) => this.#cb.onFrames(frames),
        onDrop: (reason) => this.#cb.onDrop(reason, 1),
        onClose: (c, reason) => this.#closed(c, reason),
      },
    });
    if (conn.closed) return; // died while replaying its first bytes
    this.#conns.push(conn);
    if (this.#orphanedSince !== null) {
      this.#resumedAt = Date.now();
      this.#cb.onLog(`session resumed after ${this.#resumedAt - this.#orphanedSince} ms without a connection`);
      this.#orphanedSince = null;
    }
    this.#rebalance();
    this.#cb.onChange();
  }

  #closed(conn: TunnelConnection, reason: string): void {
    const i = this.#conns.indexOf(conn);
    if (i >= 0) this.#conns.splice(i, 1);
    this.lastConnectionEvent = `connection ${conn.id} closed: ${reason}`;
    if (this.#ended) return;
    this.#cb.onLog(`${this.lastConnectionEvent} (${this.#conns.length} left)`);
    if (this.#conns.length === 0) {
      // The server keeps a session whose connections are gone for T and lets additional_connect re-attach to it
      // (docs/protocol-notes.md §9, "Resuming"), so try that first, at once, like the stock client; a full login comes only if
      // the server says the session is gone (13/14) or T passes.
      const now = Date.now();
      if (this.#resumedAt !== null && now - this.#resumedAt < RESUME_PROBATION_MS) {
        // Seen on the real 5.01 server: after one connection of a session ends uncleanly it closes ALL of them,
        // and then also every connection that re-attaches. Such a session is dead; only a new login helps.
        this.end(new Error(`all TCP connections lost again right after resuming (last: ${reason})`));
        return;
      }
      this.#orphanedSince = now;
      this.#cb.onOrphaned(`all TCP connections lost (last: ${reason})`);
      if (this.#connecting === 0) {
        this.#lastAdditionalStart = this.#orphanedSince;
        void this.#addConnection();
      }
    }
    this.#cb.onChange();
  }

  /** Half-duplex: if the pool is full and everything points one way, drop the newest so it comes back the other way (§7.5). */
  #rebalance(): void {
    if (!this.welcome.halfConnection || this.#conns.length < this.granted || this.#conns.length < 2) return;
    const first = this.#conns[0]!.direction;
    if (this.#conns.every((c) => c.direction === first)) {
      this.#conns[this.#conns.length - 1]!.close('rebalancing half-duplex directions', true);
    }
  }

  #tick(): void {
    if (this.#ended) return;
    const now = Date.now();
    for (const c of this.#conns.slice()) c.tick(now);
    if (this.#ended) return;
    if (this.#orphanedSince !== null && now - this.#orphanedSince >= this.welcome.timeoutMs) {
      this.end(new Error(`no TCP connection for ${this.welcome.timeoutMs / 1000} s and the session could not be resumed (${this.lastConnectionEvent})`));
      return;
    }
    this.#retireExpired(now);
    if (
      this.#conns.length + this.#connecting < this.granted &&
      now - this.#lastAdditionalStart >= this.#o.additionalConnectionIntervalMs
    ) {
      this.#lastAdditionalStart = now;
      void this.#addConnection();
    }
  }

  /** Connection lifetime: replace expired connections, never closing the last one before a successor is up. */
  #retireExpired(now: number): void {
    for (const c of this.#conns.slice()) {
      if (!c.lifetimeExpired(now)) continue;
      if (this.#conns.length > 1) c.close('connection lifetime reached', true);
      else if (this.#connecting === 0) {
        this.#lastAdditionalStart = now;
        void this.#addConnection();
      }
    }
  }

  async #addConnection(): Promise<void> {
    this.#connecting++;
    let transport: Transport | undefined;
    try {
      const o = this.#o;
      transport = await openTransport({
        host: o.host,
        port: o.port,
        timeoutMs: o.handshakeTimeoutMs,
        detachable: !o.encrypt,
        proxy: o.proxy,
        offer: this.#offer,
        signal: this.#abort.signal,
      });
      this.#pending.add(transport);
      if (this.#ended) return;
      if (!transport.facts.certDer.equals(this.#certDer)) {
        this.end(new Error('the server presented a different certificate on an additional connection'));
        return;
      }
      await getHello(transport.tls, this.#hostHeader, o.handshakeTimeoutMs);
      const { direction, rest } = await additionalConnect(transport.tls, this.#hostHeader, this.welcome.sessionKey, o.identity, o.handshakeTimeoutMs);
      if (this.#ended) return;
      const { socket, initial } = tunnelStream(transport, rest, o.encrypt);
      this.#pending.delete(transport);
      transport = undefined;
      this.#add(socket, this.welcome.halfConnection ? direction : 0, initial);
      // A lone connection whose lifetime ran out waited for this successor.
      if (this.#conns.length > 1) {
        const now = Date.now();
        for (const c of this.#conns.slice()) if (c.lifetimeExpired(now) && this.#conns.length > 1) c.close('connection lifetime reached', true);
      }
    } catch (e) {
      if (e instanceof ServerError && isSessionGone(e.code)) {
        this.end(new Error(`the server dropped the session: ${e.message}`));
      } else if (!this.#ended) {
        this.additionalFailures++;
        this.lastConnectionEvent = `additional connection failed: ${(e as Error).message}`;
        this.#cb.onLog(this.lastConnectionEvent);
      }
    } finally {
      this.#connecting--;
      if (transport) {
        this.#pending.delete(transport);
        transport.destroy();
      }
    }
  }

  end(reason: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#ticker);
    this.#abort.abort();
    for (const t of this.#pending) t.destroy();
    this.#pending.clear();
    for (const c of this.#conns.slice()) c.close('session closed', true);
    this.#conns = [];
    this.#cb.onEnd(reason);
  }
}

/** QoS priority (§7.4): IPv4 with a ToS other than 0/8, or small ICMPv4 (34..128 bytes). */
export function isPriorityFrame(f: Buffer): boolean {
  if (f.length < 34 || f[12] !== 0x08 || f[13] !== 0x00) return false;
  const tos = f[15]!;
  if (tos !== 0 && tos !== 8) return true;
  return f[23] === 1 && f.length <= 128;
}
