import type { Duplex } from 'node:stream';
import { TUNNEL_LIMITS, TunnelDecoder, encodeKeepAlive, recordBlocks, recordSize, writeRecord } from '../protocol/tunnel.ts';
import { NumberQueue, type RecordRing } from './record-ring.ts';
import net from 'node:net';
import { readInto, resumeReading } from './read-into.ts';
import { markTransient } from '../ports/port.ts';

const GRACEFUL_CLOSE_MS = 2000;
/** One read's worth: TLS hands over at most 16 KiB of plaintext per read, a plain TCP read up to this much. */
const READ_BUFFER_BYTES = 65536;
/**
 * What one connection hands on per event-loop turn before it stops reading until the next turn. Without a limit a
 * turn delivered everything the 8 sockets held (hundreds of KB toward the LAN at once), and the LAN host's ACKs for
 * all of it went back together in the next turn: the sending host behind the server then bursts as much at once,
 * and the stock server's bridge socket overflows. With this limit: server->LAN +10 %, frames lost at the server
 * 5.4-8.4 % instead of 7.5-8.3 %, ping under that load 1.6-1.9 ms instead of 2.8-3.7 (docs/server-send-path.md,
 * "Kept: a read budget"). 16 and 32 KiB measured the same; more per turn costs fewer wake-ups.
 */
const READ_BUDGET_PER_TURN = 65536;

/** Half-duplex direction codes from the server (docs/protocol-notes.md §7.5): 0 both, 1 server->client only, 2 client->server only. */
export type Direction = 0 | 1 | 2;

export interface TunnelConnectionEvents {
  onFrames(frames: Buffer[]): void;
  onDrop(reason: 'oversize' | 'inflate'): void;
  onClose(conn: TunnelConnection, reason: string): void;
}

export interface TunnelConnectionOptions {
  id: number;
  socket: Duplex;
  direction: Direction;
  compressed: boolean;
  timeoutMs: number; // T from the welcome
  lifetimeMs: number; // 0 = forever
  initial: Buffer[]; // tunnel bytes already read during the handshake
  events: TunnelConnectionEvents;
  now: number;
  /** Memory for the records this connection writes (shared by the session's connections). */
  records: RecordRing;
}

/**
 * One TCP connection of a session in tunnel mode (docs/protocol-notes.md §7). It owns its socket and decoder but no timer:
 * the session's ticker calls `tick(now)` so a session of 32 connections still has a single timer.
 */
export class TunnelConnection {
  readonly id: number;
  readonly direction: Direction;
  readonly canSend: boolean;
  readonly canReceive: boolean;
  readonly openedAt: number;
  bytesIn = 0;
  bytesOut = 0;
  #socket: Duplex;
  #compressed: boolean;
  #timeoutMs: number;
  #lifetimeMs: number;
  #events: TunnelConnectionEvents;
  #decoder: TunnelDecoder;
  #lastReceiveAt: number;
  #nextKeepAliveAt: number;
  #closed = false;
  readonly #records: RecordRing;
  /** The ring region of every write not yet completed (-1: not the ring's memory), oldest first. */
  readonly #inFlight = new NumberQueue();
  /** One callback for every write: one socket's writes complete in order, so it gives back the oldest region. */
  readonly #written = (): void => this.#records.release(this.#inFlight.shift() ?? -1);

