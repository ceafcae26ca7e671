/**
 * Remote syslog over UDP in RFC 5424 format. The target can change at runtime; the host name is resolved once per
 * change (async), not per message. Sending never blocks: a datagram is handed to the socket and at most
 * `maxInFlight` may be outstanding; beyond that messages are dropped and counted (UDP drops anyway when the path
 * is congested; a log storm must not grow memory). Messages are cut to 2048 bytes (RFC 5424 §6.1: receivers
 * SHOULD accept that much).
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { hostname as osHostname } from 'node:os';

export interface SyslogTarget {
  host: string;
  port: number;
  /** RFC 5424 facility number (default 3 = daemon; 16..23 = local0..local7). */
  facility?: number;
}

export interface SyslogMessage {
  time: number;
  /** pino level number. */
  level: number;
  msg: string;
  /** Already redacted extra fields; appended as JSON when not empty. */
  fields: Record<string, unknown>;
  /** MSGID: e.g. the object name; '-' when absent. */
  msgId?: string | null;
}

const MAX_MESSAGE_BYTES = 2048;

/** pino level → syslog severity (RFC 5424 table 2). */
export function syslogSeverity(level: number): number {
  if (level >= 60) return 2; // fatal → critical
  if (level >= 50) return 3; // error
  if (level >= 40) return 4; // warning
  if (level >= 30) return 6; // informational
  return 7; // debug, trace
}

/** PRINTUSASCII without space, at most `max` characters, '-' for empty (RFC 5424 §6.2 header fields). */
function headerField(s: string | null | undefined, max: number): string {
  const clean = (s ?? '').replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return clean === '' ? '-' : clean;
}

/** One RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG`, MSG in UTF-8 with a BOM. */
export function formatRfc5424(m: SyslogMessage, o: { facility: number; hostname: string; appName: string; procId: number }): Buffer {
  const pri = o.facility * 8 + syslogSeverity(m.level);
  const header = `<${pri}>1 ${new Date(m.time).toISOString()} ${headerField(o.hostname, 255)} ${headerField(o.appName, 48)} ` +
    `${headerField(String(o.procId), 128)} ${headerField(m.msgId, 32)} - `;
  const extra = Object.keys(m.fields).length > 0 ? ` ${JSON.stringify(m.fields)}` : '';
  const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${m.msg}${extra}`, 'utf8')]);
  const out = Buffer.concat([Buffer.from(header, 'ascii'), body]);
  if (out.length <= MAX_MESSAGE_BYTES) return out;
  // Cut on a character boundary: step back over UTF-8 continuation bytes.
  let end = MAX_MESSAGE_BYTES;
  while (end > 0 && (out[end] & 0xc0) === 0x80) end--;
  return out.subarray(0, end);
}

/** Validates a target; the error names the field. */
export function validateSyslogTarget(t: SyslogTarget): Required<SyslogTarget> {
  if (typeof t !== 'object' || t === null) throw new Error('syslog: an object { host, port } or null');
  if (typeof t.host !== 'string' || t.host.length === 0 || t.host.length > 253 || /\s/.test(t.host)) {
    throw new Error('syslog.host: a host name or IP address');
  }
  if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535) throw new Error('syslog.port: an integer 1..65535');
  const facility = t.facility ?? 3;
  if (!Number.isInteger(facility) || facility < 0 || facility > 23) throw new Error('syslog.facility: an integer 0..23');
  return { host: t.host, port: t.port, facility };
}

export interface SyslogStats {
  target: string | null;
  sent: number;
  dropped: number;
  errors: number;
  lastError: string | null;
}

export class SyslogSender {
  readonly #appName: string;
  readonly #hostname: string;
  readonly #maxInFlight: number;
  #target: (Required<SyslogTarget> & { address: string; family: 4 | 6 }) | null = null;
  #generation = 0;
  #socket: Socket | null = null;
  #socketFamily: 4 | 6 | null = null;
  #inFlight = 0;
  #stats = { sent: 0, dropped: 0, errors: 0, lastError: null as string | null };

  constructor(o: { appName?: string; hostname?: string; maxInFlight?: number } = {}) {
    this.#appName = o.appName ?? 'sebridge';
    this.#hostname = o.hostname ?? osHostname();
    this.#maxInFlight = o.maxInFlight ?? 256;
  }

  /**
   * Change the target (null: off). Validates synchronously (throws naming the field, nothing changed); resolves
   * the host name and then switches. Messages sent while resolving go to the previous target.
   */
  async setTarget(t: SyslogTarget | null): Promise<void> {
    const v = t === null ? null : validateSyslogTarget(t);
    const gen = ++this.#generation;
    if (v === null) {
      this.#target = null;
      this.#closeSocket();
      return;
    }
    let address = v.host;
    let family = isIP(v.host) as 0 | 4 | 6;
    if (family === 0) {
      const r = await lookup(v.host);
      address = r.address;
      family = r.family as 4 | 6;
    }
    if (gen !== this.#generation) return; // a later setTarget won
    this.#target = { ...v, address, family };
    if (this.#socketFamily !== family) this.#closeSocket();
  }

  send(m: SyslogMessage): void {
    const t = this.#target;
    if (!t) return;
    if (this.#inFlight >= this.#maxInFlight) {
      this.#stats.dropped++;
      return;
    }
    const buf = formatRfc5424(m, { facility: t.facility, hostname: this.#hostname, appName: this.#appName, procId: process.pid });
    const socket = this.#ensureSocket(t.family);
    this.#inFlight++;
    socket.send(buf, t.port, t.address, (err) => {
      // A socket closed meanwhile (target changed) no longer counts: its sends were forgotten with it.
      if (socket === this.#socket) this.#inFlight--;
      if (err) {
        this.#stats.errors++;
        this.#stats.lastError = err.message;
      } else {
        this.#stats.sent++;
      }
    });
  }

  stats(): SyslogStats {
    const t = this.#target;
    return { target: t ? `${t.host}:${t.port}` : null, ...this.#stats };
  }

  close(): void {
    this.#generation++;
    this.#target = null;
    this.#closeSocket();
  }

  #ensureSocket(family: 4 | 6): Socket {
    if (this.#socket && this.#socketFamily === family) return this.#socket;
    this.#closeSocket();
    const s = createSocket(family === 6 ? 'udp6' : 'udp4');
    // ICMP unreachable etc. surface as 'error' on some platforms; never let it crash the daemon.
    s.on('error', (e) => {
      this.#stats.errors++;
      this.#stats.lastError = e.message;
    });
    s.unref();
    this.#socket = s;
    this.#socketFamily = family;
    return s;
  }

  #closeSocket(): void {
    const s = this.#socket;
    this.#socket = null;
    this.#socketFamily = null;
    this.#inFlight = 0;
    if (s) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
  }
}
