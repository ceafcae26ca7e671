import net from 'node:net';
import { customHeaderLines } from './proxy-options.ts';
import type { ProxyOptions } from './proxy-options.ts';
import { ProxyError, printable } from './proxy-error.ts';

/** HTTP CONNECT (RFC 9110 §9.3.6), client side: the request, and the proxy's answer parsed with hard limits. */

/** A proxy's answer header larger than this is not an answer we wait for. */
export const MAX_CONNECT_REPLY_HEADER = 8192;
const MAX_STATUS_LINE = 512;

export function authority(host: string, port: number): string {
  return `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
}

export function encodeConnectRequest(host: string, port: number, proxy: ProxyOptions): Buffer {
  const target = authority(host, port);
  const lines = [`CONNECT ${target} HTTP/1.1`, `Host: ${target}`];
  if (proxy.username !== '') {
    const credentials = Buffer.from(`${proxy.username}:${proxy.password ?? ''}`, 'utf8').toString('base64');
    lines.push(`Proxy-Authorization: Basic ${credentials}`);
  }
  lines.push(...customHeaderLines(proxy.customHttpHeader));
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
}

export type ConnectReply = { status: number; statusLine: string; rest: Buffer };

/**
 * Feed the proxy's bytes as they come; returns the reply once its header is complete (a 2xx) and throws a
 * ProxyError as soon as the status line says no, the bytes are not HTTP, or the header exceeds the limit.
 * `rest`: bytes after the header (the server's, already tunnelled; normally none, since TLS starts with us).
 */
export class ConnectReplyParser {
  #buf: Buffer = Buffer.alloc(0);
  #status: { code: number; line: string } | null = null;

  push(chunk: Buffer): ConnectReply | null {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    if (!this.#status) {
      const eol = this.#buf.indexOf(0x0a);
      if (eol < 0) {
        if (this.#buf.length > MAX_STATUS_LINE || !couldBeHttp(this.#buf)) throw notHttp(this.#buf);
        return null;
      }
      const line = this.#buf.subarray(0, eol).toString('latin1').replace(/\r$/, '');
      const m = /^HTTP\/1\.[01] ([1-5]\d\d)(?: (.*))?$/.exec(line);
      if (!m) throw notHttp(this.#buf);
      const code = Number(m[1]);
      this.#status = { code, line };
      // 407 is the standard answer; tinyproxy answers a CONNECT with wrong Basic credentials with 401.
      if (code === 407 || code === 401) throw new ProxyError('auth', `proxy authentication failed (${printable(line)})`);
      if (code < 200 || code > 299) throw new ProxyError('refused', `proxy refused the connection: ${printable(line)}`);
    }
    // Header ends at an empty line (CRLF CRLF; a bare LF LF is tolerated).
    const crlf = this.#buf.indexOf('\r\n\r\n');
    const lf = this.#buf.indexOf('\n\n');
    const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 : lf >= 0 ? lf + 2 : -1;
    if (end < 0 || end > MAX_CONNECT_REPLY_HEADER) {
      if (this.#buf.length > MAX_CONNECT_REPLY_HEADER) {
        throw new ProxyError('protocol', `proxy reply header is longer than ${MAX_CONNECT_REPLY_HEADER} bytes (${printable(this.#status.line)})`);
      }
      return null;
    }
    return { status: this.#status.code, statusLine: this.#status.line, rest: this.#buf.subarray(end) };
  }
}

function couldBeHttp(b: Buffer): boolean {
  const prefix = Buffer.from('HTTP/1.');
  const n = Math.min(b.length, prefix.length);
  return b.subarray(0, n).equals(prefix.subarray(0, n));
}

function notHttp(b: Buffer): ProxyError {
  return new ProxyError('protocol', `not an HTTP proxy reply: "${printable(b.subarray(0, 80))}"`);
}