  constructor(o: TunnelConnectionOptions) {
    this.id = o.id;
    this.direction = o.direction;
    this.canSend = o.direction !== 1;
    this.canReceive = o.direction !== 2;
    this.openedAt = o.now;
    this.#socket = o.socket;
    this.#compressed = o.compressed;
    this.#timeoutMs = o.timeoutMs;
    this.#lifetimeMs = o.lifetimeMs;
    this.#events = o.events;
    this.#records = o.records;
    this.#lastReceiveAt = o.now;
    this.#nextKeepAliveAt = o.now; // a brand-new connection sends one immediately (§7.3)
    // Blocks split across two reads are assembled in two scratch buffers of this connection, transient like the
    // read buffer: no allocation per split block.
    const scratch = Buffer.allocUnsafeSlow(2 * TUNNEL_LIMITS.maxBlock);
    markTransient(scratch.buffer);
    this.#decoder = new TunnelDecoder({
      compressed: o.compressed,
      onFrames: (frames) => this.#events.onFrames(frames),
      onKeepAlive: () => {},
      onDrop: (reason) => this.#events.onDrop(reason),
      partialBuffers: [scratch.subarray(0, TUNNEL_LIMITS.maxBlock), scratch.subarray(TUNNEL_LIMITS.maxBlock)],
    });
    const s = this.#socket;
    // Bytes the socket read before this point come as 'data'; from here on reads land in one buffer of this
    // connection (read-into.ts: no new ArrayBuffer per read). Frames are then views of that buffer, valid only during
    // the receive call (markTransient; the Port contract in port.ts).
    s.on('data', (chunk: Buffer) => this.#receive(chunk));
    if (s instanceof net.Socket) {
      const buf = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
      markTransient(buf.buffer);
      readInto(s, buf, this.#onRead); // false: this Node lacks the mechanism, 'data' events carry on
    }
    s.on('error', (e: Error) => this.close(`connection error: ${e.message}`));
    s.on('close', () => {
      // The socket is closed: nothing reads its records any more, whether or not their callbacks have run.
      for (let seq = this.#inFlight.shift(); seq !== undefined; seq = this.#inFlight.shift()) this.#records.release(seq);
      this.close('closed by the server');
    });
    s.on('end', () => this.close('closed by the server'));
    for (const chunk of o.initial) if (chunk.length) this.#receive(chunk);
    s.resume();
    this.tick(o.now);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes written but not yet accepted by the kernel: the "lateness" used to pick a connection. */
  get backlog(): number {
    return this.#socket.writableLength;
  }

  /** Bytes read into the connection's buffer in this event-loop turn (reset in the check phase). */
  #turnBytes = 0;

  readonly #onRead = (chunk: Buffer): boolean => {
    // A read is never empty, so 0 means this is the turn's first: the check phase of this turn ends it.
    if (this.#turnBytes === 0) setImmediate(this.#endTurn);
    this.#turnBytes += chunk.length;
    this.#receive(chunk);
    return this.#turnBytes < READ_BUDGET_PER_TURN; // false: Node stops reading this socket
  };

  readonly #endTurn = (): void => {
    const stopped = this.#turnBytes >= READ_BUDGET_PER_TURN;
    this.#turnBytes = 0;
    if (stopped && !this.#closed) resumeReading(this.#socket as net.Socket);
  };

  #receive(chunk: Buffer): void {
    if (this.#closed) return;
    this.#lastReceiveAt = Date.now();
    this.bytesIn += chunk.length;
    try {
      this.#decoder.push(chunk);
    } catch (e) {
      this.close(`protocol error from server: ${(e as Error).message}`);
    }
  }

  /** Write one record with all `frames` (each <= 1600 bytes; the caller checks). */
  send(frames: readonly Buffer[], now: number): void {
    if (this.#closed) return;
    const blocks = recordBlocks(frames, this.#compressed);
    const size = recordSize(blocks);
    const record = writeRecord(this.#records.take(size), blocks);
    this.bytesOut += size;
    this.#inFlight.push(this.#records.lastSeq);
    this.#socket.write(record, this.#written);
    this.#armKeepAlive(now);
  }

  #armKeepAlive(now: number): void {
    // Random in [T/5, T/2) after every write, like the stock peer (§7.3).
    this.#nextKeepAliveAt = now + this.#timeoutMs / 5 + Math.random() * (this.#timeoutMs / 2 - this.#timeoutMs / 5);
  }

  /** Keep-alive, receive timeout and lifetime checks. Returns false once closed. */
  tick(now: number): boolean {
    if (this.#closed) return false;
    if (this.canReceive && now - this.#lastReceiveAt > this.#timeoutMs) {
      this.close(`nothing received for ${this.#timeoutMs / 1000} s`);
      return false;
    }
    if (this.canSend && now >= this.#nextKeepAliveAt) {
      const ka = encodeKeepAlive();
      this.bytesOut += ka.length;
      this.#inFlight.push(-1);
      this.#socket.write(ka, this.#written);
      this.#armKeepAlive(now);
    }
    return true;
  }

  lifetimeExpired(now: number): boolean {
    return this.#lifetimeMs > 0 && now - this.openedAt >= this.#lifetimeMs;
  }

  /**
   * `graceful` (our own decision: lifetime, rebalancing, shutdown) ends TLS with close_notify and FIN instead of
   * just dropping the socket. It matters to the real server: it handles all connections of a session in one
   * thread, and an unclean end of one TLS connection (seen with OpenSSL 3) makes it drop ALL of them.
   */
  close(reason: string, graceful = false): void {
    if (this.#closed) return;
    this.#closed = true;
    const s = this.#socket;
    if (graceful && !s.destroyed) {
      s.end();
      setTimeout(() => s.destroy(), GRACEFUL_CLOSE_MS).unref();
    } else {
      s.destroy();
    }
    this.#events.onClose(this, reason);
  }
}
