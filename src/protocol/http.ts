import { randomBytes, randomInt } from 'node:crypto';
import { ProtocolError } from './errors.ts';
import { decodePack, encodePackWithExtras } from './pack.ts';
import type { Pack, PackLimits } from './pack.ts';

/**
 * The HTTP-looking part of the handshake (notes §2.2-§2.4), client side. It is not general HTTP:
 * one request, one Content-Length response, then the same connection turns into the tunnel.
 */

/** The server refuses request bodies above this (HttpServerRecv: 0 < Content-Length <= 65536). */
export const MAX_REQUEST_BODY = 65536;
const PENCORE_MAX = 999;
// pencore element overhead: name length + "pencore" + type + value count + data length.
const PENCORE_OVERHEAD = 4 + 7 + 4 + 4 + 4;

// An empty header value makes the server fail the whole request; CR/LF would split headers.
function checkHeaderValue(what: string, v: string): void {
  if (typeof v !== 'string' || v.trim() === '' || /[\x00-\x1f\x7f]/.test(v)) {
    throw new RangeError(`${what} must be a non-empty single-line string, got ${JSON.stringify(v)}`);
  }
}

function request(target: string, contentType: string, host: string, extraHeaders: string[], body: Buffer): Buffer {
  checkHeaderValue('Host', host);
  // Header lines in the stock client's (case-insensitive sorted) order; the server does not care.
  const headers = [
    'Connection: Keep-Alive',
    `Content-Length: ${body.length}`,
    `Content-Type: ${contentType}`,
    ...extraHeaders.filter((h) => h < 'Host'),
    `Host: ${host}`,
    ...extraHeaders.filter((h) => h >= 'Host'),
  ];
  const head = `POST ${target} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`;
  const headLen = Buffer.byteLength(head, 'latin1');
  const out = Buffer.allocUnsafe(headLen + body.length);
  out.write(head, 0, 'latin1');
  body.copy(out, headLen);
  return out;
}

/**
 * The first request on a connection. We send the 10-byte `VPNCONNECT` body the server has accepted
 * since v4.03 instead of SoftEther's watermark image (which is their data, not ours).
 */
export function encodeSignatureRequest(host: string): Buffer {
  return request('/vpnsvc/connect.cgi', 'image/jpeg', host, [], Buffer.from('VPNCONNECT', 'latin1'));
}

/**
 * A Pack POST. Appends `pencore` padding (random 0..999 bytes) to the serialization only, so the
 * caller's Pack is untouched; a Pack that already has `pencore` is sent as is. The padding is
 * shortened (or left out) when needed so that it alone never pushes a body over the server's
 * 64 KiB limit; a Pack that is too large by itself throws RangeError.
 */
export function encodePackRequest(host: string, pack: Pack, date: Date = new Date()): Buffer {
  checkHeaderValue('Host', host);
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new RangeError('invalid Date for the Date header');
  let body: Buffer;
  if (pack.has('pencore')) {
    body = encodePackWithExtras(pack, []);
  } else {
    // Encode once without padding to learn the size, so the padding can be sized to fit.
    const bare = encodePackWithExtras(pack, []);
    const room = MAX_REQUEST_BODY - bare.length - PENCORE_OVERHEAD;
    // pencore is optional padding: a Pack that fits only without it goes out without it.
    body =
      room < 0
        ? bare
        : encodePackWithExtras(pack, [{ name: 'pencore', type: 'data', values: [randomBytes(randomInt(0, Math.min(PENCORE_MAX, room) + 1))] }]);
  }
  if (body.length > MAX_REQUEST_BODY) {
    throw new RangeError(`Pack of ${body.length} bytes is too large for a handshake request (max ${MAX_REQUEST_BODY})`);
  }
  return request('/vpnsvc/vpn.cgi', 'application/octet-stream', host, [`Date: ${date.toUTCString()}`, 'Keep-Alive: timeout=15; max=19'], body);
}

export interface HttpResponse {
  version: string;
  status: number;
  /** Lower-cased names. */
  headers: Map<string, string>;
  body: Buffer;
  /** Bytes that followed the body in the same chunk(s): the start of the tunnel stream. */
  rest: Buffer;
}

export interface HttpParserLimits {
  maxLine?: number;
  maxHeaders?: number;
  maxBody?: number;
}

const STATUS_LINE_RE = /^(HTTP\/\d+\.\d+) (\d{3})(?: (.*))?$/;
const HEADER_NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Incremental response parser. Memory is bounded by one line (maxLine) plus the declared body
 * (maxBody), however the bytes are chunked. After it returns a response it starts over, ready for
 * the next one; the bytes in `rest` are NOT fed back in.
 */
export class HttpResponseParser {
  readonly #maxLine: number;
  readonly #maxHeaders: number;
  readonly #maxBody: number;
  #line: Buffer;
  #lineLen = 0;
  #state: 'status' | 'headers' | 'body' = 'status';
  #version = '';
  #status = 0;
  #headers = new Map<string, string>();
  #headerCount = 0;
  #body: Buffer = Buffer.alloc(0);
  #bodyLen = 0;

  constructor(limits?: HttpParserLimits) {
    this.#maxLine = limits?.maxLine ?? 4096;
    this.#maxHeaders = limits?.maxHeaders ?? 64;
    this.#maxBody = limits?.maxBody ?? 1024 * 1024;
    // +1 for an optional CR before the LF.
    this.#line = Buffer.allocUnsafe(this.#maxLine + 1);
  }

  push(chunk: Buffer): HttpResponse | null {
    let off = 0;
    while (this.#state !== 'body' && off < chunk.length) {
      const lf = chunk.indexOf(0x0a, off);
      const end = lf === -1 ? chunk.length : lf;
      const n = end - off;
      if (this.#lineLen + n > this.#maxLine + 1) {
        this.#reset();
        throw new ProtocolError('http', `response line longer than ${this.#maxLine} bytes`);
      }
      chunk.copy(this.#line, this.#lineLen, off, end);
      this.#lineLen += n;
      if (lf === -1) return null;
      off = lf + 1;
      let len = this.#lineLen;
      if (len > 0 && this.#line[len - 1] === 0x0d) len--;
      this.#lineLen = 0;
      if (len > this.#maxLine) {
        this.#reset();
        throw new ProtocolError('http', `response line longer than ${this.#maxLine} bytes`);
      }
      try {
        this.#onLine(this.#line.toString('latin1', 0, len));
      } catch (e) {
        this.#reset();
        throw e;
      }
    }
    if (this.#state !== 'body') return null;

    const want = this.#body.length - this.#bodyLen;
    const take = Math.min(want, chunk.length - off);
    chunk.copy(this.#body, this.#bodyLen, off, off + take);
    this.#bodyLen += take;
    off += take;
    if (this.#bodyLen < this.#body.length) return null;

    const res: HttpResponse = {
      version: this.#version,
      status: this.#status,
      headers: this.#headers,
      body: this.#body,
      rest: chunk.subarray(off),
    };
    this.#reset();
    return res;
  }

  #onLine(line: string): void {
    if (this.#state === 'status') {
      const m = STATUS_LINE_RE.exec(line);
      if (!m) throw new ProtocolError('http', `not an HTTP status line: ${JSON.stringify(line.slice(0, 80))}`);
      this.#version = m[1];
      this.#status = Number(m[2]);
      this.#state = 'headers';
      return;
    }
    if (line === '') {
      this.#startBody();
      return;
    }
    if (++this.#headerCount > this.#maxHeaders) throw new ProtocolError('http', `more than ${this.#maxHeaders} response headers`);
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ProtocolError('http', `malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (!HEADER_NAME_RE.test(name)) throw new ProtocolError('http', `invalid header name: ${JSON.stringify(name.slice(0, 80))}`);
    // SoftEther's parser fails the whole message on an empty header value; so do we.
    if (value === '') throw new ProtocolError('http', `empty value for header ${name}`);
    const prev = this.#headers.get(name);
    if (name === 'content-length' && prev !== undefined && prev !== value) {
      throw new ProtocolError('http', 'conflicting Content-Length headers');
    }
    this.#headers.set(name, prev === undefined || name === 'content-length' ? value : `${prev}, ${value}`);
  }

  #startBody(): void {
    if (this.#headers.has('transfer-encoding')) throw new ProtocolError('http', 'Transfer-Encoding is not supported (SoftEther always sends Content-Length)');
    const cl = this.#headers.get('content-length');
    if (cl === undefined) throw new ProtocolError('http', `HTTP ${this.#status} response without Content-Length`);
    if (!/^\d{1,15}$/.test(cl)) throw new ProtocolError('http', `invalid Content-Length ${JSON.stringify(cl.slice(0, 40))}`);
    const len = Number(cl);
    if (len > this.#maxBody) throw new ProtocolError('http', `Content-Length ${len} exceeds the ${this.#maxBody}-byte limit`);
    this.#body = Buffer.allocUnsafe(len);
    this.#bodyLen = 0;
    this.#state = 'body';
  }

  #reset(): void {
    this.#state = 'status';
    this.#lineLen = 0;
    this.#version = '';
    this.#status = 0;
    this.#headers = new Map();
    this.#headerCount = 0;
    this.#body = Buffer.alloc(0);
    this.#bodyLen = 0;
  }
}

/**
 * The stock client's acceptance rule (HttpClientRecv): HTTP/1.1, 200, Content-Type exactly
 * application/octet-stream, non-empty body; then the body must be a valid Pack.
 */
export function packFromResponse(res: HttpResponse, limits?: Partial<PackLimits>): Pack {
  if (res.version.toUpperCase() !== 'HTTP/1.1') throw new ProtocolError('http', `expected HTTP/1.1, got ${res.version}`);
  if (res.status !== 200) {
    const hint =
      res.status === 403 || res.status === 404
        ? ' (the server did not accept the handshake request; is this a SoftEther VPN listener?)'
        : '';
    throw new ProtocolError('http', `server answered HTTP ${res.status}${hint}`);
  }
  const ct = res.headers.get('content-type');
  if (ct === undefined || ct.toLowerCase() !== 'application/octet-stream') {
    throw new ProtocolError('http', `expected Content-Type application/octet-stream, got ${ct === undefined ? 'none' : JSON.stringify(ct)}`);
  }
  if (res.body.length === 0) throw new ProtocolError('http', 'empty response body');
  return decodePack(res.body, limits);
}
